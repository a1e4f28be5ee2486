import { AppError } from '../errors.ts';

/** The columns the devices list sorts by: each has an index per table that reads in its (key, id) order. */
export const SORT_KEYS = ['name', 'model', 'os', 'compliance', 'enrolled', 'last_seen'] as const;
export type SortKey = (typeof SORT_KEYS)[number];
export type SortDir = 'asc' | 'desc';

/** Timestamps; the others sort as (lowercased) text. A missing timestamp sorts as -1, a missing text as ''. */
const NUMERIC: ReadonlySet<SortKey> = new Set(['enrolled', 'last_seen']);

/** A device's state as the list shows and filters it: no row in device_compliance reads as unknown, as the trust API says. */
export const COMPLIANCE_STATES = ['compliant', 'noncompliant', 'unknown'] as const;
export type ComplianceState = (typeof COMPLIANCE_STATES)[number];

export type SortValue = string | number;

/** Where the last page ended: its last row's sort key and id. */
export interface FleetCursor {
  key: SortValue;
  id: string;
}

/**
 * SQLite's BINARY order: numbers below text, text by its UTF-8 bytes (not JavaScript's UTF-16
 * units), so rows merged here line up with rows SQLite ordered.
 */
export function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'number') return -1;
  if (typeof b === 'number') return 1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** A sorted list's cursor travels in the URL as base64url JSON [key, id]. */
export function encodeCursor(c: FleetCursor): string {
  return Buffer.from(JSON.stringify([c.key, c.id])).toString('base64url');
}

/** The cursor of a page of `sort`; a cursor of another sort (or none at all) is refused rather than read wrongly. */
export function decodeCursor(s: string, sort: SortKey): FleetCursor {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
  } catch {
    v = null;
  }
  const wanted = NUMERIC.has(sort) ? 'number' : 'string';
  if (!Array.isArray(v) || v.length !== 2 || typeof v[1] !== 'string' || typeof v[0] !== wanted || (wanted === 'number' && !Number.isSafeInteger(v[0]))) {
    throw new AppError('invalid_request', 'after is not a page of this list sorted this way: start again from the first page');
  }
  if (sort === 'compliance' && !(COMPLIANCE_STATES as readonly unknown[]).includes(v[0])) {
    throw new AppError('invalid_request', 'after is not a page of this list sorted this way: start again from the first page');
  }
  return { key: v[0] as SortValue, id: v[1] };
}

import * as plist from 'plist';
import { AppError } from '../errors.ts';
import { parseXmlPlist } from './plist-reader.ts';

export type PlistDict = Record<string, unknown>;

/** Parses an XML (or binary) property list whose root is a dictionary; AppError `bad_plist` otherwise. */
export function decodePlist(body: Uint8Array): PlistDict {
  let value: unknown;
  try {
    const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    value = buf.subarray(0, 6).toString('latin1') === 'bplist' ? plist.parseBinary(buf) : parseXmlPlist(buf.toString('utf8'));
  } catch (e) {
    throw new AppError('bad_plist', `not a property list: ${(e as Error).message}`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array || value instanceof Date) {
    throw new AppError('bad_plist', 'the property list root is not a dictionary');
  }
  return value as PlistDict;
}

export function encodePlist(value: PlistDict): Buffer {
  return Buffer.from(plist.build(value as plist.PlistValue), 'utf8');
}

/** Plist values as JSON: data as base64, dates as ISO strings. */
export function jsonSafe(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, jsonSafe(v)]));
  return value;
}

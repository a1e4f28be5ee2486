export interface Change {
  /** Where, as a JSON path: PayloadContent[1].allowCamera, passwordPolicies[0].passwordMinimumLength. */
  path: string;
  op: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

/** Keys that change with every version by design (a new PayloadUUID is how a device knows to replace). */
const IGNORED = new Set(['PayloadUUID', 'PayloadDescription']);

const isDict = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const join = (at: string, k: string | number) => (typeof k === 'number' ? `${at}[${k}]` : at ? `${at}.${k}` : k);

/** What changes from `before` to `after`, leaf by leaf; arrays are compared by position. */
export function diff(before: unknown, after: unknown, at = ''): Change[] {
  if (isDict(before) && isDict(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => !IGNORED.has(k));
    return keys.flatMap((k) => diff(before[k], after[k], join(at, k)));
  }
  if (Array.isArray(before) && Array.isArray(after) && (before.some(isDict) || after.some(isDict))) {
    return Array.from({ length: Math.max(before.length, after.length) }, (_, i) => diff(before[i], after[i], join(at, i))).flat();
  }
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ path: at, op: 'added', after }];
  if (after === undefined) return [{ path: at, op: 'removed', before }];
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: at, op: 'changed', before, after }];
}

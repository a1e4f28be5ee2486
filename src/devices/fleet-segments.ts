import { sql, type SQL } from 'drizzle-orm';
import type { Branch, FleetSearch } from './fleet-branches.ts';
import { COMPLIANCE_STATES, compareValues, type ComplianceState, type SortValue } from './fleet-sort.ts';

/**
 * One index range of a table, read in the list's order: a page of it is an index seek and at
 * most `limit` rows, whatever the page's depth. A page of the list merges every segment's page.
 */
export interface Segment {
  /** Gives d (and e for Apple), driven by the table whose index is read. */
  from: SQL;
  /** The range, over `from`. */
  where: SQL[];
  /** The driving table's id: the index's last column. */
  id: SQL;
  /** The sort key over d / e: an expression, or a bound literal for a segment of one value. */
  key: SQL;
  orderBy: SQL;
  /** The same rows said over the branch's `byId`, for a lookup that starts from search matches. */
  onById: SQL[];
}

/**
 * A device with no verdict: no row, or a row saying unknown. These run per device read, so on the
 * (device_id, state) index: without statistics SQLite would take the primary key's and read the row.
 */
const noVerdict = sql`NOT EXISTS (SELECT 1 FROM device_compliance x INDEXED BY device_compliance_device_state WHERE x.device_id = d.id AND x.state <> 'unknown')`;
const hasState = (state: ComplianceState) =>
  sql`EXISTS (SELECT 1 FROM device_compliance x INDEXED BY device_compliance_device_state WHERE x.device_id = d.id AND x.state = ${state})`;

/** The rows of one compliance state, read in id order: compliant and not compliant from device_compliance's (state, device_id) index. */
function complianceRows(b: Branch, state: ComplianceState) {
  if (state === 'unknown') return { from: b.byId, where: [noVerdict], id: sql`d.id`, onById: [noVerdict] };
  return {
    from: sql`device_compliance c CROSS JOIN ${b.byId}`,
    where: [sql`d.id = c.device_id`, sql`c.state = ${state}`],
    id: sql`c.device_id`,
    onById: [hasState(state)],
  };
}

/**
 * The segments of a branch for a search's sort and cursor. A keyset step `(key, id) > (k, i)`
 * is two seeks, `key = k AND id > i` then `key > k`: SQLite seeks a row value only on an index
 * of plain columns, and on one of expressions (these are: lower(), coalesce() for NULLs) scans
 * it from the start (EXPLAIN: SCAN rather than SEARCH), so deep pages would read the list so far.
 * Sorted by compliance, each state is a segment of one value read in id order; unsorted, the
 * whole list is one segment of value ''.
 */
export function segments(b: Branch, o: FleetSearch): Segment[] {
  const desc = o.dir === 'desc';
  const d = desc ? sql` DESC` : sql``;
  const after = desc ? sql`<` : sql`>`;
  const cursor = o.afterId === undefined ? null : { key: o.afterKey ?? '', id: o.afterId };

  /** A segment of one value: all of it, its rows after the cursor, or none, by where the value stands to the cursor's. */
  const fixed = (value: SortValue, rows: { from: SQL; where: SQL[]; id: SQL; onById: SQL[] }): Segment[] => {
    const seg = { ...rows, key: sql`${value}`, orderBy: sql`${rows.id}${d}` };
    if (!cursor) return [seg];
    const c = compareValues(value, cursor.key) * (desc ? -1 : 1);
    if (c < 0) return [];
    if (c > 0) return [seg];
    return [{ ...seg, where: [...rows.where, sql`${rows.id} ${after} ${cursor.id}`], onById: [...rows.onById, sql`d.id ${after} ${cursor.id}`] }];
  };
  const plain = { from: b.byId, where: [] as SQL[], id: sql`d.id`, onById: [] as SQL[] };

  if (o.sort === undefined) return fixed('', o.compliance ? complianceRows(b, o.compliance) : plain);
  if (o.sort === 'compliance') {
    const states = o.compliance ? [o.compliance] : desc ? [...COMPLIANCE_STATES].reverse() : [...COMPLIANCE_STATES];
    return states.flatMap((s) => fixed(s, complianceRows(b, s)));
  }

  const k = b.keys[o.sort];
  const rows = k.via ? { from: k.via.from, where: [k.via.join], id: k.via.id } : { from: b.byId, where: [] as SQL[], id: sql`d.id` };
  const filter = o.compliance ? [o.compliance === 'unknown' ? noVerdict : hasState(o.compliance)] : [];
  const seg = (where: SQL[], onById: SQL[], orderBy: SQL): Segment => ({
    from: rows.from,
    where: [...rows.where, ...where, ...filter],
    id: rows.id,
    key: k.expr,
    orderBy,
    onById: [...onById, ...filter],
  });
  const byKey = sql`${k.expr}${d}, ${rows.id}${d}`;
  if (!cursor) return [seg([], [], byKey)];
  return [
    seg([sql`${k.expr} = ${cursor.key}`, sql`${rows.id} ${after} ${cursor.id}`], [sql`${k.expr} = ${cursor.key}`, sql`d.id ${after} ${cursor.id}`], sql`${rows.id}${d}`),
    seg([sql`${k.expr} ${after} ${cursor.key}`], [sql`${k.expr} ${after} ${cursor.key}`], byKey),
  ];
}

import { sql, type SQL } from 'drizzle-orm';
import type { ComplianceState, SortKey } from './fleet-sort.ts';

export interface FleetRow {
  id: string;
  deviceName: string | null;
  serialNumber: string | null;
  model: string | null;
  modelName: string | null;
  osVersion: string | null;
  platform: string | null;
  status: string | null;
  ownership: string | null;
  userEmail: string | null;
  lastSeenAt: number | null;
  enrolledAt: number | null;
  /** device_compliance's state; null: never evaluated. */
  compliance: string | null;
  /** The value the list is ordered by ('' in id order): the next page's cursor. */
  sortKey: string | number;
}

export interface FleetSearch {
  /** Matched case-insensitively as a prefix of the name, serial number, user email, model or model name. */
  q?: string;
  platform?: string;
  enrolled?: boolean;
  ownership?: 'corporate' | 'personal';
  /** Last heard from at or after this time (ms). */
  seenSince?: number;
  /** Not heard from since this time (ms), or never. */
  notSeenSince?: number;
  compliance?: ComplianceState;
  /** No sort: id order, the cheapest. */
  sort?: SortKey;
  dir?: 'asc' | 'desc';
  /** The last row of the page before: its id, and its sortKey when sorted. */
  afterId?: string;
  afterKey?: string | number;
  limit: number;
}

/** A sort key's expression over the aliases d (and e), and, when its index is on another table, how to read from there. */
export interface KeyOrder {
  expr: SQL;
  /** `from` gives d (and e) read from the table holding the key; `join` ties it to d; `id` is that table's id, the index's second column. */
  via?: { from: SQL; join: SQL; id: SQL };
}

/**
 * One table of the fleet: how its rows read as FleetRows, its filters, the columns a search
 * matches (each with its own lower() index), and its sort keys. Apple facts and channel state
 * live in two tables; Android devices in one.
 */
export interface Branch {
  columns: SQL;
  /** The device table as `d` (Apple: with its device channel as `e`), read by d's id. */
  byId: SQL;
  /** `idOrder`: the page is read in id order, where an equality on an indexed (x, id) column may pick the index. */
  filters(o: FleetSearch, idOrder: boolean): SQL[] | null;
  matches(inRange: (col: string) => SQL): SQL;
  /** The ids (column `id`) of the matches, a UNION of prefix ranges, each on its own index. */
  indexed(inRange: (col: string) => SQL): SQL;
  keys: Record<Exclude<SortKey, 'compliance'>, KeyOrder>;
}

/** The compliance column, looked up per shown row by primary key. */
const complianceColumn = sql`(SELECT dc.state FROM device_compliance dc WHERE dc.device_id = d.id) AS compliance`;

/**
 * OS as the list shows it ("iOS 17.5"): by platform, then major and minor version as numbers
 * (9 before 10, 17.5 before 17.10), then the version text. The same expression as the tables'
 * sort indexes (apple_devices_sort_os, android_devices_sort_os), character for character.
 */
const osKey = (platform: SQL, version: SQL) =>
  sql`printf('%s %05d %05d %s', ${platform}, CAST(${version} AS INTEGER), iif(instr(${version}, '.') > 0, CAST(substr(${version}, instr(${version}, '.') + 1) AS INTEGER), 0), ${version})`;

export const apple: Branch = {
  columns: sql`d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.model_name AS modelName,
      d.os_version AS osVersion, d.platform, e.status, e.ownership, e.user_email AS userEmail, e.last_seen_at AS lastSeenAt,
      e.enrolled_at AS enrolledAt, ${complianceColumn}`,
  byId: sql`apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id`,
  filters(o, idOrder) {
    if (o.platform === 'android') return null;
    const f: SQL[] = [];
    // (platform, id) serves id order; sorted by another key, the key's index must win.
    if (o.platform !== undefined) f.push(idOrder ? sql`d.platform = ${o.platform}` : sql`+d.platform = ${o.platform}`);
    // `+e.status`: no index on status. Most devices are enrolled, so SQLite would otherwise read
    // them all by that index and sort; in id order the page is found in its first rows.
    if (o.enrolled === true) f.push(sql`+e.status = 'enrolled'`);
    if (o.enrolled === false) f.push(sql`(e.status IS NULL OR +e.status <> 'enrolled')`);
    // Read in the list's order like the rest: these narrow a page, they do not pick an index.
    if (o.ownership !== undefined) f.push(sql`+e.ownership = ${o.ownership}`);
    if (o.seenSince !== undefined) f.push(sql`+e.last_seen_at >= ${o.seenSince}`);
    if (o.notSeenSince !== undefined) f.push(sql`(e.last_seen_at IS NULL OR +e.last_seen_at < ${o.notSeenSince})`);
    return f;
  },
  matches: (inRange) =>
    sql`(${sql.join(
      ['device_name', 'serial_number', 'model', 'model_name'].map((c) => inRange(`d.${c}`)),
      sql` OR `,
    )} OR EXISTS (SELECT 1 FROM apple_enrollments x WHERE x.device_id = d.id AND ${inRange('x.user_email')}))`,
  indexed: (inRange) =>
    sql`${sql.join(
      ['device_name', 'serial_number', 'model', 'model_name'].map((c) => sql`SELECT id FROM apple_devices WHERE ${inRange(c)}`),
      sql` UNION `,
    )} UNION SELECT device_id FROM apple_enrollments WHERE ${inRange('user_email')}`,
  keys: {
    name: { expr: sql`lower(coalesce(d.device_name, ''))` },
    model: { expr: sql`lower(coalesce(d.model_name, d.model, ''))` },
    os: { expr: osKey(sql`d.platform`, sql`d.os_version`) },
    // Read from the device channel's index. Every Apple device has its device channel (one row,
    // the same id, written with it at Authenticate), so the inner join loses no device.
    enrolled: { expr: sql`coalesce(e.enrolled_at, -1)`, via: { from: sql`apple_enrollments e CROSS JOIN apple_devices d`, join: sql`d.id = e.id`, id: sql`e.id` } },
    last_seen: { expr: sql`coalesce(e.last_seen_at, -1)`, via: { from: sql`apple_enrollments e CROSS JOIN apple_devices d`, join: sql`d.id = e.id`, id: sql`e.id` } },
  },
};

const ANDROID_SEARCHED = ['device_name', 'serial_number', 'model', 'user_email'];
export const android: Branch = {
  columns: sql`d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.manufacturer AS modelName,
      d.android_version AS osVersion, 'android' AS platform, d.status, d.ownership, d.user_email AS userEmail, d.last_status_report_at AS lastSeenAt,
      d.enrolled_at AS enrolledAt, ${complianceColumn}`,
  byId: sql`android_devices d`,
  filters(o, idOrder) {
    if (o.platform !== undefined && o.platform !== 'android') return null;
    const f: SQL[] = [];
    const status = idOrder ? sql`d.status` : sql`+d.status`;
    if (o.enrolled === true) f.push(sql`${status} = 'enrolled'`);
    if (o.enrolled === false) f.push(sql`${status} <> 'enrolled'`);
    if (o.ownership !== undefined) f.push(sql`+d.ownership = ${o.ownership}`);
    if (o.seenSince !== undefined) f.push(sql`+d.last_status_report_at >= ${o.seenSince}`);
    if (o.notSeenSince !== undefined) f.push(sql`(d.last_status_report_at IS NULL OR +d.last_status_report_at < ${o.notSeenSince})`);
    return f;
  },
  matches: (inRange) =>
    sql`(${sql.join(
      ANDROID_SEARCHED.map((c) => inRange(`d.${c}`)),
      sql` OR `,
    )})`,
  indexed: (inRange) => sql.join(ANDROID_SEARCHED.map((c) => sql`SELECT id FROM android_devices WHERE ${inRange(c)}`), sql` UNION `),
  keys: {
    name: { expr: sql`lower(coalesce(d.device_name, ''))` },
    // What the Model column shows for Android: the manufacturer, else the model.
    model: { expr: sql`lower(coalesce(d.manufacturer, d.model, ''))` },
    os: { expr: osKey(sql`'android'`, sql`d.android_version`) },
    enrolled: { expr: sql`coalesce(d.enrolled_at, -1)` },
    last_seen: { expr: sql`coalesce(d.last_status_report_at, -1)` },
  },
};

export const BRANCHES = [apple, android];

import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../store/db.ts';

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
  afterId?: string;
  limit: number;
}

/** The smallest string above every string starting with `s`: a prefix match becomes an index range. */
function upperBound(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return s.slice(0, -1) + String.fromCharCode(last + 1);
}

/** How many devices a search reads in id order, per table, before it looks the matches up by index instead. */
const SEARCH_WINDOW = 2000;

/**
 * One table of the fleet: how its rows read as FleetRows, its filters, and the columns a search
 * matches, each with its own lower() index. Apple facts and channel state live in two tables;
 * Android devices in one.
 */
interface Branch {
  /** `d` is the device table (or a window over it): SELECT ... FROM ${from} d ... */
  select(from: SQL): SQL;
  table: SQL;
  filters(o: FleetSearch): SQL[] | null;
  matches(inRange: (col: string) => SQL): SQL;
  indexed(inRange: (col: string) => SQL): SQL;
}

const apple: Branch = {
  table: sql`apple_devices`,
  select: (from) => sql`SELECT d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.model_name AS modelName,
      d.os_version AS osVersion, d.platform, e.status, e.ownership, e.user_email AS userEmail, e.last_seen_at AS lastSeenAt
    FROM ${from} d LEFT JOIN apple_enrollments e ON e.id = d.id`,
  filters(o) {
    if (o.platform === 'android') return null;
    const f: SQL[] = [];
    if (o.platform !== undefined) f.push(sql`d.platform = ${o.platform}`);
    // `+e.status`: no index on status. Most devices are enrolled, so SQLite would otherwise read
    // them all by that index and sort; in id order the page is found in its first rows.
    if (o.enrolled === true) f.push(sql`+e.status = 'enrolled'`);
    if (o.enrolled === false) f.push(sql`(e.status IS NULL OR +e.status <> 'enrolled')`);
    // Read in id order like the rest: these narrow a page, they do not pick an index.
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
    sql`d.id IN (${sql.join(
      ['device_name', 'serial_number', 'model', 'model_name'].map((c) => sql`SELECT id FROM apple_devices WHERE ${inRange(c)}`),
      sql` UNION `,
    )} UNION SELECT device_id FROM apple_enrollments WHERE ${inRange('user_email')})`,
};

const ANDROID_SEARCHED = ['device_name', 'serial_number', 'model', 'user_email'];
const android: Branch = {
  table: sql`android_devices`,
  select: (from) => sql`SELECT d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.manufacturer AS modelName,
      d.android_version AS osVersion, 'android' AS platform, d.status, d.ownership, d.user_email AS userEmail, d.last_status_report_at AS lastSeenAt
    FROM ${from} d`,
  filters(o) {
    if (o.platform !== undefined && o.platform !== 'android') return null;
    const f: SQL[] = [];
    if (o.enrolled === true) f.push(sql`d.status = 'enrolled'`);
    if (o.enrolled === false) f.push(sql`d.status <> 'enrolled'`);
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
  indexed: (inRange) =>
    sql`d.id IN (${sql.join(
      ANDROID_SEARCHED.map((c) => sql`SELECT id FROM android_devices WHERE ${inRange(c)}`),
      sql` UNION `,
    )})`,
};

const BRANCHES = [apple, android];

/** Read-only views over the whole fleet (Apple and Android) for the console: search and counts. */
export function createFleetQueries(db: Db) {
  const where = (w: SQL[]) => (w.length ? sql`WHERE ${sql.join(w, sql` AND `)}` : sql``);
  const branchPage = (b: Branch, from: SQL, w: SQL[], limit: number) => sql`SELECT * FROM (${b.select(from)} ${where(w)} ORDER BY d.id LIMIT ${limit})`;
  /** Each table's page, already limited and in id order, merged: never more than `limit` rows per table read in order. */
  const merged = (pages: SQL[], limit: number): FleetRow[] =>
    pages.length === 0 ? [] : db.all<FleetRow>(sql`${sql.join(pages, sql` UNION ALL `)} ORDER BY id LIMIT ${limit}`);

  return {
    /**
     * A page of devices of both platforms in id order (keyset: after `afterId`). Per table, a
     * search first reads the next SEARCH_WINDOW devices in id order and keeps the matches: a
     * common prefix ("iphone") fills the page there. Otherwise the matches are few, and a UNION
     * of prefix ranges, each on its own lower() index, finds exactly them. Either way a keystroke
     * never reads the whole fleet.
     */
    search(o: FleetSearch): FleetRow[] {
      const after = o.afterId === undefined ? [] : [sql`d.id > ${o.afterId}`];
      const live = BRANCHES.flatMap((b) => {
        const f = b.filters(o);
        return f ? [{ b, f }] : [];
      });
      const q = o.q?.trim().toLowerCase();
      if (!q) return merged(live.map(({ b, f }) => branchPage(b, b.table, [...after, ...f], o.limit)), o.limit);

      const lo = q;
      const hi = upperBound(q);
      const inRange = (col: string) => sql`(lower(${sql.raw(col)}) >= ${lo} AND lower(${sql.raw(col)}) < ${hi})`;
      // A table's window answers for it when it fills the page; the others are looked up by index, in one statement.
      const kept: FleetRow[] = [];
      const lookups: SQL[] = [];
      for (const { b, f } of live) {
        const window = sql`(SELECT * FROM ${b.table} ${o.afterId === undefined ? sql`` : sql`WHERE id > ${o.afterId}`} ORDER BY id LIMIT ${SEARCH_WINDOW})`;
        const dense = db.all<FleetRow>(branchPage(b, window, [...f, b.matches(inRange)], o.limit));
        if (dense.length === o.limit) kept.push(...dense);
        else lookups.push(branchPage(b, b.table, [...after, ...f, b.indexed(inRange)], o.limit));
      }
      if (kept.length === 0) return merged(lookups, o.limit);
      return [...kept, ...merged(lookups, o.limit)].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0)).slice(0, o.limit);
    },

    /** Devices per platform and status (one grouped pass per table, for the dashboard only), Android compliance, and device enrollments since `since`. */
    summary(since: number) {
      const rows = db.all<{ platform: string | null; status: string | null; n: number }>(
        sql`SELECT d.platform, e.status, count(*) AS n FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id GROUP BY d.platform, e.status
          UNION ALL SELECT 'android', status, count(*) FROM android_devices GROUP BY status`,
      );
      const compliance = db.all<{ compliant: number | null; n: number }>(
        // Compliance as evaluated (src/compliance): a device not evaluated yet counts as not compliant.
        sql`SELECT (c.state = 'compliant') AS compliant, count(*) AS n FROM android_devices d LEFT JOIN device_compliance c ON c.device_id = d.id
          WHERE d.status = 'enrolled' GROUP BY c.state = 'compliant'`,
      );
      const recent = db.get<{ n: number }>(
        sql`SELECT (SELECT count(*) FROM apple_enrollments WHERE enrolled_at >= ${since} AND type IN ('device', 'user-enrollment-device'))
          + (SELECT count(*) FROM android_devices WHERE created_at >= ${since}) AS n`,
      )!.n;
      return {
        rows,
        enrolledSince: recent,
        androidCompliant: compliance.filter((r) => r.compliant === 1).reduce((a, r) => a + r.n, 0),
        androidNonCompliant: compliance.filter((r) => r.compliant !== 1).reduce((a, r) => a + r.n, 0),
      };
    },

    /** The latest commands sent to any channel of an Apple device, newest first. */
    /** `detail`: why a command failed, in the device's (Apple's ErrorChain) or Google's words. */
    commandHistory(deviceId: string, limit = 50) {
      return db.all<{ uuid: string; requestType: string; enrollmentId: string; status: string; queuedAt: number; updatedAt: number; createdBy: string | null; detail: string | null }>(
        sql`SELECT t.command_uuid AS uuid, c.request_type AS requestType, t.enrollment_id AS enrollmentId, t.status, t.queued_at AS queuedAt,
            t.updated_at AS updatedAt, c.created_by AS createdBy,
            CASE WHEN t.status IN ('error', 'command_format_error') THEN coalesce(
              json_extract(t.result, '$.ErrorChain[0].USEnglishDescription'), json_extract(t.result, '$.ErrorChain[0].LocalizedDescription'),
              json_extract(t.result, '$.ErrorChain[0].ErrorDomain') || ' ' || json_extract(t.result, '$.ErrorChain[0].ErrorCode')) END AS detail
          FROM apple_command_targets t JOIN apple_commands c ON c.uuid = t.command_uuid
          WHERE t.enrollment_id IN (SELECT id FROM apple_enrollments WHERE device_id = ${deviceId})
          UNION ALL SELECT id, type, device_id, status, created_at, updated_at, created_by, error_message FROM android_commands WHERE device_id = ${deviceId}
          ORDER BY queuedAt DESC, uuid LIMIT ${limit}`,
      );
    },
  };
}

export type FleetQueries = ReturnType<typeof createFleetQueries>;

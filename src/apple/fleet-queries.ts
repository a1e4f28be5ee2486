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
  userEmail: string | null;
  lastSeenAt: number | null;
}

export interface FleetSearch {
  /** Matched case-insensitively as a prefix of the name, serial number, user email, model or model name. */
  q?: string;
  platform?: string;
  enrolled?: boolean;
  afterId?: string;
  limit: number;
}

/** The smallest string above every string starting with `s`: a prefix match becomes an index range. */
function upperBound(s: string): string {
  const last = s.charCodeAt(s.length - 1);
  return s.slice(0, -1) + String.fromCharCode(last + 1);
}

/** How many devices a search reads in id order before it looks the matches up by index instead. */
const SEARCH_WINDOW = 2000;

/** Read-only views over the Apple fleet for the console: search, counts, per-device command history. */
export function createFleetQueries(db: Db) {
  const page = (from: SQL, where: SQL[], limit: number) =>
    db.all<FleetRow>(sql`SELECT d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.model_name AS modelName,
        d.os_version AS osVersion, d.platform, e.status, e.user_email AS userEmail, e.last_seen_at AS lastSeenAt
      FROM ${from} d LEFT JOIN apple_enrollments e ON e.id = d.id
      ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
      ORDER BY d.id LIMIT ${limit}`);

  return {
    /**
     * A page of devices in id order (keyset: after `afterId`). A search first reads the next
     * SEARCH_WINDOW devices in id order and keeps the matches: a common prefix ("iphone") fills the
     * page there. Otherwise the matches are few, and a UNION of prefix ranges, each on its own
     * lower() index, finds exactly them. Either way a keystroke never reads the whole fleet.
     */
    search(o: FleetSearch): FleetRow[] {
      const filters: SQL[] = [];
      if (o.platform !== undefined) filters.push(sql`d.platform = ${o.platform}`);
      if (o.enrolled === true) filters.push(sql`e.status = 'enrolled'`);
      if (o.enrolled === false) filters.push(sql`(e.status IS NULL OR e.status <> 'enrolled')`);
      const after = o.afterId === undefined ? [] : [sql`d.id > ${o.afterId}`];
      const q = o.q?.trim().toLowerCase();
      if (!q) return page(sql`apple_devices`, [...after, ...filters], o.limit);

      const lo = q;
      const hi = upperBound(q);
      const inRange = (col: string) => sql`(lower(${sql.raw(col)}) >= ${lo} AND lower(${sql.raw(col)}) < ${hi})`;
      const cols = ['device_name', 'serial_number', 'model', 'model_name'];
      const matches = sql`(${sql.join(
        cols.map((c) => inRange(`d.${c}`)),
        sql` OR `,
      )} OR EXISTS (SELECT 1 FROM apple_enrollments x WHERE x.device_id = d.id AND ${inRange('x.user_email')}))`;
      const window = sql`(SELECT * FROM apple_devices ${o.afterId === undefined ? sql`` : sql`WHERE id > ${o.afterId}`} ORDER BY id LIMIT ${SEARCH_WINDOW})`;
      const dense = page(window, [...filters, matches], o.limit);
      if (dense.length === o.limit) return dense;

      const range = (col: string) => sql`SELECT id FROM apple_devices WHERE ${inRange(col)}`;
      const ids = sql`d.id IN (${sql.join(
        cols.map((c) => range(c)),
        sql` UNION `,
      )} UNION SELECT device_id FROM apple_enrollments WHERE ${inRange('user_email')})`;
      return page(sql`apple_devices`, [...after, ...filters, ids], o.limit);
    },

    /** Devices per platform and device-channel state (one grouped pass, for the dashboard only), and device enrollments since `since`. */
    summary(since: number) {
      const rows = db.all<{ platform: string | null; status: string | null; n: number }>(
        sql`SELECT d.platform, e.status, count(*) AS n FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id GROUP BY d.platform, e.status`,
      );
      const recent = db.get<{ n: number }>(
        sql`SELECT count(*) AS n FROM apple_enrollments WHERE enrolled_at >= ${since} AND type IN ('device', 'user-enrollment-device')`,
      )!.n;
      return { rows, enrolledSince: recent };
    },

    /** The latest commands sent to any channel of a device, newest first. */
    commandHistory(deviceId: string, limit = 50) {
      return db.all<{ uuid: string; requestType: string; enrollmentId: string; status: string; queuedAt: number; updatedAt: number; createdBy: string | null }>(
        sql`SELECT t.command_uuid AS uuid, c.request_type AS requestType, t.enrollment_id AS enrollmentId, t.status, t.queued_at AS queuedAt,
            t.updated_at AS updatedAt, c.created_by AS createdBy
          FROM apple_command_targets t JOIN apple_commands c ON c.uuid = t.command_uuid
          WHERE t.enrollment_id IN (SELECT id FROM apple_enrollments WHERE device_id = ${deviceId})
          ORDER BY t.queued_at DESC, t.command_uuid LIMIT ${limit}`,
      );
    },
  };
}

export type FleetQueries = ReturnType<typeof createFleetQueries>;

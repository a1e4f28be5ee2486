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

/** Read-only views over the Apple fleet for the console: search, counts, per-device command history. */
export function createFleetQueries(db: Db) {
  return {
    /**
     * A page of devices in id order (keyset: after `afterId`). A search is a UNION of prefix ranges,
     * each on its own lower() index, so a keystroke reads only the matching rows' ids, never the fleet.
     */
    search(o: FleetSearch): FleetRow[] {
      const where: SQL[] = [];
      if (o.afterId !== undefined) where.push(sql`d.id > ${o.afterId}`);
      if (o.platform !== undefined) where.push(sql`d.platform = ${o.platform}`);
      if (o.enrolled === true) where.push(sql`e.status = 'enrolled'`);
      if (o.enrolled === false) where.push(sql`(e.status IS NULL OR e.status <> 'enrolled')`);
      const q = o.q?.trim().toLowerCase();
      if (q) {
        const lo = q;
        const hi = upperBound(q);
        const range = (col: string) => sql`SELECT id FROM apple_devices WHERE lower(${sql.raw(col)}) >= ${lo} AND lower(${sql.raw(col)}) < ${hi}`;
        where.push(sql`d.id IN (${range('device_name')} UNION ${range('serial_number')} UNION ${range('model')} UNION ${range('model_name')}
          UNION SELECT device_id FROM apple_enrollments WHERE lower(user_email) >= ${lo} AND lower(user_email) < ${hi})`);
      }
      return db.all<FleetRow>(sql`SELECT d.id, d.device_name AS deviceName, d.serial_number AS serialNumber, d.model, d.model_name AS modelName,
          d.os_version AS osVersion, d.platform, e.status, e.user_email AS userEmail, e.last_seen_at AS lastSeenAt
        FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id
        ${where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``}
        ORDER BY d.id LIMIT ${o.limit}`);
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

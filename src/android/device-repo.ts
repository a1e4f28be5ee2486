import crypto from 'node:crypto';
import { and, desc, eq, gt, inArray, ne } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import type { DeviceFacts } from './device-report.ts';
import { androidCommands, androidDevices } from './tables.ts';

export type AndroidDeviceRow = typeof androidDevices.$inferSelect;
export type AndroidCommandRow = typeof androidCommands.$inferSelect;

/** Columns a report sets, in DeviceFacts order, with their SQL names. */
const FACT_COLUMNS: Array<[keyof DeviceFacts, string]> = [
  ['name', 'name'],
  ['enterpriseName', 'enterprise_name'],
  ['state', 'state'],
  ['ownership', 'ownership'],
  ['managementMode', 'management_mode'],
  ['userEmail', 'user_email'],
  ['enrollmentTokenId', 'enrollment_token_id'],
  ['serialNumber', 'serial_number'],
  ['deviceName', 'device_name'],
  ['model', 'model'],
  ['brand', 'brand'],
  ['manufacturer', 'manufacturer'],
  ['androidVersion', 'android_version'],
  ['securityPatchLevel', 'security_patch_level'],
  ['apiLevel', 'api_level'],
  ['policyName', 'policy_name'],
  ['appliedPolicyName', 'applied_policy_name'],
  ['appliedPolicyVersion', 'applied_policy_version'],
  ['appliedState', 'applied_state'],
  ['policyCompliant', 'policy_compliant'],
  ['nonComplianceDetails', 'non_compliance_details'],
  ['hardwareInfo', 'hardware_info'],
  ['softwareInfo', 'software_info'],
  ['lastStatusReportAt', 'last_status_report_at'],
  ['lastPolicySyncAt', 'last_policy_sync_at'],
  ['enrolledAt', 'enrolled_at'],
  ['reportedAt', 'reported_at'],
];
const JSON_FACTS = new Set<keyof DeviceFacts>(['nonComplianceDetails', 'hardwareInfo', 'softwareInfo']);

/**
 * A report replaces the stored one only when it is at least as new and the device is not removed:
 * a duplicated, late or replayed notification, or a reconcile page read before a newer
 * notification, changes nothing. `seen_in_list_at` is set whatever the report's age.
 */
const FRESH = `(android_devices.status <> 'removed' AND excluded.reported_at >= android_devices.reported_at)`;
const UPSERT = `INSERT INTO android_devices (id, status, seen_in_list_at, created_at, updated_at, ${FACT_COLUMNS.map(([, c]) => c).join(', ')})
  VALUES (@id, @status, @seenInListAt, @now, @now, ${FACT_COLUMNS.map(([k]) => `@${k}`).join(', ')})
  ON CONFLICT(name) DO UPDATE SET
    ${FACT_COLUMNS.filter(([k]) => k !== 'name')
      .map(([, c]) => `${c} = CASE WHEN ${FRESH} THEN excluded.${c} ELSE android_devices.${c} END`)
      .join(',\n    ')},
    status = CASE WHEN android_devices.status <> 'removed' AND excluded.status = 'removed' THEN 'removed' ELSE android_devices.status END,
    removed_at = CASE WHEN android_devices.status <> 'removed' AND excluded.status = 'removed' THEN @now ELSE android_devices.removed_at END,
    seen_in_list_at = coalesce(excluded.seen_in_list_at, android_devices.seen_in_list_at),
    updated_at = CASE WHEN ${FRESH} THEN @now ELSE android_devices.updated_at END
  RETURNING id, (id = @id) AS inserted`;

export interface UpsertResult {
  id: string;
  inserted: boolean;
}

/** android_devices and android_commands. The upsert is a raw prepared statement: a reconcile runs it 10,000 times. */
export function createAndroidDeviceRepo(db: Db) {
  const sqlite = db.$client;
  const upsert = sqlite.prepare(UPSERT);
  const markUnseen = sqlite.prepare(
    `UPDATE android_devices SET status = 'removed', removed_at = @now, updated_at = @now
      WHERE enterprise_name = @enterprise AND status <> 'removed' AND created_at < @since AND (seen_in_list_at IS NULL OR seen_in_list_at < @since)`,
  );

  const params = (f: DeviceFacts, o: { now: number; seenInListAt: number | null }) => {
    const p: Record<string, unknown> = { id: crypto.randomUUID(), now: o.now, seenInListAt: o.seenInListAt, status: f.state === 'DELETED' ? 'removed' : 'enrolled' };
    for (const [k] of FACT_COLUMNS) {
      const v = f[k];
      p[k] = v === null ? null : JSON_FACTS.has(k) ? JSON.stringify(v) : typeof v === 'boolean' ? (v ? 1 : 0) : v;
    }
    return p;
  };

  return {
    /** Stores reports (one transaction); a reconcile passes `seenInListAt`. */
    upsertMany(facts: DeviceFacts[], o: { now: number; seenInListAt?: number }): UpsertResult[] {
      return sqlite.transaction(() =>
        facts.map((f) => {
          const r = upsert.get(params(f, { now: o.now, seenInListAt: o.seenInListAt ?? null })) as { id: string; inserted: number };
          return { id: r.id, inserted: r.inserted === 1 };
        }),
      )();
    },

    /** Devices of `enterprise` that a reconcile begun at `since` did not see, and that existed before it: removed at Google. */
    markUnseenRemoved(enterprise: string, since: number, now: number): number {
      return markUnseen.run({ enterprise, since, now }).changes;
    },

    markRemoved(id: string, now: number): void {
      db.update(androidDevices).set({ status: 'removed', removedAt: now, updatedAt: now }).where(and(eq(androidDevices.id, id), ne(androidDevices.status, 'removed'))).run();
    },

    device(id: string): AndroidDeviceRow | undefined {
      return db.select().from(androidDevices).where(eq(androidDevices.id, id)).get();
    },
    byName(name: string): AndroidDeviceRow | undefined {
      return db.select().from(androidDevices).where(eq(androidDevices.name, name)).get();
    },

    /** A page in id order after `afterId`, for the API's list beside Apple devices. */
    list(o: { limit: number; afterId?: string; enrolled?: boolean }): AndroidDeviceRow[] {
      const d = androidDevices;
      return db
        .select()
        .from(d)
        .where(
          and(
            o.afterId === undefined ? undefined : gt(d.id, o.afterId),
            o.enrolled === undefined ? undefined : o.enrolled ? eq(d.status, 'enrolled') : ne(d.status, 'enrolled'),
          ),
        )
        .orderBy(d.id)
        .limit(o.limit)
        .all();
    },

    /** A new command row, not yet answered by Google; its id. */
    recordCommand(o: { deviceId: string; type: string; params: unknown; status: AndroidCommandRow['status']; createdBy: string | undefined; at: number }): string {
      const id = crypto.randomUUID();
      db.insert(androidCommands)
        .values({ id, deviceId: o.deviceId, type: o.type, params: o.params, status: o.status, createdBy: o.createdBy ?? null, createdAt: o.at, updatedAt: o.at })
        .run();
      return id;
    },
    updateCommand(id: string, set: Partial<Omit<AndroidCommandRow, 'id' | 'deviceId'>>): void {
      db.update(androidCommands).set(set).where(eq(androidCommands.id, id)).run();
    },
    command(id: string): AndroidCommandRow | undefined {
      return db.select().from(androidCommands).where(eq(androidCommands.id, id)).get();
    },
    commandByOperation(operationName: string): AndroidCommandRow | undefined {
      return db.select().from(androidCommands).where(eq(androidCommands.operationName, operationName)).get();
    },
    /** Commands Google has not finished yet, oldest first, for polling operations.get. */
    unfinishedCommands(limit: number): AndroidCommandRow[] {
      return db.select().from(androidCommands).where(inArray(androidCommands.status, ['sent'])).orderBy(androidCommands.createdAt).limit(limit).all();
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
    commandHistory(deviceId: string, limit: number): AndroidCommandRow[] {
      return db.select().from(androidCommands).where(eq(androidCommands.deviceId, deviceId)).orderBy(desc(androidCommands.createdAt), desc(androidCommands.id)).limit(limit).all();
    },
  };
}

export type AndroidDeviceRepo = ReturnType<typeof createAndroidDeviceRepo>;

import type { Db } from '../store/db.ts';
import type { AndroidFacts, AppleFacts, FailingRule } from './evaluate.ts';
import type { complianceEvents, deviceCompliance } from './tables.ts';

export type ComplianceRow = Omit<typeof deviceCompliance.$inferSelect, 'failingRules'> & { failingRules: FailingRule[] };
export type ComplianceEventRow = Omit<typeof complianceEvents.$inferSelect, 'failingRules'> & { failingRules: FailingRule[] };

/** Timeline entries kept per device: enough history for a person or an audit, bounded for a flapping device. */
export const TIMELINE_CAP = 200;

export type DeviceReportFacts = ({ kind: 'apple' } & AppleFacts) | ({ kind: 'android' } & AndroidFacts);

const json = <T>(s: string | null): T | null => (s === null ? null : (JSON.parse(s) as T));

/** device_compliance and compliance_events, and the reports evaluation reads from both platforms' tables. */
export function createComplianceRepo(db: Db) {
  const sqlite = db.$client;
  // The app list is the bulk of a device's inventory: read and parsed only when a rule looks at apps.
  const appleQuery = (apps: boolean) =>
    sqlite.prepare(
      `SELECT d.platform, d.os_version AS osVersion, d.security_info AS securityInfo, ${apps ? 'd.installed_apps' : 'NULL'} AS installedApps,
         (SELECT e.ownership FROM apple_enrollments e WHERE e.id = d.id) AS ownership FROM apple_devices d WHERE d.id = ?`,
    );
  const apple = { withApps: appleQuery(true), withoutApps: appleQuery(false) };
  const android = sqlite.prepare(
    `SELECT ownership, policy_compliant AS policyCompliant, non_compliance_details AS nonComplianceDetails, android_version AS androidVersion,
       security_patch_level AS securityPatchLevel FROM android_devices WHERE id = ?`,
  );
  const current = sqlite.prepare(
    `SELECT device_id AS deviceId, platform, state, reason, failing_rules AS failingRules, policy_id AS policyId, policy_version AS policyVersion,
       evaluated_at AS evaluatedAt, changed_at AS changedAt FROM device_compliance WHERE device_id = ?`,
  );
  const upsert = sqlite.prepare(
    `INSERT INTO device_compliance (device_id, platform, state, reason, failing_rules, policy_id, policy_version, evaluated_at, changed_at)
     VALUES (@deviceId, @platform, @state, @reason, @failingRules, @policyId, @policyVersion, @evaluatedAt, @changedAt)
     ON CONFLICT(device_id) DO UPDATE SET platform = excluded.platform, state = excluded.state, reason = excluded.reason, failing_rules = excluded.failing_rules,
       policy_id = excluded.policy_id, policy_version = excluded.policy_version, evaluated_at = excluded.evaluated_at, changed_at = excluded.changed_at`,
  );
  const insertEvent = sqlite.prepare(
    `INSERT INTO compliance_events (device_id, state, previous_state, failing_rules, policy_id, policy_version, at)
     VALUES (@deviceId, @state, @previousState, @failingRules, @policyId, @policyVersion, @at)`,
  );
  // Drops what falls beyond the cap, oldest first, using the (device_id, id) index.
  const prune = sqlite.prepare(
    `DELETE FROM compliance_events WHERE device_id = @deviceId AND id <= (
       SELECT id FROM compliance_events WHERE device_id = @deviceId ORDER BY id DESC LIMIT 1 OFFSET ${TIMELINE_CAP})`,
  );
  const events = sqlite.prepare(
    `SELECT id, device_id AS deviceId, state, previous_state AS previousState, failing_rules AS failingRules, policy_id AS policyId,
       policy_version AS policyVersion, at FROM compliance_events WHERE device_id = @deviceId AND id < @before ORDER BY id DESC LIMIT @limit`,
  );
  // A VPN or identity provider asks on every connection: prepared once, each on an index.
  const byUdid = sqlite.prepare(
    `SELECT d.id, coalesce(d.platform, 'apple') AS platform FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id
     WHERE d.udid = ? ORDER BY (e.status = 'enrolled') DESC, d.updated_at DESC LIMIT 1`,
  );
  const byEnterpriseId = sqlite.prepare(
    `SELECT id, 'android' AS platform FROM android_devices WHERE json_extract(hardware_info, '$.enterpriseSpecificId') = ?
     ORDER BY (status = 'enrolled') DESC, updated_at DESC LIMIT 1`,
  );
  // Serials compared without case on both tables: the console's search indexes are on lower(serial_number).
  const bySerial = sqlite.prepare(
    `SELECT id, platform FROM (
       SELECT d.id, coalesce(d.platform, 'apple') AS platform, (e.status = 'enrolled') AS live, d.updated_at AS at
         FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id WHERE lower(d.serial_number) = lower(@serial)
       UNION ALL SELECT id, 'android', (status = 'enrolled'), updated_at FROM android_devices WHERE lower(serial_number) = lower(@serial))
     ORDER BY live DESC, at DESC LIMIT 1`,
  );
  const rowOf = (r: Record<string, unknown> | undefined): ComplianceRow | undefined =>
    r && ({ ...(r as ComplianceRow), failingRules: json<FailingRule[]>(r.failingRules as string) ?? [] });

  return {
    transaction: <T>(fn: () => T): T => sqlite.transaction(fn)(),

    /** What the device last reported, or undefined when no such device exists; an Apple device's apps only with `apps` (null otherwise). */
    facts(deviceId: string, o: { apps: boolean }): DeviceReportFacts | undefined {
      const a = (o.apps ? apple.withApps : apple.withoutApps).get(deviceId) as Record<string, string | null> | undefined;
      if (a) {
        return {
          kind: 'apple',
          ...(a as unknown as AppleFacts),
          securityInfo: json(a.securityInfo ?? null),
          installedApps: json(a.installedApps ?? null),
        };
      }
      const g = android.get(deviceId) as (Omit<AndroidFacts, 'policyCompliant' | 'nonComplianceDetails'> & { policyCompliant: number | null; nonComplianceDetails: string | null }) | undefined;
      if (!g) return undefined;
      return { kind: 'android', ...g, policyCompliant: g.policyCompliant === null ? null : g.policyCompliant === 1, nonComplianceDetails: json(g.nonComplianceDetails) };
    },

    current: (deviceId: string): ComplianceRow | undefined => rowOf(current.get(deviceId) as Record<string, unknown> | undefined),

    save(row: ComplianceRow): void {
      upsert.run({ ...row, failingRules: JSON.stringify(row.failingRules) });
    },

    addEvent(e: Omit<ComplianceEventRow, 'id'>): void {
      insertEvent.run({ ...e, failingRules: JSON.stringify(e.failingRules) });
      prune.run({ deviceId: e.deviceId });
    },

    /** Newest first, before the entry `before` (exclusive). */
    timeline(deviceId: string, o: { before?: number; limit: number }): ComplianceEventRow[] {
      return (events.all({ deviceId, before: o.before ?? Number.MAX_SAFE_INTEGER, limit: o.limit }) as Array<Record<string, unknown>>).map((r) => ({
        ...(r as ComplianceEventRow),
        failingRules: json<FailingRule[]>(r.failingRules as string) ?? [],
      }));
    },

    /**
     * The device a trust decision asks about: by serial number (either platform), Apple UDID or
     * Android enterprise-specific id. An enrolled device wins over a removed one with the same
     * serial, then the most recently updated.
     */
    lookup(by: { serial?: string; udid?: string; enterpriseId?: string }): { id: string; platform: string } | undefined {
      type Hit = { id: string; platform: string } | undefined;
      if (by.udid !== undefined) return byUdid.get(by.udid) as Hit;
      if (by.enterpriseId !== undefined) return byEnterpriseId.get(by.enterpriseId) as Hit;
      return bySerial.get({ serial: by.serial }) as Hit;
    },
  };
}

export type ComplianceRepo = ReturnType<typeof createComplianceRepo>;

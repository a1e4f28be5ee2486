import type { Db } from '../store/db.ts';
import type { applePolicyProfiles } from './tables.ts';

export type PolicyProfileRow = typeof applePolicyProfiles.$inferSelect;
export type PolicyProfileState = PolicyProfileRow['state'];

const COLUMNS = `device_id AS deviceId, identifier, policy_id AS policyId, policy_name AS policyName, policy_version AS policyVersion, state,
  command_uuid AS commandUuid, error_code AS errorCode, error_message AS errorMessage, updated_at AS updatedAt`;

/**
 * apple_policy_profiles, with what enforcement needs around it: which device channels can be
 * sent commands, and taking back a superseded command before the device sees it. Rows are
 * written with one prepared upsert inside the caller's transaction: a policy change on 10,000
 * devices is one statement run 10,000 times.
 */
export function createPolicyProfileRepo(db: Db) {
  const sqlite = db.$client;
  const upsert = sqlite.prepare(
    `INSERT INTO apple_policy_profiles (device_id, identifier, policy_id, policy_name, policy_version, state, command_uuid, error_code, error_message, updated_at)
     VALUES (@deviceId, @identifier, @policyId, @policyName, @policyVersion, @state, @commandUuid, @errorCode, @errorMessage, @updatedAt)
     ON CONFLICT(device_id, identifier) DO UPDATE SET policy_id = excluded.policy_id, policy_name = excluded.policy_name,
       policy_version = excluded.policy_version, state = excluded.state, command_uuid = excluded.command_uuid,
       error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
  );
  const all = sqlite.prepare(`SELECT ${COLUMNS} FROM apple_policy_profiles`);
  const ofDevice = sqlite.prepare(`SELECT ${COLUMNS} FROM apple_policy_profiles WHERE device_id = ? ORDER BY identifier`);
  const byCommand = sqlite.prepare(`SELECT ${COLUMNS} FROM apple_policy_profiles WHERE device_id = ? AND command_uuid = ?`);
  const setState = sqlite.prepare(
    `UPDATE apple_policy_profiles SET state = @state, error_code = @errorCode, error_message = @errorMessage, updated_at = @updatedAt
     WHERE device_id = @deviceId AND identifier = @identifier AND command_uuid = @commandUuid`,
  );
  const remove = sqlite.prepare(`DELETE FROM apple_policy_profiles WHERE device_id = ? AND identifier = ? AND command_uuid = ?`);
  const forget = sqlite.prepare(`DELETE FROM apple_policy_profiles WHERE device_id = ?`);
  // A failed install is forgotten (so it is sent again); a failed removal goes back to installed (so it is removed again).
  const forgetFailed = sqlite.prepare(`DELETE FROM apple_policy_profiles WHERE device_id = ? AND state = 'failed'`);
  const reopenRemovals = sqlite.prepare(`UPDATE apple_policy_profiles SET state = 'installed', error_code = NULL, error_message = NULL WHERE device_id = ? AND state = 'remove_failed'`);
  // The device channel of an Apple device has the device's id (its UDID, or its EnrollmentID).
  const enrolled = sqlite.prepare(
    `SELECT e.id FROM apple_enrollments e WHERE e.id IN (SELECT value FROM json_each(?)) AND e.status = 'enrolled'
       AND e.type IN ('device', 'user-enrollment-device') AND e.retire_requested_at IS NULL`,
  );
  const stale = staleRows(sqlite, 'apple_policy_profiles', 'identifier');
  return {
    transaction: <T>(fn: () => T): T => sqlite.transaction(fn)(),
    /** Every row, by device: one read for a whole enforcement pass. */
    all(): Map<string, PolicyProfileRow[]> {
      const out = new Map<string, PolicyProfileRow[]>();
      for (const r of all.all() as PolicyProfileRow[]) (out.get(r.deviceId) ?? out.set(r.deviceId, []).get(r.deviceId)!).push(r);
      return out;
    },
    ofDevice: (deviceId: string): PolicyProfileRow[] => ofDevice.all(deviceId) as PolicyProfileRow[],
    byCommand: (deviceId: string, commandUuid: string): PolicyProfileRow | undefined => byCommand.get(deviceId, commandUuid) as PolicyProfileRow | undefined,
    save(rows: PolicyProfileRow[]): void {
      for (const r of rows) upsert.run(r);
    },
    /** Sets the state a device's answer decided; false when a later command has taken the row over. */
    setState(r: Pick<PolicyProfileRow, 'deviceId' | 'identifier' | 'commandUuid' | 'state' | 'errorCode' | 'errorMessage' | 'updatedAt'>): boolean {
      return setState.run(r).changes > 0;
    },
    delete: (deviceId: string, identifier: string, commandUuid: string): boolean => remove.run(deviceId, identifier, commandUuid).changes > 0,
    /** The device's refusals, undone so the next pass acts again; how many. */
    forgetFailures: (deviceId: string): number => sqlite.transaction(() => forgetFailed.run(deviceId).changes + reopenRemovals.run(deviceId).changes)(),
    /** A device that enrolls again, or leaves, has none of our profiles. */
    forget: (deviceId: string): number => forget.run(deviceId).changes,
    /** Those of `ids` whose device channel is enrolled and not being retired. */
    enrolled: (ids: string[]): Set<string> => new Set((enrolled.all(JSON.stringify(ids)) as Array<{ id: string }>).map((r) => r.id)),
    /** Rows (`deviceId\0identifier`) waiting on a command that will not be answered: of these devices, or all. */
    stale,
  };
}

export type PolicyProfileRepo = ReturnType<typeof createPolicyProfileRepo>;

/**
 * Rows of an enforcement table (policy profiles, managed apps) waiting on a command the device
 * will never answer: it expired (the device was away longer than the command's lifetime) or an
 * admin cancelled it. Keys `deviceId\0<key column>`, of these devices or (null) of all.
 */
export function staleRows(sqlite: Db['$client'], table: 'apple_policy_profiles' | 'apple_managed_apps', key: 'identifier' | 'bundle_id') {
  const query = `SELECT r.device_id AS deviceId, r.${key} AS key FROM ${table} r
    LEFT JOIN apple_command_targets t ON t.command_uuid = r.command_uuid AND t.enrollment_id = r.device_id
    WHERE r.state IN ('pending', 'removing') AND (t.status IS NULL OR t.status NOT IN ('pending', 'not_now'))`;
  const all = sqlite.prepare<[], { deviceId: string; key: string }>(query);
  const of = sqlite.prepare<[string], { deviceId: string; key: string }>(`${query} AND r.device_id IN (SELECT value FROM json_each(?))`);
  return (deviceIds: string[] | null): Set<string> => new Set((deviceIds === null ? all.all() : of.all(JSON.stringify(deviceIds))).map((r) => `${r.deviceId}\0${r.key}`));
}

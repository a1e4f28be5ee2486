import type { Db } from '../store/db.ts';
import { androidPolicyBuckets, androidPolicyTargets } from './tables.ts';

export type BucketRow = typeof androidPolicyBuckets.$inferSelect;
export type TargetRow = typeof androidPolicyTargets.$inferSelect;

/** What enforcement needs of an Android device: Google's name and the policy Google last reported. */
export interface AndroidTargetFacts {
  id: string;
  name: string;
  enterpriseName: string;
  policyName: string | null;
}

/**
 * android_policy_buckets and android_policy_targets. Per-device rows are written with one
 * prepared upsert inside one transaction: a version change of a policy on 10,000 devices is one
 * statement run 10,000 times, not 10,000 transactions.
 */
export function createPolicyTargetRepo(db: Db) {
  const sqlite = db.$client;
  const upsertTarget = sqlite.prepare(
    `INSERT INTO android_policy_targets (device_id, enrolled_policy_name, policy_id, policy_version, policy_name, status, error_code, error_message, updated_at)
     VALUES (@deviceId, @enrolledPolicyName, @policyId, @policyVersion, @policyName, @status, @errorCode, @errorMessage, @updatedAt)
     ON CONFLICT(device_id) DO UPDATE SET enrolled_policy_name = excluded.enrolled_policy_name, policy_id = excluded.policy_id,
       policy_version = excluded.policy_version, policy_name = excluded.policy_name, status = excluded.status,
       error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
  );
  const upsertBucket = sqlite.prepare(
    `INSERT INTO android_policy_buckets (name, enterprise_name, policy_id, ownership, sent_version, google_version, error_code, error_message, updated_at)
     VALUES (@name, @enterpriseName, @policyId, @ownership, @sentVersion, @googleVersion, @errorCode, @errorMessage, @updatedAt)
     ON CONFLICT(name) DO UPDATE SET sent_version = coalesce(excluded.sent_version, android_policy_buckets.sent_version),
       google_version = coalesce(excluded.google_version, android_policy_buckets.google_version),
       error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
  );
  const targetsAll = sqlite.prepare(
    `SELECT device_id AS deviceId, enrolled_policy_name AS enrolledPolicyName, policy_id AS policyId, policy_version AS policyVersion,
       policy_name AS policyName, status, error_code AS errorCode, error_message AS errorMessage, updated_at AS updatedAt FROM android_policy_targets`,
  );
  const target = sqlite.prepare(
    `SELECT device_id AS deviceId, enrolled_policy_name AS enrolledPolicyName, policy_id AS policyId, policy_version AS policyVersion,
       policy_name AS policyName, status, error_code AS errorCode, error_message AS errorMessage, updated_at AS updatedAt FROM android_policy_targets WHERE device_id = ?`,
  );
  const bucket = sqlite.prepare(
    `SELECT name, enterprise_name AS enterpriseName, policy_id AS policyId, ownership, sent_version AS sentVersion, google_version AS googleVersion,
       error_code AS errorCode, error_message AS errorMessage, updated_at AS updatedAt FROM android_policy_buckets WHERE name = ?`,
  );
  const facts = sqlite.prepare(`SELECT id, name, enterprise_name AS enterpriseName, policy_name AS policyName FROM android_devices WHERE id = ?`);
  const orphans = sqlite.prepare(
    `SELECT name FROM android_policy_buckets b WHERE enterprise_name = ? AND NOT EXISTS (SELECT 1 FROM policies p WHERE p.id = b.policy_id)
       AND NOT EXISTS (SELECT 1 FROM android_policy_targets t WHERE t.policy_name = b.name)`,
  );
  const deleteBucket = sqlite.prepare(`DELETE FROM android_policy_buckets WHERE name = ?`);
  const failing = sqlite.prepare(`SELECT device_id AS id FROM android_policy_targets WHERE status = 'error'`);

  return {
    /** Every per-device row by device id: one read for a whole enforcement pass. */
    targets(): Map<string, TargetRow> {
      return new Map((targetsAll.all() as TargetRow[]).map((r) => [r.deviceId, r]));
    },
    target: (deviceId: string): TargetRow | undefined => target.get(deviceId) as TargetRow | undefined,
    bucket: (name: string): BucketRow | undefined => bucket.get(name) as BucketRow | undefined,
    facts: (id: string): AndroidTargetFacts | undefined => facts.get(id) as AndroidTargetFacts | undefined,
    saveTargets(rows: TargetRow[]): void {
      if (!rows.length) return;
      sqlite.transaction(() => {
        for (const r of rows) upsertTarget.run(r);
      })();
    },
    saveBucket(row: BucketRow): void {
      upsertBucket.run(row);
    },
    /** Buckets of deleted policies that no device is on any more: Google's copies can go. */
    orphanBuckets: (enterprise: string): string[] => (orphans.all(enterprise) as Array<{ name: string }>).map((r) => r.name),
    deleteBucket(name: string): void {
      deleteBucket.run(name);
    },
    /** Devices whose last attempt failed: what the periodic sync hands back to enforcement. */
    failing: (): string[] => (failing.all() as Array<{ id: string }>).map((r) => r.id),
  };
}

export type PolicyTargetRepo = ReturnType<typeof createPolicyTargetRepo>;

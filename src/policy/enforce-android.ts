import type { AmapiClient } from '../android/amapi/client.ts';
import type { PolicyTargetRepo, TargetRow } from '../android/policy-target-repo.ts';
import type { EnterpriseRow } from '../android/repo.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Ownership } from './model.ts';
import { compileFor, type EffectiveTarget, type PolicyEnforcer } from './service.ts';

/** Device patches in flight at once: enough to move a few hundred devices quickly, few enough for Google's quota. */
const CONCURRENCY = 8;

/** Google's policy for one of ours and one ownership: one AMAPI policy serves every device of the bucket. */
export const bucketName = (enterprise: string, policyId: string, ownership: Ownership) => `${enterprise}/policies/mdm-${policyId}-${ownership}`;

const failure = (e: unknown) =>
  isAppError(e) ? { errorCode: e.code, errorMessage: e.message } : { errorCode: 'android_error', errorMessage: (e as Error)?.message ?? String(e) };

/** Runs `work` over `items`, `limit` at a time. */
async function pool<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Android enforcement: each device's effective policy becomes its bucket's AMAPI policy, patched
 * when our version changes (once per bucket, never per device), and the device is pointed at it
 * with devices.patch only when its bucket changes. A device no policy of ours applies to any more
 * goes back to the policy it enrolled with — the one its enrollment token (or the admin who
 * enrolled it elsewhere) chose for it, which is what it would have without us. Nothing here
 * throws to the caller: no enterprise, or Google refusing, is recorded per bucket and device, and
 * `failing()` hands those devices to the next periodic sync.
 */
export function createAndroidEnforcer(deps: {
  client: AmapiClient;
  repo: PolicyTargetRepo;
  enterprise: () => EnterpriseRow | undefined;
  log: Logger;
  now?: () => number;
}): PolicyEnforcer & { failing(): string[]; status(deviceId: string): unknown } {
  const { client, repo, log } = deps;
  const now = deps.now ?? Date.now;
  // One pass at a time: two overlapping passes would patch the same bucket or device twice.
  let running: Promise<unknown> = Promise.resolve();

  async function applyOnce(targets: readonly EffectiveTarget[]): Promise<Record<string, number>> {
    const counts = { policies_patched: 0, policies_deleted: 0, devices_patched: 0, devices_updated: 0, devices_reverted: 0, failed: 0 };
    const android = targets.filter((t) => t.device.platform === 'android');
    const enterprise = deps.enterprise()?.name;
    if (!android.length) {
      if (enterprise) counts.policies_deleted = await deleteOrphans(enterprise);
      return counts;
    }
    // A whole fleet is read in one pass; a few devices (an enrollment, a group change) one by one.
    const rows = android.length > 100 ? repo.targets() : new Map(android.map((x) => [x.device.id, repo.target(x.device.id)] as const).filter((e): e is readonly [string, TargetRow] => e[1] !== undefined));
    const t = now();
    const save: TargetRow[] = [];
    const record = (deviceId: string, base: TargetRow | undefined, set: Partial<TargetRow>) =>
      save.push({
        deviceId,
        enrolledPolicyName: base?.enrolledPolicyName ?? null,
        policyId: base?.policyId ?? null,
        policyVersion: base?.policyVersion ?? null,
        policyName: base?.policyName ?? null,
        status: 'applied',
        errorCode: null,
        errorMessage: null,
        ...set,
        updatedAt: t,
      });
    const fail = (deviceId: string, row: TargetRow | undefined, err: { errorCode: string; errorMessage: string }) => {
      counts.failed++;
      // What was asked before stays recorded: the error says the new ask did not reach the device.
      record(deviceId, row, { status: 'error', ...err });
    };

    // Buckets first: a device can only be pointed at a policy Google has.
    const buckets = new Map<string, { target: EffectiveTarget; ownership: Ownership; error: { errorCode: string; errorMessage: string } | null }>();
    for (const target of android) {
      if (!target.policy || !enterprise) continue;
      const ownership = target.device.ownership ?? 'corporate';
      const name = bucketName(enterprise, target.policy.ref.id, ownership);
      if (!buckets.has(name)) buckets.set(name, { target, ownership, error: null });
    }
    for (const [name, b] of buckets) {
      const ref = b.target.policy!.ref;
      const stored = repo.bucket(name);
      if (stored && stored.sentVersion === ref.version && stored.errorCode === null) continue;
      const base = { name, enterpriseName: enterprise!, policyId: ref.id, ownership: b.ownership, updatedAt: now() };
      try {
        const compiled = compileFor(ref, b.target.policy!.document, 'android', b.ownership);
        const answer = await client.patchPolicy(name, compiled.output as Parameters<AmapiClient['patchPolicy']>[1]);
        repo.saveBucket({ ...base, sentVersion: ref.version, googleVersion: answer.version, errorCode: null, errorMessage: null });
        counts.policies_patched++;
      } catch (e) {
        b.error = failure(e);
        repo.saveBucket({ ...base, sentVersion: null, googleVersion: null, ...b.error });
        log.warn({ policy: name, ...b.error }, 'patching an Android policy failed: its devices are tried again at the next sync');
      }
    }

    const patches: Array<{ id: string; row: TargetRow | undefined; policyName: string; set: Partial<TargetRow>; revert: boolean }> = [];
    for (const target of android) {
      const id = target.device.id;
      const row = rows.get(id);
      if (!target.policy) {
        // Never ours, or already back on its enrollment policy.
        if (!row || (row.policyId === null && row.status === 'applied')) continue;
        if (!enterprise) {
          fail(id, row, { errorCode: 'android_enterprise_missing', errorMessage: 'no Android enterprise is bound' });
          continue;
        }
        if (!row.enrolledPolicyName) {
          fail(id, row, { errorCode: 'android_enrollment_policy_unknown', errorMessage: 'the policy this device enrolled with is not known' });
          continue;
        }
        patches.push({ id, row, policyName: row.enrolledPolicyName, set: { policyId: null, policyVersion: null, policyName: row.enrolledPolicyName }, revert: true });
        continue;
      }
      const ref = target.policy.ref;
      if (!enterprise) {
        fail(id, row, { errorCode: 'android_enterprise_missing', errorMessage: 'no Android enterprise is bound: the policy cannot be applied' });
        continue;
      }
      const name = bucketName(enterprise, ref.id, target.device.ownership ?? 'corporate');
      const bucketError = buckets.get(name)?.error;
      if (bucketError) {
        fail(id, row, bucketError);
        continue;
      }
      const set = { policyId: ref.id, policyVersion: ref.version, policyName: name };
      if (row?.status === 'applied' && row.policyName === name) {
        // Same AMAPI policy, patched above: Google brings the device to the new version itself.
        if (row.policyVersion !== ref.version || row.policyId !== ref.id) {
          record(id, row, set);
          counts.devices_updated++;
        }
        continue;
      }
      patches.push({ id, row, policyName: name, set, revert: false });
    }

    await pool(patches, CONCURRENCY, async (p) => {
      const facts = repo.facts(p.id);
      if (!facts) return;
      try {
        await client.patchDevicePolicy(facts.name, p.policyName);
        // Where it goes back to is what Google reported before our first change.
        record(p.id, p.row, { ...p.set, enrolledPolicyName: p.row?.enrolledPolicyName ?? facts.policyName });
        if (p.revert) counts.devices_reverted++;
        else counts.devices_patched++;
      } catch (e) {
        const err = failure(e);
        log.warn({ device: facts.name, policy: p.policyName, ...err }, 'pointing an Android device at its policy failed: tried again at the next sync');
        fail(p.id, p.row, err);
      }
    });
    repo.saveTargets(save);
    if (enterprise) counts.policies_deleted = await deleteOrphans(enterprise);
    return counts;
  }

  /** Google's copies of deleted policies, once no device is on them; tried again on the next pass when Google refuses. */
  async function deleteOrphans(enterprise: string): Promise<number> {
    let n = 0;
    for (const name of repo.orphanBuckets(enterprise)) {
      try {
        await client.deletePolicy(name);
      } catch (e) {
        // Already gone at Google is what was wanted.
        if (!(isAppError(e) && e.status === 404)) {
          log.warn({ policy: name, ...failure(e) }, 'deleting an Android policy failed: tried again at the next change');
          continue;
        }
      }
      repo.deleteBucket(name);
      n++;
    }
    return n;
  }

  return {
    name: 'android',
    apply(targets) {
      const pass = running.then(() => applyOnce(targets));
      running = pass.catch(() => undefined);
      return pass;
    },
    failing: () => repo.failing(),
    status(deviceId) {
      const row = repo.target(deviceId);
      if (!row) return undefined;
      const bucket = row.policyId && row.policyName ? repo.bucket(row.policyName) : undefined;
      return {
        policy_name: row.policyName,
        policy_id: row.policyId,
        policy_version: row.policyVersion,
        enrolled_policy_name: row.enrolledPolicyName,
        status: row.status,
        error: row.errorCode ? { code: row.errorCode, message: row.errorMessage } : null,
        google_policy_version: bucket?.googleVersion ?? null,
        updated_at: new Date(row.updatedAt).toISOString(),
      };
    },
  };
}

import { buildCommand } from '../apple/commands/build.ts';
import type { PlistDict } from '../apple/plist.ts';
import type { PolicyProfileRepo, PolicyProfileRow } from '../apple/policy-profile-repo.ts';
import type { CommandQueue } from '../apple/queue.ts';
import type { Logger } from '../log.ts';
import { policyProfileIdentifier } from './compile-apple.ts';
import type { Ownership } from './model.ts';
import { compileFor, type EffectiveTarget, type PolicyEnforcer } from './service.ts';

type ApplePlatform = 'ios' | 'ipados' | 'macos';
const APPLE = new Set<string>(['ios', 'ipados', 'macos']);

/** A command's answer, as the MDM service hands it on. */
export interface CommandResult {
  deviceId: string;
  commandUuid: string;
  requestType: string;
  /** Acknowledged, Error, CommandFormatError or NotNow. */
  status: string;
  report: PlistDict;
}

/**
 * What a device's error chain says, as a code and a message: the first error's domain and code
 * (what Apple documents and admins search for), every error's description.
 */
export function deviceError(report: PlistDict): { errorCode: string; errorMessage: string } {
  const chain = Array.isArray(report.ErrorChain) ? (report.ErrorChain as PlistDict[]) : [];
  if (!chain.length) return { errorCode: String(report.Status), errorMessage: `the device answered ${String(report.Status)} without an error chain` };
  const first = chain[0]!;
  const text = chain.map((e) => String(e.LocalizedDescription ?? e.USEnglishDescription ?? `${String(e.ErrorDomain)} ${String(e.ErrorCode)}`));
  return { errorCode: `${String(first.ErrorDomain)}:${String(first.ErrorCode)}`, errorMessage: text.join(' — ') };
}

/** RemoveProfile of a profile the device does not have: what the removal wanted. */
const notInstalled = (report: PlistDict) =>
  Array.isArray(report.ErrorChain) && (report.ErrorChain as PlistDict[]).some((e) => e.ErrorDomain === 'MDMClientError' && Number(e.ErrorCode) === 89);

/**
 * Apple enforcement: each enrolled device's effective policy becomes one configuration profile
 * (its PayloadIdentifier names the policy, so a new version replaces the old one in place),
 * installed with InstallProfile; a profile of ours a device should no longer have goes with
 * RemoveProfile. Devices that get the same bytes share one queued command: a new version on
 * 10,000 iPhones is one InstallProfile with 10,000 targets, compiled and validated once.
 * The device's answer decides the row (result()); a failed install is not sent again for the
 * same version — the device would refuse it again — but a new version, or the device enrolling
 * again, sends it.
 */
export function createAppleEnforcer(deps: { repo: PolicyProfileRepo; queue: CommandQueue; log: Logger; now?: () => number }) {
  const { repo, queue, log } = deps;
  const now = deps.now ?? Date.now;

  function apply(targets: readonly EffectiveTarget[]): Record<string, number> {
    const counts = { profiles_queued: 0, removals_queued: 0, superseded: 0 };
    const apple = targets.filter((t) => APPLE.has(t.device.platform ?? ''));
    if (!apple.length) return counts;
    const live = repo.enrolled(apple.map((t) => t.device.id));
    // A whole fleet is read in one pass; a few devices (an enrollment, a group change) one by one.
    const rowsOf = apple.length > 100 ? repo.all() : new Map(apple.map((t) => [t.device.id, repo.ofDevice(t.device.id)]));

    const installs = new Map<string, { target: EffectiveTarget; platform: ApplePlatform; ownership: Ownership; ids: string[] }>();
    const removals = new Map<string, PolicyProfileRow[]>();
    // Commands still waiting in the queue that a change makes wrong: an old version the device
    // would install only to replace it at once, a removal of a profile wanted again.
    const superseded = new Map<string, string[]>();
    const takeBack = (r: PolicyProfileRow) => {
      if (r.state === 'pending' || r.state === 'removing') (superseded.get(r.commandUuid) ?? superseded.set(r.commandUuid, []).get(r.commandUuid)!).push(r.deviceId);
    };
    // Rows whose command will never be answered (expired, cancelled): what the device has is not
    // known, so it is brought where it should be again rather than left waiting.
    const stale = repo.stale(apple.length > 100 ? null : apple.map((t) => t.device.id));
    const isStale = (r: PolicyProfileRow) => (r.state === 'pending' || r.state === 'removing') && stale.has(`${r.deviceId}\0${r.identifier}`);

    // Compiled once per policy version, platform and ownership; a profile with no payloads (a
    // policy of required apps only, say) is no profile: the device should have none of ours.
    const compiled = new Map<string, { xml: string; empty: boolean }>();
    const compiledFor = (t: EffectiveTarget, platform: ApplePlatform, ownership: Ownership, key: string) => {
      let c = compiled.get(key);
      if (!c) {
        const view = compileFor(t.policy!.ref, t.policy!.document, platform, ownership, true);
        c = { xml: view.xml!, empty: ((view.output as { PayloadContent?: unknown[] }).PayloadContent ?? []).length === 0 };
        compiled.set(key, c);
      }
      return c;
    };

    for (const t of apple) {
      const id = t.device.id;
      if (!live.has(id)) continue;
      const platform = t.device.platform as ApplePlatform;
      const ownership = t.device.ownership ?? 'corporate';
      const key = t.policy ? `${t.policy.ref.id}@${t.policy.ref.version}/${platform}/${ownership}` : '';
      const want = t.policy && !compiledFor(t, platform, ownership, key).empty ? policyProfileIdentifier(t.policy.ref.id) : null;
      for (const r of rowsOf.get(id) ?? []) {
        if (r.identifier === want || ((r.state === 'removing' || r.state === 'remove_failed') && !isStale(r))) continue;
        takeBack(r);
        (removals.get(r.identifier) ?? removals.set(r.identifier, []).get(r.identifier)!).push(r);
      }
      if (!t.policy || !want) continue;
      const have = rowsOf.get(id)?.find((r) => r.identifier === want);
      const current = have && !isStale(have) && have.policyVersion === t.policy.ref.version && (have.state === 'pending' || have.state === 'installed' || have.state === 'failed');
      if (current) continue;
      if (have) takeBack(have);
      (installs.get(key) ?? installs.set(key, { target: t, platform, ownership, ids: [] }).get(key)!).ids.push(id);
    }
    if (!installs.size && !removals.size) return counts;

    const t = now();
    // Built before anything is written: a command that does not build fails the pass, not half of it.
    const commands = [...installs.entries()].map(([key, b]) => ({
      bucket: b,
      policy: b.target.policy!,
      command: buildCommand('InstallProfile', { Payload: Buffer.from(compiled.get(key)!.xml, 'utf8') }),
    }));
    repo.transaction(() => {
      for (const [uuid, ids] of superseded) counts.superseded += queue.takeBack(uuid, ids);
      const rows: PolicyProfileRow[] = [];
      for (const { bucket, policy, command } of commands) {
        queue.enqueue(command, bucket.ids);
        counts.profiles_queued += bucket.ids.length;
        for (const deviceId of bucket.ids) {
          rows.push({
            deviceId,
            identifier: policyProfileIdentifier(policy.ref.id),
            policyId: policy.ref.id,
            policyName: policy.ref.name,
            policyVersion: policy.ref.version,
            state: 'pending',
            commandUuid: command.uuid,
            errorCode: null,
            errorMessage: null,
            updatedAt: t,
          });
        }
      }
      for (const [identifier, olds] of removals) {
        const command = buildCommand('RemoveProfile', { Identifier: identifier });
        queue.enqueue(command, olds.map((r) => r.deviceId));
        counts.removals_queued += olds.length;
        for (const r of olds) rows.push({ ...r, state: 'removing', commandUuid: command.uuid, errorCode: null, errorMessage: null, updatedAt: t });
      }
      repo.save(rows);
    });
    log.info(counts, 'policy profiles queued');
    return counts;
  }

  return {
    name: 'apple',
    apply: async (targets: readonly EffectiveTarget[]) => apply(targets),

    /** A device's answer to one of our InstallProfile or RemoveProfile commands; anything else is not ours. */
    result(r: CommandResult): void {
      if ((r.requestType !== 'InstallProfile' && r.requestType !== 'RemoveProfile') || r.status === 'NotNow') return;
      const row = repo.byCommand(r.deviceId, r.commandUuid);
      if (!row) return;
      const ok = r.status === 'Acknowledged';
      const base = { deviceId: row.deviceId, identifier: row.identifier, commandUuid: row.commandUuid, updatedAt: now() };
      if (r.requestType === 'RemoveProfile' && (ok || notInstalled(r.report))) {
        repo.delete(row.deviceId, row.identifier, row.commandUuid);
        return;
      }
      const state = ok ? 'installed' : r.requestType === 'InstallProfile' ? 'failed' : 'remove_failed';
      const err = ok ? { errorCode: null, errorMessage: null } : deviceError(r.report);
      repo.setState({ ...base, state, ...err });
      if (!ok) log.warn({ deviceId: row.deviceId, profile: row.identifier, requestType: r.requestType, ...err }, 'the device refused a policy profile command');
    },

    retry: (deviceId: string): number => repo.forgetFailures(deviceId),

    /** A device that enrolls again (or leaves) has none of our profiles: its next pass starts from nothing. */
    forget: (deviceId: string): number => repo.forget(deviceId),

    /** The policy profiles asked of this device, for the API (JSON-ready); undefined: none. */
    status(deviceId: string): unknown {
      const rows = repo.ofDevice(deviceId);
      return rows.length ? rows.map(profileJson) : undefined;
    },
  } satisfies PolicyEnforcer & Record<string, unknown>;
}

export const profileJson = (r: PolicyProfileRow) => ({
  identifier: r.identifier,
  policy: { id: r.policyId, name: r.policyName, version: r.policyVersion },
  state: r.state,
  command_uuid: r.commandUuid,
  error: r.errorCode ? { code: r.errorCode, message: r.errorMessage } : null,
  updated_at: new Date(r.updatedAt).toISOString(),
});

export type AppleEnforcer = ReturnType<typeof createAppleEnforcer>;

import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { EffectiveTarget, EnforceScope, PolicyEnforcer } from '../policy/service.ts';
import type { EmitEvent } from '../webhooks/events.ts';
import { checksApps, evaluateAndroid, evaluateApple, ruleKey, type ComplianceState } from './evaluate.ts';
import type { ComplianceEventRow, ComplianceRepo, ComplianceRow } from './repo.ts';

export const TIMELINE_PAGE = 20;
/** The Apple answers compliance is read from; other inventory changes nothing it checks. */
const APPLE_REPORTS = new Set(['SecurityInfo', 'DeviceInformation', 'InstalledApplicationList']);

/**
 * Compliance of every device with its effective policy, recomputed from what the device last
 * reported whenever it reports (Apple inventory answers, Android status reports) and whenever its
 * effective policy changes (this is a PolicyEnforcer too). Stores the state, writes a timeline
 * entry when the state or the set of failing rules changes, and emits `compliance.changed` on a
 * state flip — the one place that event comes from, for both platforms.
 */
export function createCompliance(deps: {
  repo: ComplianceRepo;
  /** Each device's effective policy (policies.targets), read when a report comes. */
  targets: (scope: EnforceScope) => EffectiveTarget[];
  emit?: EmitEvent;
  log: Logger;
  now?: () => number;
}) {
  const { repo } = deps;
  const now = deps.now ?? Date.now;

  /** Evaluates and stores; the events to emit once the transaction has committed. */
  function evaluateOne(target: EffectiveTarget, t: number, out: Array<Record<string, unknown>>): 'changed' | 'same' | 'missing' {
    const doc = target.policy?.document ?? null;
    const facts = repo.facts(target.device.id, { apps: checksApps(doc) });
    if (!facts) return 'missing';
    const e = facts.kind === 'apple' ? evaluateApple(doc, facts) : evaluateAndroid(doc, facts);
    const before = repo.current(target.device.id);
    const platform = facts.kind === 'apple' ? target.device.platform : 'android';
    const policyId = target.policy?.ref.id ?? null;
    const policyVersion = target.policy?.ref.version ?? null;
    const changed = !before || before.state !== e.state || ruleKey(before.failingRules) !== ruleKey(e.failing);
    repo.save({
      deviceId: target.device.id,
      platform: platform || null,
      state: e.state,
      reason: e.reason,
      failingRules: e.failing,
      policyId,
      policyVersion,
      evaluatedAt: t,
      changedAt: changed ? t : before.changedAt,
    });
    if (!changed) return 'same';
    repo.addEvent({ deviceId: target.device.id, state: e.state, previousState: before?.state ?? null, failingRules: e.failing, policyId, policyVersion, at: t });
    // A first evaluation is news only when it finds the device non-compliant: device.enrolled tells the rest.
    if ((before && before.state !== e.state) || (!before && e.state === 'noncompliant')) {
      out.push({
        device_id: target.device.id,
        platform: platform || null,
        state: e.state,
        previous_state: before?.state ?? null,
        compliant: e.state === 'compliant',
        previous: before ? before.state === 'compliant' : null,
        failing_rules: e.failing,
        policy: policyId ? { id: policyId, version: policyVersion } : null,
        ...(facts.kind === 'android' ? { non_compliance_details: facts.nonComplianceDetails ?? [] } : {}),
      });
    }
    return 'changed';
  }

  function evaluateTargets(targets: readonly EffectiveTarget[]): Record<string, number> {
    const t = now();
    const events: Array<Record<string, unknown>> = [];
    const counts = { evaluated: 0, changed: 0 };
    repo.transaction(() => {
      for (const target of targets) {
        const r = evaluateOne(target, t, events);
        if (r === 'missing') continue;
        counts.evaluated++;
        if (r === 'changed') counts.changed++;
      }
    });
    for (const e of events) deps.emit?.('compliance.changed', e);
    return counts;
  }

  const enforcer: PolicyEnforcer = {
    name: 'compliance',
    // Synchronous work (the database only): a policy change re-evaluates its devices at once.
    apply: async (targets) => evaluateTargets(targets),
  };

  return {
    enforcer,

    /** After a device reported (inventory answer, status report): re-evaluates these devices. Never throws to the reporter. */
    reported(deviceIds: string[]): void {
      if (!deviceIds.length) return;
      try {
        evaluateTargets(deps.targets({ devices: deviceIds }));
      } catch (e) {
        deps.log.error({ err: e, devices: deviceIds.length }, 'evaluating compliance failed');
      }
    },

    /** After an Apple inventory answer was stored. */
    appleInventory(deviceId: string, requestType: string): void {
      if (APPLE_REPORTS.has(requestType)) this.reported([deviceId]);
    },

    /** A device's state, failing rules and a page of its timeline (newest first; `before`: the cursor). */
    get(deviceId: string, o: { before?: number; limit?: number } = {}): { current: ComplianceRow | null; timeline: ComplianceEventRow[]; nextCursor: number | null } {
      if (!repo.facts(deviceId, { apps: false })) throw new AppError('device_not_found', `no device ${deviceId}`, 404);
      const limit = o.limit ?? TIMELINE_PAGE;
      const page = repo.timeline(deviceId, { before: o.before, limit: limit + 1 });
      const more = page.length > limit;
      const timeline = page.slice(0, limit);
      return { current: repo.current(deviceId) ?? null, timeline, nextCursor: more ? timeline[timeline.length - 1]!.id : null };
    },

    /** The device-trust answer: one device by serial, UDID or enterprise-specific id. */
    lookup(by: { serial?: string; udid?: string; enterpriseId?: string }): { deviceId: string; platform: string; state: ComplianceState; evaluatedAt: number | null } {
      const hit = repo.lookup(by);
      if (!hit) throw new AppError('device_not_found', 'no device matches', 404);
      const c = repo.current(hit.id);
      return { deviceId: hit.id, platform: c?.platform ?? hit.platform, state: c?.state ?? 'unknown', evaluatedAt: c?.evaluatedAt ?? null };
    },
  };
}

export type Compliance = ReturnType<typeof createCompliance>;

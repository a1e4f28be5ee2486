import crypto from 'node:crypto';
import { jsonSafe } from '../apple/plist.ts';
import { AppError, isAppError } from '../errors.ts';
import { compileAndroid } from './compile-android.ts';
import { appleProfileXml, compileApple, type PolicyRef } from './compile-apple.ts';
import { diff, type Change } from './diff.ts';
import { POLICY_PLATFORMS, PolicyDocument, forOwnership, type Ownership, type PolicyPlatform } from './model.ts';
import { pickEffective, type Candidate } from './precedence.ts';
import type { AssignmentRow, DeviceFacts, GroupRow, PolicyRepo, PolicyRow, PolicyVersionRow } from './repo.ts';

export interface PolicyView extends PolicyRow {
  document: PolicyDocument;
}

/** A compiled policy for one platform, JSON-ready: `output` is the profile (Apple) or the AMAPI Policy. */
export interface CompiledView {
  platform: PolicyPlatform;
  ownership: Ownership;
  version: number;
  /** Apple: the profile's PayloadIdentifier. */
  identifier?: string;
  output: unknown;
  /** Apple: the profile as InstallProfile would carry it. */
  xml?: string;
  notes: string[];
}

export type AssignmentInput =
  | { target: 'all'; priority: number }
  | { target: 'ownership'; ownership: Ownership; priority: number }
  | { target: 'platform'; platform: PolicyPlatform; priority: number }
  | { target: 'group'; groupId: string; priority: number };

/** One enrolled device and the policy in force on it now (null: none targets it). */
export interface EffectiveTarget {
  device: DeviceFacts;
  policy: { ref: PolicyRef; document: PolicyDocument } | null;
}

/** Which devices a change may have moved: these ids, or every enrolled device. */
export type EnforceScope = { devices: string[] } | 'all';

/**
 * One platform's enforcement (Apple profiles, Android policies): told, after a change commits,
 * what each device in scope should now have, it brings the devices there and records per device
 * what it sent. It must be idempotent: the same targets twice send nothing the second time.
 */
export interface PolicyEnforcer {
  readonly name: string;
  apply(targets: readonly EffectiveTarget[]): Promise<Record<string, number>>;
  /** What it last asked of this device and whether that failed, for the API (JSON-ready); undefined: nothing. */
  status?(deviceId: string): unknown;
  /** Forgets the device's refusals, so the next pass sends again what failed; how many it forgot. */
  retry?(deviceId: string): number;
}

const OWNERSHIPS: Ownership[] = ['corporate', 'personal'];
const SAMPLE = 10;

const isPolicyPlatform = (p: string | null): p is PolicyPlatform => POLICY_PLATFORMS.includes(p as PolicyPlatform);

/** Compiles for one platform and ownership; `xml` only when asked (it is the bulk of the answer). */
export function compileFor(ref: PolicyRef, doc: PolicyDocument, platform: PolicyPlatform, ownership: Ownership, xml = false): CompiledView {
  const applied = forOwnership(doc, ownership);
  if (platform === 'android') {
    const c = compileAndroid(applied, ownership);
    return { platform, ownership, version: ref.version, output: c.policy, notes: c.notes };
  }
  const c = compileApple(ref, applied, platform);
  return { platform, ownership, version: ref.version, identifier: c.identifier, output: jsonSafe(c.profile), ...(xml ? { xml: appleProfileXml(c) } : {}), notes: c.notes };
}

/**
 * Policies with versions, device groups, assignments and the one effective policy per device
 * (precedence.ts). What reaches devices is the enforcers' work (PolicyEnforcer): this service
 * only tells them, through enforce(), which devices should now have what.
 */
export function createPolicies(deps: { repo: PolicyRepo; now?: () => number; enforcers?: PolicyEnforcer[] }) {
  const { repo } = deps;
  const enforcers = deps.enforcers ?? [];
  const now = deps.now ?? Date.now;

  const requirePolicy = (id: string): PolicyRow => {
    const p = repo.policy(id);
    if (!p) throw new AppError('policy_not_found', `no policy ${id}`, 404);
    return p;
  };
  const requireGroup = (id: string): GroupRow => {
    const g = repo.group(id);
    if (!g) throw new AppError('group_not_found', `no group ${id}`, 404);
    return g;
  };
  const requireDevice = (id: string): DeviceFacts => {
    const d = repo.device(id);
    if (!d) throw new AppError('device_not_found', `no device ${id}`, 404);
    return d;
  };
  const requireVersion = (p: PolicyRow, version = p.currentVersion): PolicyVersionRow => {
    const v = repo.version(p.id, version);
    if (!v) throw new AppError('policy_version_not_found', `policy ${p.id} has no version ${version}`, 404);
    return v;
  };
  const documentOf = (v: PolicyVersionRow) => PolicyDocument.parse(JSON.parse(v.document));
  const view = (p: PolicyRow): PolicyView => ({ ...p, document: documentOf(requireVersion(p)) });

  /** A document is saved only if every platform takes it: refused here, not on the device. */
  const checkCompiles = (ref: PolicyRef, doc: PolicyDocument) => {
    for (const platform of POLICY_PLATFORMS) {
      for (const ownership of OWNERSHIPS) {
        try {
          compileFor(ref, doc, platform, ownership);
        } catch (e) {
          if (isAppError(e)) throw new AppError(e.code, `${platform}: ${e.message}`, e.status);
          throw e;
        }
      }
    }
  };
  const nameFree = (name: string, self?: string) => {
    const other = repo.policyByName(name);
    if (other && other.id !== self) throw new AppError('policy_name_taken', `a policy named ${name} exists`, 409);
  };

  /** Every device's winning assignment, computed in one pass over assignments and memberships. */
  const candidates = (): Candidate[] => repo.allAssignments().map((r) => ({ assignment: r.assignment, policyName: r.policyName, currentVersion: r.currentVersion }));
  const effectiveAll = () => {
    const all = candidates();
    const groupsOf = new Map<string, Set<string>>();
    for (const m of repo.allMemberships()) (groupsOf.get(m.deviceId) ?? groupsOf.set(m.deviceId, new Set()).get(m.deviceId)!).add(m.groupId);
    return repo.devices().map((device) => ({ device, winner: pickEffective(all, device, groupsOf.get(device.id) ?? new Set()) }));
  };

  /** Documents by policy id and version, parsed once per call of targets(). */
  const targetsFor = (scope: EnforceScope): EffectiveTarget[] => {
    const all = candidates();
    const docs = new Map<string, EffectiveTarget['policy']>();
    const policyOf = (c: Candidate): EffectiveTarget['policy'] => {
      const key = `${c.assignment.policyId}@${c.currentVersion}`;
      let hit = docs.get(key);
      if (!hit) {
        const v = repo.version(c.assignment.policyId, c.currentVersion);
        if (!v) return null;
        hit = { ref: { id: c.assignment.policyId, name: c.policyName, version: c.currentVersion }, document: documentOf(v) };
        docs.set(key, hit);
      }
      return hit;
    };
    if (scope === 'all') return effectiveAll().map(({ device, winner }) => ({ device, policy: winner ? policyOf(winner) : null }));
    const out: EffectiveTarget[] = [];
    for (const id of new Set(scope.devices)) {
      const device = repo.device(id);
      if (!device) continue;
      const winner = pickEffective(all, device, new Set(repo.groupsOf(id)));
      out.push({ device, policy: winner ? policyOf(winner) : null });
    }
    return out;
  };

  return {
    /** What every device in scope should have now, by the precedence rule. */
    targets: targetsFor,

    /**
     * Hands the devices in scope to every enforcer, after a change has committed. Each counts
     * what it did (`queued`, `removed`, `patched`, ...), reported per enforcer.
     */
    async enforce(scope: EnforceScope): Promise<Record<string, Record<string, number>>> {
      if (!enforcers.length) return {};
      const targets = targetsFor(scope);
      const out: Record<string, Record<string, number>> = {};
      for (const e of enforcers) out[e.name] = await e.apply(targets);
      return out;
    },

    /**
     * Sends a device again what it refused (an admin fixed the cause: the user approved, a
     * restriction was lifted): each enforcer forgets the refusals, then the device is enforced.
     */
    async retry(deviceId: string): Promise<{ forgotten: number; enforced: Record<string, Record<string, number>> }> {
      requireDevice(deviceId);
      const forgotten = enforcers.reduce((n, e) => n + (e.retry?.(deviceId) ?? 0), 0);
      return { forgotten, enforced: await this.enforce({ devices: [deviceId] }) };
    },

    /** Each enforcer's record for the device: what was asked of it, and the error when it failed. */
    enforcement(deviceId: string): Record<string, unknown> {
      const out: Record<string, unknown> = {};
      for (const e of enforcers) {
        const s = e.status?.(deviceId);
        if (s !== undefined) out[e.name] = s;
      }
      return out;
    },

    list: (): PolicyView[] => repo.policies().map(view),
    get: (id: string): PolicyView => view(requirePolicy(id)),

    create(input: { name: string; description: string | null; document: PolicyDocument; createdBy: string | null }): PolicyView {
      const id = crypto.randomUUID();
      checkCompiles({ id, name: input.name, version: 1 }, input.document);
      const t = now();
      return repo.transaction(() => {
        nameFree(input.name);
        const row: PolicyRow = { id, name: input.name, description: input.description, currentVersion: 1, createdAt: t, updatedAt: t };
        repo.insertPolicy(row);
        repo.insertVersion({ policyId: id, version: 1, document: JSON.stringify(input.document), createdBy: input.createdBy, createdAt: t });
        return { ...row, document: input.document };
      });
    },

    /** A new version with `document`; name and description change in place (they are not settings). */
    update(id: string, input: { name?: string; description?: string | null; document: PolicyDocument; createdBy: string | null }): PolicyView {
      const t = now();
      return repo.transaction(() => {
        const p = requirePolicy(id);
        const name = input.name ?? p.name;
        nameFree(name, id);
        const version = p.currentVersion + 1;
        checkCompiles({ id, name, version }, input.document);
        repo.insertVersion({ policyId: id, version, document: JSON.stringify(input.document), createdBy: input.createdBy, createdAt: t });
        const set = { name, description: input.description === undefined ? p.description : input.description, currentVersion: version, updatedAt: t };
        repo.updatePolicy(id, set);
        return { ...p, ...set, document: input.document };
      });
    },

    remove(id: string): void {
      if (!repo.deletePolicy(id)) throw new AppError('policy_not_found', `no policy ${id}`, 404);
    },

    versions(id: string): Array<PolicyVersionRow & { parsed: PolicyDocument }> {
      requirePolicy(id);
      return repo.versions(id).map((v) => ({ ...v, parsed: documentOf(v) }));
    },

    compiled(id: string, platform: PolicyPlatform, ownership: Ownership, version?: number): CompiledView {
      const p = requirePolicy(id);
      const v = requireVersion(p, version);
      return compileFor({ id, name: p.name, version: v.version }, documentOf(v), platform, ownership, true);
    },

    /**
     * What saving `document` would change, for the devices this policy is effective on now:
     * devices of one platform and ownership get the same compiled output, so each such group is
     * compiled once, with its device count, a sample of ids, the new output and its diff.
     */
    preview(id: string, document: PolicyDocument) {
      const p = requirePolicy(id);
      const current = documentOf(requireVersion(p));
      const before: PolicyRef = { id, name: p.name, version: p.currentVersion };
      const after: PolicyRef = { ...before, version: p.currentVersion + 1 };
      const buckets = new Map<string, { platform: PolicyPlatform; ownership: Ownership; ids: string[] }>();
      let unsupported = 0;
      for (const { device, winner } of effectiveAll()) {
        if (winner?.assignment.policyId !== id) continue;
        if (!isPolicyPlatform(device.platform)) {
          unsupported++;
          continue;
        }
        const ownership = device.ownership ?? 'corporate';
        const key = `${device.platform}/${ownership}`;
        const b = buckets.get(key) ?? buckets.set(key, { platform: device.platform, ownership, ids: [] }).get(key)!;
        b.ids.push(device.id);
      }
      const groups = [...buckets.values()].map((b) => {
        const old = compileFor(before, current, b.platform, b.ownership);
        const base = { platform: b.platform, ownership: b.ownership, devices: b.ids.length, sample_device_ids: b.ids.sort().slice(0, SAMPLE) };
        try {
          const next = compileFor(after, document, b.platform, b.ownership);
          return { ...base, changes: diff(old.output, next.output) as Change[], compiled: next, error: null };
        } catch (e) {
          if (!isAppError(e)) throw e;
          return { ...base, changes: [] as Change[], compiled: null, error: { code: e.code, message: e.message } };
        }
      });
      const perPlatform: Record<string, number> = {};
      for (const g of groups) perPlatform[g.platform] = (perPlatform[g.platform] ?? 0) + g.devices;
      return {
        policy_id: id,
        from_version: before.version,
        to_version: after.version,
        devices: groups.reduce((n, g) => n + g.devices, 0),
        per_platform: perPlatform,
        unsupported_platform_devices: unsupported,
        groups,
      };
    },

    groups: () => repo.groups(),
    /** The groups a device is in, by name. */
    groupsOf(deviceId: string): GroupRow[] {
      return repo
        .groupsOf(deviceId)
        .map((id) => repo.group(id))
        .filter((g): g is GroupRow => g !== undefined)
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    group: (id: string) => ({ ...requireGroup(id), members: repo.members(id) }),
    createGroup(name: string): GroupRow {
      return repo.transaction(() => {
        if (repo.groupByName(name)) throw new AppError('group_name_taken', `a group named ${name} exists`, 409);
        const row: GroupRow = { id: crypto.randomUUID(), name, createdAt: now() };
        repo.insertGroup(row);
        return row;
      });
    },
    removeGroup(id: string): void {
      if (!repo.deleteGroup(id)) throw new AppError('group_not_found', `no group ${id}`, 404);
    },
    addMember(groupId: string, deviceId: string): { added: boolean } {
      return repo.transaction(() => {
        requireGroup(groupId);
        requireDevice(deviceId);
        return { added: repo.addMember(groupId, deviceId, now()) };
      });
    },
    removeMember(groupId: string, deviceId: string): void {
      requireGroup(groupId);
      if (!repo.removeMember(groupId, deviceId)) throw new AppError('member_not_found', `device ${deviceId} is not in group ${groupId}`, 404);
    },

    assignments(policyId: string): AssignmentRow[] {
      requirePolicy(policyId);
      return repo.assignments(policyId);
    },
    assign(policyId: string, input: AssignmentInput): AssignmentRow {
      return repo.transaction(() => {
        requirePolicy(policyId);
        const value = input.target === 'ownership' ? input.ownership : input.target === 'platform' ? input.platform : null;
        const groupId = input.target === 'group' ? requireGroup(input.groupId).id : null;
        const same = repo.assignments(policyId).find((a) => a.target === input.target && a.value === value && a.groupId === groupId);
        if (same) throw new AppError('assignment_exists', `policy ${policyId} is already assigned to this target (${same.id})`, 409);
        const row: AssignmentRow = { id: crypto.randomUUID(), policyId, target: input.target, value, groupId, priority: input.priority, createdAt: now() };
        repo.insertAssignment(row);
        return row;
      });
    },
    unassign(policyId: string, assignmentId: string): void {
      requirePolicy(policyId);
      if (!repo.deleteAssignment(policyId, assignmentId)) throw new AppError('assignment_not_found', `no assignment ${assignmentId} of policy ${policyId}`, 404);
    },

    /** The one policy in force on a device, the assignment that decided it, and its compiled form for that device. */
    effective(deviceId: string) {
      const device = requireDevice(deviceId);
      const winner = pickEffective(candidates(), device, new Set(repo.groupsOf(deviceId)));
      if (!winner) return { device, policy: null, assignment: null, compiled: null };
      const p = requirePolicy(winner.assignment.policyId);
      const doc = documentOf(requireVersion(p));
      const compiled = isPolicyPlatform(device.platform)
        ? compileFor({ id: p.id, name: p.name, version: p.currentVersion }, doc, device.platform, device.ownership ?? 'corporate', true)
        : null;
      return { device, policy: { ...p, document: doc }, assignment: winner.assignment, compiled };
    },
  };
}

export type Policies = ReturnType<typeof createPolicies>;

import { buildCommand, type BuiltCommand } from '../apple/commands/build.ts';
import type { PlistDict } from '../apple/plist.ts';
import type { CommandQueue } from '../apple/queue.ts';
import type { Logger } from '../log.ts';
import { deviceError, type CommandResult } from '../policy/enforce-apple.ts';
import { forOwnership } from '../policy/model.ts';
import type { EffectiveTarget, PolicyEnforcer } from '../policy/service.ts';
import type { AppRepo, AppRow, ManagedAppRow } from './repo.ts';

const APPLE = new Set<string>(['ios', 'ipados', 'macos']);
/** Our own refusal, recorded without a command: no way to install the app on that device yet. */
const NOT_INSTALLABLE = 'app_not_installable';
/** ManagementFlags 1: the app and its data go when the MDM profile goes (a retire, or the user removing it). */
const REMOVE_WITH_MDM = 1;

/**
 * How a device installs an app: an enterprise app from its manifest; an App Store app by its
 * iTunes store id, or on iPhone and iPad by its bundle id alone. A Mac needs the id (or a
 * manifest): the reason is returned instead of a command.
 */
export function installParams(bundleId: string, app: AppRow | undefined, platform: string): Record<string, unknown> | string {
  if (app?.source === 'enterprise' && app.manifestUrl) return { ManifestURL: app.manifestUrl, ManagementFlags: REMOVE_WITH_MDM };
  if (app?.itunesStoreId) return { iTunesStoreID: app.itunesStoreId, ManagementFlags: REMOVE_WITH_MDM };
  if (platform === 'macos') return `a Mac installs App Store apps by iTunes store id: add ${bundleId} to the app catalog with its itunes_store_id`;
  return { Identifier: bundleId, ManagementFlags: REMOVE_WITH_MDM };
}

/** A device's State after InstallApplication: Managed means installed and under management. */
const stateOf = (s: unknown) => (s === 'Managed' ? 'installed' : 'installing');

/**
 * The required apps of each Apple device's effective policy (`required_apps.apple`, as its
 * ownership sees the policy) installed as managed apps with InstallApplication — one command per
 * app and install method, whatever the number of devices — and an app that leaves a device's
 * scope removed with RemoveApplication: only apps this server installed are ever removed. Like
 * the profiles, a failed install is not resent until the app leaves the scope and comes back or
 * the device enrolls again.
 */
export function createAppleAppEnforcer(deps: { repo: AppRepo; queue: CommandQueue; enrolled: (ids: string[]) => Set<string>; log: Logger; now?: () => number }) {
  const { repo, queue, log } = deps;
  const now = deps.now ?? Date.now;

  function apply(targets: readonly EffectiveTarget[]): Record<string, number> {
    const counts = { apps_queued: 0, app_removals_queued: 0, not_installable: 0 };
    const apple = targets.filter((t) => APPLE.has(t.device.platform ?? ''));
    if (!apple.length) return counts;
    const live = deps.enrolled(apple.map((t) => t.device.id));
    const rowsOf = apple.length > 100 ? repo.managed() : new Map(apple.map((t) => [t.device.id, repo.managedOf(t.device.id)]));
    const catalog = repo.appleByBundle();
    const installs = new Map<string, { bundleId: string; params: Record<string, unknown>; ids: string[] }>();
    const removals = new Map<string, ManagedAppRow[]>();
    const refused: ManagedAppRow[] = [];
    const drop: ManagedAppRow[] = [];
    // Pending installs of apps leaving the scope: taken back if not delivered (then nothing is on
    // the device to remove), else removed. Removals of apps wanted again: taken back.
    const undeliver: ManagedAppRow[] = [];
    const unremove: ManagedAppRow[] = [];
    // Rows whose command will never be answered (expired, cancelled): acted on again.
    const stale = repo.stale(apple.length > 100 ? null : apple.map((x) => x.device.id));
    const isStale = (r: ManagedAppRow) => (r.state === 'pending' || r.state === 'removing') && stale.has(`${r.deviceId}\0${r.bundleId}`);
    const t = now();

    for (const target of apple) {
      const id = target.device.id;
      if (!live.has(id)) continue;
      const doc = target.policy ? forOwnership(target.policy.document, target.device.ownership ?? 'corporate') : null;
      const want = new Set(doc?.required_apps?.apple ?? []);
      const rows = new Map((rowsOf.get(id) ?? []).map((r) => [r.bundleId, r]));
      for (const r of rows.values()) {
        if (want.has(r.bundleId)) continue;
        const dead = isStale(r);
        if ((r.state === 'removing' || r.state === 'remove_failed') && !dead) continue;
        // Never installed by us (no way to, the device refused, or never delivered): nothing to remove.
        if (r.errorCode === NOT_INSTALLABLE || r.state === 'failed' || (r.state === 'pending' && dead)) drop.push(r);
        else if (r.state === 'pending') undeliver.push(r);
        else (removals.get(r.bundleId) ?? removals.set(r.bundleId, []).get(r.bundleId)!).push(r);
      }
      for (const bundleId of want) {
        const have = rows.get(bundleId);
        const leaving = have?.state === 'removing' || have?.state === 'remove_failed';
        // Our own refusal is looked at again each pass: the catalog may say how to install it now.
        if (have && !isStale(have) && !leaving && have.errorCode !== NOT_INSTALLABLE) continue;
        const params = installParams(bundleId, catalog.get(bundleId), target.device.platform!);
        if (typeof params === 'string') {
          // A removal on its way keeps its row: its answer is still to come.
          if (leaving) continue;
          counts.not_installable++;
          if (have?.errorCode !== NOT_INSTALLABLE || have.errorMessage !== params) {
            refused.push({ deviceId: id, bundleId, state: 'failed', commandUuid: '', deviceState: null, errorCode: NOT_INSTALLABLE, errorMessage: params, updatedAt: t });
          }
          continue;
        }
        if (have?.state === 'removing') unremove.push(have);
        const key = `${bundleId}\0${JSON.stringify(params)}`;
        (installs.get(key) ?? installs.set(key, { bundleId, params, ids: [] }).get(key)!).ids.push(id);
      }
    }
    if (!installs.size && !removals.size && !refused.length && !drop.length && !undeliver.length) return counts;

    const built: Array<{ bundleId: string; command: BuiltCommand; ids: string[] }> = [...installs.values()].map((b) => ({
      bundleId: b.bundleId,
      command: buildCommand('InstallApplication', b.params),
      ids: b.ids,
    }));
    repo.transaction(() => {
      for (const r of unremove) queue.takeBack(r.commandUuid, [r.deviceId]);
      for (const r of undeliver) {
        if (queue.takeBack(r.commandUuid, [r.deviceId])) drop.push(r);
        else (removals.get(r.bundleId) ?? removals.set(r.bundleId, []).get(r.bundleId)!).push(r);
      }
      const rows: ManagedAppRow[] = [...refused];
      for (const b of built) {
        queue.enqueue(b.command, b.ids);
        counts.apps_queued += b.ids.length;
        for (const deviceId of b.ids) rows.push({ deviceId, bundleId: b.bundleId, state: 'pending', commandUuid: b.command.uuid, deviceState: null, errorCode: null, errorMessage: null, updatedAt: t });
      }
      for (const [bundleId, olds] of removals) {
        const command = buildCommand('RemoveApplication', { Identifier: bundleId });
        queue.enqueue(command, olds.map((r) => r.deviceId));
        counts.app_removals_queued += olds.length;
        for (const r of olds) rows.push({ ...r, state: 'removing', commandUuid: command.uuid, errorCode: null, errorMessage: null, updatedAt: t });
      }
      repo.saveManaged(rows);
      for (const r of drop) repo.deleteManaged(r.deviceId, r.bundleId, r.commandUuid);
    });
    log.info(counts, 'managed apps queued');
    return counts;
  }

  function inventory(deviceId: string, installed: ReadonlySet<string>): void {
    const done = repo.managedOf(deviceId).filter((r) => (r.state === 'installing' || r.state === 'pending') && installed.has(r.bundleId));
    if (done.length) repo.saveManaged(done.map((r) => ({ ...r, state: 'installed', updatedAt: now() })));
  }

  return {
    name: 'apple_apps',
    apply: async (targets: readonly EffectiveTarget[]) => apply(targets),

    /** A device's answer to one of our InstallApplication or RemoveApplication commands. */
    result(r: CommandResult): void {
      // The installed-app list the device just sent: an app still installing that it lists is installed.
      if (r.requestType === 'InstalledApplicationList' && r.status === 'Acknowledged') {
        const listed = Array.isArray(r.report.InstalledApplicationList) ? (r.report.InstalledApplicationList as PlistDict[]) : [];
        inventory(r.deviceId, new Set(listed.map((a) => String(a.Identifier))));
        return;
      }
      if ((r.requestType !== 'InstallApplication' && r.requestType !== 'RemoveApplication') || r.status === 'NotNow') return;
      const row = repo.managedByCommand(r.deviceId, r.commandUuid);
      if (!row) return;
      const ok = r.status === 'Acknowledged';
      if (r.requestType === 'RemoveApplication' && ok) {
        repo.deleteManaged(row.deviceId, row.bundleId, row.commandUuid);
        return;
      }
      const err = ok ? { errorCode: null, errorMessage: null } : deviceError(r.report);
      const state = ok ? stateOf(r.report.State) : r.requestType === 'InstallApplication' ? 'failed' : 'remove_failed';
      repo.saveManaged([{ ...row, state, deviceState: typeof r.report.State === 'string' ? r.report.State : row.deviceState, ...err, updatedAt: now() }]);
      if (!ok) log.warn({ deviceId: row.deviceId, app: row.bundleId, requestType: r.requestType, ...err }, 'the device refused a managed app command');
    },

    forget: (deviceId: string): number => repo.forgetManaged(deviceId),
    retry: (deviceId: string): number => repo.forgetManagedFailures(deviceId),

    status(deviceId: string): unknown {
      const rows = repo.managedOf(deviceId);
      return rows.length ? rows.map(managedAppJson) : undefined;
    },
  } satisfies PolicyEnforcer & Record<string, unknown>;
}

export const managedAppJson = (r: ManagedAppRow) => ({
  bundle_id: r.bundleId,
  state: r.state,
  device_state: r.deviceState,
  command_uuid: r.commandUuid || null,
  error: r.errorCode ? { code: r.errorCode, message: r.errorMessage } : null,
  updated_at: new Date(r.updatedAt).toISOString(),
});

export type AppleAppEnforcer = ReturnType<typeof createAppleAppEnforcer>;

import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { buildCommand } from './commands/build.ts';
import type { PolicyProfileRepo } from './policy-profile-repo.ts';
import { ENROLLMENT_PROFILE_IDENTIFIER } from './profile.ts';
import type { CommandQueue } from './queue.ts';
import type { AppleRepo } from './repo.ts';
import type { AppRepo } from '../apps/repo.ts';

export type AppleWipeEffect = 'erase' | 'retire';

export interface AppleWipePlan {
  device_id: string;
  platform: string | null;
  ownership: 'corporate' | 'personal';
  effect: AppleWipeEffect;
  description: string;
  /** What goes, in the order it is sent. */
  removes: Array<{ kind: 'managed_app' | 'policy_profile' | 'mdm_profile' | 'everything'; identifier: string | null; name: string }>;
  /** What stays on the device. */
  keeps: string[];
}

const DESCRIPTIONS: Record<AppleWipeEffect, string> = {
  erase: 'a company-owned device: EraseDevice erases everything on it and it leaves management',
  retire:
    'a personal device: the apps and policy profiles this appliance installed are removed, then the MDM profile, which takes anything else managed with it; personal apps, data and profiles the user installed stay',
};
const KEEPS: Record<AppleWipeEffect, string[]> = {
  erase: [],
  retire: ['personal apps and their data', 'photos, messages, files and accounts the user added', 'profiles the user installed'],
};

/**
 * Wiping an Apple device, said before it is done: a company device is erased (EraseDevice); a
 * personal one is retired — RemoveProfile of each policy profile we installed, then of the
 * enrollment profile, whose removal makes the device drop every managed app with its data and
 * check out. Nothing personal is touched, and the plan lists exactly what goes.
 */
export function createAppleWipe(opts: { repo: AppleRepo; profiles: PolicyProfileRepo; apps: AppRepo; queue: CommandQueue; log: Logger; now?: () => number }) {
  const { repo, profiles, apps, queue, log } = opts;
  const now = opts.now ?? Date.now;
  // What a retire removes: ours, but for a removal already on its way (one that expired or was
  // cancelled is sent again) and an app whose install failed (nothing of ours is there).
  const toRemove = (deviceId: string) => {
    const staleProfiles = profiles.stale([deviceId]);
    const staleApps = apps.stale([deviceId]);
    return {
      apps: apps.managedOf(deviceId).filter((r) => r.state !== 'failed' && (r.state !== 'removing' || staleApps.has(`${deviceId}\0${r.bundleId}`))),
      profiles: profiles.ofDevice(deviceId).filter((r) => r.state !== 'removing' || staleProfiles.has(`${deviceId}\0${r.identifier}`)),
    };
  };

  function plan(deviceId: string): AppleWipePlan {
    const device = repo.device(deviceId);
    const enrollment = repo.enrollment(deviceId);
    if (!device || !enrollment) throw new AppError('device_not_found', `no device ${deviceId}`, 404);
    if (enrollment.status !== 'enrolled') throw new AppError('enrollment_not_enrolled', `not enrolled: ${deviceId} is ${enrollment.status}`, 409);
    // Retired already and its removals still on their way: nothing to add. Once they expired or
    // were cancelled (the device stayed away), a retire may be sent again.
    if (enrollment.retireRequestedAt !== null && repo.withPending('RemoveProfile', [deviceId]).length) {
      throw new AppError('retire_pending', `${deviceId} is being retired already (since ${new Date(enrollment.retireRequestedAt).toISOString()}): its removals are on their way`, 409);
    }
    const effect: AppleWipeEffect = enrollment.ownership === 'personal' ? 'retire' : 'erase';
    const ours = effect === 'retire' ? toRemove(deviceId) : { apps: [], profiles: [] };
    const removes: AppleWipePlan['removes'] =
      effect === 'erase'
        ? [{ kind: 'everything', identifier: null, name: 'everything on the device' }]
        : [
            ...ours.apps.map((r) => ({ kind: 'managed_app' as const, identifier: r.bundleId, name: `app ${r.bundleId} and its data` })),
            ...ours.profiles.map((r) => ({ kind: 'policy_profile' as const, identifier: r.identifier, name: `policy ${r.policyName}` })),
            { kind: 'mdm_profile', identifier: ENROLLMENT_PROFILE_IDENTIFIER, name: 'the MDM profile, with every managed app and its data' },
          ];
    return { device_id: deviceId, platform: device.platform, ownership: enrollment.ownership, effect, description: DESCRIPTIONS[effect], removes, keeps: KEEPS[effect] };
  }

  return {
    /** What a wipe would do, without doing it. */
    preview: plan,

    /**
     * Does it when `confirm` is true; otherwise AppError wipe_not_confirmed saying what it would do.
     * A Mac's erase may carry the six-digit PIN that unlocks it afterwards. The commands are
     * queued (the device is pushed by the queue's listeners); a retiring device is left alone by
     * policy enforcement from now on.
     */
    wipe(req: { deviceId: string; confirm: boolean; pin?: string; createdBy?: string }): AppleWipePlan & { command_uuids: string[] } {
      const p = plan(req.deviceId);
      if (!req.confirm) throw new AppError('wipe_not_confirmed', `not wiped: ${p.description}. Send it again with confirm: true`, 409);
      if (req.pin !== undefined && (p.effect !== 'erase' || p.platform !== 'macos')) throw new AppError('invalid_request', 'pin: only for erasing a Mac');
      if (req.pin !== undefined && !/^[0-9]{6}$/.test(req.pin)) throw new AppError('invalid_request', 'pin: six digits');
      const by = { createdBy: req.createdBy };
      const uuids = repo.transaction(() => {
        if (p.effect === 'erase') return [queue.enqueue(buildCommand('EraseDevice', req.pin ? { PIN: req.pin } : {}), [p.device_id], by)];
        const t = now();
        const sent: string[] = [];
        const { apps: appRows, profiles: profileRows } = toRemove(p.device_id);
        for (const r of appRows) {
          // An install not yet delivered is taken back: then nothing of it is on the device.
          if (r.state === 'pending' && r.commandUuid && queue.takeBack(r.commandUuid, [p.device_id])) {
            apps.deleteManaged(r.deviceId, r.bundleId, r.commandUuid);
            continue;
          }
          const command = buildCommand('RemoveApplication', { Identifier: r.bundleId });
          sent.push(queue.enqueue(command, [p.device_id], by));
          apps.saveManaged([{ ...r, state: 'removing', commandUuid: command.uuid, errorCode: null, errorMessage: null, updatedAt: t }]);
        }
        for (const r of profileRows) {
          // A version not yet delivered is taken back; an earlier one may be there: removed all the same.
          if (r.state === 'pending') queue.takeBack(r.commandUuid, [p.device_id]);
          const command = buildCommand('RemoveProfile', { Identifier: r.identifier });
          sent.push(queue.enqueue(command, [p.device_id], by));
          profiles.save([{ ...r, state: 'removing', commandUuid: command.uuid, errorCode: null, errorMessage: null, updatedAt: t }]);
        }
        // Last: once it is gone the device answers nothing more.
        sent.push(queue.enqueue(buildCommand('RemoveProfile', { Identifier: ENROLLMENT_PROFILE_IDENTIFIER }), [p.device_id], by));
        repo.updateEnrollment(p.device_id, { retireRequestedAt: t });
        return sent;
      });
      log.warn({ device: p.device_id, effect: p.effect, by: req.createdBy, commands: uuids.length }, p.effect === 'erase' ? 'erase queued for an Apple device' : 'retire queued for an Apple device');
      return { ...p, command_uuids: uuids };
    },
  };
}

export type AppleWipe = ReturnType<typeof createAppleWipe>;

import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AmapiClient, WipeDataFlag } from './amapi/client.ts';
import type { AndroidDeviceRepo, AndroidDeviceRow } from './device-repo.ts';

export const WIPE_DATA_FLAGS = ['PRESERVE_RESET_PROTECTION_DATA', 'WIPE_EXTERNAL_STORAGE', 'WIPE_ESIMS'] as const satisfies readonly WipeDataFlag[];
/** Google's limit on wipeReasonMessage. */
export const MAX_WIPE_REASON = 200;

export type WipeEffect = 'factory_reset' | 'work_profile_removed';

export interface WipePlan {
  device_id: string;
  google_name: string;
  effect: WipeEffect;
  management_mode: string | null;
  ownership: string | null;
  description: string;
}

/**
 * What devices.delete does to the device: a company-owned one (fully managed, or with a work
 * profile) is factory reset; a personal one loses its work profile only, with its apps and data,
 * and keeps everything personal.
 */
export function wipeEffect(d: Pick<AndroidDeviceRow, 'ownership'>): WipeEffect {
  return d.ownership === 'corporate' ? 'factory_reset' : 'work_profile_removed';
}

const DESCRIPTIONS: Record<WipeEffect, string> = {
  factory_reset: 'a company-owned device: it is factory reset, erasing everything on it, and leaves management',
  work_profile_removed: 'a personal device: its work profile is removed with the work apps and data; personal apps and data stay; it leaves management',
};

/** Wiping Android devices through devices.delete: planned (said before it is done), then done when confirmed. */
export function createAndroidWipe(opts: { client: AmapiClient; devices: AndroidDeviceRepo; log: Logger; now?: () => number }) {
  const { client, devices, log } = opts;
  const now = opts.now ?? Date.now;

  function plan(deviceId: string): { device: AndroidDeviceRow; plan: WipePlan } {
    const d = devices.device(deviceId);
    if (!d) throw new AppError('device_not_found', `no device ${deviceId}`, 404);
    if (d.status !== 'enrolled') throw new AppError('enrollment_not_enrolled', `not enrolled: ${d.id} is ${d.status}`, 409);
    const effect = wipeEffect(d);
    return {
      device: d,
      plan: { device_id: d.id, google_name: d.name, effect, management_mode: d.managementMode, ownership: d.ownership, description: DESCRIPTIONS[effect] },
    };
  }

  return {
    /** What a wipe would do, without doing it. */
    preview(deviceId: string): WipePlan {
      return plan(deviceId).plan;
    },

    /**
     * Wipes when `confirm` is true; otherwise AppError wipe_not_confirmed saying what it would
     * do. The device is marked removed and the wipe kept in its command history.
     */
    async wipe(req: { deviceId: string; confirm: boolean; wipeDataFlags?: WipeDataFlag[]; reasonMessage?: string; createdBy?: string }): Promise<WipePlan & { command_uuid: string }> {
      const { device, plan: p } = plan(req.deviceId);
      if (!req.confirm) throw new AppError('wipe_not_confirmed', `not wiped: ${p.description}. Send it again with confirm: true`, 409);
      if (req.reasonMessage !== undefined && req.reasonMessage.length > MAX_WIPE_REASON) {
        throw new AppError('invalid_request', `reason_message: at most ${MAX_WIPE_REASON} characters (Google's limit)`);
      }
      await client.deleteDevice(device.name, { wipeDataFlags: req.wipeDataFlags, wipeReasonMessage: req.reasonMessage });
      const t = now();
      const params = { effect: p.effect, wipeDataFlags: req.wipeDataFlags ?? [], ...(req.reasonMessage ? { wipeReasonMessage: req.reasonMessage } : {}) };
      // Google accepted the delete: there is no Operation to follow, so the wipe is recorded done.
      const id = devices.transaction(() => {
        devices.markRemoved(device.id, t);
        return devices.recordCommand({ deviceId: device.id, type: 'WIPE', params, status: 'done', createdBy: req.createdBy, at: t });
      });
      log.warn({ device: device.id, name: device.name, effect: p.effect, by: req.createdBy }, 'wiped an Android device');
      return { ...p, command_uuid: id };
    },
  };
}

export type AndroidWipe = ReturnType<typeof createAndroidWipe>;

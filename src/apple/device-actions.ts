import type { CommandService } from '../api/command-service.ts';
import type { DeviceViews } from '../api/device-service.ts';
import { AppError } from '../errors.ts';
import type { Sealer } from '../secrets/seal.ts';
import type { AppleRepo } from './repo.ts';
import type { AppleWipe, AppleWipePlan } from './retire.ts';

export const DEVICE_ACTIONS = ['restart', 'clear-passcode', 'lost-mode-on', 'lost-mode-off', 'erase'] as const;
export type DeviceAction = (typeof DEVICE_ACTIONS)[number];

const REQUEST_TYPE: Record<DeviceAction, string> = {
  restart: 'RestartDevice',
  'clear-passcode': 'ClearPasscode',
  'lost-mode-on': 'EnableLostMode',
  'lost-mode-off': 'DisableLostMode',
  erase: 'EraseDevice',
};

export interface LostModeText {
  message: string;
  phone: string;
  footnote: string;
}

/** How a wipe goes: a company device is erased; a personal one only loses what management put on it. */
export type WipeKind = 'erase' | 'selective';

/** The device name a wipe must be confirmed with: what the page shows as its title. */
export const wipeConfirmation = (d: { device_name: string | null; serial_number: string | null; id: string }) => d.device_name ?? d.serial_number ?? d.id;

/**
 * The console's device actions over the command service: each says beforehand why it is not
 * available (Apple's schema for the device's platform, OS, supervision and our access rights), and
 * refuses with that reason if asked anyway.
 */
export function createDeviceActions(opts: { repo: AppleRepo; commands: CommandService; views: DeviceViews; sealer: Sealer; appleWipe: AppleWipe }) {
  const { repo, commands, views, sealer, appleWipe } = opts;

  function unlockToken(id: string): Buffer | null {
    const sealed = repo.enrollment(id)?.unlockTokenSealed;
    return sealed ? sealer.unseal(`apple:unlock:${id}`, sealed) : null;
  }

  const wipeKind = (id: string): WipeKind => (repo.enrollment(id)?.ownership === 'personal' ? 'selective' : 'erase');

  /** Why an action cannot be taken on this device now, or null. */
  function unavailable(id: string, action: DeviceAction): string | null {
    const refusal = commands.refusal(id, REQUEST_TYPE[action]);
    if (refusal) return refusal;
    if (action === 'clear-passcode' && !repo.enrollment(id)?.unlockTokenSealed) {
      return 'the device has not given this appliance an unlock token (only iPhones and iPads with a passcode do, at enrollment)';
    }
    return null;
  }

  function send(id: string, action: DeviceAction, params: Record<string, unknown>, createdBy: string, secretParams?: string[]): string {
    const reason = unavailable(id, action);
    if (reason) throw new AppError('command_not_supported', `${REQUEST_TYPE[action]} cannot be sent: ${reason}`, 422);
    return commands.send({ requestType: REQUEST_TYPE[action], params, enrollmentIds: [commands.deviceChannel(id)], createdBy, secretParams });
  }

  return {
    /** For each action, why it is not available (null: it is); what a wipe would do, and for a retire exactly what goes and stays. */
    availability(id: string): { actions: Record<DeviceAction, string | null>; wipe: WipeKind; retire: AppleWipePlan | null; retireRefused: string | null } {
      const actions = Object.fromEntries(DEVICE_ACTIONS.map((a) => [a, unavailable(id, a)])) as Record<DeviceAction, string | null>;
      const kind = wipeKind(id);
      if (kind === 'erase') return { actions, wipe: kind, retire: null, retireRefused: null };
      try {
        return { actions, wipe: kind, retire: appleWipe.preview(id), retireRefused: null };
      } catch (e) {
        // Being retired already: said instead of the form.
        return { actions, wipe: kind, retire: null, retireRefused: e instanceof Error ? e.message : String(e) };
      }
    },

    restart(id: string, createdBy: string): string {
      return send(id, 'restart', {}, createdBy);
    },

    /** AppError unlock_token_missing (409) when the device never escrowed one. */
    clearPasscode(id: string, createdBy: string): string {
      const token = unlockToken(id);
      if (!token) throw new AppError('unlock_token_missing', 'This device has not given the appliance an unlock token, so its passcode cannot be cleared remotely.', 409);
      return send(id, 'clear-passcode', { UnlockToken: token }, createdBy, ['UnlockToken']);
    },

    /** Apple wants a message or a phone number on the lost-mode screen. AppError invalid_request. */
    enableLostMode(id: string, text: LostModeText, createdBy: string): string {
      if (!text.message && !text.phone) throw new AppError('invalid_request', 'Lost mode needs a message or a phone number to show on the screen.');
      const params = { ...(text.message ? { Message: text.message } : {}), ...(text.phone ? { PhoneNumber: text.phone } : {}), ...(text.footnote ? { Footnote: text.footnote } : {}) };
      return send(id, 'lost-mode-on', params, createdBy);
    },

    disableLostMode(id: string, createdBy: string): string {
      return send(id, 'lost-mode-off', {}, createdBy);
    },

    /**
     * Wipes once the device's name is typed back. A company device gets EraseDevice (a Mac that
     * asks for one, the PIN that unlocks it afterwards); a personal one is retired: our policy
     * profiles and then the MDM profile are removed, which takes only the managed apps, profiles
     * and data. AppError wipe_not_confirmed, invalid_request, retire_pending.
     */
    wipe(id: string, o: { confirm: string; pin: string }, createdBy: string): { kind: 'erase'; commandUuid: string } | { kind: 'retire'; commandUuids: string[] } {
      const device = views.get(id);
      if (o.confirm.trim() !== wipeConfirmation(device)) {
        throw new AppError('wipe_not_confirmed', `Type the device's name, ${wipeConfirmation(device)}, exactly to confirm the wipe.`);
      }
      if (wipeKind(id) === 'selective') {
        if (o.pin) throw new AppError('invalid_request', 'A PIN is only for erasing a Mac.');
        return { kind: 'retire', commandUuids: appleWipe.wipe({ deviceId: id, confirm: true, createdBy }).command_uuids };
      }
      if (o.pin && !/^[0-9]{6}$/.test(o.pin)) throw new AppError('invalid_request', 'The PIN is six digits.');
      if (o.pin && device.platform !== 'macos') throw new AppError('invalid_request', 'A PIN is only for Macs.');
      return { kind: 'erase', commandUuid: send(id, 'erase', o.pin ? { PIN: o.pin } : {}, createdBy, ['PIN']) };
    },
  };
}

export type DeviceActions = ReturnType<typeof createDeviceActions>;

import { AppError, isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AmapiClient, OperationAnswer } from './amapi/client.ts';
import { describeIssue } from './amapi/issues.ts';
import { Command } from './amapi/schemas.generated.ts';
import type { AndroidCommandRow, AndroidDeviceRepo, AndroidDeviceRow } from './device-repo.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export const ANDROID_COMMANDS = ['LOCK', 'RESET_PASSWORD', 'REBOOT', 'START_LOST_MODE', 'STOP_LOST_MODE', 'CLEAR_APP_DATA', 'RELINQUISH_OWNERSHIP'] as const;
export type AndroidCommandType = (typeof ANDROID_COMMANDS)[number];

/** The Command fields each type may carry (Google's names); `duration` for all. */
const PARAMS: Record<AndroidCommandType, string[]> = {
  LOCK: [],
  RESET_PASSWORD: ['newPassword', 'resetPasswordFlags'],
  REBOOT: [],
  START_LOST_MODE: ['startLostModeParams'],
  STOP_LOST_MODE: [],
  CLEAR_APP_DATA: ['clearAppsDataParams'],
  RELINQUISH_OWNERSHIP: [],
};

/**
 * Why the device cannot run the command, from the Command type's description in the discovery
 * document; null when it can. Checked before anything is sent, so Google never sees a command
 * it would refuse for the device's management mode, ownership or Android version.
 */
export function commandRefusal(type: AndroidCommandType, d: Pick<AndroidDeviceRow, 'managementMode' | 'ownership' | 'apiLevel'>): string | null {
  const fullyManaged = d.managementMode === 'DEVICE_OWNER';
  const companyOwned = d.ownership === 'corporate';
  const api = d.apiLevel;
  switch (type) {
    case 'REBOOT':
      if (!fullyManaged) return 'REBOOT is only supported on fully managed devices, not on a work profile';
      return api !== null && api < 24 ? 'REBOOT needs Android 7.0 (API level 24) or later' : null;
    case 'RELINQUISH_OWNERSHIP':
      if (fullyManaged || !companyOwned) return 'RELINQUISH_OWNERSHIP is only for company-owned devices with a work profile (it removes the work profile and leaves the device for personal use)';
      return api !== null && api < 26 ? 'RELINQUISH_OWNERSHIP needs Android 8.0 (API level 26) or later' : null;
    case 'START_LOST_MODE':
    case 'STOP_LOST_MODE':
      return companyOwned ? null : `${type} is only supported on fully managed or company-owned devices, not on a personal device's work profile`;
    case 'CLEAR_APP_DATA':
      return api !== null && api < 28 ? 'CLEAR_APP_DATA needs Android 9 (API level 28) or later' : null;
    default:
      return null;
  }
}

export interface AndroidCommandView {
  command_uuid: string;
  platform: 'android';
  device_id: string;
  request_type: string;
  params: unknown;
  status: AndroidCommandRow['status'];
  /** Where a LOCK or RESET_PASSWORD acts: a work profile locks (or resets) the work profile. */
  scope: 'device' | 'work_profile';
  operation_name: string | null;
  error: { code: string | null; message: string | null } | null;
  result: unknown;
  created_by: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Android commands through devices.issueCommand: checked against the device, recorded, sent, and
 * followed to done through COMMAND notifications and operations.get. A new password is sent, never stored.
 */
export function createAndroidCommands(opts: { client: AmapiClient; devices: AndroidDeviceRepo; log: Logger; now?: () => number }) {
  const { client, devices, log } = opts;
  const now = opts.now ?? Date.now;

  const view = (c: AndroidCommandRow, d?: AndroidDeviceRow): AndroidCommandView => ({
    command_uuid: c.id,
    platform: 'android',
    device_id: c.deviceId,
    request_type: c.type,
    params: c.params ?? null,
    status: c.status,
    scope: (d ?? devices.device(c.deviceId))?.managementMode === 'PROFILE_OWNER' ? 'work_profile' : 'device',
    operation_name: c.operationName,
    error: c.status === 'error' ? { code: c.errorCode, message: c.errorMessage } : null,
    result: c.result ?? null,
    created_by: c.createdBy,
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  });

  /** Records what an Operation says; a finished command stays as it finished. */
  function complete(op: OperationAnswer): boolean {
    const c = devices.commandByOperation(op.name);
    if (!c || c.status === 'done' || c.status === 'error') return false;
    if (op.done !== true) return false;
    const errorCode = typeof op.metadata?.errorCode === 'string' ? op.metadata.errorCode : null;
    const failed = op.error !== undefined || errorCode !== null;
    devices.updateCommand(c.id, {
      status: failed ? 'error' : 'done',
      errorCode: op.error?.code !== undefined ? String(op.error.code) : errorCode,
      errorMessage: op.error?.message ?? null,
      result: op.metadata ?? null,
      updatedAt: now(),
    });
    log.info({ command: c.id, device: c.deviceId, type: c.type, status: failed ? 'error' : 'done' }, 'an Android command finished');
    return true;
  }

  return {
    /** Whether `id` names an Android device (the per-device routes dispatch on it). */
    owns(deviceId: string): boolean {
      return devices.device(deviceId) !== undefined;
    },

    /** AppError unknown_request_type, invalid_command_params, device_not_found, enrollment_not_enrolled, android_device_not_active, command_not_supported. */
    async send(req: { deviceId: string; requestType: string; params?: Record<string, unknown>; createdBy?: string }): Promise<AndroidCommandView> {
      const type = req.requestType as AndroidCommandType;
      if (!ANDROID_COMMANDS.includes(type)) throw new AppError('unknown_request_type', `not an Android command: ${req.requestType} (one of ${ANDROID_COMMANDS.join(', ')})`);
      const params = req.params ?? {};
      const extra = Object.keys(params).find((k) => k !== 'duration' && !PARAMS[type].includes(k));
      if (extra) throw new AppError('invalid_command_params', `params.${extra}: not a parameter of ${type} (${['duration', ...PARAMS[type]].join(', ')})`);
      const parsed = Command.safeParse({ type, ...params });
      if (!parsed.success) throw new AppError('invalid_command_params', describeIssue(parsed.error, 'params'));
      if (type === 'CLEAR_APP_DATA' && !parsed.data.clearAppsDataParams?.packageNames?.length) {
        throw new AppError('invalid_command_params', 'params.clearAppsDataParams.packageNames: name at least one app');
      }
      const d = devices.device(req.deviceId);
      if (!d) throw new AppError('device_not_found', `no device ${req.deviceId}`, 404);
      if (d.status !== 'enrolled') throw new AppError('enrollment_not_enrolled', `not enrolled: ${d.id} is ${d.status}`, 409);
      if (d.state !== 'ACTIVE' && !(d.state === 'LOST' && type === 'STOP_LOST_MODE')) {
        throw new AppError('android_device_not_active', `${type} cannot be sent to ${d.id}: Google reports it ${d.state ?? 'without a state'}`, 409);
      }
      const reason = commandRefusal(type, d);
      if (reason) throw new AppError('command_not_supported', `${type} cannot be sent to ${d.id}: ${reason}`, 422);

      const { newPassword: _secret, ...shown } = params;
      const t = now();
      const row = { id: devices.recordCommand({ deviceId: d.id, type, params: Object.keys(shown).length ? shown : null, status: 'sending', createdBy: req.createdBy, at: t }) };
      let op: OperationAnswer;
      try {
        op = await client.issueCommand(d.name, parsed.data);
      } catch (e) {
        devices.updateCommand(row.id, { status: 'error', errorCode: isAppError(e) ? e.code : 'send_failed', errorMessage: (e as Error).message, updatedAt: now() });
        throw e;
      }
      devices.updateCommand(row.id, { operationName: op.name, status: 'sent', updatedAt: now() });
      log.info({ command: row.id, device: d.id, type, operation: op.name, by: req.createdBy }, 'sent an Android command');
      complete(op);
      return view(devices.command(row.id)!, d);
    },

    get(id: string): AndroidCommandView | null {
      const c = devices.command(id);
      return c ? view(c) : null;
    },

    complete,

    /** Asks Google (operations.get) about commands not finished yet, oldest first; how many finished. */
    async poll(limit = 100): Promise<number> {
      let finished = 0;
      for (const c of devices.unfinishedCommands(limit)) {
        try {
          if (complete(await client.getOperation(c.operationName!))) finished++;
        } catch (e) {
          if (isAppError(e) && e.code === 'google_not_found') {
            // Google forgets operations of deleted devices (RELINQUISH_OWNERSHIP ends that way).
            devices.updateCommand(c.id, { status: 'error', errorCode: 'operation_gone', errorMessage: 'Google no longer knows the operation', updatedAt: now() });
            continue;
          }
          log.warn({ command: c.id, err: (e as Error).message }, 'operations.get failed');
        }
      }
      return finished;
    },
  };
}

export type AndroidCommands = ReturnType<typeof createAndroidCommands>;

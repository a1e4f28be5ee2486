import { buildCommand } from '../apple/commands/build.ts';
import { ALL_ACCESS_RIGHTS, AccessRight } from '../apple/commands/access-rights.ts';
import { checkSupport, type DeviceFacts } from '../apple/commands/support.ts';
import type { Platform } from '../apple/commands/types.ts';
import { platformOf } from '../apple/inventory.ts';
import type { CommandQueue } from '../apple/queue.ts';
import type { AppleRepo } from '../apple/repo.ts';
import { AppError } from '../errors.ts';
import { iso } from './http.ts';

const APPLE_PLATFORM: Record<string, Platform> = { ios: 'iOS', ipados: 'iOS', macos: 'macOS', tvos: 'tvOS', watchos: 'watchOS', visionos: 'visionOS' };

/**
 * What our enrollment profiles grant: everything to company devices; personal ones withhold
 * erase, so a personal device can never be wiped by mistake.
 */
const ACCESS_RIGHTS = { corporate: ALL_ACCESS_RIGHTS, personal: ALL_ACCESS_RIGHTS - AccessRight.erase } as const;

type Target = ReturnType<AppleRepo['commandTargetFacts']>[number];

/** The device as checkSupport sees it; null when we do not know its platform yet. */
function factsOf(t: Target): DeviceFacts | null {
  const platform = APPLE_PLATFORM[t.platform ?? platformOf(t.productName ?? undefined, t.model ?? undefined) ?? ''];
  if (!platform) return null;
  const channel = t.type === 'user' || t.type === 'user-enrollment-user' ? 'user' : 'device';
  return {
    platform,
    osVersion: t.osVersion ?? undefined,
    channel,
    userEnrollment: t.type.startsWith('user-enrollment'),
    supervised: t.supervised === null ? undefined : t.supervised === 1,
    accessRights: ACCESS_RIGHTS[t.ownership],
  };
}

const withheld = (params: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(Object.entries(params).map(([k, v]) => [k, keys.includes(k) ? '(withheld)' : v]));

/** Names a few of many ids in a message. */
const some = (xs: string[]) => xs.slice(0, 5).join('; ') + (xs.length > 5 ? `; and ${xs.length - 5} more` : '');

export interface SendRequest {
  requestType: string;
  params?: Record<string, unknown>;
  enrollmentIds: string[];
  priority?: number;
  createdBy?: string;
  /** Parameters left out of the stored copy (an unlock token, a PIN): they travel in the command's plist only. */
  secretParams?: string[];
}

/** Commands through the API: built, checked against every target, then queued, or nothing queued. */
export function createCommandService(opts: { repo: AppleRepo; queue: CommandQueue }) {
  const { repo, queue } = opts;

  return {
    /** AppError unknown_request_type, invalid_command_params, enrollment_not_found, enrollment_not_enrolled, command_not_supported, duplicate_pending_command. */
    send(req: SendRequest): string {
      const built = buildCommand(req.requestType, req.params ?? {});
      const ids = [...new Set(req.enrollmentIds)];
      // One transaction: a target cannot unenroll between its check and its queueing.
      return repo.transaction(() => {
        const found = new Map(repo.commandTargetFacts(ids).map((t) => [t.id, t]));
        const missing = ids.filter((id) => !found.has(id));
        if (missing.length) throw new AppError('enrollment_not_found', `no enrollment ${some(missing)}`, 404);
        const targets = ids.map((id) => found.get(id)!);
        const idle = targets.filter((t) => t.status !== 'enrolled');
        if (idle.length) throw new AppError('enrollment_not_enrolled', `not enrolled: ${some(idle.map((t) => `${t.id} is ${t.status}`))}`, 409);
        const refused: string[] = [];
        for (const t of targets) {
          // A device that has not said what it is yet is not refused on a guess; the device answers for itself.
          const facts = factsOf(t);
          const reason = facts && checkSupport(built.requestType, facts, req.params ?? {});
          if (reason) refused.push(`${t.id}: ${reason}`);
        }
        if (refused.length) throw new AppError('command_not_supported', `${built.requestType} cannot be sent to ${some(refused)}`, 422);
        const stored = req.params && req.secretParams?.length ? withheld(req.params, req.secretParams) : (req.params ?? null);
        return queue.enqueue(
          { uuid: built.uuid, requestType: built.requestType, plistXml: built.plistXml, params: stored },
          ids,
          { priority: req.priority, createdBy: req.createdBy },
        );
      });
    },

    /**
     * Why `requestType` cannot go to this enrollment (not enrolled, not supported there), or null
     * when nothing known stands in the way: the console offers an action only then.
     */
    refusal(enrollmentId: string, requestType: string): string | null {
      const t = repo.commandTargetFacts([enrollmentId])[0];
      if (!t) return 'the device has no enrollment';
      if (t.status !== 'enrolled') return `the device is ${t.status}`;
      const facts = factsOf(t);
      return facts && checkSupport(requestType, facts);
    },

    /** The per-device route's target: the device channel, whose enrollment id is the device id. */
    deviceChannel(deviceId: string): string {
      if (!repo.device(deviceId)) throw new AppError('device_not_found', `no device ${deviceId}`, 404);
      return deviceId;
    },

    get(uuid: string) {
      const c = repo.command(uuid);
      if (!c) throw new AppError('command_not_found', `no command ${uuid}`, 404);
      return {
        command_uuid: c.uuid,
        request_type: c.requestType,
        params: c.params ?? null,
        priority: c.priority,
        created_by: c.createdBy,
        created_at: iso(c.createdAt),
        expires_at: iso(c.expiresAt),
        targets: repo.targetResults(uuid).map((t) => ({ enrollment_id: t.enrollmentId, status: t.status, updated_at: iso(t.updatedAt), result: t.result ?? null })),
      };
    },

    /** Cancels what the devices have not answered yet; AppError command_not_found. */
    cancel(uuid: string): number {
      return queue.cancel(uuid);
    },
  };
}

export type CommandService = ReturnType<typeof createCommandService>;

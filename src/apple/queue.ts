import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { jsonSafe, type PlistDict } from './plist.ts';
import type { AppleRepo, TargetStatus } from './repo.ts';

/** A command ready to queue: built and validated once, whatever the number of targets. */
export interface BuiltCommand {
  uuid: string;
  requestType: string;
  plistXml: Buffer;
  params?: unknown;
}

const STATUS: Record<string, TargetStatus> = {
  Acknowledged: 'acknowledged',
  Error: 'error',
  CommandFormatError: 'command_format_error',
  NotNow: 'not_now',
};

/** Commands a device must not receive twice: a second lock or erase queued behind the first is a mistake. */
const SINGLE_PENDING = new Set(['DeviceLock', 'EraseDevice']);

/**
 * The Apple command queue with NanoMDM's semantics: the next command is the highest priority,
 * then oldest, unanswered one; NotNow keeps a command queued but skipped until the device's next
 * Idle; Acknowledged, Error and CommandFormatError are final.
 */
export function createCommandQueue(opts: { repo: AppleRepo; log: Logger; now?: () => number; defaultTtlMs?: number }) {
  const { repo, log } = opts;
  const now = opts.now ?? Date.now;
  const listeners: Array<(enrollmentIds: string[]) => void> = [];

  return {
    /** Calls `fn` with the targets of every command queued from now on (to push them). */
    onEnqueued(fn: (enrollmentIds: string[]) => void): void {
      listeners.push(fn);
    },

    enqueue(command: BuiltCommand, enrollmentIds: string[], o: { priority?: number; ttlMs?: number; createdBy?: string } = {}): string {
      const ids = [...new Set(enrollmentIds)];
      if (!ids.length) throw new AppError('no_targets', 'a command needs at least one enrollment');
      const t = now();
      repo.transaction(() => {
        if (SINGLE_PENDING.has(command.requestType)) {
          const dup = repo.withPending(command.requestType, ids);
          if (dup.length) throw new AppError('duplicate_pending_command', `${command.requestType} is already pending for ${dup.slice(0, 5).join(', ')}${dup.length > 5 ? ', ...' : ''}`, 409);
        }
        const ttl = o.ttlMs ?? opts.defaultTtlMs;
        repo.insertCommand({
          uuid: command.uuid,
          requestType: command.requestType,
          plist: command.plistXml,
          params: command.params ?? null,
          priority: o.priority ?? 0,
          createdBy: o.createdBy ?? null,
          createdAt: t,
          expiresAt: ttl ? t + ttl : null,
        });
        repo.insertTargets(command.uuid, ids, o.priority ?? 0, t);
      });
      log.info({ uuid: command.uuid, requestType: command.requestType, targets: ids.length }, 'command queued');
      for (const fn of listeners) fn(ids);
      return command.uuid;
    },

    /** The next command to send after a report; `afterIdle` includes commands the device answered NotNow. */
    next(enrollmentId: string, afterIdle: boolean): { uuid: string; requestType: string; plist: Buffer } | undefined {
      return repo.nextCommand(enrollmentId, afterIdle, now());
    },

    /** Stores a device's answer; returns the command's RequestType when it was pending for this enrollment. */
    record(enrollmentId: string, report: PlistDict, raw: Buffer): string | undefined {
      const status = STATUS[String(report.Status)];
      const uuid = report.CommandUUID;
      if (!status || typeof uuid !== 'string') return undefined;
      const requestType = repo.report(enrollmentId, uuid, status, raw, jsonSafe(report), now());
      if (!requestType) log.warn({ enrollmentId, uuid, status: report.Status }, 'report for a command that is not pending for this enrollment');
      return requestType;
    },

    /**
     * Takes a command back from these enrollments if they have not answered it: superseded
     * before delivery (a newer version, a change of scope, a retire). How many it took back.
     */
    takeBack(uuid: string, enrollmentIds: string[]): number {
      return enrollmentIds.length ? repo.cancelTargets(uuid, enrollmentIds, now()) : 0;
    },

    cancel(uuid: string): number {
      if (!repo.command(uuid)) throw new AppError('command_not_found', `no command ${uuid}`, 404);
      return repo.cancelCommand(uuid, now());
    },

    clearPending(enrollmentId: string): number {
      return repo.cancelPendingFor(enrollmentId, now());
    },

    expire(): number {
      return repo.expireCommands(now());
    },
  };
}

export type CommandQueue = ReturnType<typeof createCommandQueue>;

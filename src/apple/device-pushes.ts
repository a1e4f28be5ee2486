import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ApnsClient } from '../push/apns/client.ts';
import type { ApnsResult } from '../push/apns/types.ts';
import type { AppleRepo, PushTarget } from './repo.ts';

export interface DevicePushesOptions {
  repo: AppleRepo;
  apns: ApnsClient;
  log: Logger;
  now?: () => number;
  /** Wake-ups asked for within this window go out as one push per channel. Default 200 ms. */
  burstMs?: number;
  /** A channel with unanswered commands that has not called for this long is pushed again (ms). */
  retryAfterMs: number;
  /** A channel silent this long is pushed (ms). Default one day. */
  silentAfterMs?: number;
  /** Told every push's result (metrics). */
  onResult?: (result: ApnsResult) => void;
}

export interface PushRound {
  /** Channels asked for; of them, those a push could reach (enrolled, with a token, not blocked). */
  asked: number;
  pushed: number;
  ok: number;
  failed: number;
  /** Of the failures, permanent ones: those channels are not pushed again until their next TokenUpdate. */
  blocked: number;
}

/** Results are written in batches: one transaction per this many pushes. */
const WRITE_BATCH = 2_000;
/** Ids per lookup: json_each takes any number, but a round of 100,000 need not sit in one statement. */
const LOOKUP_CHUNK = 10_000;
/** Channels one sweep wakes at most; the rest are found by the next sweep. */
const SWEEP_LIMIT = 50_000;

const outcomeOf = (id: string, at: number, r: ApnsResult) =>
  r.ok ? { id, at, result: 'ok', block: 'clear' as const } : { id, at, result: r.reason, block: r.permanent ? ('set' as const) : ('keep' as const) };

/**
 * Wakes Apple devices through APNs so they check in: after commands are queued (one push per
 * channel per burst, however many commands), again for channels with unanswered commands that
 * have not called back, once a day for silent ones, and when an admin asks. Every outcome is
 * recorded on the channel; a permanent refusal stops pushes to it until its next TokenUpdate.
 */
export function createDevicePushes(o: DevicePushesOptions) {
  const { repo, apns, log } = o;
  const now = o.now ?? Date.now;
  const burstMs = o.burstMs ?? 200;
  const silentAfterMs = o.silentAfterMs ?? 86_400_000;
  const waiting = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  const rounds = new Set<Promise<PushRound>>();

  async function push(ids: string[], status: 'enrolled' | 'removed' = 'enrolled'): Promise<PushRound> {
    const targets: PushTarget[] = [];
    for (let i = 0; i < ids.length; i += LOOKUP_CHUNK) targets.push(...repo.pushTargets(ids.slice(i, i + LOOKUP_CHUNK), status));
    const round: PushRound = { asked: ids.length, pushed: targets.length, ok: 0, failed: 0, blocked: 0 };
    let outcomes: Array<ReturnType<typeof outcomeOf>> = [];
    for await (const { push: p, result } of apns.pushMany(targets)) {
      o.onResult?.(result);
      if (result.ok) round.ok++;
      else {
        round.failed++;
        if (result.permanent) round.blocked++;
      }
      outcomes.push(outcomeOf(p.id, now(), result));
      if (outcomes.length >= WRITE_BATCH) {
        repo.recordPushes(outcomes);
        outcomes = [];
      }
    }
    repo.recordPushes(outcomes);
    if (round.pushed) log[round.failed ? 'warn' : 'info']({ ...round }, 'APNs pushes sent');
    return round;
  }

  function track(p: Promise<PushRound>): Promise<PushRound> {
    rounds.add(p);
    void p.finally(() => rounds.delete(p)).catch(() => {});
    return p;
  }

  /** Sends what is waiting now instead of at the end of the burst window. */
  function flush(): Promise<PushRound> {
    if (timer) clearTimeout(timer);
    timer = null;
    const ids = [...waiting];
    waiting.clear();
    return track(
      push(ids).catch((e: unknown) => {
        log.error({ err: e, channels: ids.length }, 'APNs push round failed');
        return { asked: ids.length, pushed: 0, ok: 0, failed: ids.length, blocked: 0 };
      }),
    );
  }

  return {
    /** Asks for these channels to be pushed; pushes go out at the end of the burst window, one per channel. */
    wake(ids: Iterable<string>): void {
      for (const id of ids) waiting.add(id);
      if (!timer && waiting.size) {
        timer = setTimeout(() => void flush(), burstMs);
        timer.unref();
      }
    },

    flush,

    /**
     * Pushes channels an admin just removed, so that they call at once and are told to unenroll
     * (403 com.apple.unrecognized.device) instead of at their next check-in, whenever that is.
     */
    tellRemoved(ids: string[]): Promise<PushRound> {
      return track(
        push(ids, 'removed').catch((e: unknown) => {
          log.error({ err: e, channels: ids.length }, 'APNs push to removed devices failed');
          return { asked: ids.length, pushed: 0, ok: 0, failed: ids.length, blocked: 0 };
        }),
      );
    },

    /**
     * Pushes one channel now, whatever its last result, and records APNs's answer. AppError
     * enrollment_not_found, push_not_ready (not enrolled, or no token from the device yet).
     */
    async pushNow(id: string): Promise<ApnsResult> {
      const t = repo.pushTarget(id);
      if (!t) throw new AppError('enrollment_not_found', `no enrollment ${id}`, 404);
      if (t.status !== 'enrolled' || !t.token || !t.pushMagic) {
        throw new AppError('push_not_ready', `enrollment ${id} is ${t.status}${t.status === 'enrolled' ? ' without a push token' : ''}: nothing to push to`, 409);
      }
      const result = await apns.push({ token: t.token, pushMagic: t.pushMagic });
      o.onResult?.(result);
      repo.recordPushes([outcomeOf(id, now(), result)]);
      log.info({ enrollmentId: id, ok: result.ok, reason: result.ok ? undefined : result.reason }, 'push sent on request');
      return result;
    },

    /**
     * Wakes channels with unanswered commands that have not called for retryAfterMs, and those
     * silent for a day; each at most once per such period, since its last push counts too.
     */
    sweep(): { stale: number; silent: number } {
      const t = now();
      const stale = repo.staleWithCommands(t - o.retryAfterMs, SWEEP_LIMIT);
      const silent = repo.silentSince(t - silentAfterMs, SWEEP_LIMIT);
      this.wake(stale);
      this.wake(silent);
      if (stale.length || silent.length) log.info({ stale: stale.length, silent: silent.length }, 'waking devices that have not called');
      return { stale: stale.length, silent: silent.length };
    },

    /** Sends what is waiting and lets the rounds under way finish. */
    async close(): Promise<void> {
      if (waiting.size) void flush();
      await Promise.all([...rounds]);
    },
  };
}

export type DevicePushes = ReturnType<typeof createDevicePushes>;

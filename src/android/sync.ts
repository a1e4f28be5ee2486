import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AmapiClient, OperationAnswer, PulledMessage } from './amapi/client.ts';
import { describeIssue } from './amapi/issues.ts';
import type { AndroidDeviceRepo } from './device-repo.ts';
import { DeviceReport, factsOf, type DeviceFacts } from './device-report.ts';
import type { EnterpriseRow } from './repo.ts';
import type { EmitEvent } from '../webhooks/events.ts';

/** Google's maximum page for devices.list is 100. */
export const PAGE_SIZE = 100;
const PULL_BATCH = 100;

export interface ReconcileResult {
  enterprise: string;
  pages: number;
  devices: number;
  /** Devices Google listed that could not be read (logged, not stored). */
  skipped: number;
  /** Ours that Google no longer lists: marked removed. */
  removed: number;
  elapsedMs: number;
}

export interface SyncOptions {
  client: AmapiClient;
  devices: AndroidDeviceRepo;
  /** The bound enterprise, or undefined. */
  enterprise: () => EnterpriseRow | undefined;
  log: Logger;
  /** A finished or progressing command's Operation, from a COMMAND notification. */
  onOperation?: (op: OperationAnswer) => void;
  /** Asks Google about commands whose COMMAND notification has not come (operations.get). */
  pollOperations?: () => Promise<number>;
  /** Told devices new to us (webhooks), after they are stored. */
  emit?: EmitEvent;
  /** Told every device a batch stored (compliance) and which of them are new (policy enforcement). */
  onStored?: (stored: { ids: string[]; inserted: string[] }) => void;
  /** After each periodic reconcile: what failed to reach Google before is tried again. */
  afterReconcile?: () => Promise<unknown>;
  now?: () => number;
}

const decode = (data: string | undefined): unknown => JSON.parse(Buffer.from(data ?? '', 'base64').toString('utf8'));

/**
 * Android devices kept in step with Google two ways: notifications pulled from the enterprise's
 * Pub/Sub subscription (soon after a change), and a reconcile through devices.list (so a lost
 * notification never loses state). Both store through the same upsert, which keeps the newer of
 * two reports, so duplicates and reordering are harmless.
 */
export function createAndroidSync(opts: SyncOptions) {
  const { client, devices, log } = opts;
  const now = opts.now ?? Date.now;
  let reconciling: Promise<ReconcileResult> | null = null;

  function read(raw: unknown, enterprise: string, from: string): DeviceFacts | null {
    const r = DeviceReport.safeParse(raw);
    if (!r.success) {
      log.warn({ from, issue: describeIssue(r.error, 'device') }, 'an Android device report could not be read: skipped');
      return null;
    }
    if (!r.data.name.startsWith(`${enterprise}/devices/`)) {
      log.warn({ from, device: r.data.name, enterprise }, 'an Android device of another enterprise: skipped');
      return null;
    }
    return factsOf(r.data);
  }

  /** Stores reports, then tells the webhooks which devices are new, and the listeners what was stored. */
  function store(facts: DeviceFacts[], o: { now: number; seenInListAt?: number }): void {
    if (!facts.length) return;
    const results = devices.upsertMany(facts, o);
    // A batch may hold several reports of one device: one event for it, from the last.
    const last = new Map<string, { id: string; inserted: boolean; f: DeviceFacts }>();
    results.forEach((r, i) => {
      const f = facts[i]!;
      last.set(f.name, { id: r.id, inserted: r.inserted || (last.get(f.name)?.inserted ?? false), f });
    });
    const inserted: string[] = [];
    for (const { f, ...r } of last.values()) {
      if (!r.inserted) continue;
      inserted.push(r.id);
      opts.emit?.('device.enrolled', {
        device_id: r.id,
        platform: 'android',
        serial_number: f.serialNumber,
        google_name: f.name,
        management_mode: f.managementMode,
        ownership: f.ownership,
        user_email: f.userEmail,
      });
    }
    opts.onStored?.({ ids: [...new Set(results.map((r) => r.id))], inserted });
  }

  async function reconcileOnce(): Promise<ReconcileResult> {
    const e = opts.enterprise();
    if (!e) throw new AppError('android_enterprise_missing', 'no Android enterprise is bound: nothing to sync', 409);
    const start = now();
    let pageToken: string | undefined;
    const r: ReconcileResult = { enterprise: e.name, pages: 0, devices: 0, skipped: 0, removed: 0, elapsedMs: 0 };
    // Page by page, each stored in its own transaction before the next is asked for: memory stays one page.
    do {
      const page = await client.listDevices(e.name, { pageSize: PAGE_SIZE, pageToken });
      const facts: DeviceFacts[] = [];
      for (const d of page.devices) {
        const f = read(d, e.name, 'devices.list');
        if (f) facts.push(f);
        else r.skipped++;
      }
      store(facts, { now: now(), seenInListAt: start });
      r.pages++;
      r.devices += facts.length;
      pageToken = page.nextPageToken;
    } while (pageToken);
    r.removed = devices.markUnseenRemoved(e.name, start, now());
    r.elapsedMs = now() - start;
    log.info({ ...r }, 'reconciled Android devices with devices.list');
    return r;
  }

  return {
    /** Reconcile now, then ask Google about unfinished commands: what `mdm android sync` and the API run. */
    async syncNow(): Promise<ReconcileResult & { commandsFinished: number }> {
      const r = await this.reconcile();
      const commandsFinished = (await opts.pollOperations?.()) ?? 0;
      await opts.afterReconcile?.();
      return { ...r, commandsFinished };
    },

    /** Lists every device at Google and stores it; ours that Google no longer lists are marked removed. One at a time: a second caller shares the first's run. */
    reconcile(): Promise<ReconcileResult> {
      reconciling ??= reconcileOnce().finally(() => {
        reconciling = null;
      });
      return reconciling;
    },

    /**
     * Stores what a batch of notifications says and returns the ack ids of those handled: stored,
     * older than what is stored, or unreadable (a message that can never be read is not pulled
     * again forever). When storing fails, nothing is acknowledged and Pub/Sub delivers it again.
     */
    handle(messages: PulledMessage[]): string[] {
      const e = opts.enterprise();
      const acks: string[] = [];
      const reports: Array<{ ackId: string; facts: DeviceFacts }> = [];
      for (const m of messages) {
        const type = m.message.attributes?.notificationType;
        let body: unknown;
        try {
          body = type === 'ENROLLMENT' || type === 'STATUS_REPORT' || type === 'COMMAND' ? decode(m.message.data) : undefined;
        } catch {
          log.warn({ messageId: m.message.messageId, type }, 'an Android notification is not JSON: dropped');
          acks.push(m.ackId);
          continue;
        }
        if ((type === 'ENROLLMENT' || type === 'STATUS_REPORT') && e) {
          const facts = read(body, e.name, type);
          if (facts) reports.push({ ackId: m.ackId, facts });
          else acks.push(m.ackId);
        } else if (type === 'COMMAND' && opts.onOperation) {
          const op = body as OperationAnswer;
          if (typeof op?.name === 'string') opts.onOperation(op);
          acks.push(m.ackId);
        } else {
          // A test message, a type we did not ask for, or no enterprise bound: nothing to keep.
          log.debug({ messageId: m.message.messageId, type }, 'an Android notification with nothing to store');
          acks.push(m.ackId);
        }
      }
      if (reports.length) {
        store(
          reports.map((r) => r.facts),
          { now: now() },
        );
        acks.push(...reports.map((r) => r.ackId));
      }
      return acks;
    },

    /** One pull, handled and acknowledged; how many messages came. */
    async pullOnce(subscription: string, signal?: AbortSignal): Promise<number> {
      const messages = await client.pull(subscription, PULL_BATCH, signal);
      if (messages.length === 0) return 0;
      const acks = this.handle(messages);
      await client.acknowledge(subscription, acks);
      return messages.length;
    },

    /**
     * Runs the pull loop (when a subscription is set) and a reconcile every `syncInterval` (the
     * first at once: what changed while the appliance was down). The returned stop ends both and
     * waits for what is in flight.
     */
    start(o: { subscription: string | null; syncInterval: number; pullInterval: number; firstReconcileMs?: number }): () => Promise<void> {
      const abort = new AbortController();
      let stopped = false;
      const sleep = (ms: number) =>
        new Promise<void>((resolve) => {
          const t = setTimeout(resolve, ms);
          abort.signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
        });
      const pulling = (async () => {
        if (!o.subscription) return;
        while (!stopped) {
          try {
            // Pull again at once while notifications keep coming; pause when there were none.
            if (opts.enterprise() && (await this.pullOnce(o.subscription, abort.signal)) > 0) continue;
          } catch (err) {
            if (stopped) return;
            log.warn({ err: (err as Error).message }, 'pulling Android notifications failed: trying again');
          }
          await sleep(o.pullInterval);
        }
      })();
      const tick = () => {
        if (stopped || !opts.enterprise()) return;
        this.reconcile().then(
          () => opts.afterReconcile?.().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'retrying Android policy enforcement failed')),
          (err: unknown) => log.warn({ err: (err as Error).message }, 'reconciling Android devices failed'),
        );
      };
      // Operations are polled more often than devices are listed: a lost COMMAND notification should cost minutes, not hours.
      const poll = setInterval(() => {
        if (stopped || !opts.enterprise()) return;
        opts.pollOperations?.().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'polling Android operations failed'));
      }, Math.min(o.syncInterval, 300_000));
      poll.unref();
      const first = setTimeout(tick, o.firstReconcileMs ?? 0);
      first.unref();
      // Timers take at most 2^31-1 ms (about 24 days); a longer interval would fire at once.
      const every = setInterval(tick, Math.min(o.syncInterval, 2 ** 31 - 1));
      every.unref();
      return async () => {
        stopped = true;
        clearTimeout(first);
        clearInterval(every);
        clearInterval(poll);
        abort.abort();
        await pulling;
        await reconciling?.catch(() => undefined);
      };
    },
  };
}

export type AndroidSync = ReturnType<typeof createAndroidSync>;

import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import { EVENT_TYPES, type EventType } from './events.ts';
import type { DeliveryRow, WebhookRepo, WebhookRow } from './repo.ts';

export interface WebhooksOptions {
  repo: WebhookRepo;
  sealer: Sealer;
  log: Logger;
  /** The first retry's delay; each next one doubles, up to six hours. Default 30 s. */
  retryBaseMs?: number;
  /** Attempts before a delivery is given up as failed. Default 10 (about eight hours). */
  maxAttempts?: number;
  /** How long a receiver has to answer. Default 10 s. */
  timeoutMs?: number;
  /** How often due retries are looked for. Default 5 s. */
  pollMs?: number;
  now?: () => number;
  random?: () => number;
  fetch?: typeof fetch;
}

export interface WebhookView {
  id: string;
  url: string;
  events: EventType[];
  description: string | null;
  enabled: boolean;
  createdBy: string | null;
  createdAt: number;
  updatedAt: number;
}

const MAX_DELAY_MS = 6 * 3_600_000;
const BATCH = 20;
const KEEP_LOG_MS = 30 * 86_400_000;

const secretLabel = (id: string) => `webhook:${id}`;
const view = (r: WebhookRow): WebhookView => ({
  id: r.id,
  url: r.url,
  events: JSON.parse(r.events) as EventType[],
  description: r.description,
  enabled: r.enabled,
  createdBy: r.createdBy,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});

function checkUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AppError('invalid_request', `url: not a URL: ${JSON.stringify(url)}`);
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new AppError('invalid_request', 'url: must be http:// or https://');
  if (u.hash) throw new AppError('invalid_request', 'url: no #fragment');
  return u.toString();
}

function checkEvents(events: string[]): EventType[] {
  const unknown = events.filter((e) => !(EVENT_TYPES as readonly string[]).includes(e));
  if (unknown.length) throw new AppError('invalid_request', `events: unknown ${unknown.join(', ')} (known: ${EVENT_TYPES.join(', ')})`);
  if (!events.length) throw new AppError('invalid_request', 'events: at least one');
  return [...new Set(events)] as EventType[];
}

/**
 * `x-mdm-signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the time is
 * signed with the body so a receiver can refuse a replayed delivery (the scheme Stripe uses).
 */
export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = crypto.createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Webhooks: admins register URLs for events; each event becomes one delivery per subscribed
 * webhook, written at once (in the caller's transaction when there is one) and sent in the
 * background, signed, retried with backoff until the receiver answers 2xx or the attempts run
 * out. A device request that causes an event never waits for a receiver.
 */
export function createWebhooks(o: WebhooksOptions) {
  const { repo, sealer, log } = o;
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const doFetch = o.fetch ?? fetch;
  const retryBaseMs = o.retryBaseMs ?? 30_000;
  const maxAttempts = o.maxAttempts ?? 10;
  const timeoutMs = o.timeoutMs ?? 10_000;
  const pollMs = o.pollMs ?? 5_000;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;
  const inFlight = new Set<AbortController>();
  let prunedAt = 0;

  function mustGet(id: string): WebhookRow {
    const row = repo.get(id);
    if (!row) throw new AppError('webhook_not_found', `no webhook ${id}`, 404);
    return row;
  }

  function newSecret(id: string): { secret: string; sealed: Buffer } {
    const secret = `whsec_${crypto.randomBytes(32).toString('base64url')}`;
    return { secret, sealed: sealer.seal(secretLabel(id), Buffer.from(secret)) };
  }

  function delivery(webhookId: string, eventId: string, type: string, body: string, t: number): DeliveryRow {
    return { id: crypto.randomUUID(), webhookId, eventId, eventType: type, body, status: 'pending', attempts: 0, nextAttemptAt: t, lastStatusCode: null, lastError: null, createdAt: t, updatedAt: t };
  }

  const eventBody = (eventId: string, type: string, t: number, data: Record<string, unknown>) =>
    JSON.stringify({ id: eventId, type, created_at: new Date(t).toISOString(), data });

  function wake(): void {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = deliverDue().finally(() => {
      running = null;
      if (again) {
        again = false;
        wake();
      }
    });
  }

  async function deliverDue(): Promise<void> {
    for (;;) {
      if (closed) return;
      const t = now();
      if (t - prunedAt > 3_600_000) {
        prunedAt = t;
        const n = repo.prune(t - KEEP_LOG_MS);
        if (n) log.info({ deliveries: n }, 'pruned the webhook delivery log');
      }
      const batch = repo.due(t, BATCH);
      if (!batch.length) return;
      await Promise.all(batch.map((d) => attempt(d.delivery, d.url, d.secretSealed)));
    }
  }

  async function attempt(d: DeliveryRow, url: string, secretSealed: Buffer): Promise<void> {
    const attempts = d.attempts + 1;
    let statusCode: number | null = null;
    let error: string | null = null;
    const abort = new AbortController();
    inFlight.add(abort);
    const timeout = setTimeout(() => abort.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    try {
      const secret = sealer.unseal(secretLabel(d.webhookId), secretSealed).toString('utf8');
      const res = await doFetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'open-mdm-appliance-webhooks',
          'x-mdm-event': d.eventType,
          'x-mdm-event-id': d.eventId,
          'x-mdm-delivery': d.id,
          'x-mdm-signature': signature(secret, d.body, Math.floor(now() / 1000)),
        },
        body: d.body,
        // A redirect is the receiver's answer, not an invitation to post the event elsewhere.
        redirect: 'manual',
        signal: abort.signal,
      });
      statusCode = res.status;
      // The body is not wanted, but must be read or discarded for the connection to be reused.
      await res.body?.cancel().catch(() => {});
      if (res.status < 200 || res.status > 299) error = `HTTP ${res.status}`;
    } catch (e) {
      error = abort.signal.aborted ? String((abort.signal.reason as Error)?.message ?? 'aborted') : e instanceof Error ? ((e.cause as Error)?.message ?? e.message) : String(e);
    } finally {
      clearTimeout(timeout);
      inFlight.delete(abort);
    }
    const t = now();
    if (error === null) {
      repo.updateDelivery(d.id, { status: 'delivered', attempts, nextAttemptAt: null, lastStatusCode: statusCode, lastError: null, updatedAt: t });
      return;
    }
    if (closed) {
      // Cut short by a shutdown: not the receiver's fault, tried again after the restart.
      repo.updateDelivery(d.id, { nextAttemptAt: t, updatedAt: t });
      return;
    }
    const done = attempts >= maxAttempts;
    const delay = Math.min(MAX_DELAY_MS, retryBaseMs * 2 ** (attempts - 1)) * (0.8 + 0.4 * random());
    repo.updateDelivery(d.id, {
      status: done ? 'failed' : 'pending',
      attempts,
      nextAttemptAt: done ? null : Math.round(t + delay),
      lastStatusCode: statusCode,
      lastError: error,
      updatedAt: t,
    });
    log[done ? 'error' : 'warn']({ webhook: d.webhookId, delivery: d.id, event: d.eventType, attempts, error }, done ? 'webhook delivery failed: giving up' : 'webhook delivery failed: will retry');
  }

  return {
    /** A new webhook; its signing secret is returned this once. */
    create(input: { url: string; events: string[]; description?: string | null; createdBy?: string | null }): WebhookView & { secret: string } {
      const id = crypto.randomUUID();
      const t = now();
      const { secret, sealed } = newSecret(id);
      const row: WebhookRow = {
        id,
        url: checkUrl(input.url),
        events: JSON.stringify(checkEvents(input.events)),
        description: input.description ?? null,
        enabled: true,
        secretSealed: sealed,
        createdBy: input.createdBy ?? null,
        createdAt: t,
        updatedAt: t,
      };
      repo.insert(row);
      log.info({ webhook: id, url: row.url, events: row.events }, 'webhook created');
      return { ...view(row), secret };
    },

    list: (): WebhookView[] => repo.list().map(view),
    get: (id: string): WebhookView => view(mustGet(id)),

    update(id: string, patch: { url?: string; events?: string[]; description?: string | null; enabled?: boolean }): WebhookView {
      mustGet(id);
      const set: Partial<WebhookRow> = { updatedAt: now() };
      if (patch.url !== undefined) set.url = checkUrl(patch.url);
      if (patch.events !== undefined) set.events = JSON.stringify(checkEvents(patch.events));
      if (patch.description !== undefined) set.description = patch.description;
      if (patch.enabled !== undefined) set.enabled = patch.enabled;
      repo.update(id, set);
      if (patch.enabled) wake();
      return view(mustGet(id));
    },

    remove(id: string): void {
      if (!repo.delete(id)) throw new AppError('webhook_not_found', `no webhook ${id}`, 404);
      log.info({ webhook: id }, 'webhook deleted');
    },

    /** A new signing secret, returned this once; the old one stops at once. */
    rotateSecret(id: string): { secret: string } {
      mustGet(id);
      const { secret, sealed } = newSecret(id);
      repo.update(id, { secretSealed: sealed, updatedAt: now() });
      return { secret };
    },

    /** Sends a `ping` event to this webhook only, whatever it subscribes to: a receiver test. */
    ping(id: string): DeliveryRow {
      const hook = mustGet(id);
      const t = now();
      const eventId = crypto.randomUUID();
      const d = delivery(hook.id, eventId, 'ping', eventBody(eventId, 'ping', t, { webhook_id: hook.id }), t);
      repo.insertDeliveries([d]);
      wake();
      return d;
    },

    /**
     * Records `type` for every enabled webhook subscribed to it. Synchronous and cheap (one
     * read of a small table, one insert when someone listens): it runs inside device requests.
     */
    emit(type: EventType, data: Record<string, unknown>): void {
      const subscribed = repo.subscribers().filter((w) => (JSON.parse(w.events) as string[]).includes(type));
      if (!subscribed.length) return;
      const t = now();
      const eventId = crypto.randomUUID();
      const body = eventBody(eventId, type, t, data);
      repo.insertDeliveries(subscribed.map((w) => delivery(w.id, eventId, type, body, t)));
      // After the caller's transaction, if any, has committed.
      setImmediate(wake);
    },

    deliveries(id: string, o: { limit: number; status?: DeliveryRow['status']; before?: { at: number; id: string } }): DeliveryRow[] {
      mustGet(id);
      return repo.deliveries(id, o);
    },

    delivery(id: string, deliveryId: string): DeliveryRow {
      const d = repo.delivery(deliveryId);
      if (!d || d.webhookId !== id) throw new AppError('delivery_not_found', `no delivery ${deliveryId} for webhook ${id}`, 404);
      return d;
    },

    /** Sends a delivery again now (a failed one gets a fresh set of attempts). */
    retry(id: string, deliveryId: string): DeliveryRow {
      const d = this.delivery(id, deliveryId);
      const t = now();
      repo.updateDelivery(d.id, { status: 'pending', attempts: d.status === 'failed' ? 0 : d.attempts, nextAttemptAt: t, updatedAt: t });
      wake();
      return repo.delivery(d.id)!;
    },

    /** Starts sending: what is due now (left by a previous run included), then as events come and retries fall due. */
    start(): void {
      if (timer || closed) return;
      timer = setInterval(wake, pollMs);
      timer.unref();
      wake();
    },

    /** Stops; deliveries cut short stay pending and go after the next start. */
    async close(): Promise<void> {
      closed = true;
      if (timer) clearInterval(timer);
      for (const a of inFlight) a.abort(new Error('the appliance is shutting down'));
      await running;
    },
  };
}

export type Webhooks = ReturnType<typeof createWebhooks>;

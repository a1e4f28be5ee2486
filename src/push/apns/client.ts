import type { Logger } from '../../log.ts';
import { backoffDelay, createDelays, type BackoffPolicy } from './backoff.ts';
import { ClientReason, type Attempt, type AttemptFailure } from './failures.ts';
import { createSessionPool, type Job } from './pool.ts';
import { Slots } from './slots.ts';
import type { ApnsIdentity, ApnsPush, ApnsResult } from './types.ts';

export const APNS_PRODUCTION_URL = 'https://api.push.apple.com';
export const APNS_SANDBOX_URL = 'https://api.sandbox.push.apple.com';

export interface ApnsClientOptions {
  log: Logger;
  /** The current push identity (e.g. `() => pushCertificates.activeIdentity()`); see setIdentity for pushing without one. */
  identity?: () => ApnsIdentity | null;
  /** How often the identity provider is asked again while an identity is in use (ms). Default 60 s. */
  identityRefreshMs?: number;
  /** APNs's base URL. Default production. */
  url?: string;
  /** Extra trust roots (PEM) for APNs's server certificate, beside Node's bundled ones: for a test APNs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Requests per push, the first included. Default 5. */
  maxAttempts?: number;
  /** Default 200 ms doubling up to 30 s. */
  backoff?: BackoffPolicy;
  /** Pushes held at once, waiting or in flight; further push() calls wait for a slot. Default 1,000. */
  maxPending?: number;
  /** Connections per identity, opened as the first ones fill up. Default 2. */
  maxSessions?: number;
  /** Streams per connection, below whatever APNs allows. Default 1,000. */
  maxStreamsPerSession?: number;
  /** `apns-expiration` = now + this (s); 0 sends 0 (no storing for an offline device). Default 1 day. */
  ttlSeconds?: number;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  pingIntervalMs?: number;
  /** How long close() lets requests in flight finish before cutting them. Default 5 s. */
  closeGraceMs?: number;
  now?: () => number;
  random?: () => number;
}

const HEX = /^[0-9a-fA-F]+$/;

/**
 * APNs over HTTP/2 with the MDM push certificate as TLS client certificate (Apple's
 * certificate-based provider API). push() never throws: every push ends in an ApnsResult,
 * permanent or transient, after retrying transient failures with backoff.
 */
export function createApnsClient(o: ApnsClientOptions) {
  const log = o.log;
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const maxAttempts = o.maxAttempts ?? 5;
  const backoff = o.backoff ?? { baseMs: 200, capMs: 30_000 };
  const ttlSeconds = o.ttlSeconds ?? 86_400;
  const slots = new Slots(o.maxPending ?? 1_000);
  const delays = createDelays();
  let closed = false;

  const pool = createSessionPool({
    url: o.url ?? APNS_PRODUCTION_URL,
    ...(o.ca !== undefined ? { ca: o.ca } : {}),
    maxSessions: o.maxSessions ?? 2,
    maxStreamsPerSession: o.maxStreamsPerSession ?? 1_000,
    connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
    requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
    pingIntervalMs: o.pingIntervalMs ?? 60_000,
    closeGraceMs: o.closeGraceMs ?? 5_000,
    ...(o.identity ? { identity: o.identity } : {}),
    identityRefreshMs: o.identityRefreshMs ?? 60_000,
    now,
    log,
  });

  const fail = (f: AttemptFailure, attempt: number): ApnsResult => {
    const { unprocessed: _unprocessed, untried, ...rest } = f;
    return { ...rest, attempts: untried ? attempt - 1 : attempt };
  };
  const closedResult = (attempts: number): ApnsResult => ({ ok: false, permanent: false, reason: ClientReason.ClientClosed, attempts });

  function refuse(p: ApnsPush): ApnsResult | null {
    if (typeof p.token !== 'string' || !HEX.test(p.token)) return { ok: false, permanent: true, reason: ClientReason.BadDeviceToken, attempts: 0 };
    if (typeof p.pushMagic !== 'string' || p.pushMagic === '') return { ok: false, permanent: true, reason: ClientReason.BadPushMagic, attempts: 0 };
    return null;
  }

  /**
   * One push's life, request after request. Callbacks rather than an async function: a push
   * that succeeds at once (nearly all of them) costs no promise beyond the caller's.
   */
  class PushJob implements Job {
    readonly token: string;
    readonly pushMagic: string;
    readonly expiration: number;
    attempt = 1;

    constructor(
      p: ApnsPush,
      private readonly done: (result: ApnsResult) => void,
    ) {
      this.token = p.token;
      this.pushMagic = p.pushMagic;
      this.expiration = p.expiration ?? (ttlSeconds === 0 ? 0 : Math.floor(now() / 1000) + ttlSeconds);
    }

    resolve(outcome: Attempt): void {
      if (outcome.ok) this.end({ ok: true, status: 200, apnsId: outcome.apnsId, attempts: this.attempt });
      else void this.failed(outcome);
    }

    private end(result: ApnsResult): void {
      slots.release();
      this.done(result);
    }

    private async failed(outcome: AttemptFailure): Promise<void> {
      const attempt = this.attempt;
      if (outcome.permanent) {
        log.debug({ token: this.token.slice(0, 8), status: outcome.status, reason: outcome.reason, attempts: attempt }, 'push refused');
        return this.end(fail(outcome, attempt));
      }
      if (closed) return this.end(closedResult(attempt));
      if (attempt >= maxAttempts) {
        log.debug({ token: this.token.slice(0, 8), status: outcome.status, reason: outcome.reason, detail: outcome.detail, attempts: attempt }, 'push failed: out of attempts');
        return this.end(fail(outcome, attempt));
      }
      // An unprocessed request never reached APNs's logic: resending at once cannot duplicate it.
      if (!outcome.unprocessed) await delays.wait(backoffDelay(attempt, backoff, random));
      // Not resent in the same tick as the failure: the pool may be handing out or failing requests.
      else await Promise.resolve();
      if (closed) return this.end(closedResult(attempt));
      this.attempt++;
      pool.send(this);
    }
  }

  /** Starts one push; `done` gets its result, exactly once. */
  function run(p: ApnsPush, done: (result: ApnsResult) => void): void {
    const refused = refuse(p);
    if (refused) return done(refused);
    if (closed) return done(closedResult(0));
    if (slots.tryAcquire()) {
      pool.send(new PushJob(p, done));
      return;
    }
    void slots.acquire().then((granted) => {
      if (!granted || closed) {
        if (granted) slots.release();
        done(closedResult(0));
      } else pool.send(new PushJob(p, done));
    });
  }

  function push(p: ApnsPush): Promise<ApnsResult> {
    return new Promise((resolve) => run(p, resolve));
  }

  /**
   * Pushes everything `pushes` yields, at most `concurrency` at a time (default maxPending),
   * reading the source only as fast as results come back; results come in completion order.
   */
  async function* pushMany<T extends ApnsPush>(
    pushes: Iterable<T> | AsyncIterable<T>,
    opts: { concurrency?: number } = {},
  ): AsyncGenerator<{ push: T; result: ApnsResult }> {
    const concurrency = Math.max(1, opts.concurrency ?? slots.limit);
    let done: Array<{ push: T; result: ApnsResult }> = [];
    let wake: (() => void) | null = null;
    let inFlight = 0;
    const isAsync = Symbol.asyncIterator in pushes;
    const source = isAsync ? pushes[Symbol.asyncIterator]() : pushes[Symbol.iterator]();
    let exhausted = false;
    while (!exhausted || inFlight > 0) {
      while (!exhausted && inFlight < concurrency) {
        // A sync source is not awaited: a microtask per push adds up over 100,000 of them.
        const next = isAsync ? await source.next() : (source as Iterator<T>).next();
        if (next.done) {
          exhausted = true;
          break;
        }
        const item = next.value;
        inFlight++;
        run(item, (result) => {
          inFlight--;
          done.push({ push: item, result });
          if (wake) {
            const w = wake;
            wake = null;
            w();
          }
        });
      }
      if (done.length === 0 && inFlight > 0) await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
      const batch = done;
      done = [];
      yield* batch;
    }
  }

  return {
    push,
    pushMany,
    /** Pushes from now on use this identity, on new connections; requests in flight finish on the old ones. */
    setIdentity: (identity: ApnsIdentity | null) => pool.setIdentity(identity),
    /** Asks the identity provider now (after an import) rather than at the next refresh. */
    reloadIdentity: () => pool.reloadIdentity(),
    stats() {
      return { pending: slots.inUse, waiting: slots.waiting, ...pool.stats() };
    },
    /** Closes every connection. Nothing is dropped silently: unfinished pushes resolve with a transient ClientClosed. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      slots.close();
      delays.cancelAll();
      await pool.close();
    },
  };
}

export type ApnsClient = ReturnType<typeof createApnsClient>;

import crypto from 'node:crypto';
import tls from 'node:tls';
import type { Logger } from '../../log.ts';
import { ClientReason, type Attempt, type AttemptFailure } from './failures.ts';
import { Fifo } from './fifo.ts';
import { ApnsSession } from './session.ts';
import type { ApnsIdentity } from './types.ts';

export interface PoolOptions {
  url: string;
  /** Trust roots added to Node's bundled ones, for a test APNs. */
  ca?: string | Buffer | Array<string | Buffer>;
  maxSessions: number;
  maxStreamsPerSession: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  pingIntervalMs: number;
  closeGraceMs: number;
  /** Asked for the identity when the pool has none, and again every identityRefreshMs. */
  identity?: () => ApnsIdentity | null;
  identityRefreshMs: number;
  now: () => number;
  log: Logger;
}

/** One request waiting for a stream; the topic is the identity's at the moment it is sent. */
export interface Job {
  token: string;
  pushMagic: string;
  expiration: number;
  resolve(outcome: Attempt): void;
}

/** The sessions of one identity. A swap retires the generation: its sessions drain and close. */
interface Generation {
  identity: ApnsIdentity;
  fingerprint: string;
  context: tls.SecureContext | null;
  /** Why no session can be made with this identity (its key does not fit, say). */
  unusable: AttemptFailure | null;
  sessions: Set<ApnsSession>;
  connecting: ApnsSession | null;
  /** After a failed connection, no extra session before this time (one is still made when there is none). */
  extraAfter: number;
}

// How long a failed connection holds back additional sessions while others still serve.
const EXTRA_SESSION_COOLDOWN_MS = 5_000;

/**
 * The connections to APNs and the line of requests waiting for a stream on one of them. A
 * request goes to the least busy open session of the current identity; when every one is full
 * and requests are waiting, another session is opened, up to maxSessions.
 */
export function createSessionPool(o: PoolOptions) {
  const queue = new Fifo<Job>();
  let current: Generation | null = null;
  let checkedAt = -Infinity;
  const retired = new Set<Generation>();
  let sessionSeq = 0;
  let closed = false;
  let pumping = false;

  const sameIdentity = (a: ApnsIdentity, b: ApnsIdentity) => a.certPem === b.certPem && a.keyPem === b.keyPem && a.topic === b.topic;

  function newGeneration(identity: ApnsIdentity): Generation {
    let fingerprint = '';
    let context: tls.SecureContext | null = null;
    let unusable: AttemptFailure | null = null;
    try {
      fingerprint = new crypto.X509Certificate(identity.certPem).fingerprint256;
      const extra = o.ca === undefined ? [] : Array.isArray(o.ca) ? o.ca : [o.ca];
      context = tls.createSecureContext({
        cert: identity.certPem,
        key: identity.keyPem,
        ...(extra.length ? { ca: [...tls.rootCertificates, ...extra] } : {}),
      });
    } catch (err) {
      unusable = { ok: false, permanent: true, reason: ClientReason.BadCertificate, detail: err instanceof Error ? err.message : String(err), untried: true };
      o.log.error({ topic: identity.topic, err: unusable.detail }, 'the push certificate or its key cannot be used for TLS');
    }
    return { identity, fingerprint, context, unusable, sessions: new Set(), connecting: null, extraAfter: -Infinity };
  }

  function retire(gen: Generation): void {
    if (gen.sessions.size === 0) return;
    retired.add(gen);
    // Streams in flight finish on the old certificate; the sessions close when they are done.
    for (const s of gen.sessions) s.drain();
  }

  function install(identity: ApnsIdentity | null): void {
    if (identity && current && sameIdentity(identity, current.identity)) return;
    const previous = current;
    current = identity ? newGeneration(identity) : null;
    if (previous) retire(previous);
    if (identity) {
      o.log.info({ topic: identity.topic, fingerprint: current?.fingerprint, replaced: previous ? previous.fingerprint : undefined }, 'APNs identity in use');
    } else if (previous) {
      o.log.warn({ replaced: previous.fingerprint }, 'no push certificate: pushes fail until one is installed');
    }
  }

  function generation(): Generation | null {
    const provider = o.identity;
    const t = o.now();
    if (provider && (current === null || t - checkedAt >= o.identityRefreshMs)) {
      checkedAt = t;
      try {
        install(provider());
      } catch (err) {
        // A failing lookup (the database busy, say) keeps the identity in use rather than dropping pushes.
        o.log.error({ err: err instanceof Error ? err.message : String(err) }, 'reading the push certificate failed');
      }
    }
    return current;
  }

  function failQueued(failure: AttemptFailure): void {
    for (const job of queue.drain()) job.resolve(failure);
  }

  function openSession(gen: Generation, context: tls.SecureContext): void {
    const session = new ApnsSession({
      id: ++sessionSeq,
      url: o.url,
      secureContext: context,
      maxStreams: o.maxStreamsPerSession,
      connectTimeoutMs: o.connectTimeoutMs,
      requestTimeoutMs: o.requestTimeoutMs,
      pingIntervalMs: o.pingIntervalMs,
      log: o.log.child({ topic: gen.identity.topic }),
      onCapacity: () => {
        if (gen.connecting === session) gen.connecting = null;
        pump();
      },
      onConnectFailed: (_s, failure) => {
        if (gen.connecting === session) gen.connecting = null;
        if (gen !== current) return;
        const serving = [...gen.sessions].some((s) => s !== session && s.state === 'ready');
        // With no session to serve them, the waiting requests fail now and come back after their backoff.
        if (!serving) failQueued(failure);
        else gen.extraAfter = o.now() + EXTRA_SESSION_COOLDOWN_MS;
      },
      onClosed: () => {
        gen.sessions.delete(session);
        if (gen.connecting === session) gen.connecting = null;
        if (gen.sessions.size === 0) retired.delete(gen);
        if (!closed) pump();
      },
    });
    gen.sessions.add(session);
    gen.connecting = session;
  }

  /** Opens a session when requests wait and every open one is full, within maxSessions. */
  function grow(gen: Generation): void {
    if (gen.connecting || !gen.context || closed) return;
    let live = 0;
    for (const s of gen.sessions) if (s.state === 'ready') live++;
    if (live >= o.maxSessions) return;
    if (live > 0 && o.now() < gen.extraAfter) return;
    openSession(gen, gen.context);
  }

  function pick(gen: Generation): ApnsSession | null {
    let best: ApnsSession | null = null;
    for (const s of gen.sessions) if (s.hasRoom && (!best || s.active < best.active)) best = s;
    return best;
  }

  function pump(): void {
    // Re-entrant calls (a failure resolving a job synchronously) would interleave the loop.
    if (pumping || closed) return;
    pumping = true;
    try {
      while (queue.size > 0) {
        const gen = generation();
        if (!gen) {
          failQueued({ ok: false, permanent: true, reason: ClientReason.NoPushCertificate, untried: true });
          break;
        }
        if (gen.unusable) {
          failQueued(gen.unusable);
          break;
        }
        const session = pick(gen);
        if (!session) {
          grow(gen);
          break;
        }
        session.send(queue.shift()!, gen.identity.topic);
      }
      const gen = current;
      if (queue.size > 0 && gen && !gen.unusable) grow(gen);
    } finally {
      pumping = false;
    }
  }

  return {
    /**
     * One request on some session; job.resolve gets its outcome, on a later tick or, for a
     * request that cannot be sent (closed, no usable identity), at once.
     */
    send(job: Job): void {
      if (closed) {
        job.resolve({ ok: false, permanent: false, reason: ClientReason.ClientClosed });
        return;
      }
      queue.push(job);
      pump();
    },

    setIdentity(identity: ApnsIdentity | null): void {
      checkedAt = o.now();
      install(identity);
      pump();
    },

    /** Asks the identity provider now instead of at the next refresh. */
    reloadIdentity(): void {
      checkedAt = -Infinity;
      generation();
      pump();
    },

    stats() {
      const describe = (s: ApnsSession) => ({ id: s.id, state: s.state, active: s.active, capacity: s.capacity });
      return {
        queued: queue.size,
        sessions: current ? [...current.sessions].map(describe) : [],
        retiredSessions: [...retired].flatMap((g) => [...g.sessions].map(describe)),
      };
    },

    /** Fails what waits for a stream; lets streams in flight finish for up to closeGraceMs, then cuts them. */
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      failQueued({ ok: false, permanent: false, reason: ClientReason.ClientClosed });
      const all = [...(current ? [current] : []), ...retired].flatMap((g) => [...g.sessions]);
      for (const s of all) s.drain();
      const everyClosed = Promise.all(all.map((s) => s.closed));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, o.closeGraceMs)));
      await Promise.race([everyClosed, grace]);
      clearTimeout(timer);
      for (const s of all) s.destroy();
      await everyClosed;
    },
  };
}

export type SessionPool = ReturnType<typeof createSessionPool>;

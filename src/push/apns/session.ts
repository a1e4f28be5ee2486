import net from 'node:net';
import tls, { type SecureContext } from 'node:tls';
import type { Logger } from '../../log.ts';
import { ClientReason, classifyConnectionError, classifyGoaway, type Attempt, type AttemptFailure } from './failures.ts';
import { H2Connection } from './h2/connection.ts';
import { PushHeaders, PushStream, sendPush, type PushOwner, type PushRequest } from './request.ts';

export interface SessionOptions {
  id: number;
  url: string;
  secureContext: SecureContext;
  /** Our own ceiling on streams per connection, below whatever the server allows. */
  maxStreams: number;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  pingIntervalMs: number;
  log: Logger;
  /** The session can take streams (first SETTINGS came), or can take more of them (a stream ended, the server raised its limit). */
  onCapacity(session: ApnsSession): void;
  /** The session never became usable. */
  onConnectFailed(session: ApnsSession, failure: AttemptFailure): void;
  onClosed(session: ApnsSession): void;
}

type State = 'connecting' | 'ready' | 'draining' | 'closed';

/**
 * One HTTP/2 connection to APNs. It is used only once the server's first SETTINGS frame has
 * said how many streams it takes, never above that, and it stops taking streams as soon as a
 * GOAWAY arrives or it is drained; it pings while open so that a silently dead connection
 * is found before pushes time out on it.
 */
export class ApnsSession implements PushOwner {
  readonly id: number;
  state: State = 'connecting';
  active = 0;
  capacity = 0;
  private readonly conn: H2Connection;
  private readonly authority: string;
  /** The request headers common to this connection's pushes, for the topic they were made for. */
  private headers: PushHeaders | null = null;
  private readonly socket: tls.TLSSocket;
  goawayLast: number | null = null;
  /** Requests in flight, oldest first: the timeout sweep stops at the first young one. */
  private readonly inFlight = new Set<PushStream>();
  private sweeps = 0;
  private sweepTimer: NodeJS.Timeout | undefined;
  private readonly sweepMs: number;
  /** Sweeps a request lives through before it times out. */
  private readonly sweepsToTimeout: number;
  private lastError: unknown;
  /** Why the connection never became usable, when known better than from lastError. */
  private failure: AttemptFailure | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pingOutstanding = false;
  private readonly closedPromise: Promise<void>;
  private markClosed!: () => void;

  constructor(private readonly o: SessionOptions) {
    this.id = o.id;
    // One timer per session instead of one per request; a request times out up to one sweep late.
    this.sweepMs = Math.max(1, Math.min(1_000, Math.ceil(o.requestTimeoutMs / 8)));
    this.sweepsToTimeout = Math.ceil(o.requestTimeoutMs / this.sweepMs);
    this.closedPromise = new Promise((resolve) => (this.markClosed = resolve));
    // Our own TLS socket rather than the session's proxy of it, which refuses destroy() and
    // throws once unbound: a broken connection must always be closable from here.
    const url = new URL(o.url);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket = tls.connect({
      host,
      port: Number(url.port || 443),
      ...(net.isIP(host) ? {} : { servername: host }),
      secureContext: o.secureContext,
      ALPNProtocols: ['h2'],
    });
    this.authority = url.host;
    this.conn = new H2Connection(this.socket, {
      onSettings: (maxConcurrentStreams) => this.onSettings(maxConcurrentStreams),
      onGoaway: (code, lastStreamID, data) => this.onGoaway(code, lastStreamID, data),
      onError: (err) => {
        this.lastError = err;
        this.finish();
      },
      onClose: () => this.finish(),
    });
    this.connectTimer = setTimeout(() => {
      this.failure = { ok: false, permanent: false, reason: ClientReason.ConnectTimeout };
      this.finish();
    }, o.connectTimeoutMs);
    this.socket.once('secureConnect', () => {
      if (this.socket.alpnProtocol !== 'h2') {
        this.lastError = Object.assign(new Error(`the server did not negotiate HTTP/2 (ALPN: ${this.socket.alpnProtocol || 'none'})`), { code: 'ERR_HTTP2_ALPN' });
        this.finish();
      }
    });
    // A TLS failure comes before any HTTP/2 frame; the socket's own events account for it.
    this.socket.on('error', (err: Error) => {
      this.lastError ??= err;
      this.finish();
    });
    this.socket.on('close', () => this.finish());
  }

  private onSettings(maxConcurrentStreams: number): void {
    const o = this.o;
    this.capacity = Math.min(o.maxStreams, maxConcurrentStreams);
    if (this.state === 'connecting') {
      clearTimeout(this.connectTimer);
      this.state = 'ready';
      this.pingTimer = setInterval(() => this.ping(), o.pingIntervalMs).unref();
      this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs).unref();
      o.log.info({ session: this.id, maxConcurrentStreams: this.capacity }, 'APNs connection open');
    }
    if (this.state === 'ready') o.onCapacity(this);
  }

  private onGoaway(code: number, lastStreamID: number, data: Buffer): void {
    this.goawayLast = this.goawayLast === null ? lastStreamID : Math.min(this.goawayLast, lastStreamID);
    const reason = goawayReason(data);
    if (this.state === 'connecting') this.failure = classifyGoaway(reason);
    if (this.state === 'connecting' || this.state === 'ready') this.o.log.info({ session: this.id, code, lastStreamID, reason }, 'APNs sent GOAWAY');
    if (this.state === 'ready') this.state = 'draining';
    this.closeIfIdle();
  }

  get closed(): Promise<void> {
    return this.closedPromise;
  }

  get hasRoom(): boolean {
    return this.state === 'ready' && this.active < this.capacity && this.conn.canRequest;
  }

  /** One request; `job.resolve` gets its outcome, never called synchronously from here. */
  send(r: PushRequest & { resolve(outcome: Attempt): void }, topic: string): void {
    this.active++;
    const p = new PushStream(this, r, this.sweeps);
    this.inFlight.add(p);
    if (this.headers?.topic !== topic) this.headers = new PushHeaders(this.authority, topic);
    sendPush(this.conn, this.headers, r, p);
  }

  settled(p: PushStream, outcome: Attempt): void {
    this.inFlight.delete(p);
    this.active--;
    if (this.state === 'closed' && this.inFlight.size === 0) clearInterval(this.sweepTimer);
    (p.job as { resolve(outcome: Attempt): void }).resolve(outcome);
    // Stream ids run out after 2^30 requests: the connection makes way for a new one.
    if (this.state === 'ready' && !this.conn.canRequest) this.drain();
    if (this.state === 'ready') this.o.onCapacity(this);
    else this.closeIfIdle();
  }

  private sweep(): void {
    this.sweeps++;
    const bornBy = this.sweeps - this.sweepsToTimeout - 1;
    for (const p of this.inFlight) {
      if (p.sweep > bornBy) break;
      p.timeout();
    }
  }

  /** No new streams; the connection closes once the ones in flight are answered. */
  drain(): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting') {
      this.finish(true);
      return;
    }
    this.state = 'draining';
    this.conn.close();
    this.closeIfIdle();
  }

  /**
   * A draining session closes itself once its last stream is done. Node's graceful close does
   * that too, but was seen to leave the socket open after a GOAWAY with many refused streams,
   * so the end is not left to it.
   */
  private closeIfIdle(): void {
    if (this.state === 'draining' && this.active === 0) this.finish(true);
  }

  /** Closes now: streams in flight fail and their pushes are retried or reported. */
  destroy(): void {
    this.finish(true);
  }

  private ping(): void {
    if (this.state !== 'ready' && this.state !== 'draining') return;
    if (this.pingOutstanding) {
      this.o.log.warn({ session: this.id }, 'APNs connection did not answer a PING: reconnecting');
      this.lastError = Object.assign(new Error('PING unanswered'), { code: 'PingTimeout' });
      this.finish();
      return;
    }
    this.pingOutstanding = true;
    try {
      this.conn.ping(() => (this.pingOutstanding = false));
    } catch (err) {
      this.lastError = err;
      this.finish();
    }
  }

  /** `deliberate`: closed by us (swap, close), not failed; nothing to warn about. */
  private finish(deliberate = false): void {
    if (this.state === 'closed') return;
    const wasConnecting = this.state === 'connecting' && !deliberate;
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    // The sweep goes on while destroyed streams have yet to report: every push must end.
    if (this.inFlight.size === 0) clearInterval(this.sweepTimer);
    this.conn.destroy();
    if (!this.socket.destroyed) this.socket.destroy();
    if (wasConnecting) {
      const failure =
        this.failure ?? classifyConnectionError(this.lastError, this.lastError === undefined ? ClientReason.ConnectionLost : ClientReason.ConnectionFailed);
      this.o.log.warn({ session: this.id, url: this.o.url, reason: failure.reason, detail: failure.detail }, 'APNs connection failed');
      this.o.onConnectFailed(this, failure);
    } else {
      this.o.log.info({ session: this.id, detail: errorDetail(this.lastError) }, 'APNs connection closed');
    }
    this.o.onClosed(this);
    this.markClosed();
  }
}

function goawayReason(data: Buffer | undefined): string | undefined {
  if (!data?.length) return undefined;
  try {
    const parsed: unknown = JSON.parse(data.toString('utf8'));
    return parsed && typeof parsed === 'object' && 'reason' in parsed && typeof parsed.reason === 'string' ? parsed.reason : undefined;
  } catch {
    return undefined;
  }
}

function errorDetail(err: unknown): string | undefined {
  if (err === undefined) return undefined;
  return classifyConnectionError(err).detail ?? (err instanceof Error ? err.message : String(err));
}

import { ClientReason, classifyConnectionError, classifyResponse, type Attempt } from './failures.ts';
import type { H2Connection, StreamAbort, StreamHandler } from './h2/connection.ts';
import { ErrorCode } from './h2/frames.ts';
import { STATIC_INDEX, encodeFields, literalLength, writeLiteral, type HeaderList } from './h2/hpack.ts';

// Apple's error bodies are one small JSON object; anything bigger is not APNs talking.
const MAX_BODY = 4096;

export interface PushRequest {
  token: string;
  pushMagic: string;
  /** Unix seconds, 0 for "now or never". */
  expiration: number;
}

/**
 * The request exactly as Apple's provider API wants it for an MDM wake-up: POST
 * /3/device/<token> with apns-topic, apns-push-type mdm, apns-priority 10 and apns-expiration.
 * What every request of a connection shares is encoded once; a push adds its path and expiration.
 */
export class PushHeaders {
  private readonly head: Buffer;
  private readonly tail: Buffer;

  constructor(
    authority: string,
    readonly topic: string,
  ) {
    this.head = encodeFields([STATIC_INDEX.methodPost, STATIC_INDEX.schemeHttps, [STATIC_INDEX.authority, authority]]);
    this.tail = encodeFields([
      ['apns-topic', topic],
      ['apns-push-type', 'mdm'],
      ['apns-priority', '10'],
    ]);
  }

  block(r: PushRequest): Buffer {
    const path = `/3/device/${r.token}`;
    const expiration = String(r.expiration);
    const buf = Buffer.allocUnsafe(this.head.length + literalLength(STATIC_INDEX.path, path) + this.tail.length + literalLength('apns-expiration', expiration));
    let pos = this.head.copy(buf, 0);
    pos = writeLiteral(buf, pos, STATIC_INDEX.path, path);
    pos += this.tail.copy(buf, pos);
    writeLiteral(buf, pos, 'apns-expiration', expiration);
    return buf;
  }
}

export const pushBody = (pushMagic: string): Buffer => Buffer.from('{"mdm":' + JSON.stringify(pushMagic) + '}', 'utf8');

/** What a push's stream reports to: its session. */
export interface PushOwner {
  /** The GOAWAY last-stream-id when one came: streams above it were never processed. */
  readonly goawayLast: number | null;
  settled(p: PushStream, outcome: Attempt): void;
}

/**
 * One push on its stream, settling on exactly one outcome whatever the mix of response, reset,
 * connection loss and timeout it goes through. The session times requests out (timeout()), one
 * sweep for all.
 */
export class PushStream implements StreamHandler {
  settled = false;
  status = 0;
  apnsId = '';
  chunks: Buffer[] | null = null;
  bodyBytes = 0;
  streamId = 0;
  conn: H2Connection | null = null;

  constructor(
    readonly owner: PushOwner,
    readonly job: unknown,
    /** The owner's sweep count when sent: the request's age in sweeps. */
    readonly sweep: number,
  ) {}

  settle(outcome: Attempt): void {
    if (this.settled) return;
    this.settled = true;
    this.owner.settled(this, outcome);
  }

  /** A wall-clock bound rather than an inactivity one: a wedged session must not hold a push forever. */
  timeout(): void {
    this.settle({ ok: false, permanent: false, reason: ClientReason.Timeout });
    if (this.conn && this.streamId) this.conn.reset(this.streamId, ErrorCode.CANCEL);
  }

  onResponse(status: number, headers: HeaderList): void {
    this.status = status;
    for (const [name, value] of headers) if (name === 'apns-id') this.apnsId = value;
  }

  onData(chunk: Buffer): void {
    if (this.bodyBytes < MAX_BODY) (this.chunks ??= []).push(chunk);
    this.bodyBytes += chunk.length;
  }

  onEnd(): void {
    const status = this.status;
    // APNs sends no body with a 200.
    this.settle(status === 200 ? { ok: true, apnsId: this.apnsId } : failureFromBody(status, this.chunks ? Buffer.concat(this.chunks) : Buffer.alloc(0)));
  }

  onAbort(a: StreamAbort): void {
    if (a.kind === 'refused') {
      const goaway = a.goaway || this.owner.goawayLast !== null;
      this.settle({ ok: false, permanent: false, reason: goaway ? ClientReason.Goaway : ClientReason.StreamReset, unprocessed: true });
    } else if (a.kind === 'reset') {
      this.settle({ ok: false, permanent: false, reason: ClientReason.StreamReset, detail: `rst ${a.code}` });
    } else {
      this.settle(classifyConnectionError(a.error));
    }
  }
}

/** Sends `p`'s push on an open connection; the outcome goes to p.owner.settled. */
export function sendPush(conn: H2Connection, headers: PushHeaders, r: PushRequest, p: PushStream): void {
  try {
    p.streamId = conn.request(headers.block(r), pushBody(r.pushMagic), p);
    p.conn = conn;
  } catch (err) {
    // The connection went away (GOAWAY, closed) between the pick and the request: nothing was
    // sent. Settled on the next tick: the caller may be in the middle of handing out requests.
    const outcome: Attempt = { ...classifyConnectionError(err, ClientReason.ConnectionLost), unprocessed: true };
    process.nextTick(() => p.settle(outcome));
  }
}

function failureFromBody(status: number, body: Buffer): Attempt {
  let reason: string | undefined;
  let timestamp: number | undefined;
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (parsed && typeof parsed === 'object') {
      if ('reason' in parsed && typeof parsed.reason === 'string') reason = parsed.reason;
      if ('timestamp' in parsed && typeof parsed.timestamp === 'number') timestamp = parsed.timestamp;
    }
  } catch {
    // Not JSON (a proxy's error page, say): the status alone classifies it.
  }
  return classifyResponse(status, reason, timestamp);
}

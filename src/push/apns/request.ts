import http2, { type ClientHttp2Session } from 'node:http2';
import { ClientReason, classifyConnectionError, classifyResponse, errorCode, type Attempt } from './failures.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

// Apple's error bodies are one small JSON object; anything bigger is not APNs talking.
const MAX_BODY = 4096;

export interface PushRequest {
  token: string;
  pushMagic: string;
  /** Unix seconds, 0 for "now or never". */
  expiration: number;
}

/** The request exactly as Apple's provider API wants it for an MDM wake-up. */
export function pushHeaders(r: PushRequest, topic: string): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': `/3/device/${r.token}`,
    'apns-topic': topic,
    'apns-push-type': 'mdm',
    'apns-priority': '10',
    'apns-expiration': String(r.expiration),
  };
}

export const pushBody = (pushMagic: string): string => '{"mdm":' + JSON.stringify(pushMagic) + '}';

/** What a push's stream reports to: its session. */
export interface PushOwner {
  /** The GOAWAY last-stream-id when one came: streams above it were never processed. */
  readonly goawayLast: number | null;
  settled(p: PushStream, outcome: Attempt): void;
}

const STATE = Symbol('push');
type Tagged = http2.ClientHttp2Stream & { [STATE]: PushStream };

/**
 * One push on its stream, settling on exactly one outcome whatever the mix of response, reset,
 * error and timeout the stream goes through. The stream's listeners are shared functions that
 * find this state on the stream: at 100,000 pushes, four closures per request show up in the
 * garbage collector's time. The session times requests out (timeout()), one sweep for all.
 */
export class PushStream {
  settled = false;
  status: number | undefined;
  apnsId = '';
  streamError: unknown;
  chunks: Buffer[] | null = null;
  bodyBytes = 0;
  stream: http2.ClientHttp2Stream | null = null;

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

  /** A wall-clock bound rather than stream.setTimeout's inactivity one: a wedged session must not hold a push forever. */
  timeout(): void {
    this.settle({ ok: false, permanent: false, reason: ClientReason.Timeout });
    const stream = this.stream;
    if (stream && !stream.destroyed) stream.close(NGHTTP2_CANCEL);
  }
}

function onResponse(this: Tagged, headers: http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader): void {
  const p = this[STATE];
  p.status = Number(headers[':status']);
  const id = headers['apns-id'];
  p.apnsId = typeof id === 'string' ? id : '';
}

function onData(this: Tagged, chunk: Buffer): void {
  const p = this[STATE];
  if (p.bodyBytes < MAX_BODY) (p.chunks ??= []).push(chunk);
  p.bodyBytes += chunk.length;
}

function onError(this: Tagged, err: unknown): void {
  this[STATE].streamError = err;
}

function onClose(this: Tagged): void {
  const p = this[STATE];
  if (p.settled) return;
  const status = p.status;
  if (status !== undefined) {
    // APNs sends no body with a 200.
    p.settle(status === 200 ? { ok: true, apnsId: p.apnsId } : failureFromBody(status, p.chunks ? Buffer.concat(p.chunks) : Buffer.alloc(0)));
    return;
  }
  const goawayLast = p.owner.goawayLast;
  const unprocessed = this.id === undefined || this.rstCode === NGHTTP2_REFUSED_STREAM || (goawayLast !== null && this.id > goawayLast);
  if (unprocessed) {
    p.settle({ ok: false, permanent: false, reason: goawayLast !== null ? ClientReason.Goaway : ClientReason.StreamReset, unprocessed: true });
  } else if (p.streamError !== undefined && errorCode(p.streamError) !== 'ERR_HTTP2_STREAM_ERROR') {
    p.settle(classifyConnectionError(p.streamError));
  } else {
    p.settle({ ok: false, permanent: false, reason: ClientReason.StreamReset, detail: `rst ${this.rstCode}` });
  }
}

/** Sends `p`'s push on an open session; the outcome goes to p.owner.settled. */
export function sendPush(session: ClientHttp2Session, r: PushRequest, topic: string, p: PushStream): void {
  let stream: Tagged;
  try {
    stream = session.request(pushHeaders(r, topic)) as Tagged;
  } catch (err) {
    // The session went away (GOAWAY, destroyed) between the pick and the request: nothing was
    // sent. Settled on the next tick: the caller may be in the middle of handing out requests.
    const outcome: Attempt = { ...classifyConnectionError(err, ClientReason.ConnectionLost), unprocessed: true };
    process.nextTick(() => p.settle(outcome));
    return;
  }
  stream[STATE] = p;
  p.stream = stream;
  stream.on('response', onResponse);
  stream.on('data', onData);
  stream.on('error', onError);
  stream.on('close', onClose);
  stream.end(pushBody(r.pushMagic));
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

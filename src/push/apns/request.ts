import http2, { type ClientHttp2Session } from 'node:http2';
import { ClientReason, classifyConnectionError, classifyResponse, errorCode, type Attempt } from './failures.ts';

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

// Apple's error bodies are one small JSON object; anything bigger is not APNs talking.
const MAX_BODY = 4096;

export interface PushRequest {
  token: string;
  topic: string;
  pushMagic: string;
  /** Unix seconds, 0 for "now or never". */
  expiration: number;
}

/** The request exactly as Apple's provider API wants it for an MDM wake-up. */
export function pushHeaders(r: PushRequest): http2.OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': `/3/device/${r.token}`,
    'apns-topic': r.topic,
    'apns-push-type': 'mdm',
    'apns-priority': '10',
    'apns-expiration': String(r.expiration),
  };
}

export const pushBody = (pushMagic: string): string => JSON.stringify({ mdm: pushMagic });

/**
 * Sends one push on an open session and settles on exactly one outcome, whatever the mix of
 * response, reset, error and timeout the stream goes through. `lastProcessed` gives the
 * session's GOAWAY last-stream-id when one came: streams above it were never processed.
 */
export function sendPush(session: ClientHttp2Session, r: PushRequest, timeoutMs: number, lastProcessed: () => number | null): Promise<Attempt> {
  return new Promise((resolve) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(pushHeaders(r));
    } catch (err) {
      // The session went away (GOAWAY, destroyed) between the pick and the request: nothing was sent.
      resolve({ ...classifyConnectionError(err, ClientReason.ConnectionLost), unprocessed: true });
      return;
    }
    let settled = false;
    let status: number | undefined;
    let apnsId = '';
    let streamError: unknown;
    const chunks: Buffer[] = [];
    let bodyBytes = 0;

    const settle = (outcome: Attempt) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
    };
    // A wall-clock bound rather than stream.setTimeout's inactivity one: a wedged session must not hold a push forever.
    const timer = setTimeout(() => {
      settle({ ok: false, permanent: false, reason: ClientReason.Timeout });
      if (!stream.destroyed) stream.close(NGHTTP2_CANCEL);
    }, timeoutMs);

    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      const id = headers['apns-id'];
      apnsId = typeof id === 'string' ? id : '';
    });
    stream.on('data', (chunk: Buffer) => {
      if (bodyBytes < MAX_BODY) chunks.push(chunk);
      bodyBytes += chunk.length;
    });
    stream.on('error', (err) => {
      streamError = err;
    });
    stream.on('close', () => {
      if (status !== undefined) {
        settle(status === 200 ? { ok: true, apnsId } : failureFromBody(status, Buffer.concat(chunks)));
        return;
      }
      const goawayLast = lastProcessed();
      const unprocessed =
        stream.id === undefined || stream.rstCode === NGHTTP2_REFUSED_STREAM || (goawayLast !== null && stream.id > goawayLast);
      if (unprocessed) {
        settle({ ok: false, permanent: false, reason: goawayLast !== null ? ClientReason.Goaway : ClientReason.StreamReset, unprocessed: true });
      } else if (streamError !== undefined && errorCode(streamError) !== 'ERR_HTTP2_STREAM_ERROR') {
        settle(classifyConnectionError(streamError));
      } else {
        settle({ ok: false, permanent: false, reason: ClientReason.StreamReset, detail: `rst ${stream.rstCode}` });
      }
    });
    stream.end(pushBody(r.pushMagic));
  });
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

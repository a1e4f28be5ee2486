import crypto from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { sendWithRetries, type RetryPolicy } from './retry.ts';
import type { ServiceAccountKey } from './service-account.ts';

export const AMAPI_SCOPE = 'https://www.googleapis.com/auth/androidmanagement';
/** Pulling device notifications from the enterprise's Pub/Sub subscription. */
export const PUBSUB_SCOPE = 'https://www.googleapis.com/auth/pubsub';
/** One token for both APIs: the same service account calls each, and one token is one round trip less. */
const SCOPES = `${AMAPI_SCOPE} ${PUBSUB_SCOPE}`;
/** Google refuses assertions valid for longer than an hour. */
const ASSERTION_LIFETIME_S = 3600;
/** A token is renewed this long before Google says it expires: clocks drift, and requests take time. */
const RENEW_BEFORE_MS = 120_000;

const TokenAnswer = z.object({
  access_token: z.string().min(1),
  expires_in: z.number().int().positive(),
  token_type: z.string().regex(/^bearer$/i),
});
const TokenRefusal = z.object({ error: z.string(), error_description: z.string().optional() });

const b64url = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** The RFC 7523 assertion: RS256 over the header and claims, signed with the service account's key. */
export function signedAssertion(key: ServiceAccountKey, scope: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header = { alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) };
  const claims = { iss: key.client_email, scope, aud: key.token_uri, iat, exp: iat + ASSERTION_LIFETIME_S };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = crypto.sign('sha256', Buffer.from(input), key.private_key);
  return `${input}.${b64url(signature)}`;
}

/**
 * Access tokens by the OAuth 2.0 JWT-bearer grant, written here with node:crypto and fetch rather
 * than taken from a library: Google's Node auth libraries (google-auth-library) sign for and post
 * to Google's own token host whatever the key's token_uri says, so neither a provider's proxy nor
 * a test server could stand in; the generated @googleapis/androidmanagement client lags the API's
 * revisions; and googleapis weighs 222 MB. One token per key, reused until shortly before it
 * expires; concurrent callers share one request.
 */
export function createTokenSource(opts: { log: Logger; retry: RetryPolicy; wait: (ms: number) => Promise<void>; now?: () => number; fetch?: typeof fetch }) {
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? fetch;
  let cached: { identity: string; token: string; renewAt: number } | null = null;
  let inflight: { identity: string; promise: Promise<string> } | null = null;

  const identityOf = (key: ServiceAccountKey) =>
    crypto.createHash('sha256').update(`${key.client_email}\n${key.token_uri}\n${key.private_key}`).digest('hex');

  async function fetchToken(key: ServiceAccountKey, identity: string): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: signedAssertion(key, SCOPES, now()) });
    const res = await sendWithRetries(
      {
        operation: 'an access token',
        idempotent: true,
        send: () =>
          doFetch(key.token_uri, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
            body,
            signal: AbortSignal.timeout(30_000),
          }),
      },
      opts.retry,
      opts.log,
      opts.wait,
    );
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      // Described below.
    }
    if (!res.ok) {
      const refusal = TokenRefusal.safeParse(json);
      const why = refusal.success ? `${refusal.data.error}${refusal.data.error_description ? `: ${refusal.data.error_description}` : ''}` : `HTTP ${res.status}`;
      // invalid_grant is almost always a deleted or disabled key, or a clock far off.
      throw new AppError('google_token_refused', `Google's token endpoint refused the service account ${key.client_email}: ${why}`, 503);
    }
    const answer = TokenAnswer.safeParse(json);
    if (!answer.success) throw new AppError('google_token_refused', `Google's token endpoint answered without a usable access token (HTTP ${res.status})`, 503);
    const t = now();
    cached = { identity, token: answer.data.access_token, renewAt: t + Math.max(0, answer.data.expires_in * 1000 - RENEW_BEFORE_MS) };
    opts.log.debug({ clientEmail: key.client_email, expiresIn: answer.data.expires_in }, 'got an access token');
    return answer.data.access_token;
  }

  return {
    /** A current access token for `key`. */
    get(key: ServiceAccountKey): Promise<string> {
      const identity = identityOf(key);
      if (cached && cached.identity === identity && now() < cached.renewAt) return Promise.resolve(cached.token);
      if (inflight && inflight.identity === identity) return inflight.promise;
      const promise = fetchToken(key, identity).finally(() => {
        if (inflight?.promise === promise) inflight = null;
      });
      inflight = { identity, promise };
      return promise;
    },
    /** Forgets `token` (Google answered 401 to it), so the next get() asks for a new one. */
    invalidate(token: string): void {
      if (cached?.token === token) cached = null;
    },
  };
}

export type TokenSource = ReturnType<typeof createTokenSource>;

import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { backoffDelay, type BackoffPolicy } from '../../push/apns/backoff.ts';

export interface RetryPolicy {
  /** RESOURCE_EXHAUSTED: Google's quotas are per minute, so a few waits growing to capMs. */
  quotaRetries: number;
  /** 5xx and connection failures, for requests that may be sent twice. */
  serverRetries: number;
  backoff: BackoffPolicy;
}

export const DEFAULT_RETRY: RetryPolicy = { quotaRetries: 4, serverRetries: 3, backoff: { baseMs: 500, capMs: 8000 } };

export interface Attempt {
  /** Sends the request once; a thrown error is a connection failure. */
  send: () => Promise<Response>;
  /** A second copy does no harm (GET, PATCH, DELETE, a new signup URL); a 5xx after a create may mean it happened. */
  idempotent: boolean;
  /** For logs and errors: "enterprises.create". */
  operation: string;
}

const retryAfterMs = (res: Response): number | null => {
  const v = res.headers.get('retry-after');
  return v && /^\d{1,4}$/.test(v) ? Number(v) * 1000 : null;
};

/**
 * Sends until the answer is final: 429 waits and tries again (the request was refused, not done),
 * 5xx and connection failures only for idempotent requests; both bounded, with jittered backoff
 * so that callers refused together do not return together. The last answer is returned as is.
 */
export async function sendWithRetries(a: Attempt, policy: RetryPolicy, log: Logger, wait: (ms: number) => Promise<void>): Promise<Response> {
  let quota = 0;
  let server = 0;
  for (;;) {
    let res: Response;
    try {
      res = await a.send();
    } catch (e) {
      if (!a.idempotent || server >= policy.serverRetries) {
        throw new AppError('google_unreachable', `cannot reach Google for ${a.operation}: ${(e as Error).message}`, 503);
      }
      server++;
      const ms = backoffDelay(server, policy.backoff);
      log.warn({ operation: a.operation, err: (e as Error).message, retry: server, waitMs: ms }, 'Google unreachable: retrying');
      await wait(ms);
      continue;
    }
    if (res.status === 429 && quota < policy.quotaRetries) {
      quota++;
      const ms = Math.min(policy.backoff.capMs, retryAfterMs(res) ?? backoffDelay(quota, policy.backoff));
      await res.body?.cancel();
      log.warn({ operation: a.operation, retry: quota, waitMs: ms }, 'Google quota exhausted (429): backing off');
      await wait(ms);
      continue;
    }
    if (res.status >= 500 && a.idempotent && server < policy.serverRetries) {
      server++;
      const ms = backoffDelay(server, policy.backoff);
      await res.body?.cancel();
      log.warn({ operation: a.operation, status: res.status, retry: server, waitMs: ms }, 'Google server error: retrying');
      await wait(ms);
      continue;
    }
    return res;
  }
}

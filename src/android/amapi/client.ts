import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { createDelays } from '../../push/apns/backoff.ts';
import { googleError, googleStatus } from './google-error.ts';
import { describeIssue } from './issues.ts';
import { DEFAULT_RETRY, sendWithRetries, type RetryPolicy } from './retry.ts';
import { EnrollmentToken, Enterprise, Policy } from './schemas.generated.ts';
import type { ServiceAccountKey } from './service-account.ts';
import { createTokenSource } from './token.ts';

/**
 * Answers are read for what we use and kept whole otherwise: Google adds fields between
 * revisions, and a new one must not make a bound enterprise or a stored policy unreadable. What
 * we send is checked against the strict generated schemas instead.
 */
const SignupUrlAnswer = z.looseObject({ name: z.string().regex(/^signupUrls\/[^/]+$/), url: z.string().url() });
const EnterpriseAnswer = z.looseObject({ name: z.string().regex(/^enterprises\/[^/]+$/) });
const PolicyAnswer = z.looseObject({ name: z.string().regex(/^enterprises\/[^/]+\/policies\/[^/]+$/), version: z.string().regex(/^\d+$/) });
const EnrollmentTokenAnswer = z.looseObject({
  name: z.string().regex(/^enterprises\/[^/]+\/enrollmentTokens\/[^/]+$/),
  value: z.string().min(1),
  qrCode: z.string().min(1),
  expirationTimestamp: z.iso.datetime({ offset: true }),
});
export type EnrollmentTokenAnswer = z.infer<typeof EnrollmentTokenAnswer>;
export type SignupUrlAnswer = z.infer<typeof SignupUrlAnswer>;
export type EnterpriseAnswer = z.infer<typeof EnterpriseAnswer>;
export type PolicyAnswer = z.infer<typeof PolicyAnswer>;

const ENTERPRISE_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}$/;
const POLICY_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/policies\/[A-Za-z0-9._-]{1,100}$/;
const ENROLLMENT_TOKEN_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/enrollmentTokens\/[A-Za-z0-9._-]{1,200}$/;

export interface AmapiClientOptions {
  /** MDM_AMAPI_URL, ending in /: Google's, an EMM provider's proxy, or a test server. */
  baseUrl: string;
  log: Logger;
  /** The service account to call as, read at every call (a new key is used at once); throws when there is none. */
  key: () => ServiceAccountKey;
  retry?: RetryPolicy;
  fetch?: typeof fetch;
  /** Told every call's end: `ok` or Google's status (metrics). */
  observe?: (operation: string, result: string) => void;
}

interface Call {
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  idempotent: boolean;
}

function checked<S extends z.ZodType>(schema: S, value: unknown, root: string, code: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError(code, describeIssue(r.error, root));
  return r.data;
}

function name(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new AppError('invalid_request', `not ${what}: ${JSON.stringify(value)}`);
  return value;
}

/**
 * The Android Management API v1, the calls the appliance makes, over fetch: bearer tokens from
 * the service account (renewed once when Google answers 401), bounded retries with backoff for
 * 429 and 5xx, and Google's refusals as AppErrors carrying its status and message.
 */
export function createAmapiClient(opts: AmapiClientOptions) {
  const retry = opts.retry ?? DEFAULT_RETRY;
  const delays = createDelays();
  const doFetch = opts.fetch ?? fetch;
  const tokens = createTokenSource({ log: opts.log, retry, wait: (ms) => delays.wait(ms), fetch: doFetch });

  async function call(c: Call): Promise<unknown> {
    if (!opts.observe) return send(c);
    try {
      const answer = await send(c);
      opts.observe(c.operation, 'ok');
      return answer;
    } catch (e) {
      opts.observe(c.operation, e instanceof AppError ? e.code : 'error');
      throw e;
    }
  }

  async function send(c: Call): Promise<unknown> {
    const key = opts.key();
    const url = new URL(c.path, opts.baseUrl);
    for (const [k, v] of Object.entries(c.query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    let renewed = false;
    for (;;) {
      const token = await tokens.get(key);
      const res = await sendWithRetries(
        {
          operation: c.operation,
          idempotent: c.idempotent,
          send: () =>
            doFetch(url, {
              method: c.method,
              headers: {
                authorization: `Bearer ${token}`,
                accept: 'application/json',
                ...(c.body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              body: c.body === undefined ? undefined : JSON.stringify(c.body),
              signal: AbortSignal.timeout(60_000),
            }),
        },
        retry,
        opts.log,
        (ms) => delays.wait(ms),
      );
      const text = await res.text();
      if (res.status === 401 && !renewed) {
        // Revoked or expired early (a key rotated, a clock jump): one fresh token, then Google's word stands.
        renewed = true;
        tokens.invalidate(token);
        opts.log.info({ operation: c.operation }, 'Google refused the access token: getting a new one');
        continue;
      }
      if (!res.ok) {
        const status = googleStatus(res.status, text);
        opts.log.warn({ operation: c.operation, code: status.code, status: status.status, message: status.message }, 'Google refused a request');
        throw googleError(c.operation, status);
      }
      try {
        return text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        throw new AppError('google_bad_answer', `Google's answer to ${c.operation} is not JSON`, 503);
      }
    }
  }

  const answer = <S extends z.ZodType>(schema: S, value: unknown, operation: string): z.output<S> => {
    const r = schema.safeParse(value);
    if (!r.success) throw new AppError('google_bad_answer', `Google's answer to ${operation} is not what the API promises: ${describeIssue(r.error, 'answer')}`, 503);
    return r.data;
  };

  return {
    /** signupUrls.create: the page where an admin makes or picks the managed Google Play enterprise. */
    async createSignupUrl(p: { projectId: string; callbackUrl: string; adminEmail?: string }): Promise<SignupUrlAnswer> {
      const operation = 'signupUrls.create';
      const value = await call({ operation, method: 'POST', path: 'v1/signupUrls', query: { projectId: p.projectId, callbackUrl: p.callbackUrl, adminEmail: p.adminEmail }, idempotent: true });
      return answer(SignupUrlAnswer, value, operation);
    },

    /** enterprises.create with the token Google's signup callback carried; the token works once, so a 5xx is not retried. */
    async createEnterprise(p: { projectId: string; signupUrlName: string; enterpriseToken: string; enterprise: Enterprise }): Promise<EnterpriseAnswer> {
      const operation = 'enterprises.create';
      const body = checked(Enterprise, p.enterprise, 'enterprise', 'android_enterprise_invalid');
      const query = { projectId: p.projectId, signupUrlName: p.signupUrlName, enterpriseToken: p.enterpriseToken };
      const value = await call({ operation, method: 'POST', path: 'v1/enterprises', query, body, idempotent: false });
      return answer(EnterpriseAnswer, value, operation);
    },

    /** enterprises.delete: Google deletes the enterprise and unenrolls its devices. */
    async deleteEnterprise(enterpriseName: string): Promise<void> {
      await call({ operation: 'enterprises.delete', method: 'DELETE', path: `v1/${name(enterpriseName, ENTERPRISE_NAME, 'an enterprise name')}`, idempotent: true });
    },

    /**
     * enterprises.policies.patch without an update mask: the policy is replaced by `policy`,
     * created when new. Refused here, naming the field, when it does not fit Google's schema.
     */
    async patchPolicy(policyName: string, policy: Policy): Promise<PolicyAnswer> {
      const operation = 'enterprises.policies.patch';
      const body = checked(Policy, policy, 'policy', 'android_policy_invalid');
      const value = await call({ operation, method: 'PATCH', path: `v1/${name(policyName, POLICY_NAME, 'a policy name')}`, body, idempotent: true });
      return answer(PolicyAnswer, value, operation);
    },

    async deletePolicy(policyName: string): Promise<void> {
      await call({ operation: 'enterprises.policies.delete', method: 'DELETE', path: `v1/${name(policyName, POLICY_NAME, 'a policy name')}`, idempotent: true });
    },

    /**
     * enterprises.enrollmentTokens.create. Not retried after a 5xx: Google may have made the token,
     * and a second one would be live at Google with no record here.
     */
    async createEnrollmentToken(enterpriseName: string, token: EnrollmentToken): Promise<EnrollmentTokenAnswer> {
      const operation = 'enterprises.enrollmentTokens.create';
      const body = checked(EnrollmentToken, token, 'enrollmentToken', 'android_enrollment_token_invalid');
      const value = await call({ operation, method: 'POST', path: `v1/${name(enterpriseName, ENTERPRISE_NAME, 'an enterprise name')}/enrollmentTokens`, body, idempotent: false });
      return answer(EnrollmentTokenAnswer, value, operation);
    },

    /** enterprises.enrollmentTokens.delete: no device can enroll with the token from then on. */
    async deleteEnrollmentToken(tokenName: string): Promise<void> {
      await call({ operation: 'enterprises.enrollmentTokens.delete', method: 'DELETE', path: `v1/${name(tokenName, ENROLLMENT_TOKEN_NAME, 'an enrollment token name')}`, idempotent: true });
    },

    /** Cuts short any backoff in progress: a closing appliance does not wait out Google's quota. */
    close(): void {
      delays.cancelAll();
    },
  };
}

export type AmapiClient = ReturnType<typeof createAmapiClient>;

import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { createDelays } from '../../push/apns/backoff.ts';
import { googleError, googleStatus } from './google-error.ts';
import { describeIssue } from './issues.ts';
import { DEFAULT_RETRY, sendWithRetries, type RetryPolicy } from './retry.ts';
import { Command, Device, EnrollmentToken, Enterprise, Policy } from './schemas.generated.ts';
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
const OperationAnswer = z.looseObject({
  name: z.string().regex(/^enterprises\/[^/]+\/devices\/[^/]+\/operations\/[^/]+$/),
  done: z.boolean().optional(),
  error: z.looseObject({ code: z.number().int().optional(), message: z.string().optional() }).optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});
const DeviceAnswer = z.looseObject({ name: z.string().regex(/^enterprises\/[^/]+\/devices\/[^/]+$/), policyName: z.string().optional() });
const DevicePage = z.looseObject({ devices: z.array(z.unknown()).optional(), nextPageToken: z.string().optional() });
const PulledMessages = z.looseObject({
  receivedMessages: z
    .array(
      z.looseObject({
        ackId: z.string().min(1),
        message: z.looseObject({ data: z.string().optional(), attributes: z.record(z.string(), z.string()).optional(), messageId: z.string().optional(), publishTime: z.string().optional() }),
      }),
    )
    .optional(),
});
export type OperationAnswer = z.infer<typeof OperationAnswer>;
export type PulledMessage = NonNullable<z.infer<typeof PulledMessages>['receivedMessages']>[number];
export type WipeDataFlag = 'PRESERVE_RESET_PROTECTION_DATA' | 'WIPE_EXTERNAL_STORAGE' | 'WIPE_ESIMS';
export type EnrollmentTokenAnswer = z.infer<typeof EnrollmentTokenAnswer>;
export type SignupUrlAnswer = z.infer<typeof SignupUrlAnswer>;
export type EnterpriseAnswer = z.infer<typeof EnterpriseAnswer>;
export type PolicyAnswer = z.infer<typeof PolicyAnswer>;

const ENTERPRISE_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}$/;
const POLICY_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/policies\/[A-Za-z0-9._-]{1,100}$/;
const DEVICE_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/devices\/[A-Za-z0-9._-]{1,200}$/;
const OPERATION_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/devices\/[A-Za-z0-9._-]{1,200}\/operations\/[A-Za-z0-9._-]{1,200}$/;
const SUBSCRIPTION_NAME = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/subscriptions\/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/;
const ENROLLMENT_TOKEN_NAME = /^enterprises\/[A-Za-z0-9_-]{1,100}\/enrollmentTokens\/[A-Za-z0-9._-]{1,200}$/;

export interface AmapiClientOptions {
  /** MDM_AMAPI_URL, ending in /: Google's, an EMM provider's proxy, or a test server. */
  baseUrl: string;
  /** MDM_PUBSUB_URL, ending in /: where the device notifications are pulled from. */
  pubsubUrl?: string;
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
  query?: Record<string, string | string[] | undefined>;
  body?: unknown;
  idempotent: boolean;
  /** Another Google API than AMAPI (Pub/Sub), with the same token. */
  baseUrl?: string;
  /** Ends a long pull when the appliance stops. */
  signal?: AbortSignal;
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
    const url = new URL(c.path, c.baseUrl ?? opts.baseUrl);
    for (const [k, v] of Object.entries(c.query ?? {})) {
      if (typeof v === 'string') url.searchParams.set(k, v);
      else for (const each of v ?? []) url.searchParams.append(k, each);
    }
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
              signal: c.signal ? AbortSignal.any([c.signal, AbortSignal.timeout(120_000)]) : AbortSignal.timeout(60_000),
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

    /** enterprises.devices.list, one page. Devices are returned unparsed: the caller reads each and skips what it cannot. */
    async listDevices(enterpriseName: string, p: { pageSize: number; pageToken?: string }): Promise<{ devices: unknown[]; nextPageToken: string | undefined }> {
      const operation = 'enterprises.devices.list';
      const query = { pageSize: String(p.pageSize), pageToken: p.pageToken };
      const value = await call({ operation, method: 'GET', path: `v1/${name(enterpriseName, ENTERPRISE_NAME, 'an enterprise name')}/devices`, query, idempotent: true });
      const page = answer(DevicePage, value, operation);
      return { devices: page.devices ?? [], nextPageToken: page.nextPageToken || undefined };
    },

    async getDevice(deviceName: string): Promise<unknown> {
      return call({ operation: 'enterprises.devices.get', method: 'GET', path: `v1/${name(deviceName, DEVICE_NAME, 'a device name')}`, idempotent: true });
    },

    /**
     * enterprises.devices.patch of the policy alone (updateMask=policyName): without the mask every
     * modifiable field would be replaced, and a device's state is not ours to reset here.
     */
    async patchDevicePolicy(deviceName: string, policyName: string): Promise<z.infer<typeof DeviceAnswer>> {
      const operation = 'enterprises.devices.patch';
      const body = checked(Device, { policyName: name(policyName, POLICY_NAME, 'a policy name') }, 'device', 'android_device_invalid');
      const path = `v1/${name(deviceName, DEVICE_NAME, 'a device name')}`;
      const value = await call({ operation, method: 'PATCH', path, query: { updateMask: 'policyName' }, body, idempotent: true });
      return answer(DeviceAnswer, value, operation);
    },

    /**
     * enterprises.devices.delete: Google wipes the device (factory reset for a company-owned one,
     * the work profile only on a personal one) and forgets it.
     */
    async deleteDevice(deviceName: string, p: { wipeDataFlags?: WipeDataFlag[]; wipeReasonMessage?: string }): Promise<void> {
      const query = { wipeDataFlags: p.wipeDataFlags, wipeReasonMessage: p.wipeReasonMessage };
      await call({ operation: 'enterprises.devices.delete', method: 'DELETE', path: `v1/${name(deviceName, DEVICE_NAME, 'a device name')}`, query, idempotent: true });
    },

    /** enterprises.devices.issueCommand: the long-running Operation that tracks it. Not retried after a 5xx: the device could get it twice. */
    async issueCommand(deviceName: string, command: Command): Promise<OperationAnswer> {
      const operation = 'enterprises.devices.issueCommand';
      const body = checked(Command, command, 'command', 'android_command_invalid');
      const value = await call({ operation, method: 'POST', path: `v1/${name(deviceName, DEVICE_NAME, 'a device name')}:issueCommand`, body, idempotent: false });
      return answer(OperationAnswer, value, operation);
    },

    async getOperation(operationName: string): Promise<OperationAnswer> {
      const operation = 'enterprises.devices.operations.get';
      const value = await call({ operation, method: 'GET', path: `v1/${name(operationName, OPERATION_NAME, 'an operation name')}`, idempotent: true });
      return answer(OperationAnswer, value, operation);
    },

    /** Pub/Sub subscriptions.pull: up to `maxMessages` notifications; none may be an empty answer. */
    async pull(subscription: string, maxMessages: number, signal?: AbortSignal): Promise<PulledMessage[]> {
      const operation = 'pubsub.subscriptions.pull';
      const path = `v1/${name(subscription, SUBSCRIPTION_NAME, 'a subscription name (projects/P/subscriptions/S)')}:pull`;
      const value = await call({ operation, method: 'POST', path, body: { maxMessages }, idempotent: true, baseUrl: opts.pubsubUrl, signal });
      return answer(PulledMessages, value, operation).receivedMessages ?? [];
    },

    /** Pub/Sub subscriptions.acknowledge: these are not delivered again. */
    async acknowledge(subscription: string, ackIds: string[]): Promise<void> {
      if (ackIds.length === 0) return;
      const path = `v1/${name(subscription, SUBSCRIPTION_NAME, 'a subscription name')}:acknowledge`;
      await call({ operation: 'pubsub.subscriptions.acknowledge', method: 'POST', path, body: { ackIds }, idempotent: true, baseUrl: opts.pubsubUrl });
    },

    /** Cuts short any backoff in progress: a closing appliance does not wait out Google's quota. */
    close(): void {
      delays.cancelAll();
    },
  };
}

export type AmapiClient = ReturnType<typeof createAmapiClient>;

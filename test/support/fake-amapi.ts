import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { z } from 'zod';
import { describeIssue } from '../../src/android/amapi/issues.ts';
import * as generated from '../../src/android/amapi/schemas.generated.ts';
import { AMAPI_SCOPE, PUBSUB_SCOPE } from '../../src/android/amapi/token.ts';
import { createSubscription, type FakeSubscription } from './fake-pubsub.ts';

/**
 * A stand-in for Google's Android Management API and its OAuth token endpoint on 127.0.0.1, as
 * strict as the contract: routes, query parameters and body schemas come from the discovery
 * document in src/android/discovery/ (bodies through the same generated zod schemas the client
 * uses), errors are google.rpc.Status JSON, every call needs a bearer token issued by the token
 * endpoint for a JWT it verified. State: signup URLs → enterprises → policies.
 */

const DISCOVERY = path.resolve(import.meta.dirname, '../../src/android/discovery/androidmanagement-v1.discovery.json');
/** The methods served; anything else answers 404 like an unknown Google URL. */
const SERVED = [
  'signupUrls.create',
  'enterprises.create',
  'enterprises.delete',
  'enterprises.policies.patch',
  'enterprises.policies.get',
  'enterprises.policies.delete',
  'enterprises.enrollmentTokens.create',
  'enterprises.enrollmentTokens.delete',
  'enterprises.devices.list',
  'enterprises.devices.get',
  'enterprises.devices.patch',
  'enterprises.devices.delete',
  'enterprises.devices.issueCommand',
  'enterprises.devices.operations.get',
] as const;
type Operation = (typeof SERVED)[number];
/** System parameters every Google API takes. */
const STANDARD_PARAMS = new Set(['$.xgafv', 'access_token', 'alt', 'callback', 'fields', 'key', 'oauth_token', 'prettyPrint', 'quotaUser', 'upload_protocol', 'uploadType']);
const TOKEN_LIFETIME_S = 3600;

interface DiscoveryMethod {
  id: string;
  httpMethod: string;
  flatPath: string;
  parameters?: Record<string, QueryParam & { location: 'path' | 'query'; required?: boolean }>;
  request?: { $ref: string };
  response?: { $ref: string };
}

interface QueryParam {
  type: string;
  enum?: string[];
  repeated?: boolean;
}

interface Route {
  operation: Operation;
  method: string;
  pattern: RegExp;
  pathParams: string[];
  query: Map<string, QueryParam>;
  request: string | undefined;
  response: string | undefined;
}

function methodsOf(node: { methods?: Record<string, DiscoveryMethod>; resources?: Record<string, unknown> }, out: DiscoveryMethod[] = []): DiscoveryMethod[] {
  for (const m of Object.values(node.methods ?? {})) out.push(m);
  for (const r of Object.values(node.resources ?? {})) methodsOf(r as typeof node, out);
  return out;
}

function routes(): Route[] {
  const doc = JSON.parse(fs.readFileSync(DISCOVERY, 'utf8')) as { resources: Record<string, unknown> };
  const all = methodsOf({ resources: doc.resources });
  return SERVED.map((operation) => {
    const m = all.find((x) => x.id === `androidmanagement.${operation}`);
    if (!m) throw new Error(`the discovery document has no method ${operation}`);
    const pathParams: string[] = [];
    // flatPath: v1/enterprises/{enterprisesId}/policies/{policiesId}
    const pattern = new RegExp(
      '^/' + m.flatPath.replace(/\{(\w+)\}/g, (_, p: string) => (pathParams.push(p), '([^/:]+)')).replace(/\./g, '\\.') + '$',
    );
    const query = new Map<string, QueryParam>();
    for (const [name, p] of Object.entries(m.parameters ?? {})) if (p.location === 'query') query.set(name, p);
    return { operation, method: m.httpMethod, pattern, pathParams, query, request: m.request?.$ref, response: m.response?.$ref };
  });
}

export interface RecordedCall {
  operation: Operation;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  /** What the fake answered. */
  status: number;
  answer: unknown;
  /** The discovery document's response schema for the method. */
  responseSchema: string | undefined;
}

export interface FakePolicy {
  policy: Record<string, unknown>;
  version: number;
}

export interface FakeEnterprise {
  name: string;
  projectId: string;
  body: Record<string, unknown>;
  policies: Map<string, FakePolicy>;
  /** Live tokens by ID, as Google answered their creation. */
  enrollmentTokens: Map<string, Record<string, unknown>>;
  /** Enrolled devices by ID, in enrollment order (devices.list's order). */
  devices: Map<string, FakeDevice>;
}

export interface FakeDevice {
  /** The Device JSON Google serves. */
  device: generated.Device & { name: string };
  /** Operations by ID; pending ones complete at the device's next check-in. */
  operations: Map<string, { operation: Record<string, unknown>; command: generated.Command }>;
}

export interface FakeWipe {
  name: string;
  /** What devices.delete did to it: company-owned devices are factory reset, personal ones lose the work profile only. */
  effect: 'factory_reset' | 'work_profile_removed';
  wipeDataFlags: string[];
  wipeReasonMessage: string | undefined;
}

export interface EnrollOptions {
  /** A token allowing personal usage on a company-owned device (QR provisioning): a work profile on a company-owned device. */
  companyOwned?: boolean;
  serialNumber?: string;
  model?: string;
  manufacturer?: string;
  androidVersion?: string;
  securityPatchLevel?: string;
  apiLevel?: number;
}

/** The Android Device Policy app's provisioning extras, as Google puts them in every token's qrCode. */
const DPC_COMPONENT = 'com.google.android.apps.work.clouddpc/.receivers.CloudDeviceAdminReceiver';
const DPC_SIGNATURE_CHECKSUM = 'I5YvS0O5hXY46mb01BlRjq4oJJGs2kuUcHvVkAPEXlg';
const DPC_DOWNLOAD = 'https://play.google.com/managed/downloadManagingApp?identifier=setup';
/** google-duration: seconds with up to nine fractional digits and an `s`. */
const DURATION = /^(\d+)(\.\d{1,9})?s$/;
const MAX_DURATION_S = 315_576_000_000;

export interface FakeSignup {
  name: string;
  projectId: string;
  callbackUrl: string;
  /** Issued when the admin finishes Google's page (GET of the signup URL). */
  enterpriseToken: string | null;
  used: boolean;
}

export interface FakeAmapi {
  url: string;
  tokenUri: string;
  /** A service-account key file Google would issue, registered with the fake; `overrides` change its JSON. */
  serviceAccountKey(overrides?: Record<string, unknown>): { json: string; clientEmail: string; projectId: string; privateKeyPem: string };
  /** Every API call that passed the bearer check, with the answer given. */
  calls: RecordedCall[];
  /** Requests the token endpoint answered with a token. */
  tokensIssued: number;
  /** Requests to the API refused for their token. */
  unauthenticated: number;
  signups: Map<string, FakeSignup>;
  enterprises: Map<string, FakeEnterprise>;
  /** The Pub/Sub subscription the enterprise's notifications go to (one for the fake). */
  pubsub: FakeSubscription;
  /** Pulls wait up to this long for a notification before answering empty. */
  pullWaitMs: number;
  /** Every devices.delete, with what it did. */
  wipes: FakeWipe[];
  /** Every devices.patch of a policyName that Google accepted, in order. */
  devicePatches: Array<{ name: string; policyName: string }>;
  /**
   * A device enrolls with an enrollment token's value: fully managed when the token disallows
   * personal usage, else a work profile (personally owned, or company-owned when asked). Google
   * publishes ENROLLMENT with the Device. Returns the device's name.
   */
  enroll(tokenValue: string, o?: EnrollOptions): string;
  /** The device checks in: its pending operations complete (COMMAND each), `changes` apply, and a STATUS_REPORT follows. */
  checkIn(deviceName: string, changes?: Partial<generated.Device>): generated.Device;
  /** Adds `n` enrolled devices to the enterprise at once, without notifications (benchmarks). */
  addDevices(enterpriseName: string, n: number): void;
  device(name: string): FakeDevice | undefined;
  /** The next `times` API calls (after the bearer check) answer `status` with Google's error for it. */
  fail(status: 429 | 500 | 503, times: number): void;
  clearFaults(): void;
  /** Every access token issued so far stops working now, as when Google revokes or expires them early. */
  expireTokens(): void;
  close(): Promise<void>;
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };
const FAULT_MESSAGES: Record<number, string> = {
  429: "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'androidmanagement.googleapis.com' for consumer 'project_number:123456789012'.",
  500: 'Internal error encountered.',
  503: 'The service is currently unavailable.',
};

class GoogleError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const b64urlJson = (part: string): Record<string, unknown> | null => {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
};

const schemaOf = (name: string): z.ZodType => {
  const s = (generated as Record<string, unknown>)[name];
  if (!s || typeof (s as z.ZodType).safeParse !== 'function') throw new Error(`no generated schema ${name}`);
  return s as z.ZodType;
};

export async function startFakeAmapi(): Promise<FakeAmapi> {
  const table = routes();
  const accounts = new Map<string, crypto.KeyObject>();
  const tokens = new Map<string, { expiresAt: number; revoked: boolean; scopes: string[] }>();
  const subscription = createSubscription('projects/mdm-test-project/subscriptions/mdm-devices');
  // Report times strictly increase, so which of two reports is newer is never a tie.
  let lastTime = 0;
  const clock = () => new Date((lastTime = Math.max(Date.now(), lastTime + 1))).toISOString();
  const faults: Array<429 | 500 | 503> = [];
  let url = '';

  const fake: Omit<FakeAmapi, 'url' | 'tokenUri' | 'close'> = {
    calls: [],
    tokensIssued: 0,
    unauthenticated: 0,
    signups: new Map(),
    enterprises: new Map(),
    pubsub: subscription,
    pullWaitMs: 300,
    wipes: [],
    devicePatches: [],
    enroll(tokenValue, o = {}) {
      for (const e of fake.enterprises.values()) {
        for (const t of e.enrollmentTokens.values()) {
          if (t.value !== tokenValue) continue;
          if (Date.parse(String(t.expirationTimestamp)) < Date.now()) throw new Error('the enrollment token has expired');
          const fullyManaged = t.allowPersonalUsage === 'PERSONAL_USAGE_DISALLOWED' || t.allowPersonalUsage === 'PERSONAL_USAGE_DISALLOWED_USERLESS';
          const companyOwned = fullyManaged || o.companyOwned === true;
          const id = `3${crypto.randomBytes(7).toString('hex')}`;
          const now = clock();
          const policy = String(t.policyName ?? 'default');
          const policyName = policy.includes('/') ? policy : `${e.name}/policies/${policy}`;
          const stored = e.policies.get(policyName.split('/').pop()!);
          const device: FakeDevice['device'] = {
            name: `${e.name}/devices/${id}`,
            managementMode: fullyManaged ? 'DEVICE_OWNER' : 'PROFILE_OWNER',
            ownership: companyOwned ? 'COMPANY_OWNED' : 'PERSONALLY_OWNED',
            state: 'ACTIVE',
            appliedState: 'ACTIVE',
            policyCompliant: true,
            enrollmentTime: now,
            lastStatusReportTime: now,
            lastPolicySyncTime: now,
            policyName,
            appliedPolicyName: policyName,
            appliedPolicyVersion: String(stored?.version ?? 1),
            apiLevel: o.apiLevel ?? 35,
            enrollmentTokenName: String(t.name),
            ...(typeof t.additionalData === 'string' ? { enrollmentTokenData: t.additionalData } : {}),
            hardwareInfo: {
              brand: (o.manufacturer ?? 'Google').toLowerCase(),
              hardware: 'husky',
              manufacturer: o.manufacturer ?? 'Google',
              serialNumber: o.serialNumber ?? `R${crypto.randomBytes(5).toString('hex').toUpperCase()}`,
              model: o.model ?? 'Pixel 8 Pro',
              // Google gives a personally-owned device an id for this enterprise in place of its serial.
              ...(companyOwned ? {} : { enterpriseSpecificId: `ESID${crypto.randomBytes(6).toString('hex').toUpperCase()}` }),
            },
            softwareInfo: {
              androidVersion: o.androidVersion ?? '15',
              securityPatchLevel: o.securityPatchLevel ?? '2026-05-05',
              androidBuildNumber: 'AP4A.250505.002',
              androidDevicePolicyVersionName: '2.190.0',
            },
          };
          e.devices.set(id, { device, operations: new Map() });
          if (t.oneTimeOnly === true) e.enrollmentTokens.delete(String(t.name).split('/').pop()!);
          subscription.publish('ENROLLMENT', device);
          return device.name;
        }
      }
      throw new Error(`no live enrollment token ${tokenValue}`);
    },
    checkIn(deviceName, changes = {}) {
      const d = fake.device(deviceName);
      if (!d) throw new Error(`no device ${deviceName}`);
      for (const [, o] of d.operations) {
        if (o.operation.done === true) continue;
        o.operation.done = true;
        const status = { status: 'SUCCESS' };
        const type = o.command.type;
        const metadata = o.operation.metadata as Record<string, unknown>;
        if (type === 'CLEAR_APP_DATA') metadata.clearAppsDataStatus = { results: Object.fromEntries((o.command.clearAppsDataParams?.packageNames ?? []).map((p) => [p, { clearingResult: 'SUCCESS' }])) };
        if (type === 'START_LOST_MODE') metadata.startLostModeStatus = status;
        if (type === 'STOP_LOST_MODE') metadata.stopLostModeStatus = status;
        if (type === 'START_LOST_MODE') d.device.state = 'LOST';
        if (type === 'STOP_LOST_MODE') d.device.state = 'ACTIVE';
        subscription.publish('COMMAND', o.operation);
        if (type === 'RELINQUISH_OWNERSHIP') {
          // Google deletes the device once it acknowledges.
          fake.enterprises.get(deviceName.slice(0, deviceName.indexOf('/devices/')))!.devices.delete(deviceName.split('/').pop()!);
          return d.device;
        }
      }
      // The device syncs its policy at check-in: what it applies is the policy named, at its current version.
      const policyId = d.device.policyName?.split('/').pop();
      const enterprise = fake.enterprises.get(deviceName.slice(0, deviceName.indexOf('/devices/')));
      const current = policyId ? enterprise?.policies.get(policyId) : undefined;
      if (current) {
        d.device.appliedPolicyName = d.device.policyName;
        d.device.appliedPolicyVersion = String(current.version);
      }
      Object.assign(d.device, changes);
      const now = clock();
      d.device.lastStatusReportTime = now;
      d.device.lastPolicySyncTime = now;
      subscription.publish('STATUS_REPORT', d.device);
      return d.device;
    },
    addDevices(enterpriseName, n) {
      const e = fake.enterprises.get(enterpriseName);
      if (!e) throw new Error(`no enterprise ${enterpriseName}`);
      const policyName = `${e.name}/policies/default`;
      // Google has no device on a policy it does not have: the one they enrolled with exists.
      if (!e.policies.has('default')) e.policies.set('default', { policy: {}, version: 1 });
      for (let i = 0; i < n; i++) {
        const id = `3${crypto.randomBytes(7).toString('hex')}`;
        const now = clock();
        e.devices.set(id, {
          operations: new Map(),
          device: {
            name: `${e.name}/devices/${id}`,
            managementMode: i % 3 === 0 ? 'PROFILE_OWNER' : 'DEVICE_OWNER',
            ownership: i % 3 === 0 ? 'PERSONALLY_OWNED' : 'COMPANY_OWNED',
            state: 'ACTIVE',
            appliedState: 'ACTIVE',
            policyCompliant: i % 10 !== 0,
            ...(i % 10 === 0 ? { nonComplianceDetails: [{ settingName: 'passwordPolicies', nonComplianceReason: 'USER_ACTION' as const }] } : {}),
            enrollmentTime: now,
            lastStatusReportTime: now,
            lastPolicySyncTime: now,
            policyName,
            appliedPolicyName: policyName,
            appliedPolicyVersion: '1',
            apiLevel: 34,
            enrollmentTokenData: JSON.stringify({ enrollment_id: `bench-${i % 50}`, user_email: `user${i}@example.com`, ownership: i % 3 === 0 ? 'personal' : 'corporate' }),
            hardwareInfo: { brand: 'google', hardware: 'shiba', manufacturer: 'Google', serialNumber: `SN${String(i).padStart(8, '0')}`, model: 'Pixel 8' },
            softwareInfo: { androidVersion: '14', securityPatchLevel: '2026-04-05', androidBuildNumber: 'AP2A.240905.003' },
          },
        });
      }
    },
    device(name) {
      const m = /^(enterprises\/[^/]+)\/devices\/([^/]+)$/.exec(name);
      return m ? fake.enterprises.get(m[1]!)?.devices.get(m[2]!) : undefined;
    },
    serviceAccountKey(overrides = {}) {
      const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
      const projectId = 'mdm-test-project';
      const clientEmail = `mdm-${crypto.randomBytes(4).toString('hex')}@${projectId}.iam.gserviceaccount.com`;
      accounts.set(clientEmail, publicKey);
      const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
      const key = {
        type: 'service_account',
        project_id: projectId,
        private_key_id: crypto.randomBytes(20).toString('hex'),
        private_key: privateKeyPem,
        client_email: clientEmail,
        client_id: '1' + crypto.randomInt(1e9, 1e10 - 1).toString(),
        auth_uri: 'https://accounts.google.com/o/oauth2/auth',
        token_uri: `${url}/token`,
        auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
        client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
        universe_domain: 'googleapis.com',
        ...overrides,
      };
      return { json: JSON.stringify(key, null, 2), clientEmail, projectId, privateKeyPem };
    },
    fail(status, times) {
      for (let i = 0; i < times; i++) faults.push(status);
    },
    clearFaults() {
      faults.length = 0;
    },
    expireTokens() {
      for (const t of tokens.values()) t.revoked = true;
    },
  };

  /** RFC 7523 as Google checks it: RS256 by the account's key, iss, aud = token URI, the scope, at most an hour. */
  function issueToken(form: URLSearchParams): { status: number; body: unknown } {
    const refuse = (error: string, description: string) => ({ status: 400, body: { error, error_description: description } });
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return refuse('unsupported_grant_type', 'Invalid grant_type: ' + (form.get('grant_type') ?? ''));
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return refuse('invalid_request', 'Invalid JWT: Token must be a short-lived token and in a reasonable timeframe');
    const header = b64urlJson(parts[0]!);
    const claims = b64urlJson(parts[1]!);
    if (!header || !claims) return refuse('invalid_grant', 'Invalid JWT: malformed header or claims');
    if (header.alg !== 'RS256') return refuse('invalid_grant', 'Invalid JWT: alg must be RS256');
    const key = typeof claims.iss === 'string' ? accounts.get(claims.iss) : undefined;
    if (!key) return refuse('invalid_grant', 'Invalid grant: account not found');
    if (!crypto.verify('sha256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) {
      return refuse('invalid_grant', 'Invalid JWT Signature.');
    }
    if (claims.aud !== `${url}/token`) return refuse('invalid_grant', 'Invalid JWT: audience is not the token URI');
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ') : [];
    if (!scopes.includes(AMAPI_SCOPE) && !scopes.includes(PUBSUB_SCOPE)) return refuse('invalid_scope', 'Invalid OAuth scope or ID token audience provided.');
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || exp <= iat || exp - iat > 3600 || iat > now + 300 || exp < now) {
      return refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const token = `ya29.fake-${crypto.randomBytes(24).toString('base64url')}`;
    tokens.set(token, { expiresAt: Date.now() + TOKEN_LIFETIME_S * 1000, revoked: false, scopes });
    fake.tokensIssued++;
    return { status: 200, body: { access_token: token, expires_in: TOKEN_LIFETIME_S, token_type: 'Bearer' } };
  }

  function bodyOf(route: Route, text: string): unknown {
    if (!route.request) {
      if (text.trim() !== '') throw new GoogleError(400, 'Invalid JSON payload received. This method takes no request body.');
      return undefined;
    }
    let raw: unknown;
    try {
      raw = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      throw new GoogleError(400, 'Invalid JSON payload received. Unexpected token.');
    }
    const root = route.request.charAt(0).toLowerCase() + route.request.slice(1);
    const r = schemaOf(route.request).safeParse(raw);
    if (!r.success) throw new GoogleError(400, `Invalid JSON payload received. ${describeIssue(r.error, root)}`);
    return r.data;
  }

  function queryOf(route: Route, params: URLSearchParams): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of params) {
      if (STANDARD_PARAMS.has(k)) continue;
      const p = route.query.get(k);
      if (!p) throw new GoogleError(400, `Invalid JSON payload received. Unknown name "${k}": Cannot bind query parameter. Field '${k}' could not be found in request message.`);
      if (p.type === 'boolean' && v !== 'true' && v !== 'false') throw new GoogleError(400, `Invalid value at '${k}' (TYPE_BOOL), "${v}"`);
      if (p.type === 'integer' && !/^-?\d{1,10}$/.test(v)) throw new GoogleError(400, `Invalid value at '${k}' (TYPE_INT32), "${v}"`);
      if (p.enum && !p.enum.includes(v)) throw new GoogleError(400, `Invalid value at '${k}' (TYPE_ENUM), "${v}"`);
      if (k in out && !p.repeated) throw new GoogleError(400, `Invalid value at '${k}': repeated`);
      // Repeated parameters are kept comma-joined.
      out[k] = k in out ? `${out[k]},${v}` : v;
    }
    return out;
  }

  function enterpriseOf(id: string): FakeEnterprise {
    const e = fake.enterprises.get(`enterprises/${id}`);
    if (!e) throw new GoogleError(404, `Requested entity was not found.`);
    return e;
  }

  const policyJson = (enterprise: FakeEnterprise, id: string, p: FakePolicy) => ({ ...p.policy, name: `${enterprise.name}/policies/${id}`, version: String(p.version) });

  function handle(route: Route, ids: string[], query: Record<string, string>, body: unknown): unknown {
    switch (route.operation) {
      case 'signupUrls.create': {
        if (!query.projectId) throw new GoogleError(400, 'projectId is required.');
        if (!query.callbackUrl || !URL.canParse(query.callbackUrl)) throw new GoogleError(400, 'callbackUrl must be a valid URL.');
        const id = `C${crypto.randomBytes(8).toString('hex')}`;
        const name = `signupUrls/${id}`;
        fake.signups.set(name, { name, projectId: query.projectId, callbackUrl: query.callbackUrl, enterpriseToken: null, used: false });
        return { name, url: `${url}/signup/android?token=${id}` };
      }
      case 'enterprises.create': {
        const signup = fake.signups.get(query.signupUrlName ?? '');
        if (!signup || !query.enterpriseToken || signup.enterpriseToken !== query.enterpriseToken) throw new GoogleError(400, 'Invalid signupUrlName or enterpriseToken.');
        if (signup.used) throw new GoogleError(400, 'The enterprise token has already been used.');
        if (signup.projectId !== query.projectId) throw new GoogleError(400, 'The projectId does not match the signup URL.');
        signup.used = true;
        const name = `enterprises/LC${crypto.randomBytes(5).toString('hex')}`;
        const e: FakeEnterprise = {
          name,
          projectId: signup.projectId,
          body: { ...(body as object), name, enterpriseDisplayName: 'Example School' },
          policies: new Map(),
          enrollmentTokens: new Map(),
          devices: new Map(),
        };
        fake.enterprises.set(name, e);
        return e.body;
      }
      case 'enterprises.delete':
        fake.enterprises.delete(enterpriseOf(ids[0]!).name);
        return {};
      case 'enterprises.policies.patch': {
        const e = enterpriseOf(ids[0]!);
        const incoming = body as Record<string, unknown>;
        const existing = e.policies.get(ids[1]!);
        let policy = incoming;
        if (query.updateMask) {
          policy = { ...(existing?.policy ?? {}) };
          for (const field of query.updateMask.split(',')) {
            if (field in incoming) policy[field] = incoming[field];
            else delete policy[field];
          }
        }
        const { name: _n, version: _v, ...rest } = policy;
        const next = { policy: rest, version: (existing?.version ?? 0) + 1 };
        e.policies.set(ids[1]!, next);
        return policyJson(e, ids[1]!, next);
      }
      case 'enterprises.policies.get': {
        const e = enterpriseOf(ids[0]!);
        const p = e.policies.get(ids[1]!);
        if (!p) throw new GoogleError(404, 'Requested entity was not found.');
        return policyJson(e, ids[1]!, p);
      }
      case 'enterprises.policies.delete': {
        const e = enterpriseOf(ids[0]!);
        if (!e.policies.delete(ids[1]!)) throw new GoogleError(404, 'Requested entity was not found.');
        return {};
      }
      case 'enterprises.enrollmentTokens.create': {
        const e = enterpriseOf(ids[0]!);
        const t = body as generated.EnrollmentToken;
        for (const out of ['name', 'value', 'qrCode', 'expirationTimestamp'] as const) {
          if (t[out] !== undefined) throw new GoogleError(400, `enrollmentToken.${out} is output only.`);
        }
        // The policy named, in full or by its ID alone, must exist; the discovery document does
        // not say which error a missing one gets, so this answers INVALID_ARGUMENT for the request.
        const policyName = t.policyName ?? `${e.name}/policies/default`;
        const policyId = policyName.includes('/') ? /^(enterprises\/[^/]+)\/policies\/([^/]+)$/.exec(policyName) : [policyName, e.name, policyName];
        if (!policyId || policyId[1] !== e.name || !e.policies.has(policyId[2]!)) throw new GoogleError(400, `Policy ${policyName} not found.`);
        let seconds = 3600;
        if (t.duration !== undefined) {
          const m = DURATION.exec(t.duration);
          if (!m) throw new GoogleError(400, `Invalid value at 'enrollment_token.duration' (type.googleapis.com/google.protobuf.Duration), "${t.duration}"`);
          seconds = Number(m[1]);
          if (seconds < 60 || seconds > MAX_DURATION_S) throw new GoogleError(400, 'Duration must be between 1 minute and Durations.MAX_VALUE.');
        }
        if (t.additionalData !== undefined && t.additionalData.length > 1024) throw new GoogleError(400, 'additionalData must be 1024 characters or less.');
        const id = crypto.randomBytes(12).toString('base64url');
        const value = Array.from(crypto.randomBytes(20), (b) => String.fromCharCode(65 + (b % 26))).join('');
        const qrCode = JSON.stringify({
          'android.app.extra.PROVISIONING_DEVICE_ADMIN_COMPONENT_NAME': DPC_COMPONENT,
          'android.app.extra.PROVISIONING_DEVICE_ADMIN_SIGNATURE_CHECKSUM': DPC_SIGNATURE_CHECKSUM,
          'android.app.extra.PROVISIONING_DEVICE_ADMIN_PACKAGE_DOWNLOAD_LOCATION': DPC_DOWNLOAD,
          'android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE': { 'com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN': value },
        });
        const answer = {
          ...t,
          name: `${e.name}/enrollmentTokens/${id}`,
          value,
          qrCode,
          duration: `${seconds}s`,
          expirationTimestamp: new Date(Date.now() + seconds * 1000).toISOString(),
          allowPersonalUsage: t.allowPersonalUsage ?? 'ALLOW_PERSONAL_USAGE_UNSPECIFIED',
        };
        e.enrollmentTokens.set(id, answer);
        return answer;
      }
      case 'enterprises.enrollmentTokens.delete': {
        const e = enterpriseOf(ids[0]!);
        if (!e.enrollmentTokens.delete(ids[1]!)) throw new GoogleError(404, 'Requested entity was not found.');
        return {};
      }
      default:
        return handleDevices(route.operation, ids, query, body);
    }
  }

  function deviceOf(ids: string[]): FakeDevice {
    const d = enterpriseOf(ids[0]!).devices.get(ids[1]!);
    if (!d) throw new GoogleError(404, 'Requested entity was not found.');
    return d;
  }

  /** What each command type needs of the device, as the discovery document describes it; Google refuses the others. */
  function commandRefusal(d: FakeDevice['device'], c: generated.Command): string | null {
    const fullyManaged = d.managementMode === 'DEVICE_OWNER';
    const companyOwned = d.ownership === 'COMPANY_OWNED';
    switch (c.type) {
      case 'REBOOT':
        return fullyManaged ? null : 'REBOOT is only supported on fully managed devices.';
      case 'RELINQUISH_OWNERSHIP':
        return companyOwned && !fullyManaged ? null : 'RELINQUISH_OWNERSHIP is only supported on company-owned devices with a work profile.';
      case 'START_LOST_MODE':
      case 'STOP_LOST_MODE':
        return companyOwned ? null : `${c.type} is only supported on fully managed devices or organization-owned devices with a managed profile.`;
      case undefined:
      case 'COMMAND_TYPE_UNSPECIFIED':
        return 'Command type must be specified.';
      default:
        return null;
    }
  }

  function handleDevices(operation: Operation, ids: string[], query: Record<string, string>, body: unknown): unknown {
    switch (operation) {
      case 'enterprises.devices.list': {
        const e = enterpriseOf(ids[0]!);
        const size = Math.min(100, Number(query.pageSize ?? 10) || 10);
        let from = 0;
        if (query.pageToken) {
          const m = /^o(\d+)$/.exec(Buffer.from(query.pageToken, 'base64url').toString('utf8'));
          if (!m) throw new GoogleError(400, 'Invalid page token.');
          from = Number(m[1]);
        }
        const all = [...e.devices.values()];
        const page = all.slice(from, from + size).map((d) => d.device);
        const next = from + size < all.length ? { nextPageToken: Buffer.from(`o${from + size}`).toString('base64url') } : {};
        return { devices: page, ...next };
      }
      case 'enterprises.devices.get':
        return deviceOf(ids).device;
      case 'enterprises.devices.patch': {
        const d = deviceOf(ids);
        const incoming = body as generated.Device;
        const fields = query.updateMask ? query.updateMask.split(',') : Object.keys(incoming);
        for (const f of fields) {
          if (f === 'state') {
            if (incoming.state !== 'ACTIVE' && incoming.state !== 'DISABLED') throw new GoogleError(400, 'Only ACTIVE and DISABLED may be set.');
            d.device.state = incoming.state;
          } else if (f === 'policyName') {
            // The discovery document: a full name, or the policy ID alone when it has no slash; the policy must exist.
            const e = enterpriseOf(ids[0]!);
            const given = incoming.policyName ?? '';
            const m = given.includes('/') ? /^(enterprises\/[^/]+)\/policies\/([^/]+)$/.exec(given) : [given, e.name, given];
            if (!m || m[1] !== e.name || !e.policies.has(m[2]!)) throw new GoogleError(400, `Policy ${given} not found.`);
            d.device.policyName = `${e.name}/policies/${m[2]}`;
            fake.devicePatches.push({ name: d.device.name, policyName: d.device.policyName });
          } else throw new GoogleError(400, `Field ${f} cannot be updated.`);
        }
        return d.device;
      }
      case 'enterprises.devices.delete': {
        const d = deviceOf(ids);
        const reason = query.wipeReasonMessage;
        if (reason !== undefined && reason.length > 200) throw new GoogleError(400, 'wipeReasonMessage must be at most 200 characters.');
        enterpriseOf(ids[0]!).devices.delete(ids[1]!);
        fake.wipes.push({
          name: d.device.name,
          effect: d.device.ownership === 'COMPANY_OWNED' ? 'factory_reset' : 'work_profile_removed',
          wipeDataFlags: query.wipeDataFlags ? query.wipeDataFlags.split(',') : [],
          wipeReasonMessage: reason,
        });
        return {};
      }
      case 'enterprises.devices.issueCommand': {
        const d = deviceOf(ids);
        const c = { ...(body as generated.Command) };
        for (const out of ['createTime', 'userName', 'errorCode', 'clearAppsDataStatus', 'startLostModeStatus', 'stopLostModeStatus', 'esimStatus', 'requestDeviceInfoStatus'] as const) {
          if (c[out] !== undefined) throw new GoogleError(400, `command.${out} is output only.`);
        }
        c.type ??= c.clearAppsDataParams ? 'CLEAR_APP_DATA' : c.startLostModeParams ? 'START_LOST_MODE' : c.stopLostModeParams ? 'STOP_LOST_MODE' : undefined;
        if (d.device.state !== 'ACTIVE' && !(d.device.state === 'LOST' && c.type === 'STOP_LOST_MODE')) throw new GoogleError(400, `The device is ${d.device.state}.`);
        const refusal = commandRefusal(d.device, c);
        if (refusal) throw new GoogleError(400, refusal);
        if (c.type === 'CLEAR_APP_DATA' && !c.clearAppsDataParams?.packageNames?.length) throw new GoogleError(400, 'clearAppsDataParams.packageNames is required.');
        const id = String(crypto.randomInt(1e12, 1e13));
        const { newPassword: _secret, ...shown } = c;
        const operation = {
          name: `${d.device.name}/operations/${id}`,
          metadata: { '@type': 'type.googleapis.com/google.android.devicemanagement.v1.Command', ...shown, createTime: clock(), duration: c.duration ?? '600s' },
          done: false,
        };
        d.operations.set(id, { operation, command: c });
        return operation;
      }
      case 'enterprises.devices.operations.get': {
        const o = deviceOf(ids).operations.get(ids[2]!);
        if (!o) throw new GoogleError(404, 'Requested entity was not found.');
        return o.operation;
      }
      default:
        throw new GoogleError(404, 'Requested entity was not found.');
    }
  }

  const send = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  };
  const rpcError = (code: number, message: string) => ({ error: { code, message, status: STATUS_NAMES[code] ?? 'UNKNOWN' } });

  /** Pub/Sub's REST pull and acknowledge, as strict as the rest: a token with the pubsub scope, known fields only. */
  async function servePubsub(req: http.IncomingMessage, res: http.ServerResponse, name: string, verb: 'pull' | 'acknowledge', text: string) {
    const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const t = m ? tokens.get(m[1]!) : undefined;
    if (!t || t.revoked || Date.now() >= t.expiresAt) return send(res, 401, rpcError(401, 'Request had invalid authentication credentials.'));
    if (!t.scopes.includes(PUBSUB_SCOPE)) return send(res, 403, rpcError(403, 'Request had insufficient authentication scopes.'));
    if (name !== subscription.name) return send(res, 404, rpcError(404, `Resource not found (resource=${name.split('/').pop()}).`));
    let b: Record<string, unknown>;
    try {
      b = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return send(res, 400, rpcError(400, 'Invalid JSON payload received.'));
    }
    const allowed = verb === 'pull' ? ['maxMessages', 'returnImmediately'] : ['ackIds'];
    const unknown = Object.keys(b).find((k) => !allowed.includes(k));
    if (unknown) return send(res, 400, rpcError(400, `Invalid JSON payload received. Unknown name "${unknown}": Cannot find field.`));
    if (verb === 'pull') {
      const max = b.maxMessages;
      if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) return send(res, 400, rpcError(400, 'maxMessages must be a positive integer.'));
      const got = await subscription.pull(max, b.returnImmediately === true ? 0 : fake.pullWaitMs);
      return send(res, 200, got.length ? { receivedMessages: got } : {});
    }
    const ackIds = b.ackIds;
    if (!Array.isArray(ackIds) || ackIds.length === 0 || !ackIds.every((a) => typeof a === 'string')) return send(res, 400, rpcError(400, 'ackIds must be a non-empty list.'));
    subscription.acknowledge(ackIds as string[]);
    return send(res, 200, {});
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', url);
      if (u.pathname === '/token') {
        if (req.method !== 'POST' || !/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) {
          return send(res, 400, { error: 'invalid_request', error_description: 'POST application/x-www-form-urlencoded' });
        }
        const r = issueToken(new URLSearchParams(text));
        return send(res, r.status, r.body);
      }
      // The page Google's signup URL opens: here the admin "finishes" at once and is sent back with a token.
      if (u.pathname === '/signup/android' && req.method === 'GET') {
        const signup = fake.signups.get(`signupUrls/${u.searchParams.get('token') ?? ''}`);
        if (!signup) return send(res, 404, { error: 'no such signup' });
        signup.enterpriseToken ??= `EAH${crypto.randomBytes(24).toString('base64url')}`;
        const back = new URL(signup.callbackUrl);
        back.searchParams.set('enterpriseToken', signup.enterpriseToken);
        res.writeHead(302, { location: back.toString() });
        return res.end();
      }
      const pubsubCall = /^\/v1\/(projects\/[^/]+\/subscriptions\/[^/:]+):(pull|acknowledge)$/.exec(u.pathname);
      if (pubsubCall && req.method === 'POST') return void servePubsub(req, res, pubsubCall[1]!, pubsubCall[2] as 'pull' | 'acknowledge', text);
      const route = table.find((r) => r.method === req.method && r.pattern.test(u.pathname));
      if (!route) return send(res, 404, rpcError(404, `The requested URL ${u.pathname} was not found on this server.`));
      const m = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
      const t = m ? tokens.get(m[1]!) : undefined;
      if (!t || t.revoked || Date.now() >= t.expiresAt) {
        fake.unauthenticated++;
        return send(
          res,
          401,
          rpcError(401, 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.'),
          { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
        );
      }
      const ids = route.pattern.exec(u.pathname)!.slice(1).map(decodeURIComponent);
      const record = (status: number, answer: unknown, query: Record<string, string>, body: unknown) =>
        fake.calls.push({ operation: route.operation, method: req.method!, path: u.pathname, query, body, status, answer, responseSchema: route.response });
      let query: Record<string, string> = {};
      let body: unknown;
      try {
        query = queryOf(route, u.searchParams);
        body = bodyOf(route, text);
        const fault = faults.shift();
        if (fault) throw new GoogleError(fault, FAULT_MESSAGES[fault]!);
        const answer = handle(route, ids, query, body);
        record(200, answer, query, body);
        return send(res, 200, answer);
      } catch (e) {
        if (!(e instanceof GoogleError)) throw e;
        const answer = rpcError(e.code, e.message);
        record(e.code, answer, query, body ?? text);
        return send(res, e.code, answer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url,
    tokenUri: `${url}/token`,
    close: () =>
      new Promise<void>((resolve) => {
        subscription.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

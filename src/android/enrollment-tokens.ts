import crypto from 'node:crypto';
import { AppError, isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AmapiClient } from './amapi/client.ts';
import type { EnrollmentToken } from './amapi/schemas.generated.ts';
import { qrPng, qrSvg } from './qr.ts';
import type { AndroidRepo, EnrollmentTokenRow, EnterpriseRow } from './repo.ts';

export type Ownership = 'corporate' | 'personal';
type PersonalUsage = NonNullable<EnrollmentToken['allowPersonalUsage']>;

export interface EnrollmentTokenRequest {
  policyId: string;
  ownership: Ownership;
  /** Corporate only: a company-owned device with a work profile instead of fully managed. */
  workProfile: boolean;
  userEmail: string | null;
  ttlMs: number;
  oneTimeOnly: boolean;
}

export type EnrollmentTokenStatus = 'active' | 'expired' | 'revoked';

export interface EnrollmentTokenView {
  id: string;
  name: string;
  value: string;
  policyId: string;
  ownership: Ownership;
  workProfile: boolean;
  allowPersonalUsage: string;
  oneTimeOnly: boolean;
  userEmail: string | null;
  byodLink: string;
  qrCode: string;
  expiresAt: number;
  createdAt: number;
  revokedAt: number | null;
  status: EnrollmentTokenStatus;
}

/** Google takes 1 minute up to ~10,000 years; beyond a year a token is a standing secret, so we stop there. */
export const MIN_TTL_MS = 60_000;
export const MAX_TTL_MS = 366 * 86_400_000;
/** Google refuses additionalData longer than this. */
const MAX_ADDITIONAL_DATA = 1024;

/**
 * Personal devices can only get a work profile (Google's doc: disallowing personal usage keeps a
 * personally-owned device from provisioning). Company devices provisioned by QR are fully managed when personal usage is disallowed, or
 * get a work profile beside the user's own space when it is allowed.
 */
export function personalUsage(ownership: Ownership, workProfile: boolean): PersonalUsage {
  return ownership === 'personal' || workProfile ? 'PERSONAL_USAGE_ALLOWED' : 'PERSONAL_USAGE_DISALLOWED';
}

/** The page a personally-owned device opens to set up its work profile with the token. */
export const byodLink = (value: string) => `https://enterprise.google.com/android/enroll?et=${encodeURIComponent(value)}`;

interface Deps {
  repo: AndroidRepo;
  client: AmapiClient;
  log: Logger;
  now: () => number;
  enterprise: () => EnterpriseRow;
  policyId: (id: string) => string;
}

/** Enrollment tokens: made at Google for a policy we hold, recorded here, shown as a link and a QR code, revoked at Google. */
export function createEnrollmentTokens(deps: Deps) {
  const { repo, client, log, now } = deps;

  const view = (r: EnrollmentTokenRow): EnrollmentTokenView => ({
    id: r.id,
    name: r.name,
    value: r.value,
    policyId: r.policyId,
    ownership: r.ownership,
    workProfile: r.workProfile,
    allowPersonalUsage: r.allowPersonalUsage,
    oneTimeOnly: r.oneTimeOnly,
    userEmail: r.userEmail,
    byodLink: byodLink(r.value),
    qrCode: r.qrCode,
    expiresAt: r.expiresAt,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
    status: r.revokedAt !== null ? 'revoked' : r.expiresAt <= now() ? 'expired' : 'active',
  });

  function row(id: string): EnrollmentTokenRow {
    const r = repo.enrollmentToken(deps.enterprise().name, id);
    if (!r) throw new AppError('android_enrollment_token_missing', `no Android enrollment token ${id}`, 404);
    return r;
  }

  /** A QR code of a token that can no longer enroll anything would only mislead whoever scans it. */
  function usable(id: string): EnrollmentTokenView {
    const v = view(row(id));
    if (v.status !== 'active') throw new AppError('android_enrollment_token_unusable', `the enrollment token ${id} is ${v.status}`, 410);
    return v;
  }

  return {
    async create(req: EnrollmentTokenRequest): Promise<EnrollmentTokenView> {
      const enterprise = deps.enterprise();
      const policyId = deps.policyId(req.policyId);
      if (!repo.policy(enterprise.name, policyId)) {
        throw new AppError('android_policy_missing', `no Android policy ${policyId}: create it first (mdm android policy put ${policyId} --file POLICY.json)`, 404);
      }
      if (req.ownership === 'personal' && req.workProfile) {
        throw new AppError('invalid_request', 'work_profile is for corporate devices: a personal device always gets a work profile');
      }
      if (!Number.isInteger(req.ttlMs) || req.ttlMs < MIN_TTL_MS || req.ttlMs > MAX_TTL_MS) {
        throw new AppError('invalid_request', 'the token lifetime must be between 1 minute and 366 days');
      }
      const id = crypto.randomUUID();
      const allowPersonalUsage = personalUsage(req.ownership, req.workProfile);
      // Comes back as the Device's enrollmentTokenData: what links an enrolled device to this record and its user.
      const additionalData = JSON.stringify({ enrollment_id: id, user_email: req.userEmail, ownership: req.ownership });
      if (additionalData.length > MAX_ADDITIONAL_DATA) throw new AppError('invalid_request', 'the user email is too long for the token');
      const answer = await client.createEnrollmentToken(enterprise.name, {
        policyName: `${enterprise.name}/policies/${policyId}`,
        duration: `${Math.floor(req.ttlMs / 1000)}s`,
        oneTimeOnly: req.oneTimeOnly,
        allowPersonalUsage,
        additionalData,
      });
      const r: EnrollmentTokenRow = {
        id,
        enterpriseName: enterprise.name,
        name: answer.name,
        value: answer.value,
        qrCode: answer.qrCode,
        policyId,
        ownership: req.ownership,
        workProfile: req.workProfile,
        allowPersonalUsage,
        oneTimeOnly: req.oneTimeOnly,
        userEmail: req.userEmail,
        expiresAt: Date.parse(answer.expirationTimestamp),
        createdAt: now(),
        revokedAt: null,
      };
      repo.insertEnrollmentToken(r);
      log.info({ id, token: r.name, policy: policyId, ownership: r.ownership, allowPersonalUsage, expiresAt: new Date(r.expiresAt).toISOString() }, 'made an Android enrollment token');
      return view(r);
    },

    list(): EnrollmentTokenView[] {
      const enterprise = repo.enterprise();
      return enterprise ? repo.enrollmentTokens(enterprise.name).map(view) : [];
    },

    get(id: string): EnrollmentTokenView {
      return view(row(id));
    },

    /** Deleted at Google, then marked here; a token Google has dropped already (expired) is fine. */
    async revoke(id: string): Promise<EnrollmentTokenView> {
      const r = row(id);
      if (r.revokedAt !== null) return view(r);
      try {
        await client.deleteEnrollmentToken(r.name);
      } catch (e) {
        if (!(isAppError(e) && e.code === 'google_not_found')) throw e;
        log.warn({ id, token: r.name }, 'the enrollment token was already gone at Google');
      }
      repo.markEnrollmentTokenRevoked(id, now());
      log.info({ id, token: r.name }, 'revoked an Android enrollment token');
      return view(row(id));
    },

    async qrPng(id: string): Promise<Buffer> {
      return qrPng(usable(id).qrCode);
    },

    async qrSvg(id: string): Promise<string> {
      return qrSvg(usable(id).qrCode);
    },
  };
}

export type EnrollmentTokens = ReturnType<typeof createEnrollmentTokens>;

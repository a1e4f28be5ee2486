import crypto from 'node:crypto';
import { AppError, isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import { createAmapiClient, type AmapiClient, type EnterpriseAnswer } from './amapi/client.ts';
import type { Policy } from './amapi/schemas.generated.ts';
import { parseServiceAccountKey, type ServiceAccountKey } from './amapi/service-account.ts';
import { createEnrollmentTokens } from './enrollment-tokens.ts';
import type { AndroidRepo, EnterpriseRow, PolicyRow, ServiceAccountRow } from './repo.ts';

export interface AndroidOptions {
  repo: AndroidRepo;
  sealer: Sealer;
  log: Logger;
  /** MDM_PUBLIC_URL: Google's signup page sends the admin back to it. */
  publicUrl: string;
  amapiUrl: string;
  pubsubUrl?: string;
  /** MDM_ANDROID_PUBSUB_TOPIC: given to the enterprise at creation so Google publishes device events to it. */
  pubsubTopic: string | null;
  /** Told every Google API call's result (metrics). */
  observe?: (operation: string, result: string) => void;
  now?: () => number;
}

export interface ServiceAccountView {
  clientEmail: string;
  projectId: string;
  importedAt: number;
}

export interface EnterpriseView {
  name: string;
  projectId: string;
  displayName: string | null;
  pubsubTopic: string | null;
  notificationTypes: string[];
  createdAt: number;
}

export interface PolicyView {
  id: string;
  name: string;
  version: string;
  policy: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export const SIGNUP_CALLBACK_PATH = '/android/signup/callback';
/** Google's rule for policy IDs: letters, digits, dots, underscores and hyphens. */
export const POLICY_ID = /^[A-Za-z0-9._-]{1,64}$/;
/** What Google publishes to the topic once devices come (later slices read them). */
const NOTIFICATION_TYPES = ['ENROLLMENT', 'STATUS_REPORT', 'COMMAND'] as const;

const keyLabel = (id: string) => `android-key:${id}`;
const accountView = (r: ServiceAccountRow): ServiceAccountView => ({ clientEmail: r.clientEmail, projectId: r.projectId, importedAt: r.createdAt });
const enterpriseView = (r: EnterpriseRow): EnterpriseView => ({
  name: r.name,
  projectId: r.projectId,
  displayName: r.displayName,
  pubsubTopic: r.pubsubTopic,
  notificationTypes: JSON.parse(r.notificationTypes) as string[],
  createdAt: r.createdAt,
});
const policyView = (r: PolicyRow): PolicyView => ({
  id: r.policyId,
  name: `${r.enterpriseName}/policies/${r.policyId}`,
  version: r.version,
  policy: JSON.parse(r.policy) as Record<string, unknown>,
  createdAt: r.createdAt,
  updatedAt: r.updatedAt,
});
const notFoundAtGoogle = (e: unknown) => isAppError(e) && e.code === 'google_not_found';

/**
 * Android Enterprise through Google's Android Management API: the service account the appliance
 * calls as, binding the enterprise by Google's signup flow, and the enterprise's policies, kept
 * here as Google last returned them.
 */
export function createAndroidEnterprise(opts: AndroidOptions) {
  const { repo, sealer, log } = opts;
  const now = opts.now ?? Date.now;

  // Unsealing and parsing the key costs a millisecond and a half of CPU (the PEM parse): every
  // call to Google reads it, so it is kept for as long as the same key row is the current one.
  let parsed: { id: string; key: ServiceAccountKey } | null = null;
  function currentKey(): ServiceAccountKey {
    const row = repo.serviceAccount();
    if (!row) {
      throw new AppError('android_key_missing', 'no Google service-account key: import one with mdm android key import --file KEY.json (API: PUT /android/service-account)', 409);
    }
    if (parsed?.id !== row.id) parsed = { id: row.id, key: parseServiceAccountKey(sealer.unseal(keyLabel(row.id), row.keySealed).toString('utf8')) };
    return parsed.key;
  }

  const client: AmapiClient = createAmapiClient({
    baseUrl: opts.amapiUrl,
    pubsubUrl: opts.pubsubUrl,
    log: log.child({ mod: 'amapi' }),
    key: currentKey,
    ...(opts.observe ? { observe: opts.observe } : {}),
  });

  function boundEnterprise(): EnterpriseRow {
    const row = repo.enterprise();
    if (!row) throw new AppError('android_enterprise_missing', 'no Android enterprise is bound: start with mdm android signup (API: POST /android/signup)', 409);
    return row;
  }

  function policyId(id: string): string {
    if (!POLICY_ID.test(id)) throw new AppError('invalid_request', `policy name ${JSON.stringify(id)}: use 1-64 letters, digits, dots, underscores or hyphens`);
    return id;
  }

  return {
    /** The AMAPI and Pub/Sub client as the bound service account: device sync and commands call through it. */
    client,
    /** The bound enterprise; AppError android_enterprise_missing. */
    boundEnterprise,
    enrollmentTokens: createEnrollmentTokens({ repo, client, log, now, enterprise: boundEnterprise, policyId }),

    /** Checks the key file, seals it and makes it the account every call uses; only its email and project are shown back. */
    importKey(text: string): ServiceAccountView {
      const key = parseServiceAccountKey(text);
      const id = crypto.randomUUID();
      const row: ServiceAccountRow = {
        id,
        clientEmail: key.client_email,
        projectId: key.project_id,
        keySealed: sealer.seal(keyLabel(id), Buffer.from(text, 'utf8')),
        createdAt: now(),
      };
      const previous = repo.serviceAccount();
      repo.replaceServiceAccount(row);
      log.info({ clientEmail: row.clientEmail, projectId: row.projectId, replaced: previous?.clientEmail }, 'imported the Google service-account key');
      return accountView(row);
    },

    serviceAccount(): ServiceAccountView | null {
      const row = repo.serviceAccount();
      return row ? accountView(row) : null;
    },

    /** A signup URL for the admin to open; Google sends them back to the callback with a one-time enterprise token. */
    async createSignupUrl(): Promise<{ name: string; url: string }> {
      const bound = repo.enterprise();
      if (bound) throw new AppError('android_enterprise_bound', `the enterprise ${bound.name} is bound already: unbind it first (mdm android enterprise unbind)`, 409);
      const key = currentKey();
      const state = crypto.randomBytes(32).toString('base64url');
      const callbackUrl = `${opts.publicUrl}${SIGNUP_CALLBACK_PATH}?state=${state}`;
      const signup = await client.createSignupUrl({ projectId: key.project_id, callbackUrl });
      repo.insertSignupUrl({ name: signup.name, state, url: signup.url, projectId: key.project_id, createdAt: now(), usedAt: null });
      log.info({ signupUrlName: signup.name, callbackUrl: `${opts.publicUrl}${SIGNUP_CALLBACK_PATH}` }, 'made an Android Enterprise signup URL');
      return { name: signup.name, url: signup.url };
    },

    /**
     * Google's callback, with the `state` of our callback URL and Google's enterprise token: only
     * a signup URL made here, used once, may bind an enterprise. The URL is claimed before Google
     * is called, so two callbacks cannot both create one; it is released when Google refuses, so
     * the admin can try again.
     */
    async completeSignup(p: { state: string; enterpriseToken: string }): Promise<EnterpriseView> {
      const signup = repo.signupUrlByState(p.state);
      if (!signup) throw new AppError('android_signup_unknown', 'this signup was not started by this appliance: start again with mdm android signup', 404);
      const used = () => new AppError('android_signup_used', 'this signup URL has been used already: start again with mdm android signup', 409);
      if (signup.usedAt !== null) throw used();
      const bound = repo.enterprise();
      if (bound) throw new AppError('android_enterprise_bound', `the enterprise ${bound.name} is bound already`, 409);
      if (!repo.claimSignupUrl(signup.name, now())) throw used();
      const enterprise = opts.pubsubTopic ? { pubsubTopic: opts.pubsubTopic, enabledNotificationTypes: [...NOTIFICATION_TYPES] } : {};
      let created: EnterpriseAnswer;
      try {
        created = await client.createEnterprise({ projectId: signup.projectId, signupUrlName: signup.name, enterpriseToken: p.enterpriseToken, enterprise });
      } catch (e) {
        repo.releaseSignupUrl(signup.name);
        throw e;
      }
      const row: EnterpriseRow = {
        name: created.name,
        projectId: signup.projectId,
        displayName: typeof created.enterpriseDisplayName === 'string' ? created.enterpriseDisplayName : null,
        pubsubTopic: opts.pubsubTopic,
        notificationTypes: JSON.stringify(opts.pubsubTopic ? NOTIFICATION_TYPES : []),
        createdAt: now(),
      };
      // Another signup URL's callback may have bound one meanwhile: one enterprise stays bound.
      repo.transaction(() => {
        const other = repo.enterprise();
        if (other) {
          log.error({ enterprise: row.name, bound: other.name }, 'Google created an enterprise while another was bound: it is not bound here; delete it in the Google Admin console');
          throw new AppError('android_enterprise_bound', `the enterprise ${other.name} was bound meanwhile; ${row.name} was created at Google but not bound`, 409);
        }
        repo.insertEnterprise(row);
      });
      log.info({ enterprise: row.name, projectId: row.projectId, pubsubTopic: row.pubsubTopic }, 'bound the Android enterprise');
      return enterpriseView(row);
    },

    enterprise(): EnterpriseView | null {
      const row = repo.enterprise();
      return row ? enterpriseView(row) : null;
    },

    /** Deletes the enterprise at Google (its devices are unenrolled) and here, with its policies. Gone at Google already is fine. */
    async unbind(): Promise<EnterpriseView> {
      const row = boundEnterprise();
      try {
        await client.deleteEnterprise(row.name);
      } catch (e) {
        if (!notFoundAtGoogle(e)) throw e;
        log.warn({ enterprise: row.name }, 'the enterprise was already gone at Google: removing it here');
      }
      repo.deleteEnterprise(row.name);
      log.info({ enterprise: row.name }, 'unbound the Android enterprise');
      return enterpriseView(row);
    },

    /**
     * Creates or replaces a policy at Google and keeps what Google returned, with its version.
     * A policy that does not fit Google's schema is refused before anything is sent.
     */
    async putPolicy(id: string, policy: Policy): Promise<PolicyView> {
      policyId(id);
      if (policy.name !== undefined || policy.version !== undefined) {
        throw new AppError('android_policy_invalid', `policy.${policy.name !== undefined ? 'name' : 'version'}: set by Google and the appliance, leave it out`);
      }
      const enterprise = boundEnterprise();
      const answer = await client.patchPolicy(`${enterprise.name}/policies/${id}`, policy);
      const t = now();
      const existing = repo.policy(enterprise.name, id);
      const row: PolicyRow = { enterpriseName: enterprise.name, policyId: id, policy: JSON.stringify(answer), version: answer.version, createdAt: existing?.createdAt ?? t, updatedAt: t };
      repo.upsertPolicy(row);
      log.info({ enterprise: enterprise.name, policy: id, version: answer.version }, existing ? 'updated an Android policy' : 'created an Android policy');
      return policyView(row);
    },

    policy(id: string): PolicyView {
      const enterprise = boundEnterprise();
      const row = repo.policy(enterprise.name, policyId(id));
      if (!row) throw new AppError('android_policy_missing', `no Android policy ${id}`, 404);
      return policyView(row);
    },

    policies(): PolicyView[] {
      const row = repo.enterprise();
      return row ? repo.policies(row.name).map(policyView) : [];
    },

    /** Deletes at Google, then here; Google refuses while devices still use the policy. */
    async deletePolicy(id: string): Promise<PolicyView> {
      const enterprise = boundEnterprise();
      const row = repo.policy(enterprise.name, policyId(id));
      if (!row) throw new AppError('android_policy_missing', `no Android policy ${id}`, 404);
      try {
        await client.deletePolicy(`${enterprise.name}/policies/${id}`);
      } catch (e) {
        if (!notFoundAtGoogle(e)) throw e;
        log.warn({ enterprise: enterprise.name, policy: id }, 'the policy was already gone at Google: removing it here');
      }
      repo.deletePolicy(enterprise.name, id);
      log.info({ enterprise: enterprise.name, policy: id }, 'deleted an Android policy');
      return policyView(row);
    },

    close(): void {
      client.close();
    },
  };
}

export type AndroidEnterprise = ReturnType<typeof createAndroidEnterprise>;

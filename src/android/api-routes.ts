import { Hono } from 'hono';
import type { ApiEnv } from '../api/auth.ts';
import { iso } from '../api/http.ts';
import type { Audit } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import { describeIssue } from './amapi/issues.ts';
import { enrollmentTokenRoutes } from './enrollment-api-routes.ts';
import { Policy } from './amapi/schemas.generated.ts';
import type { AndroidSync, ReconcileResult } from './sync.ts';
import type { AndroidEnterprise, EnterpriseView, PolicyView, ServiceAccountView } from './service.ts';

const accountJson = (a: ServiceAccountView) => ({ client_email: a.clientEmail, project_id: a.projectId, imported_at: iso(a.importedAt) });
const enterpriseJson = (e: EnterpriseView) => ({
  name: e.name,
  project_id: e.projectId,
  display_name: e.displayName,
  pubsub_topic: e.pubsubTopic,
  notification_types: e.notificationTypes,
  created_at: iso(e.createdAt),
});
const policyJson = (p: PolicyView) => ({ id: p.id, name: p.name, version: p.version, policy: p.policy, created_at: iso(p.createdAt), updated_at: iso(p.updatedAt) });

const MAX_KEY_BYTES = 32 * 1024;

/** The body as Google's Policy: strict, the offending field named from `policy`. */
function policyBody(text: string): Policy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError('bad_json', 'the request body must be JSON');
  }
  const r = Policy.safeParse(raw);
  if (!r.success) throw new AppError('android_policy_invalid', describeIssue(r.error, 'policy'));
  return r.data;
}

const requireFound = <T>(value: T | null, code: string, message: string): T => {
  if (value === null) throw new AppError(code, message, 404);
  return value;
};

/** `/api/v1/android/...`: the service-account key, signup, the bound enterprise, its policies and enrollment tokens. */
export const reconcileJson = (r: ReconcileResult & { commandsFinished: number }) => ({
  enterprise: r.enterprise,
  pages: r.pages,
  devices: r.devices,
  skipped: r.skipped,
  removed: r.removed,
  commands_finished: r.commandsFinished,
  elapsed_ms: r.elapsedMs,
});

export function androidApiRoutes(android: AndroidEnterprise, sync: AndroidSync, audit: Audit) {
  const app = new Hono<ApiEnv>();

  // Reconcile now: every device Google lists stored, ours it no longer lists marked removed; unfinished commands asked about.
  app.post('/android/sync', async (c) => {
    const r = reconcileJson(await sync.syncNow());
    audit.record(c.get('actor'), { action: 'android.sync', target: { type: 'android_enterprise', id: r.enterprise }, details: { devices: r.devices, removed: r.removed } });
    return c.json(r);
  });

  // The body is the key file itself (curl --data-binary @key.json); it is sealed as given and never sent back.
  app.put('/android/service-account', async (c) => {
    const text = await c.req.text();
    if (Buffer.byteLength(text) > MAX_KEY_BYTES) throw new AppError('android_key_invalid', `a service-account key file is at most ${MAX_KEY_BYTES} bytes`, 413);
    const account = audit.within(c.get('actor'), () => android.importKey(text), (a) => ({
      action: 'android.key.import',
      target: { type: 'android_service_account', id: a.clientEmail, label: a.projectId },
    }));
    return c.json(accountJson(account), 201);
  });

  app.get('/android/service-account', (c) =>
    c.json(accountJson(requireFound(android.serviceAccount(), 'android_key_missing', 'no Google service-account key is imported'))),
  );

  app.post('/android/signup', async (c) => {
    const signup = await android.createSignupUrl();
    audit.record(c.get('actor'), { action: 'android.signup.create', target: { type: 'android_signup', id: signup.name } });
    return c.json({ name: signup.name, url: signup.url }, 201);
  });

  app.get('/android/enterprise', (c) =>
    c.json(enterpriseJson(requireFound(android.enterprise(), 'android_enterprise_missing', 'no Android enterprise is bound'))),
  );

  app.delete('/android/enterprise', async (c) => {
    const e = await android.unbind();
    audit.record(c.get('actor'), { action: 'android.enterprise.unbind', target: { type: 'android_enterprise', id: e.name, label: e.displayName } });
    return c.json(enterpriseJson(e));
  });

  app.get('/android/policies', (c) => c.json({ policies: android.policies().map(policyJson) }));

  app.get('/android/policies/:name', (c) => c.json(policyJson(android.policy(c.req.param('name')))));

  app.put('/android/policies/:name', async (c) => {
    const policy = policyBody(await c.req.text());
    const p = await android.putPolicy(c.req.param('name'), policy);
    audit.record(c.get('actor'), { action: 'android.policy.update', target: { type: 'android_policy', id: p.id, label: p.name }, details: { version: p.version } });
    return c.json(policyJson(p));
  });

  app.delete('/android/policies/:name', async (c) => {
    const p = await android.deletePolicy(c.req.param('name'));
    audit.record(c.get('actor'), { action: 'android.policy.delete', target: { type: 'android_policy', id: p.id, label: p.name } });
    return c.json(policyJson(p));
  });

  app.route('/', enrollmentTokenRoutes(android.enrollmentTokens, audit));

  return app;
}

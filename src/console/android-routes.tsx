import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AndroidEnterprise } from '../android/service.ts';
import type { Audit } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import { AndroidPage, AndroidTokenPage, TOKEN_TTLS } from './pages/android.tsx';
import { field, render } from './render.ts';
import { formActions } from './form-action.ts';
import type { Guards } from './settings-routes.tsx';
import type { ConsoleEnv } from './session.ts';

const NOTICES: Record<string, string> = {
  key: 'Service-account key imported.',
  unbound: 'The enterprise is unbound: its devices are being unenrolled by Google.',
  revoked: 'Token revoked: no device can enroll with it any more.',
  bound: 'Enterprise bound.',
};

const tokenForm = z.object({
  policy: z.string().min(1, 'choose a policy'),
  kind: z.enum(['corporate', 'corporate-work-profile', 'personal'], { message: 'choose the kind of device' }),
  user_email: z.union([z.literal(''), z.email({ message: "the user's email is not an email address" })]),
  ttl: z.enum(Object.keys(TOKEN_TTLS) as [keyof typeof TOKEN_TTLS], { message: 'choose how long the token stays valid' }),
  one_time: z.enum(['', '1']),
});

// A service-account key file is a few kilobytes.
const MAX_KEY_BYTES = 64 * 1024;

/**
 * `/android`: the console's face of the Android connector: import the service-account key, bind
 * (through Google's signup page) or unbind the enterprise, see its policies, make, show and revoke
 * enrollment tokens. Every change admin-only, CSRF-checked and audited as the API's are.
 */
export function androidConsoleRoutes(deps: { android: AndroidEnterprise; audit: Audit }, g: Guards) {
  const { android, audit } = deps;
  const tokens = android.enrollmentTokens;
  const app = new Hono<ConsoleEnv>();
  const change = [g.signedIn, g.csrf, g.adminOnly] as const;

  const page = (c: Context<ConsoleEnv>, o: { notice?: string; error?: string; status?: number; signupUrl?: string } = {}) => {
    const enterprise = android.enterprise();
    const data = { account: android.serviceAccount(), enterprise, policies: enterprise ? android.policies() : [], tokens: enterprise ? tokens.list() : [] };
    return render(c, <AndroidPage session={c.get('session')} data={data} notice={o.notice} error={o.error} signupUrl={o.signupUrl} />, o.status);
  };

  const run = formActions('/android', page);

  app.get('/android', g.signedIn, (c) => page(c, { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post(
    '/android/service-account',
    ...change,
    run(async (c, body) => {
      const f = body.key;
      if (!(f instanceof File) || f.size === 0) throw new AppError('invalid_request', 'Choose the JSON key file to import.');
      if (f.size > MAX_KEY_BYTES) throw new AppError('android_key_invalid', `A service-account key file is at most ${MAX_KEY_BYTES} bytes.`, 413);
      const text = Buffer.from(await f.arrayBuffer()).toString('utf8');
      audit.within(
        g.actor(c),
        () => android.importKey(text),
        (a) => ({ action: 'android.key.import', target: { type: 'android_service_account', id: a.clientEmail, label: a.projectId } }),
      );
      return 'key';
    }),
  );

  // Google's page cannot be reached by a redirect from a form post (form-action 'self'): the
  // answer is this page with a link to it.
  app.post(
    '/android/signup',
    ...change,
    run(async (c) => {
      const signup = await android.createSignupUrl();
      audit.record(g.actor(c), { action: 'android.signup.create', target: { type: 'android_signup', id: signup.name } });
      return page(c, { signupUrl: signup.url });
    }),
  );

  app.post(
    '/android/enterprise/unbind',
    ...change,
    run(async (c, body) => {
      const bound = android.enterprise();
      if (!bound) throw new AppError('android_enterprise_missing', 'No enterprise is bound.', 409);
      if (field(body, 'confirm').trim() !== bound.name) throw new AppError('confirmation_mismatch', `Type the enterprise's name, ${bound.name}, to unbind it.`);
      const e = await android.unbind();
      audit.record(g.actor(c), { action: 'android.enterprise.unbind', target: { type: 'android_enterprise', id: e.name, label: e.displayName } });
      return 'unbound';
    }),
  );

  app.post(
    '/android/enrollment-tokens',
    ...change,
    run(async (c, body) => {
      const r = tokenForm.safeParse({ policy: field(body, 'policy'), kind: field(body, 'kind'), user_email: field(body, 'user_email').trim(), ttl: field(body, 'ttl'), one_time: field(body, 'one_time') });
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]?.message ?? 'invalid form');
      const t = await tokens.create({
        policyId: r.data.policy,
        ownership: r.data.kind === 'personal' ? 'personal' : 'corporate',
        workProfile: r.data.kind === 'corporate-work-profile',
        userEmail: r.data.user_email || null,
        ttlMs: TOKEN_TTLS[r.data.ttl],
        oneTimeOnly: r.data.one_time === '1',
      });
      audit.record(g.actor(c), { action: 'android.enrollment_token.create', target: { type: 'android_enrollment_token', id: t.id, label: t.userEmail }, details: { policy: t.policyId, ownership: t.ownership } });
      return `/android/enrollment-tokens/${t.id}?created=1`;
    }),
  );

  app.post(
    '/android/enrollment-tokens/:id/revoke',
    ...change,
    run(async (c) => {
      const t = await tokens.revoke(c.req.param('id') ?? '');
      audit.record(g.actor(c), { action: 'android.enrollment_token.revoke', target: { type: 'android_enrollment_token', id: t.id, label: t.userEmail } });
      return 'revoked';
    }),
  );

  app.get('/android/enrollment-tokens/:id', g.signedIn, (c) =>
    render(c, <AndroidTokenPage session={c.get('session')} token={tokens.get(c.req.param('id') ?? '')} notice={c.req.query('created') ? 'Token created.' : undefined} />),
  );

  app.get('/android/enrollment-tokens/:id/qr.svg', g.signedIn, async (c) =>
    c.body(await tokens.qrSvg(c.req.param('id') ?? ''), 200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' }),
  );

  return app;
}

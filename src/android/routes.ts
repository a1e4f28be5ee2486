import { Hono } from 'hono';
import { z } from 'zod';
import type { Audit } from '../audit/service.ts';
import { clientAddress } from '../http/client-address.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { describeIssue } from './amapi/issues.ts';
import type { AndroidEnterprise } from './service.ts';

/** Google adds enterpriseToken to the callback URL we gave it, which carries our state; other parameters are ignored. */
const callbackQuery = z.object({
  state: z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be the state of a signup made here'),
  enterpriseToken: z.string().min(1).max(4096),
});

/**
 * The public Android pages, mounted at /android. Google's signup flow sends the admin's browser
 * to the callback, so it answers in plain text a person can read, without an API token: what
 * makes it safe is that only a signup URL made here, and unused, binds anything.
 */
export function androidRoutes(deps: { android: AndroidEnterprise; log: Logger; audit: Audit; trustedProxies: string[] }) {
  const app = new Hono();

  app.get('/signup/callback', async (c) => {
    const q = callbackQuery.safeParse(c.req.query());
    if (!q.success) return c.text(`This is not a valid Android Enterprise signup callback (${describeIssue(q.error, 'query')}).\n`, 400);
    try {
      const enterprise = await deps.android.completeSignup(q.data);
      // No session here: the signup URL made earlier (and audited) is what let this browser in.
      const actor = { kind: 'system' as const, id: null, name: 'android-signup', address: clientAddress(c, deps.trustedProxies) };
      deps.audit.record(actor, { action: 'android.enterprise.bind', target: { type: 'android_enterprise', id: enterprise.name, label: enterprise.displayName } });
      return c.text(`Android Enterprise bound: ${enterprise.name}.\nYou can close this page; mdm android enterprise show describes it.\n`, 201);
    } catch (e) {
      if (!isAppError(e)) throw e;
      deps.log.warn({ code: e.code }, 'refused an Android signup callback');
      return c.text(`The Android Enterprise signup did not complete: ${e.message} (${e.code}).\n`, e.status);
    }
  });

  return app;
}

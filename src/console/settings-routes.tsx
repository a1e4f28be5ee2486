import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import { ROLES, type Admins } from '../admins/service.ts';
import type { ApiTokens } from '../auth/api-tokens.ts';
import type { Actor, Audit } from '../audit/service.ts';
import { apiTokenEvent, pushCertificateEvent, pushCsrEvent, pushVendorEvent } from '../audit/targets.ts';
import { AppError, isAppError } from '../errors.ts';
import { expiryOf } from '../push/expiry.ts';
import type { PushCertificates } from '../push/service.ts';
import { certificatesIn, type VendorSource } from '../push/vendor.ts';
import crypto from 'node:crypto';
import { SettingsPage, type SettingsData } from './pages/settings.tsx';
import { field, render } from './render.ts';
import { formActions } from './form-action.ts';
import type { ConsoleEnv } from './session.ts';

export interface SettingsDeps {
  admins: Admins;
  push: PushCertificates;
  apiTokens: ApiTokens;
  audit: Audit;
  caNotAfter: () => number;
  caFingerprint: () => string;
  /** The HTTPS listener's certificate (PEM, leaf first) and whether this appliance's CA issued it; null without HTTPS. */
  tls: () => { certPem: string; ownCa: boolean } | null;
  publicUrl: string;
  organization: string;
  now: () => number;
}

/** The console's guards and who is asking, as consoleRoutes builds them. */
export interface Guards {
  signedIn: MiddlewareHandler<ConsoleEnv>;
  csrf: MiddlewareHandler<ConsoleEnv>;
  adminOnly: MiddlewareHandler<ConsoleEnv>;
  actor: (c: Context<ConsoleEnv>) => Actor;
}

const NOTICES: Record<string, string> = {
  csr: 'CSR made: download it, or sign it with the vendor identity (step 3).',
  vendor: 'Vendor identity imported.',
  certificate: 'Push certificate installed: pushes use it from now on.',
  'admin-created': 'Admin added.',
  'admin-deleted': 'Admin deleted; their sessions have ended.',
  'two-factor-reset': 'Two-factor turned off for that admin: they can set it up again after signing in.',
  'token-revoked': 'API token revoked: requests with it are refused from now on.',
};

function tlsStatus(id: { certPem: string; ownCa: boolean } | null, publicUrl: string, now: number): SettingsData['tls'] {
  if (!id) return null;
  const cert = new crypto.X509Certificate(id.certPem);
  const notAfter = Date.parse(cert.validTo);
  const names = (cert.subjectAltName ?? '').split(', ').filter(Boolean).map((n) => n.replace(/^(DNS|IP Address):/, ''));
  const host = new URL(publicUrl).hostname.replace(/^\[|\]$/g, '');
  return {
    source: id.ownCa ? 'appliance-ca' : 'files',
    subject: cert.subject.replace(/\n/g, ', '),
    names,
    issuer: cert.issuer.replace(/\n/g, ', '),
    notAfter,
    state: expiryOf(notAfter, now).state,
    matchesPublicUrl: cert.checkHost(host) !== undefined || cert.checkIP(host) !== undefined,
  };
}

const adminForm = z.object({ username: z.string(), password: z.string(), role: z.enum(ROLES, { message: 'role must be admin or read-only' }) });

/** An uploaded file's bytes, or null when the field was left empty. */
async function upload(body: Record<string, unknown>, name: string): Promise<Buffer | null> {
  const f = body[name];
  if (!(f instanceof File) || f.size === 0) return null;
  return Buffer.from(await f.arrayBuffer());
}

/** `/settings`: the push certificate's lifecycle, admins and API tokens; every change admin-only, CSRF-checked and audited. */
export function settingsRoutes(deps: SettingsDeps, g: Guards) {
  const { admins, push, apiTokens, audit } = deps;
  const app = new Hono<ConsoleEnv>();
  const change = [g.signedIn, g.csrf, g.adminOnly] as const;

  const page = (c: Context<ConsoleEnv>, o: { notice?: string; error?: string; status?: number; createdToken?: { name: string; token: string } } = {}) => {
    const active = push.status();
    const csr = push.pendingCsr();
    const vendor = push.vendor();
    const caNotAfter = deps.caNotAfter();
    const data = {
      publicUrl: deps.publicUrl,
      organization: deps.organization,
      push: {
        active: active && { topic: active.topic, notAfter: active.notAfter, state: active.state, daysLeft: active.daysLeft },
        csr: csr && { subject: csr.subject, createdAt: csr.createdAt },
        vendor: vendor && { subject: vendor.subject, notAfter: vendor.notAfter },
      },
      ca: { fingerprint: deps.caFingerprint(), notAfter: caNotAfter, state: expiryOf(caNotAfter, deps.now()).state },
      tls: tlsStatus(deps.tls(), deps.publicUrl, deps.now()),
      admins: admins.list(),
      tokens: apiTokens.list(),
    };
    return render(c, <SettingsPage session={c.get('session')} data={data} notice={o.notice} error={o.error} createdToken={o.createdToken} />, o.status);
  };

  const run = formActions('/settings', page);

  app.get('/settings', g.signedIn, (c) => page(c, { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post(
    '/settings/push/csr',
    ...change,
    run((c, body) => {
      const subject = { commonName: field(body, 'common_name').trim() || undefined, email: field(body, 'email').trim() || undefined };
      audit.within(g.actor(c), () => push.createCsr(subject), pushCsrEvent);
      return 'csr';
    }),
  );

  // A CSR is no secret (its key stays sealed here), but only admins go through the steps.
  app.get('/settings/push/csr.pem', g.signedIn, g.adminOnly, (c) => {
    const csr = push.pendingCsr();
    if (!csr) throw new AppError('push_csr_missing', 'There is no pending CSR: make one first.', 404);
    return c.body(csr.csrPem, 200, { 'content-type': 'application/pkcs10', 'content-disposition': 'attachment; filename="push.csr"', 'cache-control': 'no-store' });
  });

  app.post(
    '/settings/push/vendor',
    ...change,
    run(async (c, body) => {
      const chainFile = await upload(body, 'chain');
      const chain = chainFile ? certificatesIn(chainFile, 'the chain file') : [];
      const p12 = await upload(body, 'pkcs12');
      const cert = await upload(body, 'certificate');
      const key = await upload(body, 'private_key');
      let source: VendorSource;
      if (p12) {
        if (cert || key) throw new AppError('invalid_request', 'Give either the PKCS#12 file or the certificate and key, not both.');
        source = { kind: 'pkcs12', pkcs12: p12, password: field(body, 'password'), certificates: chain };
      } else {
        if (!cert || !key) throw new AppError('invalid_request', 'Give the PKCS#12 file with its password, or the certificate and its private key.');
        const passphrase = field(body, 'passphrase');
        source = { kind: 'pem', keyPem: key.toString('utf8'), passphrase: passphrase || undefined, passphraseHint: 'the key passphrase field', certificates: [...certificatesIn(cert, 'the certificate file'), ...chain] };
      }
      audit.within(g.actor(c), () => push.importVendor(source), pushVendorEvent);
      return 'vendor';
    }),
  );

  // Not a change (nothing is stored): a POST because it signs with the vendor key.
  app.post(
    '/settings/push/signed-request',
    ...change,
    run((c) => {
      const { request } = push.signedRequest();
      return c.body(request + '\n', 200, { 'content-type': 'text/plain; charset=utf-8', 'content-disposition': 'attachment; filename="push-request.txt"', 'cache-control': 'no-store' });
    }),
  );

  app.post(
    '/settings/push/certificate',
    ...change,
    run(async (c, body) => {
      const cert = await upload(body, 'certificate');
      if (!cert) throw new AppError('invalid_request', "Choose the certificate file Apple issued (PEM).");
      const key = await upload(body, 'private_key');
      const options = { passphrase: field(body, 'passphrase') || undefined, force: field(body, 'force') !== '' };
      try {
        audit.within(g.actor(c), () => push.importPem(cert.toString('utf8'), key?.toString('utf8'), options), pushCertificateEvent);
      } catch (e) {
        // The service's words name the CLI's flag; here it is the checkbox.
        if (isAppError(e) && e.code === 'push_topic_changed') {
          throw new AppError(e.code, `${e.message.replace(/, or replace it anyway with --force.*$/, '')}, or tick "Replace even if the topic differs" and upload again.`, e.status);
        }
        throw e;
      }
      return 'certificate';
    }),
  );

  app.post(
    '/settings/admins',
    ...change,
    run(async (c, body) => {
      const r = adminForm.safeParse({ username: field(body, 'username'), password: field(body, 'password'), role: field(body, 'role') });
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]?.message ?? 'invalid admin');
      // Hashing the password is asynchronous: the record follows the change instead of sharing its transaction.
      const created = await admins.create(r.data);
      audit.record(g.actor(c), { action: 'admin.create', target: { type: 'admin', id: created.id, label: created.username }, details: { role: created.role } });
      return 'admin-created';
    }),
  );

  app.post(
    '/settings/admins/:id/delete',
    ...change,
    run((c) => {
      const by = c.get('session').admin;
      audit.within(g.actor(c), () => admins.remove(c.req.param('id')!, by.id), (a) => ({ action: 'admin.delete', target: { type: 'admin', id: a.id, label: a.username } }));
      return 'admin-deleted';
    }),
  );

  app.post(
    '/settings/admins/:id/reset-two-factor',
    ...change,
    run((c) => {
      const a = admins.get(c.req.param('id')!);
      audit.within(g.actor(c), () => admins.twoFactor.reset(a.username), (wasOn) => ({ action: 'admin.totp.reset', target: { type: 'admin', id: a.id, label: a.username }, details: { was_on: wasOn } }));
      return 'two-factor-reset';
    }),
  );

  app.post(
    '/settings/api-tokens',
    ...change,
    run((c, body) => {
      const created = audit.within(g.actor(c), () => apiTokens.create(field(body, 'name')), apiTokenEvent('api_token.create'));
      // Shown once, here: only its hash is kept.
      return page(c, { createdToken: { name: created.name, token: created.token }, status: 201 });
    }),
  );

  app.post(
    '/settings/api-tokens/:id/revoke',
    ...change,
    run((c) => {
      audit.within(g.actor(c), () => apiTokens.revoke(c.req.param('id')!), apiTokenEvent('api_token.revoke'));
      return 'token-revoked';
    }),
  );

  return app;
}

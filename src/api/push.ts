import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { PushCertificate, PushCertificates, PushCsr, VendorCertificate } from '../push/service.ts';
import { expiryOf } from '../push/expiry.ts';
import { certificatesIn } from '../push/vendor.ts';
import type { ApiEnv } from './auth.ts';
import { iso, parseWith, readJson } from './http.ts';
import type { Audit } from '../audit/service.ts';
import { pushCertificateEvent, pushCsrEvent, pushVendorEvent } from '../audit/targets.ts';

const pem = z.string().min(1).max(64 * 1024);

export const importBody = z.strictObject({
  certificate: pem.describe('PEM'),
  /** Without it, the key of the push CSR made here that the certificate was issued for. */
  private_key: pem.describe('PEM').optional(),
  passphrase: z.string().max(1024).optional(),
  force: z.boolean().optional(),
});

export const csrBody = z.strictObject({
  common_name: z.string().min(1).max(64).optional(),
  email: z.string().max(255).optional(),
});

export const vendorBody = z.strictObject({
  /** PEM: the vendor certificate, optionally followed by its chain. */
  certificate: pem.optional(),
  private_key: pem.optional(),
  passphrase: z.string().max(1024).optional(),
  /** Base64 of a .p12/.pfx file holding the vendor identity. */
  pkcs12: z.string().min(1).max(128 * 1024).optional(),
  password: z.string().max(1024).optional(),
  /** PEM: Apple's WWDR intermediate and root, when the certificate or PKCS#12 lacks them. */
  chain: pem.optional(),
});

function certificateView(c: PushCertificate) {
  const { state, daysLeft } = expiryOf(c.notAfter, Date.now());
  return {
    topic: c.topic,
    serial: c.serial,
    not_before: iso(c.notBefore),
    not_after: iso(c.notAfter),
    days_left: daysLeft,
    state,
    imported_at: iso(c.createdAt),
  };
}

const csrView = (c: PushCsr) => ({ id: c.id, subject: c.subject, csr: c.csrPem, created_at: iso(c.createdAt) });

const vendorView = (v: VendorCertificate) => ({
  subject: v.subject,
  serial: v.serial,
  not_before: iso(v.notBefore),
  not_after: iso(v.notAfter),
  chain: v.chain,
  imported_at: iso(v.createdAt),
});

/** A body that may be left out entirely: `curl -X POST` with no data is `{}`. */
async function readOptionalJson<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  if ((await c.req.text()).trim() === '') return parseWith(schema, {}, 'body');
  return readJson(c, schema);
}

const BASE64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/;

/**
 * The Apple MDM push certificate's lifecycle, as the `mdm push` commands: CSR, vendor
 * certificate, signed request for Apple's portal, import of what Apple issues, state.
 */
export function pushRoutes(push: PushCertificates, audit: Audit) {
  const app = new Hono<ApiEnv>();

  app.get('/push/certificate', (c) => {
    const active = push.active();
    if (!active) throw new AppError('push_cert_missing', 'no push certificate is installed', 404);
    return c.json(certificateView(active));
  });

  app.put('/push/certificate', async (c) => {
    const body = await readJson(c, importBody);
    const imported = audit.within(c.get('actor'), () => push.importPem(body.certificate, body.private_key, { passphrase: body.passphrase, force: body.force }), pushCertificateEvent);
    return c.json(certificateView(imported), 201);
  });

  app.post('/push/csr', async (c) => {
    const body = await readOptionalJson(c, csrBody);
    const csr = audit.within(c.get('actor'), () => push.createCsr({ commonName: body.common_name, email: body.email }), pushCsrEvent);
    return c.json(csrView(csr), 201);
  });

  app.get('/push/csr', (c) => {
    const pending = push.pendingCsr();
    if (!pending) throw new AppError('push_csr_missing', 'no pending push CSR: make one with POST /push/csr', 404);
    return c.json(csrView(pending));
  });

  app.put('/push/vendor-certificate', async (c) => {
    const body = await readJson(c, vendorBody);
    const chain = body.chain === undefined ? [] : certificatesIn(body.chain, 'chain');
    if (body.pkcs12 !== undefined) {
      if (body.certificate !== undefined || body.private_key !== undefined || body.passphrase !== undefined) {
        throw new AppError('invalid_request', 'give either pkcs12 (with password) or certificate and private_key, not both');
      }
      if (!BASE64.test(body.pkcs12)) throw new AppError('invalid_request', 'pkcs12: must be base64');
      const source = { kind: 'pkcs12' as const, pkcs12: Buffer.from(body.pkcs12, 'base64'), password: body.password ?? '', certificates: chain };
      const imported = audit.within(c.get('actor'), () => push.importVendor(source), pushVendorEvent);
      return c.json(vendorView(imported), 201);
    }
    if (body.certificate === undefined || body.private_key === undefined) {
      throw new AppError('invalid_request', 'give certificate and private_key (PEM), or pkcs12 (base64) with password');
    }
    if (body.password !== undefined) throw new AppError('invalid_request', 'password: only with pkcs12 (a PEM key takes passphrase)');
    const source = {
      kind: 'pem' as const,
      keyPem: body.private_key,
      passphrase: body.passphrase,
      passphraseHint: 'API: passphrase',
      certificates: [...certificatesIn(body.certificate, 'certificate'), ...chain],
    };
    const imported = audit.within(c.get('actor'), () => push.importVendor(source), pushVendorEvent);
    return c.json(vendorView(imported), 201);
  });

  app.get('/push/vendor-certificate', (c) => {
    const vendor = push.vendor();
    if (!vendor) throw new AppError('push_vendor_missing', 'no MDM vendor certificate is installed', 404);
    return c.json(vendorView(vendor));
  });

  app.post('/push/signed-request', (c) => {
    const { request, csrId } = push.signedRequest();
    return c.json({ request, csr_id: csrId });
  });

  return app;
}

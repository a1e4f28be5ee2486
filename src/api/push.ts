import { Hono } from 'hono';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { PushCertificate, PushCertificates } from '../push/service.ts';
import type { ApiEnv } from './auth.ts';
import { iso, readJson } from './http.ts';

const importBody = z.strictObject({
  certificate: z.string().min(1).max(64 * 1024).describe('PEM'),
  private_key: z.string().min(1).max(64 * 1024).describe('PEM'),
  passphrase: z.string().max(1024).optional(),
});

const view = (c: PushCertificate) => ({
  topic: c.topic,
  serial: c.serial,
  not_before: iso(c.notBefore),
  not_after: iso(c.notAfter),
  days_left: Math.floor((c.notAfter - Date.now()) / 86_400_000),
  imported_at: iso(c.createdAt),
});

/** `/push/certificate`: the Apple MDM push certificate, as `mdm push import` and `mdm push show`. */
export function pushRoutes(push: PushCertificates) {
  const app = new Hono<ApiEnv>();

  app.get('/push/certificate', (c) => {
    const active = push.active();
    if (!active) throw new AppError('push_cert_missing', 'no push certificate is installed', 404);
    return c.json(view(active));
  });

  app.put('/push/certificate', async (c) => {
    const body = await readJson(c, importBody);
    const imported = push.importPem(body.certificate, body.private_key, { passphrase: body.passphrase });
    return c.json(view(imported), 201);
  });

  return app;
}

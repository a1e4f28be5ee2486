import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, readJson } from '../api/http.ts';
import type { Audit } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import { parseDuration } from '../duration.ts';
import type { EnrollmentTokens, EnrollmentTokenView } from './enrollment-tokens.ts';

const BASE = '/api/v1/android/enrollment-tokens';

export const CreateBody = z.strictObject({
  policy: z.string().min(1),
  user_email: z.email().optional(),
  ownership: z.enum(['corporate', 'personal']),
  work_profile: z.boolean().optional(),
  /** As the CLI's --ttl: 90m, 12h, 7d. */
  ttl: z.string().optional(),
  one_time: z.boolean().optional(),
});

export const enrollmentTokenJson = (t: EnrollmentTokenView) => ({
  id: t.id,
  name: t.name,
  value: t.value,
  policy: t.policyId,
  ownership: t.ownership,
  work_profile: t.workProfile,
  allow_personal_usage: t.allowPersonalUsage,
  one_time: t.oneTimeOnly,
  user_email: t.userEmail,
  byod_link: t.byodLink,
  qr_code: t.qrCode,
  status: t.status,
  expires_at: iso(t.expiresAt),
  created_at: iso(t.createdAt),
  revoked_at: iso(t.revokedAt),
  links: { qr_png: `${BASE}/${t.id}/qr.png`, qr_svg: `${BASE}/${t.id}/qr.svg` },
});

/** `/api/v1/android/enrollment-tokens`: make, list and revoke tokens; their provisioning QR codes as images. */
export function enrollmentTokenRoutes(tokens: EnrollmentTokens, audit: Audit) {
  const app = new Hono<ApiEnv>();

  app.post('/android/enrollment-tokens', async (c) => {
    const body = await readJson(c, CreateBody);
    const ttlMs = parseDuration(body.ttl ?? '7d');
    if (ttlMs === null) throw new AppError('invalid_request', 'ttl: a duration such as 30m, 12h or 7d');
    const t = await tokens.create({
      policyId: body.policy,
      ownership: body.ownership,
      workProfile: body.work_profile ?? false,
      userEmail: body.user_email ?? null,
      ttlMs,
      oneTimeOnly: body.one_time ?? false,
    });
    audit.record(c.get('actor'), { action: 'android.enrollment_token.create', target: { type: 'android_enrollment_token', id: t.id, label: t.userEmail }, details: { policy: t.policyId, ownership: t.ownership } });
    return c.json(enrollmentTokenJson(t), 201);
  });

  app.get('/android/enrollment-tokens', (c) => c.json({ enrollment_tokens: tokens.list().map(enrollmentTokenJson) }));

  app.get('/android/enrollment-tokens/:id', (c) => c.json(enrollmentTokenJson(tokens.get(c.req.param('id')))));

  app.delete('/android/enrollment-tokens/:id', async (c) => {
    const t = await tokens.revoke(c.req.param('id'));
    audit.record(c.get('actor'), { action: 'android.enrollment_token.revoke', target: { type: 'android_enrollment_token', id: t.id, label: t.userEmail } });
    return c.json(enrollmentTokenJson(t));
  });

  app.get('/android/enrollment-tokens/:id/qr.png', async (c) => {
    const png = await tokens.qrPng(c.req.param('id'));
    return c.body(new Uint8Array(png), 200, { 'content-type': 'image/png', 'cache-control': 'no-store' });
  });

  app.get('/android/enrollment-tokens/:id/qr.svg', async (c) => {
    const svg = await tokens.qrSvg(c.req.param('id'));
    return c.body(svg, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'no-store' });
  });

  return app;
}

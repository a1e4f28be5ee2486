import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, parseWith, readJson } from '../api/http.ts';
import { AppError } from '../errors.ts';
import type { Audit } from '../audit/service.ts';
import { webhookEvent } from '../audit/targets.ts';
import type { DeliveryRow } from './repo.ts';
import type { WebhookView, Webhooks } from './service.ts';

export const CreateBody = z.strictObject({
  url: z.string().min(1),
  events: z.array(z.string()).min(1),
  description: z.string().max(200).nullable().optional(),
});
export const PatchBody = z.strictObject({
  url: z.string().min(1).optional(),
  events: z.array(z.string()).min(1).optional(),
  description: z.string().max(200).nullable().optional(),
  enabled: z.boolean().optional(),
});
export const DeliveriesQuery = z.strictObject({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** The `next` cursor of the previous page. */
  before: z.string().optional(),
});

export const webhookJson = (w: WebhookView) => ({
  id: w.id,
  url: w.url,
  events: w.events,
  description: w.description,
  enabled: w.enabled,
  created_by: w.createdBy,
  created_at: iso(w.createdAt),
  updated_at: iso(w.updatedAt),
});

export const deliveryJson = (d: DeliveryRow) => ({
  id: d.id,
  event_id: d.eventId,
  event_type: d.eventType,
  status: d.status,
  attempts: d.attempts,
  next_attempt_at: iso(d.nextAttemptAt),
  last_status_code: d.lastStatusCode,
  last_error: d.lastError,
  created_at: iso(d.createdAt),
  updated_at: iso(d.updatedAt),
  body: JSON.parse(d.body) as unknown,
});

const cursor = (d: DeliveryRow) => Buffer.from(`${d.createdAt}:${d.id}`).toString('base64url');
function fromCursor(s: string): { at: number; id: string } {
  const m = /^(\d+):([0-9a-f-]{36})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!m) throw new AppError('invalid_request', 'before: not a cursor from this API');
  return { at: Number(m[1]), id: m[2]! };
}

/** `/api/v1/webhooks`: register receivers, see and retry their deliveries. */
export function webhookRoutes(webhooks: Webhooks, audit: Audit) {
  const app = new Hono<ApiEnv>();

  app.get('/webhooks', (c) => c.json({ webhooks: webhooks.list().map(webhookJson) }));

  app.post('/webhooks', async (c) => {
    const body = await readJson(c, CreateBody);
    const w = audit.within(
      c.get('actor'),
      () => webhooks.create({ url: body.url, events: body.events, description: body.description ?? null, createdBy: `api-token:${c.get('apiToken').name}` }),
      webhookEvent('webhook.create', (x) => ({ events: x.events })),
    );
    // The secret is shown here only: it signs every delivery (x-mdm-signature).
    return c.json({ ...webhookJson(w), secret: w.secret }, 201);
  });

  app.get('/webhooks/:id', (c) => c.json(webhookJson(webhooks.get(c.req.param('id')))));

  app.patch('/webhooks/:id', async (c) => {
    const patch = await readJson(c, PatchBody);
    return c.json(webhookJson(audit.within(c.get('actor'), () => webhooks.update(c.req.param('id'), patch), webhookEvent('webhook.update', () => ({ ...patch })))));
  });

  app.delete('/webhooks/:id', (c) => {
    const id = c.req.param('id');
    audit.within(
      c.get('actor'),
      () => {
        const w = webhooks.get(id);
        webhooks.remove(id);
        return w;
      },
      webhookEvent('webhook.delete'),
    );
    return c.body(null, 204);
  });

  app.post('/webhooks/:id/secret', (c) => {
    const id = c.req.param('id');
    const { secret } = audit.within(c.get('actor'), () => ({ ...webhooks.rotateSecret(id), hook: webhooks.get(id) }), (r) => webhookEvent('webhook.secret.rotate')(r.hook));
    return c.json({ secret });
  });

  app.post('/webhooks/:id/ping', (c) => c.json(deliveryJson(webhooks.ping(c.req.param('id'))), 202));

  app.get('/webhooks/:id/deliveries', (c) => {
    const q = parseWith(DeliveriesQuery, c.req.query(), 'query');
    const rows = webhooks.deliveries(c.req.param('id'), {
      limit: q.limit + 1,
      ...(q.status ? { status: q.status } : {}),
      ...(q.before ? { before: fromCursor(q.before) } : {}),
    });
    const page = rows.slice(0, q.limit);
    return c.json({ deliveries: page.map(deliveryJson), next: rows.length > q.limit ? cursor(page[page.length - 1]!) : null });
  });

  app.get('/webhooks/:id/deliveries/:delivery', (c) => c.json(deliveryJson(webhooks.delivery(c.req.param('id'), c.req.param('delivery')))));

  app.post('/webhooks/:id/deliveries/:delivery/retry', (c) => {
    const id = c.req.param('id');
    const d = audit.within(
      c.get('actor'),
      () => webhooks.retry(id, c.req.param('delivery')),
      (x) => ({ ...webhookEvent('webhook.delivery.retry')(webhooks.get(id)), details: { delivery: x.id, event_type: x.eventType } }),
    );
    return c.json(deliveryJson(d), 202);
  });

  return app;
}

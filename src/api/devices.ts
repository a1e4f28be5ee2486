import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from './auth.ts';
import { DEVICE_PLATFORMS, type DeviceViews } from './device-service.ts';
import { iso, parseWith } from './http.ts';
import type { DevicePushes } from '../apple/device-pushes.ts';
import type { Audit } from '../audit/service.ts';
import { deviceTarget } from '../audit/targets.ts';

/** Opaque to clients; inside, the last id of the previous page. */
const cursor = {
  encode: (lastId: string) => Buffer.from(JSON.stringify({ after: lastId })).toString('base64url'),
  schema: z.string().transform((s, ctx) => {
    try {
      return z.object({ after: z.string().min(1) }).parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))).after;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a cursor from this API: pass next_cursor as it came' });
      return z.NEVER;
    }
  }),
};

export const listQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursor.schema.optional(),
  platform: z.enum(DEVICE_PLATFORMS).optional(),
  enrolled: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export const deviceId = z.string().min(1).max(200);

/** `/devices`: the inventory, paged, and one device in full. */
export function deviceRoutes(views: DeviceViews, pushes: DevicePushes, audit: Audit) {
  const app = new Hono<ApiEnv>();

  app.get('/devices', (c) => {
    const q = parseWith(listQuery, c.req.query(), 'query');
    const page = views.list({ limit: q.limit, afterId: q.cursor, platform: q.platform, enrolled: q.enrolled });
    return c.json({ devices: page.devices, next_cursor: page.lastId === null ? null : cursor.encode(page.lastId) });
  });

  app.get('/devices/:id', (c) => c.json(views.get(parseWith(deviceId, c.req.param('id'), 'id'))));

  // Pushes the device channel now and shows APNs's answer, whatever the last one was.
  app.post('/devices/:id/push', async (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    views.requireChannel(id);
    const r = await pushes.pushNow(id);
    audit.record(c.get('actor'), { action: 'device.push', target: deviceTarget(id), details: { ok: r.ok } });
    return c.json({
      enrollment_id: id,
      pushed_at: iso(Date.now()),
      ok: r.ok,
      status: r.status ?? null,
      apns_id: r.ok ? r.apnsId : null,
      reason: r.ok ? null : r.reason,
      permanent: r.ok ? false : r.permanent,
      attempts: r.attempts,
    });
  });

  app.delete('/devices/:id', (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    const removed = audit.within(c.get('actor'), () => views.remove(id), (r) => ({ action: 'device.remove', target: deviceTarget(id), details: { cancelled_commands: r.cancelled_commands } }));
    void pushes.tellRemoved(removed.channels);
    const { channels: _, ...shown } = removed;
    return c.json(shown);
  });

  return app;
}

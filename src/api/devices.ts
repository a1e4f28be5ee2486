import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from './auth.ts';
import { DEVICE_PLATFORMS, type DeviceViews } from './device-service.ts';
import { iso, parseWith, readJson } from './http.ts';
import type { DevicePushes } from '../apple/device-pushes.ts';
import type { Audit } from '../audit/service.ts';
import { deviceTarget } from '../audit/targets.ts';
import type { FleetQueries } from '../devices/fleet-queries.ts';
import { MAX_WIPE_REASON, WIPE_DATA_FLAGS, type AndroidWipe } from '../android/wipe.ts';
import { AppError } from '../errors.ts';
import type { AppleWipe } from '../apple/retire.ts';

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

export const wipeBody = z.strictObject({
  /** Without it nothing happens: the answer says what would. */
  confirm: z.boolean().optional(),
  wipe_data_flags: z.array(z.enum(WIPE_DATA_FLAGS)).max(3).optional(),
  /** Shown on a personal device before its work profile goes; Google ignores it on company devices. */
  reason_message: z.string().min(1).max(MAX_WIPE_REASON).optional(),
  /** Apple: the six-digit PIN that unlocks an erased Mac. */
  pin: z.string().optional(),
});

/** `/devices`: the inventory, paged, and one device in full. */
export function deviceRoutes(views: DeviceViews, pushes: DevicePushes, fleet: FleetQueries, wipe: AndroidWipe, appleWipe: AppleWipe, audit: Audit) {
  const app = new Hono<ApiEnv>();

  app.get('/devices', (c) => {
    const q = parseWith(listQuery, c.req.query(), 'query');
    const page = views.list({ limit: q.limit, afterId: q.cursor, platform: q.platform, enrolled: q.enrolled });
    return c.json({ devices: page.devices, next_cursor: page.lastId === null ? null : cursor.encode(page.lastId) });
  });

  app.get('/devices/:id', (c) => c.json(views.any(parseWith(deviceId, c.req.param('id'), 'id')).device));

  // The device's command history, Apple or Android, newest first.
  app.get('/devices/:id/commands', (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    views.any(id);
    const history = fleet.commandHistory(id).map((h) => ({
      command_uuid: h.uuid,
      request_type: h.requestType,
      status: h.status,
      queued_at: iso(h.queuedAt),
      updated_at: iso(h.updatedAt),
      created_by: h.createdBy,
    }));
    return c.json({ commands: history });
  });

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

  // What a wipe would do — erase or retire (Apple), factory reset or work profile removed
  // (Android), by ownership — then, confirmed, the wipe.
  app.get('/devices/:id/wipe', (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    return c.json(views.isAndroid(id) ? wipe.preview(id) : appleWipe.preview(id));
  });
  app.post('/devices/:id/wipe', async (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    const body = await readJson(c, wipeBody);
    const createdBy = `api-token:${c.get('apiToken').id}`;
    if (views.isAndroid(id)) {
      if (body.pin !== undefined) throw new AppError('invalid_request', 'pin: only for erasing a Mac');
      const done = await wipe.wipe({ deviceId: id, confirm: body.confirm === true, wipeDataFlags: body.wipe_data_flags, reasonMessage: body.reason_message, createdBy });
      audit.record(c.get('actor'), { action: 'device.wipe', target: deviceTarget(id), details: { kind: done.effect, command_uuid: done.command_uuid } });
      return c.json({ ...done, wiped: true });
    }
    if (body.wipe_data_flags !== undefined || body.reason_message !== undefined) throw new AppError('invalid_request', 'wipe_data_flags and reason_message are for Android devices');
    const done = audit.within(
      c.get('actor'),
      () => appleWipe.wipe({ deviceId: id, confirm: body.confirm === true, pin: body.pin, createdBy }),
      (d) => ({ action: 'device.wipe', target: deviceTarget(id), details: { kind: d.effect, command_uuids: d.command_uuids } }),
    );
    return c.json({ ...done, queued: true });
  });

  app.delete('/devices/:id', (c) => {
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    if (views.isAndroid(id)) {
      throw new AppError('android_use_wipe', 'an Android device leaves management through devices.delete, which wipes it: GET then POST /devices/:id/wipe', 409);
    }
    const removed = audit.within(c.get('actor'), () => views.remove(id), (r) => ({ action: 'device.remove', target: deviceTarget(id), details: { cancelled_commands: r.cancelled_commands } }));
    void pushes.tellRemoved(removed.channels);
    const { channels: _, ...shown } = removed;
    return c.json(shown);
  });

  return app;
}

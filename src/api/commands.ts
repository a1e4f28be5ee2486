import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from './auth.ts';
import type { AndroidCommands } from '../android/commands.ts';
import type { CommandService } from './command-service.ts';
import { deviceId } from './devices.ts';
import { parseWith, readJson } from './http.ts';
import type { Audit } from '../audit/service.ts';
import { commandEvent, deviceTarget } from '../audit/targets.ts';

const command = {
  request_type: z.string().min(1).max(100),
  params: z.record(z.string(), z.unknown()).optional(),
  priority: z.number().int().min(0).max(100).optional(),
};
/** The per-device route targets that device's channel: naming other targets there is a mistake. */
export const deviceCommandBody = z.strictObject(command);
export const bulkCommandBody = z.strictObject({ ...command, enrollment_ids: z.array(z.string().min(1).max(300)).min(1).max(10_000) });
const commandUuid = z.string().min(1).max(128);

/** `/commands` and `/devices/:id/commands`: queue MDM commands, follow them, cancel them. */
export function commandRoutes(commands: CommandService, android: AndroidCommands, audit: Audit) {
  const app = new Hono<ApiEnv>();
  app.post('/devices/:id/commands', async (c) => {
    const body = await readJson(c, deviceCommandBody);
    const id = parseWith(deviceId, c.req.param('id'), 'id');
    // An Android device: sent through Google now, its Operation followed to done.
    if (android.owns(id)) {
      const sent = await android.send({ deviceId: id, requestType: body.request_type, params: body.params, createdBy: `api-token:${c.get('apiToken').id}` });
      // Sent and answered by Google: the record follows (no transaction spans the call).
      audit.record(c.get('actor'), { action: 'command.send', target: deviceTarget(id), details: { request_type: body.request_type, command_uuid: sent.command_uuid, targets: 1 } });
      return c.json(sent, 201);
    }
    const target = commands.deviceChannel(id);
    const req = { requestType: body.request_type, params: body.params, priority: body.priority, enrollmentIds: [target], createdBy: `api-token:${c.get('apiToken').id}` };
    const uuid = audit.within(c.get('actor'), () => commands.send(req), (uuid) => commandEvent(req, uuid));
    return c.json({ command_uuid: uuid }, 201);
  });

  app.post('/commands', async (c) => {
    const body = await readJson(c, bulkCommandBody);
    const req = { requestType: body.request_type, params: body.params, priority: body.priority, enrollmentIds: body.enrollment_ids, createdBy: `api-token:${c.get('apiToken').id}` };
    const uuid = audit.within(c.get('actor'), () => commands.send(req), (uuid) => commandEvent(req, uuid));
    return c.json({ command_uuid: uuid }, 201);
  });

  app.get('/commands/:uuid', (c) => {
    const uuid = parseWith(commandUuid, c.req.param('uuid'), 'uuid');
    return c.json(android.get(uuid) ?? commands.get(uuid));
  });

  app.delete('/commands/:uuid', (c) => {
    const uuid = parseWith(commandUuid, c.req.param('uuid'), 'uuid');
    const cancelled = audit.within(c.get('actor'), () => commands.cancel(uuid), (n) => ({ action: 'command.cancel', target: { type: 'command', id: uuid }, details: { cancelled: n } }));
    return c.json({ cancelled });
  });

  return app;
}

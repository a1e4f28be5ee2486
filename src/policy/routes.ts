import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, parseWith, readJson } from '../api/http.ts';
import { POLICY_PLATFORMS, PolicyDocument } from './model.ts';
import type { AssignmentRow, GroupRow } from './repo.ts';
import type { AssignmentInput, Policies, PolicyView } from './service.ts';
import type { Audit } from '../audit/service.ts';
import { deviceTarget } from '../audit/targets.ts';

const name = z.string().trim().min(1).max(100);
export const CreateBody = z.strictObject({ name, description: z.string().max(500).nullable().optional(), document: PolicyDocument });
export const UpdateBody = z.strictObject({ name: name.optional(), description: z.string().max(500).nullable().optional(), document: PolicyDocument });
export const PreviewBody = z.strictObject({ document: PolicyDocument });
export const GroupBody = z.strictObject({ name });
const priority = z.number().int().min(-1000).max(1000).default(0);
export const AssignBody = z.discriminatedUnion('target', [
  z.strictObject({ target: z.literal('all'), priority }),
  z.strictObject({ target: z.literal('ownership'), ownership: z.enum(['corporate', 'personal']), priority }),
  z.strictObject({ target: z.literal('platform'), platform: z.enum(POLICY_PLATFORMS), priority }),
  z.strictObject({ target: z.literal('group'), group_id: z.string().min(1), priority }),
]);
export const CompiledQuery = z.strictObject({
  platform: z.enum(POLICY_PLATFORMS),
  ownership: z.enum(['corporate', 'personal']).default('corporate'),
  version: z.coerce.number().int().min(1).optional(),
});

const policyJson = (p: PolicyView) => ({
  id: p.id,
  name: p.name,
  description: p.description,
  version: p.currentVersion,
  document: p.document,
  created_at: iso(p.createdAt),
  updated_at: iso(p.updatedAt),
});
const groupJson = (g: GroupRow) => ({ id: g.id, name: g.name, created_at: iso(g.createdAt) });
export const assignmentJson = (a: AssignmentRow) => ({
  id: a.id,
  policy_id: a.policyId,
  target: a.target,
  ...(a.target === 'ownership' ? { ownership: a.value } : a.target === 'platform' ? { platform: a.value } : a.target === 'group' ? { group_id: a.groupId } : {}),
  priority: a.priority,
  created_at: iso(a.createdAt),
});
const createdBy = (c: { get(k: 'apiToken'): { name: string } }) => `api-token:${c.get('apiToken').name}`;

/** `/api/v1/policies`, `/api/v1/groups`, `/api/v1/devices/:id/effective-policy`. */
export function policyRoutes(policies: Policies, audit: Audit) {
  const app = new Hono<ApiEnv>();
  const policyTarget = (p: { id: string; name: string }) => ({ type: 'policy', id: p.id, label: p.name });
  const groupTarget = (id: string) => ({ type: 'device_group', id, label: policies.group(id).name });

  app.get('/policies', (c) => c.json({ policies: policies.list().map(policyJson) }));
  app.post('/policies', async (c) => {
    const b = await readJson(c, CreateBody);
    const p = audit.within(
      c.get('actor'),
      () => policies.create({ name: b.name, description: b.description ?? null, document: b.document, createdBy: createdBy(c) }),
      (x) => ({ action: 'policy.create', target: policyTarget(x), details: { version: x.currentVersion } }),
    );
    return c.json(policyJson(p), 201);
  });
  app.get('/policies/:id', (c) => c.json(policyJson(policies.get(c.req.param('id')))));
  app.put('/policies/:id', async (c) => {
    const b = await readJson(c, UpdateBody);
    const p = audit.within(
      c.get('actor'),
      () => policies.update(c.req.param('id'), { ...b, createdBy: createdBy(c) }),
      (x) => ({ action: 'policy.update', target: policyTarget(x), details: { version: x.currentVersion } }),
    );
    await policies.enforce('all');
    return c.json(policyJson(p));
  });
  app.delete('/policies/:id', async (c) => {
    const p = policies.get(c.req.param('id'));
    audit.within(c.get('actor'), () => policies.remove(p.id), () => ({ action: 'policy.delete', target: policyTarget(p) }));
    await policies.enforce('all');
    return c.body(null, 204);
  });
  app.get('/policies/:id/versions', (c) =>
    c.json({
      versions: policies
        .versions(c.req.param('id'))
        .map((v) => ({ version: v.version, document: v.parsed, created_by: v.createdBy, created_at: iso(v.createdAt) })),
    }),
  );
  app.post('/policies/:id/preview', async (c) => c.json(policies.preview(c.req.param('id'), (await readJson(c, PreviewBody)).document)));
  app.get('/policies/:id/compiled', (c) => {
    const q = parseWith(CompiledQuery, c.req.query(), 'query');
    return c.json(policies.compiled(c.req.param('id'), q.platform, q.ownership, q.version));
  });

  app.get('/policies/:id/assignments', (c) => c.json({ assignments: policies.assignments(c.req.param('id')).map(assignmentJson) }));
  app.post('/policies/:id/assignments', async (c) => {
    const b = await readJson(c, AssignBody);
    const input: AssignmentInput = b.target === 'group' ? { target: 'group', groupId: b.group_id, priority: b.priority } : b;
    const p = policies.get(c.req.param('id'));
    const a = audit.within(
      c.get('actor'),
      () => policies.assign(p.id, input),
      (x) => ({ action: 'policy.assign', target: policyTarget(p), details: { assignment: x.id, ...assignmentJson(x) } }),
    );
    await policies.enforce('all');
    return c.json(assignmentJson(a), 201);
  });
  app.delete('/policies/:id/assignments/:assignment', async (c) => {
    const p = policies.get(c.req.param('id'));
    const assignment = c.req.param('assignment');
    audit.within(c.get('actor'), () => policies.unassign(p.id, assignment), () => ({ action: 'policy.unassign', target: policyTarget(p), details: { assignment } }));
    await policies.enforce('all');
    return c.body(null, 204);
  });

  app.get('/groups', (c) => c.json({ groups: policies.groups().map(groupJson) }));
  app.post('/groups', async (c) => {
    const { name: groupName } = await readJson(c, GroupBody);
    const g = audit.within(c.get('actor'), () => policies.createGroup(groupName), (x) => ({ action: 'group.create', target: { type: 'device_group', id: x.id, label: x.name } }));
    return c.json(groupJson(g), 201);
  });
  app.get('/groups/:id', (c) => {
    const g = policies.group(c.req.param('id'));
    return c.json({ ...groupJson(g), members: g.members });
  });
  app.delete('/groups/:id', async (c) => {
    const target = groupTarget(c.req.param('id'));
    const members = policies.group(target.id).members;
    audit.within(c.get('actor'), () => policies.removeGroup(target.id), () => ({ action: 'group.delete', target }));
    await policies.enforce({ devices: members });
    return c.body(null, 204);
  });
  app.put('/groups/:id/members/:device', async (c) => {
    const target = groupTarget(c.req.param('id'));
    const device = c.req.param('device');
    const r = audit.within(c.get('actor'), () => policies.addMember(target.id, device), () => ({ action: 'group.member.add', target, details: { device_id: device } }));
    await policies.enforce({ devices: [device] });
    return c.json({ group_id: c.req.param('id'), device_id: c.req.param('device'), added: r.added }, r.added ? 201 : 200);
  });
  app.delete('/groups/:id/members/:device', async (c) => {
    const target = groupTarget(c.req.param('id'));
    const device = c.req.param('device');
    audit.within(c.get('actor'), () => policies.removeMember(target.id, device), () => ({ action: 'group.member.remove', target, details: { device_id: device } }));
    await policies.enforce({ devices: [device] });
    return c.body(null, 204);
  });

  // After the cause of a refusal is fixed: what the device refused is sent again.
  app.post('/devices/:id/enforce', async (c) => {
    const id = c.req.param('id');
    const r = await policies.retry(id);
    audit.record(c.get('actor'), { action: 'device.enforce', target: deviceTarget(id), details: { forgotten_failures: r.forgotten } });
    return c.json({ device_id: id, forgotten_failures: r.forgotten, enforced: r.enforced, enforcement: policies.enforcement(id) });
  });

  app.get('/devices/:id/effective-policy', (c) => {
    const e = policies.effective(c.req.param('id'));
    return c.json({
      device: e.device,
      policy: e.policy && { ...policyJson(e.policy) },
      // Why this policy: the assignment that won under the precedence rule.
      assignment: e.assignment && assignmentJson(e.assignment),
      compiled: e.compiled,
      // What enforcement asked of the device and whether it failed (retried at the next sync).
      enforcement: policies.enforcement(e.device.id),
    });
  });

  return app;
}

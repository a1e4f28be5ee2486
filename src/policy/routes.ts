import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, parseWith, readJson } from '../api/http.ts';
import { POLICY_PLATFORMS, PolicyDocument } from './model.ts';
import type { AssignmentRow, GroupRow } from './repo.ts';
import type { AssignmentInput, Policies, PolicyView } from './service.ts';

const name = z.string().trim().min(1).max(100);
const CreateBody = z.strictObject({ name, description: z.string().max(500).nullable().optional(), document: PolicyDocument });
const UpdateBody = z.strictObject({ name: name.optional(), description: z.string().max(500).nullable().optional(), document: PolicyDocument });
const PreviewBody = z.strictObject({ document: PolicyDocument });
const GroupBody = z.strictObject({ name });
const priority = z.number().int().min(-1000).max(1000).default(0);
const AssignBody = z.discriminatedUnion('target', [
  z.strictObject({ target: z.literal('all'), priority }),
  z.strictObject({ target: z.literal('ownership'), ownership: z.enum(['corporate', 'personal']), priority }),
  z.strictObject({ target: z.literal('platform'), platform: z.enum(POLICY_PLATFORMS), priority }),
  z.strictObject({ target: z.literal('group'), group_id: z.string().min(1), priority }),
]);
const CompiledQuery = z.strictObject({
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
const assignmentJson = (a: AssignmentRow) => ({
  id: a.id,
  policy_id: a.policyId,
  target: a.target,
  ...(a.target === 'ownership' ? { ownership: a.value } : a.target === 'platform' ? { platform: a.value } : a.target === 'group' ? { group_id: a.groupId } : {}),
  priority: a.priority,
  created_at: iso(a.createdAt),
});
const createdBy = (c: { get(k: 'apiToken'): { name: string } }) => `api-token:${c.get('apiToken').name}`;

/** `/api/v1/policies`, `/api/v1/groups`, `/api/v1/devices/:id/effective-policy`. */
export function policyRoutes(policies: Policies) {
  const app = new Hono<ApiEnv>();

  app.get('/policies', (c) => c.json({ policies: policies.list().map(policyJson) }));
  app.post('/policies', async (c) => {
    const b = await readJson(c, CreateBody);
    return c.json(policyJson(policies.create({ name: b.name, description: b.description ?? null, document: b.document, createdBy: createdBy(c) })), 201);
  });
  app.get('/policies/:id', (c) => c.json(policyJson(policies.get(c.req.param('id')))));
  app.put('/policies/:id', async (c) => {
    const b = await readJson(c, UpdateBody);
    return c.json(policyJson(policies.update(c.req.param('id'), { ...b, createdBy: createdBy(c) })));
  });
  app.delete('/policies/:id', (c) => {
    policies.remove(c.req.param('id'));
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
    return c.json(assignmentJson(policies.assign(c.req.param('id'), input)), 201);
  });
  app.delete('/policies/:id/assignments/:assignment', (c) => {
    policies.unassign(c.req.param('id'), c.req.param('assignment'));
    return c.body(null, 204);
  });

  app.get('/groups', (c) => c.json({ groups: policies.groups().map(groupJson) }));
  app.post('/groups', async (c) => c.json(groupJson(policies.createGroup((await readJson(c, GroupBody)).name)), 201));
  app.get('/groups/:id', (c) => {
    const g = policies.group(c.req.param('id'));
    return c.json({ ...groupJson(g), members: g.members });
  });
  app.delete('/groups/:id', (c) => {
    policies.removeGroup(c.req.param('id'));
    return c.body(null, 204);
  });
  app.put('/groups/:id/members/:device', (c) => {
    const r = policies.addMember(c.req.param('id'), c.req.param('device'));
    return c.json({ group_id: c.req.param('id'), device_id: c.req.param('device'), added: r.added }, r.added ? 201 : 200);
  });
  app.delete('/groups/:id/members/:device', (c) => {
    policies.removeMember(c.req.param('id'), c.req.param('device'));
    return c.body(null, 204);
  });

  app.get('/devices/:id/effective-policy', (c) => {
    const e = policies.effective(c.req.param('id'));
    return c.json({
      device: e.device,
      policy: e.policy && { ...policyJson(e.policy) },
      // Why this policy: the assignment that won under the precedence rule.
      assignment: e.assignment && assignmentJson(e.assignment),
      compiled: e.compiled,
    });
  });

  return app;
}

import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Audit } from '../audit/service.ts';
import { AppError, isAppError } from '../errors.ts';
import { POLICY_PLATFORMS } from '../policy/model.ts';
import type { AssignmentRow } from '../policy/repo.ts';
import { CompiledQuery, UpdateBody, assignmentJson } from '../policy/routes.ts';
import type { AssignmentInput, Policies } from '../policy/service.ts';
import { formActions } from './form-action.ts';
import { platformName } from './pages/dashboard.tsx';
import { CompiledPage, PoliciesPage, PolicyPage, PolicyVersionPage } from './pages/policies.tsx';
import { PolicyFormPage, PreviewPage, type EditTarget } from './pages/policy-form.tsx';
import { EMPTY_POLICY_FORM, formValues, parsePolicyForm, valuesOf, type FieldError, type PolicyFormValues } from './policy-form.ts';
import { field, render } from './render.ts';
import type { Guards } from './settings-routes.tsx';
import type { ConsoleEnv } from './session.ts';

const NOTICES: Record<string, string> = {
  created: 'Policy created. Assign it to devices below.',
  saved: 'New version saved: the devices it is in force on get it now.',
  assigned: 'Assigned: the devices it now applies to get it now.',
  unassigned: 'Assignment removed.',
  deleted: 'Policy deleted.',
};

/** The assignment form's one select: `all`, `ownership:corporate`, `platform:ios`, `group:<id>`. */
const assignForm = z.object({
  target: z.union([
    z.literal('all'),
    z.templateLiteral(['ownership:', z.enum(['corporate', 'personal'])]),
    z.templateLiteral(['platform:', z.enum(POLICY_PLATFORMS)]),
    z.templateLiteral(['group:', z.string().min(1)]),
  ], { message: 'choose what to assign the policy to' }),
  priority: z.coerce.number({ message: 'the priority must be a whole number' }).int('the priority must be a whole number').min(-1000, 'the priority is at least −1000').max(1000, 'the priority is at most 1000'),
});

function assignmentInput(target: string, priority: number): AssignmentInput {
  const [kind, value = ''] = target.split(/:(.*)/s) as [string, string?];
  if (kind === 'ownership') return { target: 'ownership', ownership: value as 'corporate' | 'personal', priority };
  if (kind === 'platform') return { target: 'platform', platform: value as (typeof POLICY_PLATFORMS)[number], priority };
  if (kind === 'group') return { target: 'group', groupId: value, priority };
  return { target: 'all', priority };
}

/**
 * `/policies`: list, create, edit with a preview of what changes on the devices first, versions,
 * compiled output, assignments and delete. Every change is audited and enforced as the JSON API's
 * (src/policy/routes.ts): enforcement runs after the change has committed.
 */
export function policyConsoleRoutes(deps: { policies: Policies; audit: Audit }, g: Guards) {
  const { policies, audit } = deps;
  const app = new Hono<ConsoleEnv>();
  const change = [g.signedIn, g.csrf, g.adminOnly] as const;
  const by = (c: Context<ConsoleEnv>) => `admin:${c.get('session').admin.username}`;
  const policyTarget = (p: { id: string; name: string }) => ({ type: 'policy', id: p.id, label: p.name });

  const groupNames = () => new Map(policies.groups().map((x) => [x.id, x.name]));
  const assignmentLabel = (a: AssignmentRow, groups: Map<string, string>) => {
    if (a.target === 'ownership') return a.value === 'personal' ? 'Personal devices' : 'Company devices';
    if (a.target === 'platform') return `${platformName(a.value)} devices`;
    if (a.target === 'group') return `Group ${groups.get(a.groupId ?? '') ?? a.groupId}`;
    return 'All devices';
  };
  /** Devices each policy is in force on now: one pass of the precedence rule over the fleet. */
  const inForce = () => {
    const n = new Map<string, number>();
    for (const t of policies.targets('all')) if (t.policy) n.set(t.policy.ref.id, (n.get(t.policy.ref.id) ?? 0) + 1);
    return n;
  };

  const policyPage = (c: Context<ConsoleEnv>, id: string, o: { notice?: string; error?: string; status?: number } = {}) => {
    const p = policies.get(id);
    const groups = policies.groups();
    const names = new Map(groups.map((x) => [x.id, x.name]));
    return render(
      c,
      <PolicyPage
        session={c.get('session')}
        policy={p}
        versions={policies.versions(id)}
        assignments={policies.assignments(id).map((a) => ({ id: a.id, label: assignmentLabel(a, names), priority: a.priority }))}
        groups={groups}
        devices={inForce().get(id) ?? 0}
        notice={o.notice}
        error={o.error}
      />,
      o.status,
    );
  };
  /** A change from the policy's page: back to it, or its refusal shown there. */
  const onPolicy = (fn: (c: Context<ConsoleEnv>, body: Record<string, unknown>, id: string) => Promise<string> | string) => (c: Context<ConsoleEnv>) => {
    const id = c.req.param('id')!;
    return formActions(`/policies/${id}`, (ctx, o) => policyPage(ctx, id, o))((ctx, body) => fn(ctx, body, id))(c);
  };

  const formPage = (c: Context<ConsoleEnv>, o: { values: PolicyFormValues; errors?: FieldError[]; error?: string; status?: number; edit?: EditTarget }) =>
    render(c, <PolicyFormPage session={c.get('session')} values={o.values} errors={o.errors ?? []} error={o.error} edit={o.edit} />, o.status);
  const editTarget = (id: string): EditTarget => {
    const p = policies.get(id);
    return { id: p.id, name: p.name, version: p.currentVersion };
  };

  app.get('/policies', g.signedIn, (c) => {
    const names = groupNames();
    const counts = inForce();
    const rows = policies.list().map((p) => ({
      id: p.id,
      name: p.name,
      version: p.currentVersion,
      updatedAt: p.updatedAt,
      assignments: policies.assignments(p.id).map((a) => `${assignmentLabel(a, names)} (priority ${a.priority})`),
      devices: counts.get(p.id) ?? 0,
    }));
    return render(c, <PoliciesPage session={c.get('session')} rows={rows} notice={NOTICES[c.req.query('done') ?? '']} />);
  });

  // Before /policies/:id, which would otherwise take "new" for an id.
  app.get('/policies/new', g.signedIn, g.adminOnly, (c) => formPage(c, { values: EMPTY_POLICY_FORM }));

  app.post('/policies', ...change, async (c) => {
    const values = formValues(await c.req.parseBody());
    const parsed = parsePolicyForm(values);
    if (!parsed.ok) return formPage(c, { values, errors: parsed.errors, status: 400 });
    try {
      const p = audit.within(
        g.actor(c),
        () => policies.create({ name: parsed.name, description: parsed.description, document: parsed.document, createdBy: by(c) }),
        (x) => ({ action: 'policy.create', target: policyTarget(x), details: { version: x.currentVersion } }),
      );
      return c.redirect(`/policies/${p.id}?done=created`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return formPage(c, { values, error: e.message, status: e.status });
    }
  });

  app.get('/policies/:id', g.signedIn, (c) => policyPage(c, c.req.param('id'), { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.get('/policies/:id/edit', g.signedIn, g.adminOnly, (c) => {
    const p = policies.get(c.req.param('id'));
    return formPage(c, { values: valuesOf(p), edit: editTarget(p.id) });
  });

  // Changes nothing, but only admins may save what it shows: it is a step of editing.
  app.post('/policies/:id/preview', ...change, async (c) => {
    const edit = editTarget(c.req.param('id'));
    const values = formValues(await c.req.parseBody());
    const parsed = parsePolicyForm(values);
    if (!parsed.ok) return formPage(c, { values, errors: parsed.errors, status: 400, edit });
    const preview = policies.preview(edit.id, parsed.document);
    const saved = { name: parsed.name, description: parsed.description, document: parsed.document };
    return render(c, <PreviewPage session={c.get('session')} edit={edit} preview={preview} saved={saved} values={values} />);
  });

  /** From the preview (the previewed document, as JSON) or straight from the form. */
  app.post('/policies/:id/versions', ...change, async (c) => {
    const edit = editTarget(c.req.param('id'));
    const body = await c.req.parseBody();
    let values: PolicyFormValues;
    let input: { name: string; description: string | null; document: z.output<typeof UpdateBody>['document'] };
    const json = field(body, 'document_json');
    if (json) {
      let raw: unknown;
      try {
        raw = JSON.parse(json);
      } catch {
        throw new AppError('invalid_request', 'The previewed policy did not come back intact: preview it again.');
      }
      const r = UpdateBody.safeParse(raw);
      if (!r.success) throw new AppError('invalid_request', 'The previewed policy did not come back intact: preview it again.');
      input = { name: r.data.name ?? edit.name, description: r.data.description ?? null, document: r.data.document };
      values = valuesOf(input);
    } else {
      values = formValues(body);
      const parsed = parsePolicyForm(values);
      if (!parsed.ok) return formPage(c, { values, errors: parsed.errors, status: 400, edit });
      input = parsed;
    }
    // What was previewed (or edited) was against this version: a save over someone else's is refused.
    if (field(body, 'from_version') !== String(edit.version)) {
      return formPage(c, { values, edit, status: 409, error: `The policy has changed since (it is now version ${edit.version}): preview your changes again against it before saving.` });
    }
    try {
      audit.within(
        g.actor(c),
        () => policies.update(edit.id, { ...input, createdBy: by(c) }),
        (x) => ({ action: 'policy.update', target: policyTarget(x), details: { version: x.currentVersion } }),
      );
    } catch (e) {
      if (!isAppError(e)) throw e;
      return formPage(c, { values, edit, error: e.message, status: e.status });
    }
    await policies.enforce('all');
    return c.redirect(`/policies/${edit.id}?done=saved`, 303);
  });

  app.get('/policies/:id/versions/:version', g.signedIn, (c) => {
    const p = policies.get(c.req.param('id'));
    const v = policies.versions(p.id).find((x) => String(x.version) === c.req.param('version'));
    if (!v) throw new AppError('policy_version_not_found', `${p.name} has no version ${c.req.param('version')}.`, 404);
    return render(c, <PolicyVersionPage session={c.get('session')} policy={p} version={v} document={v.parsed} />);
  });

  app.get('/policies/:id/compiled', g.signedIn, (c) => {
    const p = policies.get(c.req.param('id'));
    const q = CompiledQuery.safeParse({ platform: 'ios', ...c.req.query() });
    if (!q.success) throw new AppError('invalid_request', `${String(q.error.issues[0]?.path[0] ?? 'query')}: ${q.error.issues[0]?.message}`);
    const compiled = policies.compiled(p.id, q.data.platform, q.data.ownership, q.data.version);
    const versions = policies.versions(p.id).map((v) => v.version);
    return render(c, <CompiledPage session={c.get('session')} policy={p} compiled={compiled} versions={versions} />);
  });

  app.post(
    '/policies/:id/assignments',
    ...change,
    onPolicy(async (c, body, id) => {
      const r = assignForm.safeParse({ target: field(body, 'target'), priority: field(body, 'priority').trim() || '0' });
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]?.message ?? 'invalid assignment');
      const p = policies.get(id);
      audit.within(
        g.actor(c),
        () => policies.assign(p.id, assignmentInput(r.data.target, r.data.priority)),
        (x) => ({ action: 'policy.assign', target: policyTarget(p), details: { assignment: x.id, ...assignmentJson(x) } }),
      );
      await policies.enforce('all');
      return 'assigned';
    }),
  );

  app.post(
    '/policies/:id/assignments/:assignment/remove',
    ...change,
    onPolicy(async (c, _body, id) => {
      const p = policies.get(id);
      const assignment = c.req.param('assignment')!;
      audit.within(g.actor(c), () => policies.unassign(p.id, assignment), () => ({ action: 'policy.unassign', target: policyTarget(p), details: { assignment } }));
      await policies.enforce('all');
      return 'unassigned';
    }),
  );

  app.post(
    '/policies/:id/delete',
    ...change,
    onPolicy(async (c, body, id) => {
      const p = policies.get(id);
      if (field(body, 'confirm').trim() !== p.name) throw new AppError('confirmation_mismatch', `Type the policy's name, ${p.name}, to delete it. Nothing was deleted.`);
      audit.within(g.actor(c), () => policies.remove(p.id), () => ({ action: 'policy.delete', target: policyTarget(p) }));
      await policies.enforce('all');
      return '/policies?done=deleted';
    }),
  );

  return app;
}

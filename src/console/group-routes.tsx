import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Audit } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import type { Policies } from '../policy/service.ts';
import { formActions } from './form-action.ts';
import { GroupPage, GroupsPage } from './pages/groups.tsx';
import { field, render } from './render.ts';
import type { Guards } from './settings-routes.tsx';
import type { ConsoleEnv } from './session.ts';

const NOTICES: Record<string, string> = {
  created: 'Group created. Add devices to it, and assign a policy to it from the policy\'s page.',
  added: 'Device added: its policy is brought up to date now.',
  already: 'That device is in the group already.',
  removed: 'Device removed from the group: its policy is brought up to date now.',
  deleted: 'Group deleted.',
};

const groupName = z.string().trim().min(1, 'the group needs a name').max(100, 'a group name is at most 100 characters');

/**
 * `/groups`: admin-made device groups, their members added by device id and removed, deleted with
 * the name typed back. Audited and enforced as the JSON API's (src/policy/routes.ts): only the
 * devices a change moves are enforced.
 */
const groupTarget = (x: { id: string; name: string }) => ({ type: 'device_group', id: x.id, label: x.name });

/**
 * A device into or out of a group, from the group's page or the device's: audited, then the
 * device enforced (the group's policy may now win, or stop winning).
 */
export function groupMembership(deps: { policies: Policies; audit: Audit }, actor: Guards['actor']) {
  const { policies, audit } = deps;
  return {
    async add(c: Context<ConsoleEnv>, groupId: string, deviceId: string): Promise<{ added: boolean }> {
      const group = policies.group(groupId);
      const r = audit.within(actor(c), () => policies.addMember(group.id, deviceId), () => ({ action: 'group.member.add', target: groupTarget(group), details: { device_id: deviceId } }));
      await policies.enforce({ devices: [deviceId] });
      return r;
    },
    async remove(c: Context<ConsoleEnv>, groupId: string, deviceId: string): Promise<void> {
      const group = policies.group(groupId);
      audit.within(actor(c), () => policies.removeMember(group.id, deviceId), () => ({ action: 'group.member.remove', target: groupTarget(group), details: { device_id: deviceId } }));
      await policies.enforce({ devices: [deviceId] });
    },
  };
}

export function groupConsoleRoutes(deps: { policies: Policies; audit: Audit; deviceName: (id: string) => string | null }, g: Guards) {
  const { policies, audit } = deps;
  const app = new Hono<ConsoleEnv>();
  const change = [g.signedIn, g.csrf, g.adminOnly] as const;
  const membership = groupMembership(deps, g.actor);

  const listPage = (c: Context<ConsoleEnv>, o: { notice?: string; error?: string; status?: number; typedName?: string } = {}) => {
    const groups = policies.groups().map((x) => ({ id: x.id, name: x.name, createdAt: x.createdAt, members: policies.group(x.id).members.length }));
    return render(c, <GroupsPage session={c.get('session')} groups={groups} notice={o.notice} error={o.error} typedName={o.typedName} />, o.status);
  };
  const groupPage = (c: Context<ConsoleEnv>, id: string, o: { notice?: string; error?: string; status?: number } = {}) => {
    const group = policies.group(id);
    // Which policies target the group: from every policy's assignments, as the list shows them.
    const assigned = policies.list().filter((p) => policies.assignments(p.id).some((a) => a.groupId === id));
    const members = group.members.map((m) => ({ id: m, name: deps.deviceName(m) }));
    return render(c, <GroupPage session={c.get('session')} group={group} members={members} policies={assigned} notice={o.notice} error={o.error} />, o.status);
  };
  const onGroup = (fn: (c: Context<ConsoleEnv>, body: Record<string, unknown>, id: string) => Promise<string> | string) => (c: Context<ConsoleEnv>) => {
    const id = c.req.param('id')!;
    return formActions(`/groups/${id}`, (ctx, o) => groupPage(ctx, id, o))((ctx, body) => fn(ctx, body, id))(c);
  };

  app.get('/groups', g.signedIn, (c) => listPage(c, { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post('/groups', ...change, async (c) => {
    const typed = field(await c.req.parseBody(), 'name');
    return formActions('/groups', (ctx, o) => listPage(ctx, { ...o, typedName: typed }))((ctx) => {
      const r = groupName.safeParse(typed);
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]!.message);
      const created = audit.within(g.actor(ctx), () => policies.createGroup(r.data), (x) => ({ action: 'group.create', target: groupTarget(x) }));
      return `/groups/${created.id}?done=created`;
    })(c);
  });

  app.get('/groups/:id', g.signedIn, (c) => groupPage(c, c.req.param('id'), { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post(
    '/groups/:id/members',
    ...change,
    onGroup(async (c, body, id) => {
      const device = field(body, 'device_id').trim();
      if (!device) throw new AppError('invalid_request', 'Type the id of the device to add.');
      return (await membership.add(c, id, device)).added ? 'added' : 'already';
    }),
  );

  app.post(
    '/groups/:id/members/:device/remove',
    ...change,
    onGroup(async (c, _body, id) => {
      await membership.remove(c, id, c.req.param('device')!);
      return 'removed';
    }),
  );

  app.post(
    '/groups/:id/delete',
    ...change,
    onGroup(async (c, body, id) => {
      const group = policies.group(id);
      if (field(body, 'confirm').trim() !== group.name) throw new AppError('confirmation_mismatch', `Type the group's name, ${group.name}, to delete it. Nothing was deleted.`);
      audit.within(g.actor(c), () => policies.removeGroup(group.id), () => ({ action: 'group.delete', target: groupTarget(group) }));
      await policies.enforce({ devices: group.members });
      return '/groups?done=deleted';
    }),
  );

  return app;
}

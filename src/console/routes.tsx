import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Admins } from '../admins/service.ts';
import type { CommandService } from '../api/command-service.ts';
import { DEVICE_PLATFORMS, type DeviceViews } from '../api/device-service.ts';
import type { DeviceActions } from '../apple/device-actions.ts';
import type { EnrollmentLinks } from '../apple/enrollment-links.ts';
import type { ApiTokens } from '../auth/api-tokens.ts';
import { auditFilters } from '../audit/query.ts';
import type { Actor, Audit } from '../audit/service.ts';
import { deviceTarget } from '../audit/targets.ts';
import type { FleetQueries } from '../devices/fleet-queries.ts';
import { COMPLIANCE_STATES, SORT_KEYS, decodeCursor, encodeCursor } from '../devices/fleet-sort.ts';
import { DEVICE_QUERIES } from '../apple/inventory-commands.ts';
import { AppError, isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { expiryOf } from '../push/expiry.ts';
import type { PushCertificates } from '../push/service.ts';
import { serveAsset } from './assets.ts';
import { field, render } from './render.ts';
import { settingsRoutes } from './settings-routes.tsx';
import { ErrorPage } from './layout.tsx';
import { AuditPage, AuditResults, type AuditForm } from './pages/audit.tsx';
import { DashboardPage, type DashboardData } from './pages/dashboard.tsx';
import { AndroidDevicePage } from './pages/android-device.tsx';
import { androidConsoleRoutes } from './android-routes.tsx';
import { policyConsoleRoutes } from './policy-routes.tsx';
import { groupConsoleRoutes, groupMembership } from './group-routes.tsx';
import { appConsoleRoutes } from './app-routes.tsx';
import type { Policies } from '../policy/service.ts';
import type { AppCatalog } from '../apps/catalog.ts';
import type { AndroidEnterprise } from '../android/service.ts';
import type { AndroidCommands } from '../android/commands.ts';
import type { AndroidWipe, WipePlan } from '../android/wipe.ts';
import { DevicePage } from './pages/device.tsx';
import type { PolicyPanelView } from './pages/policy-panel.tsx';
import type { Compliance } from '../compliance/service.ts';
import { DeviceResults, DevicesPage, SortFields, type DeviceFilters } from './pages/devices.tsx';
import { EnrollmentPage, LINK_TTLS, type EnrollmentForm } from './pages/enrollment.tsx';
import { LoginCodePage, LoginPage, SetupPage } from './pages/login.tsx';
import { TwoFactorPage } from './pages/two-factor.tsx';
import { qrSvg } from './qr.ts';
import { clientAddress, currentSession, endSession, requireAdmin, requireCsrf, requireSession, sameOrigin, startSession, type ConsoleEnv } from './session.ts';

export interface ConsoleDeps {
  admins: Admins;
  views: DeviceViews;
  fleet: FleetQueries;
  commands: CommandService;
  androidCommands: AndroidCommands;
  androidWipe: AndroidWipe;
  android: AndroidEnterprise;
  push: PushCertificates;
  links: EnrollmentLinks;
  apiTokens: ApiTokens;
  audit: Audit;
  actions: DeviceActions;
  compliance: Compliance;
  policies: Policies;
  catalog: AppCatalog;
  /** Pushes removed channels once more, so the devices hear at once that they are out. */
  tellRemoved: (channels: string[]) => void;
  /** The appliance CA's expiry (ms) and SHA-256 fingerprint (hex). */
  caNotAfter: () => number;
  caFingerprint: () => string;
  /** The HTTPS listener's certificate, null without HTTPS. */
  tls: () => { certPem: string; ownCa: boolean } | null;
  publicUrl: string;
  organization: string;
  trustedProxies: string[];
  log: Logger;
  now?: () => number;
}

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;


/** Only paths on this site: `next` must not send a fresh sign-in elsewhere. */
const safeNext = (next: string | undefined) => (next && /^\/(?![/\\])/.test(next) ? next : '/');

const filtersSchema = z.object({
  q: z.string().max(100).catch(''),
  platform: z.enum(['', ...DEVICE_PLATFORMS]).catch(''),
  enrolled: z.enum(['', 'true', 'false']).catch(''),
  ownership: z.enum(['', 'corporate', 'personal']).catch(''),
  seen: z.enum(['', '1d', '7d', 'not30d']).catch(''),
  compliance: z.enum(['', ...COMPLIANCE_STATES]).catch(''),
  after: z.string().max(400).catch(''),
});

/** Unlike the filters, a sort the list does not have is refused: a page in another order than asked would mislead. */
const sortSchema = z.object({
  sort: z.enum(['', ...SORT_KEYS], { message: `sort must be one of ${SORT_KEYS.join(', ')}` }).default(''),
  dir: z.enum(['asc', 'desc'], { message: 'dir must be asc or desc' }).default('asc'),
});

const lockForm = z.object({
  message: z.string().trim().max(200, 'the message must be at most 200 characters'),
  phone: z
    .string()
    .trim()
    .max(50)
    .regex(/^[0-9+()\-. ]*$/, 'the phone number may hold only digits, spaces and + ( ) - .'),
});

const lostModeForm = z.object({
  message: z.string().trim().max(200, 'the message must be at most 200 characters'),
  phone: lockForm.shape.phone,
  footnote: z.string().trim().max(200, 'the footnote must be at most 200 characters'),
});

const TWO_FACTOR_NOTICES: Record<string, string> = {
  on: 'Two-factor authentication is on: the next sign-in asks for a code.',
  off: 'Two-factor authentication is off.',
};

const NOTICES: Record<string, string> = {
  lock: 'Lock queued. The device is pushed now and locks when it checks in.',
  inventory: 'Inventory refresh queued. The device is pushed now and answers when it checks in.',
  restart: 'Restart queued. The device is pushed now and restarts when it checks in.',
  passcode: 'Clear passcode queued. The device is pushed now; its passcode is removed when it checks in.',
  'lost-on': 'Lost mode queued. The device is pushed now and shows your message when it checks in.',
  'lost-off': 'Leaving lost mode queued. The device is pushed now.',
  erase: 'Erase queued. The device is pushed now and erases itself when it checks in.',
  retire: 'Retire queued. The device is pushed now; at its next check-in it removes our profiles and then the MDM profile, with the managed apps and their data, and nothing else.',
  removed: 'The device is out of management: at its next check-in it removes this appliance\'s profile and everything installed through it.',
  'android-command': 'Command sent through Google. The device runs it when it next checks in; the history shows when it is done.',
  wipe: 'Wiped through Google: the device has left management.',
  enforced: 'What the device refused is sent again; it is pushed now.',
  'group-added': 'Added to the group; the policy it now gets is on its way.',
  'group-removed': 'Taken out of the group; the policy it now gets is on its way.',
};

/** The web console: login, first-admin setup, dashboard, devices. Mounted at `/`. */
export function consoleRoutes(deps: ConsoleDeps) {
  const { admins, log } = deps;
  const now = deps.now ?? Date.now;
  const app = new Hono<ConsoleEnv>();

  const refused = (c: Context, status: 401 | 403, message: string) =>
    render(c, <ErrorPage title={status === 403 ? 'Forbidden' : 'Sign in required'} message={message} session={currentSession(c, admins)} />, status);
  const signedIn = requireSession(admins, refused);
  const adminActor = (c: Context, a: { id: string; username: string }): Actor => ({ kind: 'admin', id: a.id, name: a.username, address: clientAddress(c, deps.trustedProxies) });
  /** The signed-in admin, as the audit log records them. */
  const actor = (c: Context<ConsoleEnv>) => adminActor(c, c.get('session').admin);
  const adminTarget = (a: { id: string; username: string }) => ({ type: 'admin', id: a.id, label: a.username });
  /** A wrong password or code, or a throttled one: the name typed is recorded (no admin may have it), never the password. */
  const loginFailed = (c: Context, typed: string | null, e: { code: string }) => {
    if (e.code !== 'login_failed' && e.code !== 'login_throttled') return;
    const name = typed === null ? '(second step)' : typed.trim().toLowerCase().slice(0, 200) || '(empty)';
    deps.audit.record({ kind: 'admin', id: null, name, address: clientAddress(c, deps.trustedProxies) }, { action: 'admin.login.failed', details: { reason: e.code } });
  };
  const csrf = requireCsrf(refused);
  const adminOnly = requireAdmin(refused);

  app.onError((err, c) => {
    const session = c.get('session') ?? null;
    if (isAppError(err)) return render(c, <ErrorPage title="Something is not right" message={err.message} session={session} />, err.status);
    log.error({ err, method: c.req.method, path: c.req.path }, 'console: unhandled error');
    return render(c, <ErrorPage title="Internal error" message="Something went wrong on the appliance; the details are in its log." session={session} />, 500);
  });

  app.get('/assets/:file', (c) => serveAsset(c) ?? notFoundPage(c, admins));

  app.get('/login', (c) => {
    if (currentSession(c, admins)) return c.redirect(safeNext(c.req.query('next')), 303);
    if (admins.needsSetup()) return render(c, <ErrorPage title="No admin yet" message="This appliance has no admin yet: open the setup URL from the server's log, or run mdm admin create." session={null} />, 409);
    return render(c, <LoginPage next={safeNext(c.req.query('next'))} />);
  });

  app.post('/login', async (c) => {
    if (!sameOrigin(c)) return refused(c, 403, 'This request came from another site and was refused.');
    const body = await c.req.parseBody();
    const next = safeNext(field(body, 'next'));
    const username = field(body, 'username');
    try {
      const s = await admins.login(username, field(body, 'password'), clientAddress(c, deps.trustedProxies));
      if ('challenge' in s) return render(c, <LoginCodePage challenge={s.challenge} next={next} />);
      startSession(c, s, deps.trustedProxies);
      deps.audit.record(adminActor(c, s.admin), { action: 'admin.login', target: adminTarget(s.admin) });
      return c.redirect(next, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      loginFailed(c, username, e);
      return render(c, <LoginPage next={next} username={username} error={e.message} />, e.status);
    }
  });

  app.post('/login/two-factor', async (c) => {
    // No session to carry a CSRF token yet: the challenge, known only to this browser, stands in for it.
    if (!sameOrigin(c)) return refused(c, 403, 'This request came from another site and was refused.');
    const body = await c.req.parseBody();
    const next = safeNext(field(body, 'next'));
    const challenge = field(body, 'challenge');
    try {
      const s = admins.loginCode(challenge, field(body, 'code'), clientAddress(c, deps.trustedProxies));
      startSession(c, s, deps.trustedProxies);
      deps.audit.record(adminActor(c, s.admin), { action: 'admin.login', target: adminTarget(s.admin), details: { two_factor: true } });
      return c.redirect(next, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      loginFailed(c, null, e);
      if (e.code === 'login_expired') return render(c, <LoginPage next={next} error={e.message} />, e.status);
      return render(c, <LoginCodePage challenge={challenge} next={next} error={e.message} />, e.status);
    }
  });

  app.get('/setup', (c) => {
    const token = c.req.query('token') ?? '';
    if (!admins.setupTokenValid(token)) {
      return render(c, <ErrorPage title="Setup" message="This setup link is not valid: it was used, it expired, or an admin exists already. Restart the server while there is no admin to log a new one, or use mdm admin create." session={null} />, 410);
    }
    return render(c, <SetupPage token={token} />);
  });

  app.post('/setup', async (c) => {
    if (!sameOrigin(c)) return refused(c, 403, 'This request came from another site and was refused.');
    const body = await c.req.parseBody();
    const token = field(body, 'token');
    const username = field(body, 'username');
    const again = (error: string, status: number) => render(c, <SetupPage token={token} username={username} error={error} />, status);
    if (field(body, 'password') !== field(body, 'confirm')) return again('The two passwords differ.', 400);
    try {
      const s = await admins.completeSetup(token, { username, password: field(body, 'password') });
      startSession(c, s, deps.trustedProxies);
      deps.audit.record(adminActor(c, s.admin), { action: 'admin.create', target: adminTarget(s.admin), details: { role: s.admin.role, setup: true } });
      return c.redirect('/', 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      if (e.code === 'invalid_request') return again(e.message, e.status);
      return render(c, <ErrorPage title="Setup" message={e.message} session={null} />, e.status);
    }
  });

  app.post('/logout', signedIn, csrf, (c) => {
    endSession(c, admins);
    return c.redirect('/login', 303);
  });

  app.get('/', signedIn, (c) => {
    const s = deps.fleet.summary(now() - WEEK_MS);
    const byPlatform = new Map<string, DashboardData['platforms'][number]>();
    for (const r of s.rows) {
      const key = r.platform ?? 'unknown';
      const p = byPlatform.get(key) ?? { platform: key, enrolled: 0, pending: 0, unenrolled: 0, compliant: 0, noncompliant: 0, unknown: 0 };
      if (r.status === 'enrolled') p.enrolled += r.n;
      else if (r.status === 'unenrolled' || r.status === 'removed') p.unenrolled += r.n;
      else p.pending += r.n;
      byPlatform.set(key, p);
    }
    for (const r of s.compliance) {
      const p = byPlatform.get(r.platform);
      if (p) p[r.state] += r.n;
    }
    const push = deps.push.status();
    const data: DashboardData = {
      platforms: [...byPlatform.values()].sort((a, b) => a.platform.localeCompare(b.platform)),
      enrolledLast7Days: s.enrolledSince,
      androidBound: deps.android.enterprise() !== null,
      push: push && { state: push.state, daysLeft: push.daysLeft, topic: push.topic },
      ca: expiryOf(deps.caNotAfter(), now()),
    };
    return render(c, <DashboardPage session={c.get('session')} data={data} />);
  });

  app.get('/devices', signedIn, (c) => {
    const sorting = sortSchema.safeParse(c.req.query());
    if (!sorting.success) throw new AppError('invalid_request', sorting.error.issues[0]!.message);
    const filters: DeviceFilters = { ...(filtersSchema.parse(c.req.query()) as Omit<DeviceFilters, 'sort' | 'dir'>), ...sorting.data };
    const sort = filters.sort || undefined;
    const cursor = filters.after && sort ? decodeCursor(filters.after, sort) : null;
    // One row more than shown tells whether a next page exists, without counting.
    const rows = deps.fleet.search({
      q: filters.q,
      platform: filters.platform || undefined,
      enrolled: filters.enrolled === '' ? undefined : filters.enrolled === 'true',
      ownership: filters.ownership || undefined,
      ...(filters.seen === '1d' ? { seenSince: now() - DAY_MS } : filters.seen === '7d' ? { seenSince: now() - WEEK_MS } : filters.seen === 'not30d' ? { notSeenSince: now() - 30 * DAY_MS } : {}),
      compliance: filters.compliance || undefined,
      sort,
      dir: filters.dir,
      ...(cursor ? { afterId: cursor.id, afterKey: cursor.key } : { afterId: filters.after || undefined }),
      limit: PAGE_SIZE + 1,
    });
    const page = rows.slice(0, PAGE_SIZE);
    const last = rows.length > PAGE_SIZE ? page[page.length - 1]! : null;
    // Unsorted, the id alone places the next page, as before sorting existed.
    const nextAfter = last && (sort ? encodeCursor({ key: last.sortKey, id: last.id }) : last.id);
    // htmx asks for the results alone; a full load (no JavaScript, a reload, history) gets the page.
    if (c.req.header('hx-request') === 'true' && c.req.header('hx-target') === 'results' && c.req.header('hx-history-restore-request') !== 'true') {
      return render(
        c,
        <>
          <DeviceResults filters={filters} rows={page} nextAfter={nextAfter} />
          <SortFields filters={filters} oob />
        </>,
      );
    }
    return render(c, <DevicesPage session={c.get('session')} filters={filters} rows={page} nextAfter={nextAfter} />);
  });

  const devicePage = (c: Context<ConsoleEnv>, id: string, o: { notice?: string; error?: string; status?: number; confirmWipe?: WipePlan } = {}) => {
    const found = deps.views.any(id);
    const history = deps.fleet.commandHistory(id);
    const compliance = deps.compliance.get(id, { limit: 5 });
    const groups = { deviceId: id, member: deps.policies.groupsOf(id), all: deps.policies.groups() };
    if (found.platform === 'android') {
      const page = (
        <AndroidDevicePage session={c.get('session')} device={found.device} history={history} compliance={compliance} groups={groups} notice={o.notice} error={o.error} confirmWipe={o.confirmWipe} />
      );
      return render(c, page, o.status);
    }
    const device = found.device;
    // What each action would meet, worked out only for those who may take them.
    const available = c.get('session').admin.role === 'admin' && device.enrollment_status === 'enrolled' ? deps.actions.availability(id) : null;
    const enforcement = deps.policies.enforcement(id) as { apple?: PolicyPanelView['profiles']; apple_apps?: PolicyPanelView['apps'] };
    const policy = { policy: deps.policies.targets({ devices: [id] })[0]?.policy?.ref ?? null, profiles: enforcement.apple ?? [], apps: enforcement.apple_apps ?? [] };
    return render(c, <DevicePage session={c.get('session')} device={device} available={available} history={history} compliance={compliance} policy={policy} groups={groups} notice={o.notice} error={o.error} />, o.status);
  };

  app.get('/devices/:id', signedIn, (c) => devicePage(c, c.req.param('id'), { notice: NOTICES[c.req.query('queued') ?? ''] }));

  /** Runs an action; its AppErrors (not enrolled, a lock already pending...) are shown on the device page. */
  const action = (run: (c: Context<ConsoleEnv>, id: string, body: Record<string, unknown>, label: string | null) => string | Promise<string>) => async (c: Context<ConsoleEnv>) => {
    const id = c.req.param('id')!;
    const label = deps.views.any(id).device.device_name;
    const body = await c.req.parseBody();
    try {
      const notice = await run(c, id, body, label);
      return c.redirect(`/devices/${encodeURIComponent(id)}?queued=${notice}`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return devicePage(c, id, { error: e.message, status: e.status });
    }
  };
  const by = (c: Context<ConsoleEnv>) => `admin:${c.get('session').admin.username}`;

  // What the device refused, sent again once the admin has fixed the cause.
  app.post(
    '/devices/:id/enforce',
    signedIn,
    csrf,
    adminOnly,
    action(async (c, id, _body, label) => {
      const r = await deps.policies.retry(id);
      deps.audit.record(actor(c), { action: 'device.enforce', target: deviceTarget(id, label), details: { forgotten_failures: r.forgotten } });
      return 'enforced';
    }),
  );

  // A device into or out of a group from its page, as the group's page does it.
  const membership = groupMembership({ policies: deps.policies, audit: deps.audit }, actor);
  app.post(
    '/devices/:id/groups',
    signedIn,
    csrf,
    adminOnly,
    action(async (c, id, body) => {
      const groupId = field(body, 'group_id');
      if (!groupId) throw new AppError('invalid_request', 'Pick the group to add the device to.');
      await membership.add(c, groupId, id);
      return 'group-added';
    }),
  );
  app.post(
    '/devices/:id/groups/:group/remove',
    signedIn,
    csrf,
    adminOnly,
    action(async (c, id) => {
      await membership.remove(c, c.req.param('group')!, id);
      return 'group-removed';
    }),
  );

  app.post(
    '/devices/:id/lock',
    signedIn,
    csrf,
    adminOnly,
    action((c, id, body, label) => {
      const r = lockForm.safeParse({ message: field(body, 'message'), phone: field(body, 'phone') });
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]?.message ?? 'invalid lock request');
      const params = { ...(r.data.message ? { Message: r.data.message } : {}), ...(r.data.phone ? { PhoneNumber: r.data.phone } : {}) };
      const uuid = deps.audit.within(
        actor(c),
        () => deps.commands.send({ requestType: 'DeviceLock', params, enrollmentIds: [deps.commands.deviceChannel(id)], createdBy: by(c) }),
        (uuid) => ({ action: 'device.lock', target: deviceTarget(id, label), details: { command_uuid: uuid } }),
      );
      log.info({ device: id, command: uuid, by: by(c) }, 'console: lock queued');
      return 'lock';
    }),
  );

  app.post(
    '/devices/:id/android-command',
    signedIn,
    csrf,
    adminOnly,
    action(async (c, id, body, label) => {
      const sent = await deps.androidCommands.send({ deviceId: id, requestType: field(body, 'type'), createdBy: by(c) });
      deps.audit.record(actor(c), { action: 'command.send', target: deviceTarget(id, label), details: { request_type: sent.request_type, command_uuid: sent.command_uuid } });
      log.info({ device: id, command: sent.command_uuid, type: sent.request_type, by: by(c) }, 'console: Android command sent');
      return 'android-command';
    }),
  );

  app.post(
    '/devices/:id/refresh-inventory',
    signedIn,
    csrf,
    adminOnly,
    action((c, id, _body, label) => {
      const target = [deps.commands.deviceChannel(id)];
      const requests: Array<[string, Record<string, unknown>]> = [
        ['DeviceInformation', { Queries: DEVICE_QUERIES }],
        ['SecurityInfo', {}],
        ['InstalledApplicationList', { ManagedAppsOnly: false }],
        ['ProfileList', {}],
        ['CertificateList', {}],
      ];
      deps.audit.within(
        actor(c),
        () => requests.map(([requestType, params]) => deps.commands.send({ requestType, params, enrollmentIds: target, createdBy: by(c) })),
        (uuids) => ({ action: 'device.inventory.refresh', target: deviceTarget(id, label), details: { command_uuids: uuids } }),
      );
      log.info({ device: id, by: by(c) }, 'console: inventory refresh queued');
      return 'inventory';
    }),
  );

  /** A device action queued through the device actions service, recorded with the command it queued. */
  const queued = (name: string, notice: string, send: (c: Context<ConsoleEnv>, id: string, body: Record<string, unknown>) => string) =>
    action((c, id, body, label) => {
      deps.audit.within(actor(c), () => send(c, id, body), (uuid) => ({ action: name, target: deviceTarget(id, label), details: { command_uuid: uuid } }));
      return notice;
    });

  app.post('/devices/:id/restart', signedIn, csrf, adminOnly, queued('device.restart', 'restart', (c, id) => deps.actions.restart(id, by(c))));

  app.post('/devices/:id/clear-passcode', signedIn, csrf, adminOnly, queued('device.passcode.clear', 'passcode', (c, id) => deps.actions.clearPasscode(id, by(c))));

  app.post(
    '/devices/:id/lost-mode',
    signedIn,
    csrf,
    adminOnly,
    queued('device.lost_mode.enable', 'lost-on', (c, id, body) => {
      const r = lostModeForm.safeParse({ message: field(body, 'message'), phone: field(body, 'phone'), footnote: field(body, 'footnote') });
      if (!r.success) throw new AppError('invalid_request', r.error.issues[0]?.message ?? 'invalid lost mode request');
      return deps.actions.enableLostMode(id, r.data, by(c));
    }),
  );

  app.post('/devices/:id/lost-mode/disable', signedIn, csrf, adminOnly, queued('device.lost_mode.disable', 'lost-off', (c, id) => deps.actions.disableLostMode(id, by(c))));

  /** Apple: the device's name typed back, then EraseDevice, or for a personal device a retire. */
  const appleWipe = action((c, id, body, label) => {
    const done = deps.audit.within(
      actor(c),
      () => deps.actions.wipe(id, { confirm: field(body, 'confirm'), pin: field(body, 'pin').trim() }, by(c)),
      (r) => ({
        action: 'device.wipe',
        target: deviceTarget(id, label),
        details: r.kind === 'erase' ? { kind: 'erase', command_uuid: r.commandUuid } : { kind: 'retire', command_uuids: r.commandUuids },
      }),
    );
    return done.kind;
  });

  /** Android: first what the wipe will do, on the device page; then, confirmed, the wipe through Google. */
  const androidWipe = async (c: Context<ConsoleEnv>) => {
    const id = c.req.param('id')!;
    const body = await c.req.parseBody();
    if (field(body, 'confirm') !== 'yes') {
      try {
        return devicePage(c, id, { confirmWipe: deps.androidWipe.preview(id) });
      } catch (e) {
        if (!isAppError(e)) throw e;
        return devicePage(c, id, { error: e.message, status: e.status });
      }
    }
    return action(async (ctx, deviceId, _body, label) => {
      const done = await deps.androidWipe.wipe({ deviceId, confirm: true, createdBy: by(ctx), reasonMessage: field(body, 'reason') || undefined });
      // Google has wiped it: the record follows, as no transaction spans the call.
      deps.audit.record(actor(ctx), { action: 'device.wipe', target: deviceTarget(deviceId, label), details: { kind: done.effect, command_uuid: done.command_uuid } });
      return 'wipe';
    })(c);
  };

  app.post('/devices/:id/wipe', signedIn, csrf, adminOnly, (c) => (deps.views.isAndroid(c.req.param('id')) ? androidWipe(c) : appleWipe(c)));

  app.post(
    '/devices/:id/remove',
    signedIn,
    csrf,
    adminOnly,
    action((c, id, _body, label) => {
      const removed = deps.audit.within(actor(c), () => deps.views.remove(id), (r) => ({ action: 'device.remove', target: deviceTarget(id, label), details: { cancelled_commands: r.cancelled_commands } }));
      deps.tellRemoved(removed.channels);
      return 'removed';
    }),
  );

  const enrollmentForm = z.object({
    user_email: z
      .string()
      .trim()
      .max(254)
      .refine((s) => s === '' || /^[^\s@]+@[^\s@]+$/.test(s), "the user's email must be an email address"),
    ownership: z.enum(['corporate', 'personal'], { message: 'ownership must be company or personal' }),
    ttl: z.enum(Object.keys(LINK_TTLS) as [keyof typeof LINK_TTLS], { message: 'choose how long the link stays valid' }),
  });
  const defaultForm: EnrollmentForm = { userEmail: '', ownership: 'corporate', ttl: '7d' };

  app.get('/enrollment', signedIn, (c) => render(c, <EnrollmentPage session={c.get('session')} pushReady={deps.push.active() !== null} form={defaultForm} />));

  app.post('/enrollment', signedIn, csrf, adminOnly, async (c) => {
    const body = await c.req.parseBody();
    const r = enrollmentForm.safeParse({ user_email: field(body, 'user_email'), ownership: field(body, 'ownership'), ttl: field(body, 'ttl') });
    const pushReady = deps.push.active() !== null;
    if (!r.success) {
      const form = { ...defaultForm, userEmail: field(body, 'user_email') };
      return render(c, <EnrollmentPage session={c.get('session')} pushReady={pushReady} form={form} error={r.error.issues[0]?.message} />, 400);
    }
    const userEmail = r.data.user_email || null;
    const link = deps.audit.within(
      actor(c),
      () => deps.links.create({ userEmail, ownership: r.data.ownership, ttlMs: LINK_TTLS[r.data.ttl] }),
      (l) => ({ action: 'enrollment_link.create', target: { type: 'enrollment_link', id: l.id, label: userEmail }, details: { ownership: r.data.ownership, ttl: r.data.ttl } }),
    );
    log.info({ link: link.id, by: by(c) }, 'console: enrollment link created');
    // Shown once, here: only the link's hash is kept, so there is no page to come back to.
    const created = { url: link.url, expiresAt: link.expiresAt, userEmail, ownership: r.data.ownership === 'personal' ? 'personal' : 'company' };
    return render(c, <EnrollmentPage session={c.get('session')} pushReady={pushReady} form={{ userEmail: '', ownership: r.data.ownership, ttl: r.data.ttl }} created={created} />, 201);
  });

  app.route(
    '/',
    settingsRoutes(
      { admins, push: deps.push, apiTokens: deps.apiTokens, audit: deps.audit, caNotAfter: deps.caNotAfter, caFingerprint: deps.caFingerprint, tls: deps.tls, publicUrl: deps.publicUrl, organization: deps.organization, now },
      { signedIn, csrf, adminOnly, actor },
    ),
  );
  app.route('/', androidConsoleRoutes({ android: deps.android, audit: deps.audit }, { signedIn, csrf, adminOnly, actor }));
  app.route('/', policyConsoleRoutes({ policies: deps.policies, audit: deps.audit }, { signedIn, csrf, adminOnly, actor }));
  /** A member's name for the group page; null for a device that has none yet or has gone. */
  const deviceName = (id: string) => {
    try {
      return deps.views.any(id).device.device_name;
    } catch (e) {
      if (isAppError(e)) return null;
      throw e;
    }
  };
  app.route('/', groupConsoleRoutes({ policies: deps.policies, audit: deps.audit, deviceName }, { signedIn, csrf, adminOnly, actor }));
  app.route('/', appConsoleRoutes({ catalog: deps.catalog, audit: deps.audit, enforce: () => deps.policies.enforce('all') }, { signedIn, csrf, adminOnly, actor }));

  // Read-only admins may read it: it shows who changed what, and changes nothing.
  app.get('/audit', signedIn, (c) => {
    const raw = c.req.query();
    const form: AuditForm = { actor: raw.actor ?? '', action: raw.action ?? '', target: raw.target ?? '', from: raw.from ?? '', to: raw.to ?? '' };
    const before = /^[1-9][0-9]{0,15}$/.test(raw.before ?? '') ? Number(raw.before) : undefined;
    const r = auditFilters.safeParse(form);
    const page = r.success ? deps.audit.page({ ...r.data, beforeId: before, limit: PAGE_SIZE }) : { entries: [], nextBefore: null };
    const error = r.success ? undefined : `${String(r.error.issues[0]?.path[0] ?? 'filter')}: ${r.error.issues[0]?.message}`;
    const props = { form, entries: page.entries, nextBefore: page.nextBefore, paged: before !== undefined, error };
    const status = r.success ? 200 : 400;
    if (c.req.header('hx-request') === 'true' && c.req.header('hx-target') === 'audit-results' && c.req.header('hx-history-restore-request') !== 'true') {
      return render(c, <AuditResults {...props} />, status);
    }
    return render(c, <AuditPage session={c.get('session')} {...props} />, status);
  });

  // Every admin's own account, read-only ones included: securing one's sign-in changes nothing on the appliance.
  const twoFactorPage = async (c: Context<ConsoleEnv>, o: { notice?: string; error?: string; status?: number } = {}) => {
    const session = c.get('session');
    const setup = admins.twoFactor.pendingSetup(session.admin.id);
    const view = setup && { ...setup, qrSvg: await qrSvg(setup.uri) };
    return render(c, <TwoFactorPage session={session} setup={view} notice={o.notice} error={o.error} />, o.status);
  };
  /** Runs a two-factor change; a wrong code or throttling is shown on the page. */
  const twoFactorAction = (run: (c: Context<ConsoleEnv>, code: string, address: string) => string) => async (c: Context<ConsoleEnv>) => {
    const body = await c.req.parseBody();
    try {
      const done = run(c, field(body, 'code'), clientAddress(c, deps.trustedProxies));
      return c.redirect(`/account/two-factor?done=${done}`, 303);
    } catch (e) {
      if (!isAppError(e)) throw e;
      return twoFactorPage(c, { error: e.message, status: e.status });
    }
  };

  app.get('/account/two-factor', signedIn, (c) => twoFactorPage(c, { notice: TWO_FACTOR_NOTICES[c.req.query('done') ?? ''] }));

  app.post('/account/two-factor/start', signedIn, csrf, (c) => {
    admins.twoFactor.start(c.get('session').admin.id);
    return c.redirect('/account/two-factor', 303);
  });

  for (const [op, done] of [
    ['enable', 'on'],
    ['disable', 'off'],
  ] as const) {
    app.post(
      `/account/two-factor/${op}`,
      signedIn,
      csrf,
      twoFactorAction((c, code, address) => {
        const a = c.get('session').admin;
        // Not in one transaction: a wrong code's throttling record must outlive the refusal.
        admins.twoFactor[op](a.id, code, address);
        deps.audit.record(actor(c), { action: `admin.totp.${op}`, target: adminTarget(a) });
        return done;
      }),
    );
  }

  return app;
}

/** The console's 404: a page for browsers, whatever path they asked for outside the API and device endpoints. */
export function notFoundPage(c: Context, admins: Admins) {
  return render(c, <ErrorPage title="Not found" message={`There is nothing at ${c.req.path}.`} session={currentSession(c, admins)} />, 404);
}

// The console over HTTP, against the real server in this process (so its route table can be
// read): no route but sign-in, setup, static files and the device endpoints answers without a
// session or token; state changes need the CSRF token and the admin role; sign-in is throttled;
// logout ends the session; errors are pages, never stack traces.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { AppleDevice, answerFor } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { runCli, startServer, tempDir } from './support/server.ts';

const CHALLENGE = 'console-test-challenge';
const PASSWORD = 'a long enough password';
/** Reached without a session or token by design: sign-in, setup, static files, health, and the devices' own endpoints. */
// Google's signup page returns the admin's browser to the callback: no session there; a one-time `state` guards it.
const PUBLIC = /^\/(login|setup|assets\/[^/]+|healthz|mdm|scep|cgi-bin\/pkiclient\.exe|pki|enroll|android\/signup\/callback)(\/|$)/;

describe('web console over HTTP', () => {
  let server: RunningServer;
  let url: string;
  let dataDir: string;
  let device: AppleDevice;
  const root = () => new ConsoleClient(url);

  const sql = <T = Record<string, unknown>,>(query: string, ...args: unknown[]): T[] => {
    const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      return db.prepare(query).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  const commands = () => sql<{ requestType: string; status: string }>(
    'SELECT c.request_type AS requestType, t.status FROM apple_commands c JOIN apple_command_targets t ON t.command_uuid = c.uuid WHERE t.enrollment_id = ? ORDER BY c.created_at',
    device.udid,
  );
  const adminCli = (username: string, role: string) => {
    const r = runCli(['admin', 'create', '--username', username, '--password-stdin', '--role', role], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }, PASSWORD + '\n');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `created ${role} ${username}\n`);
  };

  before(async () => {
    dataDir = tempDir();
    const env = { MDM_DATA_DIR: dataDir, MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0', MDM_TRUSTED_PROXIES: '127.0.0.1' };
    const config = loadConfig(env, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
    server = await serve(config, createLogger('silent'));
    url = `http://127.0.0.1:${server.http!.port}`;
    adminCli('root', 'admin');
    adminCli('viewer', 'read-only');
    device = new AppleDevice(url);
    await device.scepEnroll(CHALLENGE);
    assert.equal((await device.authenticate()).status, 200);
    assert.equal((await device.tokenUpdate()).status, 200);
    let r = await device.report('Idle');
    while (r.plist) r = await device.report('Acknowledged', answerFor(device, r.plist));
  });
  after(async () => {
    await server?.close();
  });

  test('every route but sign-in, setup, static files, /healthz, the device endpoints and the Android signup callback refuses a request without a session or token', async () => {
    const routes = [...new Map(server.app.routes.filter((r) => r.method !== 'ALL').map((r) => [`${r.method} ${r.path}`, r])).values()];
    const guarded = routes.filter((r) => !PUBLIC.test(r.path));
    const names = guarded.map((r) => `${r.method} ${r.path}`);
    // The table is read from the app, so these are only proof that it is the real one.
    const expected = ['GET /', 'GET /devices', 'GET /devices/:id', 'POST /devices/:id/lock', 'POST /logout', 'POST /account/two-factor/enable', 'GET /api/v1/devices', 'POST /api/v1/commands'];
    expected.push('GET /policies', 'GET /policies/new', 'POST /policies', 'GET /policies/:id', 'GET /policies/:id/edit', 'POST /policies/:id/preview', 'POST /policies/:id/versions', 'GET /policies/:id/versions/:version', 'GET /policies/:id/compiled', 'POST /policies/:id/assignments', 'POST /policies/:id/assignments/:assignment/remove', 'POST /policies/:id/delete', 'GET /groups', 'POST /groups', 'GET /groups/:id', 'POST /groups/:id/members', 'POST /groups/:id/members/:device/remove', 'POST /groups/:id/delete', 'POST /devices/:id/groups', 'POST /devices/:id/groups/:group/remove', 'POST /devices/:id/enforce', 'GET /apps', 'POST /apps', 'GET /apps/:id', 'POST /apps/:id/edit', 'POST /apps/:id/delete');
    expected.push('GET /audit', 'GET /api/v1/audit', 'POST /devices/:id/wipe', 'POST /devices/:id/restart', 'POST /settings/push/certificate', 'GET /settings/push/csr.pem', 'POST /settings/api-tokens', 'POST /settings/admins/:id/delete');
    for (const known of expected) {
      assert.ok(names.includes(known), `${known} is among the routes`);
    }
    assert.ok(routes.some((r) => r.path === '/login') && routes.some((r) => r.path.startsWith('/mdm')), 'public routes are in the table too, and left out');
    for (const r of guarded) {
      const p = r.path.replace(/:[^/]+/g, 'x').replace(/\*/g, 'x');
      const res = await fetch(url + p, { method: r.method, redirect: 'manual', headers: r.method === 'GET' ? {} : { 'content-type': 'application/x-www-form-urlencoded' }, body: r.method === 'GET' ? undefined : '' });
      const what = `${r.method} ${r.path}`;
      // The JSON API and /metrics take a bearer token: a bare 401, never a login page.
      if (r.path.startsWith('/api/') || /^\/metrics(\/|$)/.test(r.path)) assert.equal(res.status, 401, what);
      else if (r.method === 'GET') {
        assert.equal(res.status, 303, what);
        assert.match(res.headers.get('location') ?? '', /^\/login\?next=/, what);
      } else assert.equal(res.status, 401, what);
      await res.arrayBuffer();
    }
    const hx = await fetch(`${url}/devices?q=a`, { headers: { 'hx-request': 'true', 'hx-target': 'results' }, redirect: 'manual' });
    assert.equal(hx.status, 401, 'htmx is not handed a login page to swap into the results');
    assert.match(hx.headers.get('hx-redirect') ?? '', /^\/login/);
  });

  test('a read-only admin sees no actions and is refused (403) every state change but sign-out, with a valid CSRF token', async () => {
    const viewer = new ConsoleClient(url);
    assert.equal((await viewer.login('viewer', PASSWORD)).status, 303);
    const page = await viewer.get(`/devices/${encodeURIComponent(device.udid)}`);
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /\/lock"|Refresh inventory/);
    const before = commands().length;
    // Their own two-factor is theirs to set: /account/ changes nothing on the appliance.
    const posts = server.app.routes.filter((r) => r.method === 'POST' && !PUBLIC.test(r.path) && !r.path.startsWith('/api/') && !r.path.startsWith('/account/') && r.path !== '/logout');
    assert.ok(posts.length >= 2);
    for (const r of posts) {
      const res = await viewer.post(r.path.replace(':id', encodeURIComponent(device.udid)), { message: 'hi' }, { csrf: true });
      assert.equal(res.status, 403, r.path);
      assert.match(res.text, /read-only/);
    }
    assert.equal(commands().length, before, 'nothing queued');

    const admin = root();
    await admin.login('root', PASSWORD);
    assert.match((await admin.get(`/devices/${encodeURIComponent(device.udid)}`)).text, /Refresh inventory/, 'an admin does see them');
  });

  test('CSRF: a state change without the token, with a wrong one or from another origin is 403 and changes nothing', async () => {
    const admin = root();
    assert.equal((await admin.login('root', PASSWORD)).status, 303);
    const lock = `/devices/${encodeURIComponent(device.udid)}/lock`;
    const before = commands().length;
    const refusals = [
      await admin.post(lock, { message: 'no token' }),
      await admin.post(lock, { message: 'wrong token', _csrf: admin.csrf!.replace(/.$/, (ch) => (ch === 'A' ? 'B' : 'A')) }),
      await admin.post(lock, { message: 'empty token', _csrf: '' }),
      await admin.request('POST', lock, { headers: { 'x-csrf-token': 'nope' } }),
      await admin.post(lock, { message: 'cross-site' }, { csrf: true, headers: { origin: 'https://evil.example' } }),
    ];
    for (const r of refusals) {
      assert.equal(r.status, 403);
      assert.match(r.text, /refused|expired/);
      assert.doesNotMatch(r.text, /at .*\.ts:\d+/, 'no stack trace');
    }
    assert.equal(commands().length, before, 'nothing queued');
    const out = await admin.post('/logout');
    assert.equal(out.status, 403, 'sign-out needs the token too');
    assert.equal((await admin.get('/')).status, 200, 'and the session lives on');

    // The same requests with the token go through: as a form field, and as htmx's header.
    const ok = await admin.post(lock, { message: 'Call IT', phone: '+1 555 0100' }, { csrf: true });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), `/devices/${encodeURIComponent(device.udid)}?queued=lock`);
    const viaHeader = await admin.request('POST', `/devices/${encodeURIComponent(device.udid)}/refresh-inventory`, { headers: { 'x-csrf-token': admin.csrf!, 'hx-request': 'true' } });
    assert.equal(viaHeader.status, 303);
    const queued = commands().slice(before);
    assert.deepEqual(
      queued.map((c) => c.requestType),
      ['DeviceLock', 'DeviceInformation', 'SecurityInfo', 'InstalledApplicationList', 'ProfileList', 'CertificateList'],
    );
    const params = sql<{ params: string; createdBy: string }>("SELECT params, created_by AS createdBy FROM apple_commands WHERE request_type = 'DeviceLock'")[0]!;
    assert.deepEqual(JSON.parse(params.params), { Message: 'Call IT', PhoneNumber: '+1 555 0100' });
    assert.equal(params.createdBy, 'admin:root');

    // A second lock while one is pending: the command service's refusal, shown in the page.
    const again = await admin.post(lock, {}, { csrf: true });
    assert.equal(again.status, 409);
    assert.match(again.text, /class="banner error"[^>]*>[^<]*DeviceLock/);
  });

  test('CSRF on every console state change: without the token each is 403 and changes nothing, forms and file uploads alike', async () => {
    const admin = root();
    assert.equal((await admin.login('root', PASSWORD)).status, 303);
    const tables = ['admins', 'api_tokens', 'apple_commands', 'apple_enrollments', 'enrollment_tokens', 'push_certificates', 'push_csrs', 'push_vendor_certificates', 'audit_events'];
    const snapshot = () => JSON.stringify(tables.map((t) => sql(`SELECT * FROM ${t} ORDER BY rowid`)));
    const before = snapshot();
    const ids = Object.fromEntries(sql<{ id: string; username: string }>('SELECT id, username FROM admins').map((a) => [a.username, a.id]));
    const posts = server.app.routes.filter((r) => r.method === 'POST' && !PUBLIC.test(r.path) && !r.path.startsWith('/api/'));
    assert.ok(posts.length >= 15, 'the device actions and settings are among them');
    for (const r of posts) {
      const p = r.path.replace('/devices/:id', `/devices/${encodeURIComponent(device.udid)}`).replace(':id', ids.viewer!);
      const res = await admin.post(p, { message: 'hi', name: 'x', username: 'x', password: PASSWORD, role: 'admin', confirm: 'Test iPhone', code: '000000' });
      assert.equal(res.status, 403, r.path);
    }
    const upload = await admin.upload('/settings/push/csr', { common_name: 'x' }, {});
    assert.equal(upload.status, 403, 'multipart without the token');
    assert.equal(snapshot(), before, 'nothing changed, nothing recorded');
    assert.equal((await admin.get('/')).status, 200, 'the session lives on');
  });

  test('enrollment links and settings: an admin creates a single-use link, shown once; bad input and missing CSRF change nothing', async () => {
    const admin = root();
    await admin.login('root', PASSWORD);
    const links = () => sql<{ user_email: string | null; ownership: string; expires_at: number; created_at: number }>('SELECT user_email, ownership, expires_at, created_at FROM enrollment_tokens');
    const before = links().length;
    assert.equal((await admin.post('/enrollment', { user_email: 'jane@example.com', ownership: 'personal', ttl: '1d' })).status, 403);
    const bad = await admin.post('/enrollment', { user_email: 'not an email', ownership: 'personal', ttl: '1d' }, { csrf: true });
    assert.equal(bad.status, 400);
    assert.match(bad.text, /must be an email address/);
    assert.equal((await admin.post('/enrollment', { user_email: '', ownership: 'borrowed', ttl: '1d' }, { csrf: true })).status, 400);
    assert.equal(links().length, before, 'nothing created');

    const made = await admin.post('/enrollment', { user_email: 'jane@example.com', ownership: 'personal', ttl: '1d' }, { csrf: true });
    assert.equal(made.status, 201);
    const link = /id="created-link"[^>]* value="(http:\/\/127\.0\.0\.1:8080\/enroll\/[A-Za-z0-9_-]+)"/.exec(made.text)?.[1];
    assert.ok(link, 'the link is in the page');
    const row = links().at(-1)!;
    assert.deepEqual([row.user_email, row.ownership, row.expires_at - row.created_at], ['jane@example.com', 'personal', 86_400_000]);
    const opened = await fetch(url + new URL(link).pathname);
    assert.equal(opened.status, 503, 'a real link: the enrollment page answers for it (no push certificate here yet)');
    await opened.arrayBuffer();
    assert.match((await admin.get('/enrollment')).text, /Create link/);
    assert.doesNotMatch((await admin.get('/enrollment')).text, /enroll\/[A-Za-z0-9_-]{20}/, 'shown only once');

    const settings = await admin.get('/settings');
    assert.equal(settings.status, 200);
    assert.match(settings.text, /<td>root<\/td><td>admin<\/td>/);
    assert.match(settings.text, /<td>viewer<\/td><td>read-only<\/td>/);
    assert.match(settings.text, /None installed/);
    const fp = runCli(['ca', 'show'], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }).stdout.match(/SHA-256 Fingerprint: (\S+)/)![1]!;
    assert.ok(settings.text.includes(fp), 'the CA fingerprint as mdm ca show prints it');
  });

  test('sign-in: cookie flags; throttled after 5 failures with a message that does not say which part was wrong', async () => {
    const c = new ConsoleClient(url);
    const ok = await c.login('root', PASSWORD);
    const cookie = ok.headers.get('set-cookie')!;
    assert.match(cookie, /^mdm_session=[A-Za-z0-9_-]{43};/);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Lax/);
    assert.match(cookie, /Path=\//);
    assert.doesNotMatch(cookie, /Secure/, 'plain HTTP: a Secure cookie would never come back');
    const viaTls = await new ConsoleClient(url).login('root', PASSWORD, { 'x-forwarded-proto': 'https' });
    assert.match(viaTls.headers.get('set-cookie')!, /; Secure/, 'HTTPS at a trusted proxy');

    const from = { 'x-forwarded-for': '198.51.100.23' };
    const wrongUser = await new ConsoleClient(url).login('nobody', PASSWORD, from);
    const wrongPass = await new ConsoleClient(url).login('root', 'not the password', from);
    assert.equal(wrongUser.status, 400);
    assert.equal(wrongPass.status, 400);
    const msg = (t: string) => /class="banner error"[^>]*>([^<]*)</.exec(t)?.[1];
    assert.equal(msg(wrongUser.text), msg(wrongPass.text), 'the same words whichever part was wrong');
    for (let i = 0; i < 3; i++) assert.equal((await new ConsoleClient(url).login('root', 'still wrong', from)).status, 400);
    const locked = await new ConsoleClient(url).login('root', PASSWORD, from);
    assert.equal(locked.status, 429);
    assert.equal(msg(locked.text), 'Too many failed sign-ins. Try again in 15 minutes.');
    assert.equal(locked.headers.get('set-cookie'), null);
  });

  test('logout deletes the session: the old cookie no longer works', async () => {
    const c = root();
    await c.login('root', PASSWORD);
    const cookie = c.cookie;
    const out = await c.post('/logout', {}, { csrf: true });
    assert.equal(out.status, 303);
    assert.equal(out.headers.get('location'), '/login');
    assert.match(out.headers.get('set-cookie') ?? '', /mdm_session=;/);
    const stale = new ConsoleClient(url);
    stale.cookie = cookie;
    const r = await stale.get('/');
    assert.equal(r.status, 303);
    assert.match(r.headers.get('location')!, /^\/login/);
  });

  test('pages: dashboard counts, search, 404 for browsers, errors as pages, assets with a content hash and a long cache', async () => {
    const c = root();
    await c.login('root', PASSWORD);
    const dash = await c.get('/');
    assert.match(dash.text, /data-testid="enrolled-total">1</);
    assert.match(dash.text, /data-testid="recent">1</);
    assert.match(dash.text, /No Apple push certificate is installed/);
    assert.match(dash.headers.get('content-security-policy') ?? '', /script-src 'self'/);

    const found = await c.get(`/devices?q=${device.serial.slice(0, 6).toLowerCase()}`);
    assert.match(found.text, new RegExp(device.serial));
    // The enrolled device is a company device seen just now: the filters keep it or leave it out.
    assert.match((await c.get('/devices?ownership=corporate&seen=1d')).text, new RegExp(device.serial));
    const personal = await c.get('/devices?ownership=personal');
    assert.doesNotMatch(personal.text, new RegExp(device.serial));
    assert.match(personal.text, /<option value="personal" selected="">Personal<\/option>/);
    assert.doesNotMatch((await c.get('/devices?seen=not30d')).text, new RegExp(device.serial));
    const partial = await c.get(`/devices?q=${device.serial}`, { 'hx-request': 'true', 'hx-target': 'results' });
    assert.match(partial.text, /^<!doctype html><div id="results"/, 'htmx gets the results alone');
    assert.match(partial.text, new RegExp(device.serial));
    assert.doesNotMatch((await c.get('/devices?q=zzzz-no-such')).text, new RegExp(device.serial));
    assert.doesNotMatch((await c.get('/devices?enrolled=false')).text, new RegExp(device.serial));
    assert.match((await c.get('/devices?enrolled=true&platform=ios')).text, new RegExp(device.serial));

    const missing = await c.get('/devices/no-such-device');
    assert.equal(missing.status, 404);
    assert.match(missing.text, /no device no-such-device/);
    const nowhere = await c.get('/no/such/page');
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.headers.get('content-type')!, /text\/html/);
    const api404 = await fetch(`${url}/api/v1/nowhere`, { headers: { accept: 'text/html' } });
    assert.equal(api404.status, 401, 'the API stays JSON and guarded');

    const css = /href="(\/assets\/console-[0-9a-f]{12}\.css)"/.exec(dash.text)![1]!;
    const js = /src="(\/assets\/htmx-[0-9a-f]{12}\.min\.js)"/.exec(dash.text)![1]!;
    for (const a of [css, js]) {
      const r = await fetch(url + a);
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      await r.arrayBuffer();
    }
    assert.equal((await fetch(`${url}/assets/console.css`)).status, 404, 'only the hashed names');
  });
});

describe('first admin through the setup URL', () => {
  test('logged at start while there is no admin; creates an admin once, signs them in; gone once an admin exists', async () => {
    const server = await startServer({ env: { MDM_SCEP_WORKERS: '0' } });
    try {
      const logged = await server.waitForLog((l) => typeof l.setupUrl === 'string');
      const setup = new URL(logged.setupUrl as string);
      assert.equal(setup.origin, 'http://127.0.0.1:8080', 'the public URL');
      const token = setup.searchParams.get('token')!;
      const c = new ConsoleClient(server.url);
      assert.equal((await c.get('/login')).status, 409, 'no sign-in form before there is an admin');
      assert.equal((await c.get(`/setup?token=${token}x`)).status, 410);
      const form = await c.get(`/setup?token=${token}`);
      assert.equal(form.status, 200);
      assert.match(form.text, /<label for="username">/);
      const mismatch = await c.post('/setup', { token, username: 'first', password: PASSWORD, confirm: PASSWORD + 'x' });
      assert.equal(mismatch.status, 400);
      const weak = await c.post('/setup', { token, username: 'first', password: 'short', confirm: 'short' });
      assert.equal(weak.status, 400);
      assert.match(weak.text, /at least 12 characters/);
      const done = await c.post('/setup', { token, username: 'first', password: PASSWORD, confirm: PASSWORD });
      assert.equal(done.status, 303);
      c.cookie = done.headers.get('set-cookie')!.split(';')[0]!;
      assert.match((await c.get('/')).text, /data-testid="who">first</);
      const reuse = await new ConsoleClient(server.url).post('/setup', { token, username: 'second', password: PASSWORD, confirm: PASSWORD });
      assert.equal(reuse.status, 410);
      assert.match(server.cli(['admin', 'list']).stdout, /^first\tadmin\t/);
    } finally {
      await server.stop();
    }
  });
});

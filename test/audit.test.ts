// The audit log: every change by an admin (console), an API token (API) or the command line is
// recorded with who, what, the target and the client's address; failed changes record nothing;
// the console page and the API filter and page it alike.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { enrolledDevice, type AppleDevice } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { runCli, tempDir } from './support/server.ts';

const CHALLENGE = 'audit-test-challenge';
const PASSWORD = 'a long enough password';

type Row = { id: number; at: number; actor_kind: string; actor_id: string | null; actor_name: string; action: string; target_type: string | null; target_id: string | null; target_label: string | null; address: string | null; details: string | null };

describe('audit log', () => {
  let server: RunningServer;
  let url: string;
  let dataDir: string;
  let device: AppleDevice;
  let token: string;
  let tokenId: string;

  const rows = (): Row[] => {
    const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      return db.prepare('SELECT * FROM audit_events ORDER BY id').all() as Row[];
    } finally {
      db.close();
    }
  };
  const cli = (args: string[], input?: string) => runCli(args, { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }, input);
  const api = async (method: string, p: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, any> };
  };
  const signIn = async (name = 'root') => {
    const c = new ConsoleClient(url);
    assert.equal((await c.login(name, PASSWORD)).status, 303);
    return c;
  };

  before(async () => {
    dataDir = tempDir();
    // No trusted proxy: X-Forwarded-For is the client's to make up, so the socket's address is recorded.
    const config = loadConfig({ MDM_DATA_DIR: dataDir, MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' }, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
    server = await serve(config, createLogger('silent'));
    url = `http://127.0.0.1:${server.http!.port}`;
    for (const [name, role] of [['root', 'admin'], ['viewer', 'read-only']]) assert.equal(cli(['admin', 'create', '--username', name!, '--password-stdin', '--role', role!], PASSWORD + '\n').status, 0);
    const created = cli(['api-token', 'create', '--name', 'automation']);
    token = created.stdout.trim();
    tokenId = /created API token (\S+)/.exec(created.stderr)![1]!;
    device = await enrolledDevice(url, CHALLENGE);
  });
  after(async () => {
    await server?.close();
  });

  test('the command line is recorded as cli, with the token and admin it made but never the secret', () => {
    const all = rows();
    const made = all.filter((r) => r.actor_name === 'cli');
    assert.deepEqual(
      made.map((r) => [r.actor_kind, r.action, r.target_type, r.target_label]),
      [
        ['system', 'admin.create', 'admin', 'root'],
        ['system', 'admin.create', 'admin', 'viewer'],
        ['system', 'api_token.create', 'api_token', 'automation'],
      ],
    );
    assert.equal(made[2]!.target_id, tokenId);
    assert.equal(made[2]!.address, null);
    assert.ok(!JSON.stringify(all).includes(token), 'the secret is nowhere in the log');
  });

  test('console: sign-ins, failed ones, a lock; each with the admin, target and address; a refused change records nothing', async () => {
    const before = rows().length;
    const wrong = await new ConsoleClient(url).login('root', 'not the password', { 'x-forwarded-for': '203.0.113.9' });
    assert.equal(wrong.status, 400);
    const admin = await signIn();
    const lock = `/devices/${encodeURIComponent(device.udid)}/lock`;
    assert.equal((await admin.post(lock, { message: 'no token' })).status, 403, 'no CSRF token');
    assert.equal((await admin.post(lock, { phone: 'call me maybe' }, { csrf: true })).status, 400, 'bad input');
    const viewer = await signIn('viewer');
    assert.equal((await viewer.post(lock, {}, { csrf: true })).status, 403, 'read-only');
    assert.equal((await admin.post(lock, { message: 'Call IT' }, { csrf: true })).status, 303);
    assert.equal((await admin.post(lock, {}, { csrf: true })).status, 409, 'a second lock while one is pending');

    const added = rows().slice(before);
    assert.deepEqual(
      added.map((r) => [r.actor_kind, r.actor_name, r.action]),
      [
        ['admin', 'root', 'admin.login.failed'],
        ['admin', 'root', 'admin.login'],
        ['admin', 'viewer', 'admin.login'],
        ['admin', 'root', 'device.lock'],
      ],
    );
    assert.equal(added[0]!.actor_id, null);
    assert.ok(added.every((r) => r.address === '127.0.0.1'), 'the socket address, not X-Forwarded-For without a trusted proxy');
    const locked = added[3]!;
    assert.deepEqual([locked.target_type, locked.target_id], ['device', device.udid]);
    assert.match(locked.details!, /"command_uuid":"[0-9A-F-]{36}"/i);
    assert.ok(locked.actor_id, "the admin's id");
  });

  test('API: commands sent and cancelled, each as the token; refused requests record nothing', async () => {
    const before = rows().length;
    assert.equal((await api('POST', `/devices/${device.udid}/commands`, { request_type: 'NoSuchCommand' })).status, 422);
    assert.equal((await api('POST', '/commands', { request_type: 'ProfileList', enrollment_ids: ['nobody'] })).status, 404);
    assert.equal((await api('DELETE', '/commands/no-such-command')).status, 404);
    const sent = await api('POST', `/devices/${device.udid}/commands`, { request_type: 'ProfileList' });
    assert.equal(sent.status, 201);
    assert.equal((await api('DELETE', `/commands/${sent.json.command_uuid}`)).status, 200);
    const added = rows().slice(before);
    assert.deepEqual(
      added.map((r) => [r.actor_kind, r.actor_id, r.actor_name, r.action, r.target_type, r.target_id, r.address]),
      [
        ['api_token', tokenId, 'automation', 'command.send', 'device', device.udid, '127.0.0.1'],
        ['api_token', tokenId, 'automation', 'command.cancel', 'command', sent.json.command_uuid, '127.0.0.1'],
      ],
    );
    assert.deepEqual(JSON.parse(added[0]!.details!), { request_type: 'ProfileList', command_uuid: sent.json.command_uuid, targets: 1 });
  });

  test('API: a device removed as the token; removing an unknown one records nothing; CLI changes recorded as cli', async () => {
    const spare = await enrolledDevice(url, CHALLENGE);
    const before = rows().length;
    assert.equal((await api('DELETE', '/devices/no-such-device')).status, 404);
    assert.equal((await api('DELETE', `/devices/${spare.udid}`)).status, 200);
    assert.equal(cli(['enroll', 'create', '--user', 'sam@example.com', '--ownership', 'personal']).status, 0);
    assert.equal(cli(['api-token', 'revoke', 'no-such-token']).status, 1);
    const added = rows().slice(before);
    assert.deepEqual(
      added.map((r) => [r.actor_kind, r.actor_name, r.action, r.target_type, r.target_label ?? r.target_id]),
      [
        ['api_token', 'automation', 'device.remove', 'device', spare.udid],
        ['system', 'cli', 'enrollment_link.create', 'enrollment_link', 'sam@example.com'],
      ],
    );
    assert.equal((await spare.report('Idle')).status, 403, 'the removal did happen');
  });

  test('GET /api/v1/audit: newest first, filtered by actor, action prefix, target and time, paged with a cursor', async () => {
    const all = await api('GET', '/audit?limit=500');
    assert.equal(all.status, 200);
    const events = all.json.events as Array<Record<string, any>>;
    assert.equal(events.length, rows().length);
    assert.deepEqual(
      events.map((e) => e.id),
      rows().map((r) => r.id).reverse(),
      'newest first',
    );
    assert.deepEqual(Object.keys(events[0]!).sort(), ['action', 'actor', 'address', 'at', 'details', 'id', 'target']);

    const byActor = (await api('GET', '/audit?actor=automation')).json.events as Array<Record<string, any>>;
    assert.ok(byActor.length >= 2 && byActor.every((e) => e.actor.name === 'automation'));
    const admin = (await api('GET', '/audit?action=admin')).json.events as Array<Record<string, any>>;
    assert.ok(admin.some((e) => e.action === 'admin.login.failed') && admin.every((e) => e.action.startsWith('admin.')), 'a prefix takes its dotted children');
    assert.equal(((await api('GET', '/audit?action=admin.log')).json.events as unknown[]).length, 0, 'not a substring match');
    const onDevice = (await api('GET', `/audit?target=${device.udid}`)).json.events as Array<Record<string, any>>;
    assert.deepEqual(onDevice.map((e) => e.action).sort(), ['command.send', 'device.lock']);
    assert.equal(((await api('GET', '/audit?target=automation')).json.events as unknown[]).length, 1, 'a target by its label');
    const future = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    assert.equal(((await api('GET', `/audit?from=${future}`)).json.events as unknown[]).length, 0);
    assert.equal(((await api('GET', `/audit?to=${new Date().toISOString().slice(0, 10)}`)).json.events as unknown[]).length, events.length, 'a bare date as the end takes the whole day');

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const r: { json: Record<string, any> } = await api('GET', `/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...(r.json.events as Array<{ id: number }>).map((e) => e.id));
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, events.map((e) => e.id), 'pages of 3 give the same list');

    for (const bad of ['cursor=nope', 'from=yesterday', 'action=Device%20Lock', 'limit=0']) {
      const r = await api('GET', `/audit?${bad}`);
      assert.equal(r.status, 400, bad);
      assert.equal(r.json.error.code, 'invalid_request');
    }
    assert.equal((await fetch(`${url}/api/v1/audit`)).status, 401);
  });

  test('the console page: read-only admins see it; filters as a GET form; htmx gets the results alone; older pages', async () => {
    const viewer = await signIn('viewer');
    const page = await viewer.get('/audit');
    assert.equal(page.status, 200);
    assert.match(page.text, /<a href="\/audit" aria-current="page">Audit log<\/a>/);
    for (const input of ['audit-actor', 'audit-action', 'audit-target', 'audit-from', 'audit-to']) assert.match(page.text, new RegExp(`<label for="${input}">`));
    assert.match(page.text, /data-action="device.lock"/);

    const filtered = await viewer.get('/audit?action=device');
    assert.match(filtered.text, /data-action="device.lock"/);
    assert.doesNotMatch(filtered.text, /data-action="admin.login"/);
    assert.match(filtered.text, /name="action" value="device"/, 'the filter is shown back');
    const partial = await viewer.get('/audit?actor=automation', { 'hx-request': 'true', 'hx-target': 'audit-results' });
    assert.match(partial.text, /^<!doctype html><div id="audit-results"/);
    assert.doesNotMatch(partial.text, /data-action="admin/);

    // Forty-odd sign-ins make a second page.
    for (let i = 0; i < 50; i++) await signIn('viewer');
    const first = await viewer.get('/audit?action=admin.login');
    const older = /<a href="(\/audit\?action=admin\.login&amp;before=\d+)"[^>]*>Older<\/a>/.exec(first.text)?.[1];
    assert.ok(older, 'an Older link');
    const second = await viewer.get(older.replace(/&amp;/g, '&'));
    assert.equal(second.status, 200);
    assert.match(second.text, />Newest<\/a>/);
    const ids = (t: string) => (t.match(/data-action="admin\.login"/g) ?? []).length;
    assert.equal(ids(first.text), 50);
    assert.ok(ids(second.text) >= 1);

    const bad = await viewer.get('/audit?from=someday');
    assert.equal(bad.status, 400);
    assert.match(bad.text, /class="banner error"[^>]*>from: a date/);
  });
});

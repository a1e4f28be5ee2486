// The JSON API over HTTP: bearer tokens from the CLI, the device inventory paged and filtered,
// commands queued per device and in bulk, delivered to simulated devices, followed and cancelled,
// and every refusal leaving the queue as it was.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { AppleDevice, answerFor, type Dict } from './support/apple-device.ts';
import { startServer, type TestServer } from './support/server.ts';

const CHALLENGE = 'api-test-challenge';

type Json = Record<string, any>;

describe('JSON API /api/v1', () => {
  let server: TestServer;
  let token: string;
  const phones: AppleDevice[] = [];
  let ipad: AppleDevice;
  let pending: AppleDevice;

  const sql = <T = Json,>(query: string, ...args: unknown[]): T[] => {
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'));
    try {
      const stmt = db.prepare(query);
      return (stmt.reader ? stmt.all(...args) : (stmt.run(...args), [])) as T[];
    } finally {
      db.close();
    }
  };

  async function api(method: string, p: string, o: { body?: unknown; raw?: string; token?: string | null; headers?: Record<string, string> } = {}) {
    const bearer = o.token === undefined ? token : o.token;
    const res = await fetch(`${server.url}/api/v1${p}`, {
      method,
      headers: { ...(bearer !== null ? { authorization: `Bearer ${bearer}` } : {}), ...(o.body !== undefined || o.raw !== undefined ? { 'content-type': 'application/json' } : {}), ...o.headers },
      body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : null) as Json, headers: res.headers };
  }

  /** Answers every queued command the way a device does, until the queue is empty. */
  async function drain(d: AppleDevice, answer: (cmd: Dict) => Dict = (cmd) => answerFor(d, cmd)) {
    const seen: Dict[] = [];
    let r = await d.report('Idle');
    while (r.plist) {
      seen.push(r.plist);
      r = await d.report('Acknowledged', answer(r.plist));
    }
    assert.equal(r.status, 200);
    return seen;
  }

  async function enroll(kind: 'iphone' | 'ipad' = 'iphone', o: { tokenUpdate?: boolean } = {}) {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    const ipadFacts = { DeviceName: 'Test iPad', Model: 'iPad13,1', ModelName: 'iPad', ProductName: 'iPad13,1' };
    const auth = kind === 'ipad' ? await d.checkin('Authenticate', { SerialNumber: d.serial, OSVersion: '17.5', BuildVersion: '21F79', ...ipadFacts }) : await d.authenticate();
    assert.equal(auth.status, 200);
    if (o.tokenUpdate === false) return d;
    assert.equal((await d.tokenUpdate()).status, 200);
    await drain(d, (cmd) => {
      const a = answerFor(d, cmd);
      if (kind === 'ipad' && a.QueryResponses) a.QueryResponses = { ...(a.QueryResponses as Dict), ...ipadFacts };
      return a;
    });
    return d;
  }

  const counts = () => sql<{ n: number }>('SELECT (SELECT count(*) FROM apple_commands) + (SELECT count(*) FROM apple_command_targets) AS n')[0]!.n;

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
    const created = server.cli(['api-token', 'create', '--name', 'tests']);
    assert.equal(created.status, 0, created.stderr);
    token = created.stdout.trim();
    for (let i = 0; i < 5; i++) phones.push(await enroll());
    ipad = await enroll('ipad');
    pending = await enroll('iphone', { tokenUpdate: false });
  });
  after(async () => {
    await server.stop();
  });

  test('tokens: printed once with a prefix, stored as SHA-256 only, listed, last use recorded', async () => {
    assert.match(token, /^mdm_[A-Za-z0-9_-]{43}$/);
    const rows = sql('SELECT * FROM api_tokens');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.hash, crypto.createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(rows).includes(token.slice(4)), 'the secret itself is not stored');
    assert.equal(server.cli(['api-token', 'create']).status, 2, '--name is required');
    const list = server.cli(['api-token', 'list']);
    assert.equal(list.status, 0);
    const [id, name, , lastUsed, status] = list.stdout.trim().split('\t');
    assert.equal(id, rows[0]!.id);
    assert.equal(name, 'tests');
    assert.equal(status, 'active');
    assert.equal(lastUsed, '-', 'not used yet');
    assert.equal((await api('GET', '/devices?limit=1')).status, 200);
    assert.match(server.cli(['api-token', 'list']).stdout.split('\t')[3]!, /^\d{4}-\d\d-\d\dT/);
  });

  test('auth: no header, wrong scheme, unknown and revoked tokens get 401 with the error shape', async () => {
    const unauthorized = async (o: Parameters<typeof api>[2], why: string) => {
      const r = await api('GET', '/devices', o);
      assert.equal(r.status, 401, why);
      assert.equal(r.json.error.code, 'unauthorized', why);
      assert.equal(typeof r.json.error.message, 'string');
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    };
    await unauthorized({ token: null }, 'no header');
    await unauthorized({ token: null, headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }, 'Basic');
    await unauthorized({ token: 'mdm_' + crypto.randomBytes(32).toString('base64url') }, 'unknown token');
    await unauthorized({ token: token + 'x' }, 'altered token');
    assert.equal((await api('GET', '/nowhere', { token: null })).status, 401, 'every path under /api/v1');
    assert.equal((await api('GET', '/nowhere')).json.error.code, 'not_found');

    const second = server.cli(['api-token', 'create', '--name', 'to revoke']).stdout.trim();
    assert.equal((await api('GET', '/devices', { token: second })).status, 200);
    const row = sql<{ id: string; last_used_at: number }>("SELECT id, last_used_at FROM api_tokens WHERE name = 'to revoke'")[0]!;
    assert.ok(row.last_used_at > Date.now() - 60_000, 'last use recorded');
    // Within the minute the timestamp is not rewritten on every request.
    sql('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', row.last_used_at - 30_000, row.id);
    assert.equal((await api('GET', '/devices', { token: second })).status, 200);
    assert.equal(sql<{ t: number }>('SELECT last_used_at AS t FROM api_tokens WHERE id = ?', row.id)[0]!.t, row.last_used_at - 30_000);
    const revoked = server.cli(['api-token', 'revoke', row.id]);
    assert.equal(revoked.status, 0, revoked.stderr);
    await unauthorized({ token: second }, 'revoked token');
    assert.match(server.cli(['api-token', 'list']).stdout, /to revoke\t.*\trevoked \d{4}-/);
    assert.equal(server.cli(['api-token', 'revoke', 'no-such-id']).status, 1);
    assert.equal((await api('GET', '/devices')).status, 200, 'the other token still works');
  });

  test('device list: keyset pages of limit=2 cover every device exactly once', async () => {
    const all = sql<{ id: string }>('SELECT id FROM apple_devices ORDER BY id').map((r) => r.id);
    assert.ok(all.length >= 7);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await api('GET', `/devices?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(r.status, 200);
      assert.ok(r.json.devices.length <= 2);
      seen.push(...r.json.devices.map((d: Json) => d.id));
      cursor = r.json.next_cursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, all);
    assert.equal(pages, Math.ceil(all.length / 2));

    const first = (await api('GET', '/devices')).json;
    assert.equal(first.devices.length, all.length, 'default limit 50');
    assert.equal(first.next_cursor, null);
    const phone = first.devices.find((d: Json) => d.id === phones[0]!.udid);
    assert.deepEqual(Object.keys(phone).sort(), [
      'device_name', 'enrolled_at', 'enrollment_id', 'enrollment_status', 'id', 'last_seen_at', 'model', 'os_version', 'ownership', 'platform', 'serial_number', 'udid', 'user_email',
    ]);
    assert.equal(phone.serial_number, phones[0]!.serial);
    assert.equal(phone.platform, 'ios');
    assert.equal(phone.os_version, '17.5.1');
    assert.equal(phone.enrollment_status, 'enrolled');
    assert.equal(phone.ownership, 'corporate');
    assert.match(phone.enrolled_at, /^\d{4}-\d\d-\d\dT/);

    for (const [q, field] of [['limit=0', 'limit'], ['limit=501', 'limit'], ['limit=two', 'limit'], ['cursor=bogus', 'cursor'], ['platform=windows', 'platform'], ['enrolled=yes', 'enrolled']]) {
      const r = await api('GET', `/devices?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.json.error.code, 'invalid_request', q);
      assert.match(r.json.error.message, new RegExp(`^${field}:`), q);
    }
  });

  test('device list filters: platform and enrolled', async () => {
    const ids = async (q: string) => (await api('GET', `/devices?${q}`)).json.devices.map((d: Json) => d.id).sort();
    assert.deepEqual(await ids('platform=ipados'), [ipad.udid]);
    assert.ok(!(await ids('platform=ios')).includes(ipad.udid));
    assert.ok((await ids('platform=ios')).includes(phones[1]!.udid));
    const notEnrolled = await ids('enrolled=false');
    assert.ok(notEnrolled.includes(pending.udid));
    for (const p of [...phones, ipad]) assert.ok(!notEnrolled.includes(p.udid));
    const enrolled = await ids('enrolled=true');
    assert.ok(!enrolled.includes(pending.udid));
    for (const p of [...phones, ipad]) assert.ok(enrolled.includes(p.udid));
    assert.deepEqual(await ids('platform=ipados&enrolled=false'), []);
    const r = (await api('GET', '/devices?enrolled=false')).json.devices.find((d: Json) => d.id === pending.udid);
    assert.equal(r.enrollment_status, 'pending');
    assert.equal(r.enrolled_at, null);
  });

  test('device detail: inventory as parsed JSON, channels and last seen', async () => {
    const r = await api('GET', `/devices/${phones[0]!.udid}`);
    assert.equal(r.status, 200);
    const d = r.json;
    assert.equal(d.id, phones[0]!.udid);
    assert.equal(d.serial_number, phones[0]!.serial);
    assert.equal(d.supervised, false);
    assert.match(d.last_seen_at, /^\d{4}-/);
    assert.equal(d.inventory.device_information.OSVersion, '17.5.1');
    assert.equal(d.inventory.device_information.IsSupervised, false);
    assert.equal(d.inventory.security_info.PasscodePresent, true);
    assert.equal(d.inventory.installed_apps[0].Identifier, 'com.example.app');
    assert.ok(d.inventory.profiles.length > 0);
    const row = sql<Record<string, string>>('SELECT * FROM apple_devices WHERE id = ?', d.id)[0]!;
    for (const k of ['device_information', 'security_info', 'installed_apps', 'profiles', 'certificates']) {
      assert.deepEqual(d.inventory[k], JSON.parse(row[k]!), `${k}: the stored JSON, parsed`);
    }
    assert.equal(d.inventory.certificates[0].isIdentity, true);
    assert.match(d.inventory.updated_at, /^\d{4}-/);
    assert.equal(d.channels.length, 1);
    assert.equal(d.channels[0].enrollment_id, phones[0]!.udid);
    assert.equal(d.channels[0].type, 'device');
    assert.equal(d.channels[0].status, 'enrolled');
    assert.equal(d.channels[0].push_ready, true);

    const p = (await api('GET', `/devices/${pending.udid}`)).json;
    assert.equal(p.enrollment_status, 'pending');
    assert.equal(p.inventory.device_information, null);

    const missing = await api('GET', '/devices/NO-SUCH-DEVICE');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'device_not_found');
  });

  test('a command per device: queued, delivered on the next Idle, acknowledged, its result shown', async () => {
    const d = phones[0]!;
    const r = await api('POST', `/devices/${d.udid}/commands`, { body: { request_type: 'DeviceLock', params: { Message: 'Call IT', PhoneNumber: '+1 555 0100' }, priority: 10 } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const uuid = r.json.command_uuid as string;
    assert.match(uuid, /^[0-9A-F-]{36}$/);

    let c = (await api('GET', `/commands/${uuid}`)).json;
    assert.equal(c.request_type, 'DeviceLock');
    assert.deepEqual(c.params, { Message: 'Call IT', PhoneNumber: '+1 555 0100' });
    assert.equal(c.priority, 10);
    assert.match(c.created_at, /^\d{4}-/);
    assert.deepEqual(c.targets.map((t: Json) => [t.enrollment_id, t.status]), [[d.udid, 'pending']]);

    const got = await d.report('Idle');
    assert.equal(got.plist?.CommandUUID, uuid);
    assert.deepEqual(got.plist?.Command, { RequestType: 'DeviceLock', Message: 'Call IT', PhoneNumber: '+1 555 0100' });
    const done = await d.report('Acknowledged', { CommandUUID: uuid, MessageResult: 'locked' });
    assert.equal(done.plist, null);

    c = (await api('GET', `/commands/${uuid}`)).json;
    assert.equal(c.targets[0].status, 'acknowledged');
    assert.equal(c.targets[0].result.Status, 'Acknowledged');
    assert.equal(c.targets[0].result.MessageResult, 'locked');
    assert.match(c.targets[0].updated_at, /^\d{4}-/);
    assert.equal((await api('DELETE', `/commands/${uuid}`)).json.cancelled, 0, 'nothing left to cancel');
  });

  test('a bulk command: one UUID, each device answers for itself', async () => {
    const [a, b] = [phones[1]!, ipad];
    const r = await api('POST', '/commands', { body: { request_type: 'DeviceInformation', params: { Queries: ['DeviceName', 'OSVersion'] }, enrollment_ids: [a.udid, b.udid, a.udid] } });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const uuid = r.json.command_uuid;
    for (const d of [a, b]) {
      const seen = await drain(d);
      assert.deepEqual(seen.map((s) => s.CommandUUID), [uuid]);
    }
    const c = (await api('GET', `/commands/${uuid}`)).json;
    assert.equal(c.targets.length, 2);
    for (const t of c.targets) {
      assert.equal(t.status, 'acknowledged');
      assert.equal(t.result.QueryResponses.OSVersion, '17.5.1');
      assert.equal(t.result.UDID, t.enrollment_id);
    }
  });

  test('cancel: pending targets cancelled, the device never receives the command; unknown UUID is 404', async () => {
    const d = phones[2]!;
    const r = await api('POST', '/commands', { body: { request_type: 'ProfileList', enrollment_ids: [d.udid, phones[3]!.udid] } });
    assert.equal(r.status, 201);
    const uuid = r.json.command_uuid;
    const del = await api('DELETE', `/commands/${uuid}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.json, { cancelled: 2 });
    assert.deepEqual((await api('GET', `/commands/${uuid}`)).json.targets.map((t: Json) => t.status), ['cancelled', 'cancelled']);
    assert.equal((await d.report('Idle')).plist, null, 'not delivered');
    assert.deepEqual((await api('DELETE', `/commands/${uuid}`)).json, { cancelled: 0 });
    for (const method of ['GET', 'DELETE']) {
      const missing = await api(method, '/commands/NO-SUCH-COMMAND');
      assert.equal(missing.status, 404, method);
      assert.equal(missing.json.error.code, 'command_not_found', method);
    }
  });

  test('refusals: each with its status and code, and nothing queued', async () => {
    const lockMe = phones[3]!;
    const personal = phones[4]!;
    const unenrolled = await enroll();
    assert.equal((await unenrolled.checkin('CheckOut')).status, 200);
    assert.equal((await api('POST', `/devices/${lockMe.udid}/commands`, { body: { request_type: 'DeviceLock' } })).status, 201);
    sql("UPDATE apple_enrollments SET ownership = 'personal' WHERE id = ?", personal.udid);
    const before = counts();

    const refused = async (p: string, body: unknown, status: number, code: string, message?: RegExp, raw?: string) => {
      const r = await api('POST', p, raw === undefined ? { body } : { raw });
      assert.equal(r.status, status, `${JSON.stringify(body ?? raw)} → ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code);
      if (message) assert.match(r.json.error.message, message);
      return r.json.error.message as string;
    };
    const one = (id: string) => `/devices/${id}/commands`;

    await refused(one(lockMe.udid), null, 400, 'bad_json', undefined, '{"request_type":');
    await refused('/commands', null, 400, 'bad_json', undefined, '');
    await refused('/commands', { enrollment_ids: [lockMe.udid] }, 400, 'invalid_request', /^request_type:/);
    await refused('/commands', { request_type: 'ProfileList', enrollment_ids: [] }, 400, 'invalid_request', /^enrollment_ids:/);
    await refused('/commands', { request_type: 'ProfileList', enrollment_ids: [lockMe.udid], priority: 1000 }, 400, 'invalid_request', /^priority:/);
    await refused(one(lockMe.udid), { request_type: 'ProfileList', enrollment_ids: [ipad.udid] }, 400, 'invalid_request', /^enrollment_ids:/);
    await refused(one(lockMe.udid), [1, 2], 400, 'invalid_request');

    await refused(one(lockMe.udid), { request_type: 'SelfDestruct' }, 422, 'unknown_request_type', /SelfDestruct/);
    await refused('/commands', { request_type: 'DeviceLock', params: { Message: 42 }, enrollment_ids: [ipad.udid] }, 422, 'invalid_command_params', /Message/);
    await refused('/commands', { request_type: 'DeviceInformation', params: { Queries: ['DeviceName', 'NoSuchQuery'] }, enrollment_ids: [ipad.udid] }, 422, 'invalid_command_params', /Queries\[1\]/);

    await refused('/commands', { request_type: 'ProfileList', enrollment_ids: [ipad.udid, 'NO-SUCH-ENROLLMENT'] }, 404, 'enrollment_not_found', /NO-SUCH-ENROLLMENT/);
    await refused(one('NO-SUCH-DEVICE'), { request_type: 'ProfileList' }, 404, 'device_not_found');
    await refused('/commands', { request_type: 'ProfileList', enrollment_ids: [ipad.udid, pending.udid] }, 409, 'enrollment_not_enrolled', new RegExp(`${pending.udid} is pending`));
    await refused(one(unenrolled.udid), { request_type: 'ProfileList' }, 409, 'enrollment_not_enrolled', new RegExp(`${unenrolled.udid} is unenrolled`));

    const erase = await refused(one(personal.udid), { request_type: 'EraseDevice' }, 422, 'command_not_supported');
    assert.ok(erase.includes(personal.udid) && erase.includes('AllowDeviceErase'), erase);
    const restart = await refused('/commands', { request_type: 'RestartDevice', enrollment_ids: [phones[2]!.udid, lockMe.udid] }, 422, 'command_not_supported');
    assert.ok(restart.includes(phones[2]!.udid) && restart.includes(lockMe.udid) && restart.includes('supervised'), restart);
    await refused('/commands', { request_type: 'EnableRemoteDesktop', enrollment_ids: [ipad.udid] }, 422, 'command_not_supported', /not available on iOS/);
    // A parameter of another platform: the Mac's Find My PIN on an iPad.
    await refused('/commands', { request_type: 'DeviceLock', params: { PIN: '123456' }, enrollment_ids: [ipad.udid] }, 422, 'command_not_supported', /DeviceLock parameter PIN is not available on iOS/);

    await refused(one(lockMe.udid), { request_type: 'DeviceLock' }, 409, 'duplicate_pending_command', new RegExp(lockMe.udid));
    await refused('/commands', { request_type: 'DeviceLock', enrollment_ids: [ipad.udid, lockMe.udid] }, 409, 'duplicate_pending_command');

    assert.equal(counts(), before, 'nothing queued by any refusal');
    assert.equal((await personal.report('Idle')).plist, null);

    // The same erase on a company device is accepted: the refusal came from the ownership.
    sql("UPDATE apple_enrollments SET ownership = 'corporate' WHERE id = ?", personal.udid);
    assert.equal((await api('POST', one(personal.udid), { body: { request_type: 'EraseDevice', params: { PreserveDataPlan: true } } })).status, 201);
  });
});

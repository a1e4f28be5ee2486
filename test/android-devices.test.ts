// Android devices over the wire: the real server pulling notifications from the fake Pub/Sub and
// reconciling through the fake devices.list; the devices in the one device list beside Apple ones.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as generated from '../src/android/amapi/schemas.generated.ts';
import { AppleDevice } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';
import { jsonApi, startServer, tempDir, type TestServer } from './support/server.ts';

const PUBLIC_URL = 'http://127.0.0.1:8080';
const POLICY = 'devices-policy';
const CHALLENGE = 'android-devices-challenge';
const ADMIN_PASSWORD = 'correct horse battery staple 42';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof jsonApi>;
const dir = tempDir('mdm-android-devices-');
const tokens: Record<'managed' | 'personal' | 'cope', string> = { managed: '', personal: '', cope: '' };

/** Polls until `check` passes (notifications arrive asynchronously), failing with its last error. */
async function eventually<T>(check: () => Promise<T>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Our device for Google's name, as the API lists it. */
async function listed(name: string): Promise<Record<string, any>> {
  const r = await api('GET', '/devices?platform=android&limit=500');
  assert.equal(r.status, 200);
  const d = (r.json.devices as Array<Record<string, any>>).find((x) => x.google_name === name);
  assert.ok(d, `${name} listed`);
  return d;
}

const detail = async (name: string) => (await api('GET', `/devices/${(await listed(name)).id}`)).json;

/** Waits until every published notification that was not dropped has been acknowledged. */
const drained = () =>
  eventually(async () => {
    const b = fake.pubsub.backlog();
    assert.deepEqual(b, { queued: 0, outstanding: 0 });
  });

before(async () => {
  fake = await startFakeAmapi();
  server = await startServer({
    env: {
      MDM_SCEP_WORKERS: '0',
      MDM_SCEP_CHALLENGE: CHALLENGE,
      MDM_AMAPI_URL: fake.url,
      MDM_PUBSUB_URL: fake.url,
      MDM_ANDROID_PUBSUB_SUBSCRIPTION: fake.pubsub.name,
      MDM_ANDROID_PULL_INTERVAL: '1s',
    },
  });
  const r = server.cli(['api-token', 'create', '--name', 'android-devices-test']);
  assert.equal(r.status, 0, r.stderr);
  api = jsonApi(server, r.stdout.trim());
  const keyFile = path.join(dir, 'key.json');
  fs.writeFileSync(keyFile, fake.serviceAccountKey().json);
  assert.equal(server.cli(['android', 'key', 'import', '--file', keyFile]).status, 0);
  const signup = await api('POST', '/android/signup');
  const page = await fetch(signup.json.url, { redirect: 'manual' });
  assert.equal((await fetch(page.headers.get('location')!.replace(PUBLIC_URL, server.url))).status, 201);
  assert.equal((await api('PUT', `/android/policies/${POLICY}`, { screenCaptureDisabled: true })).status, 200);
  const make = async (body: Record<string, unknown>) => {
    const t = await api('POST', '/android/enrollment-tokens', { policy: POLICY, ...body });
    assert.equal(t.status, 201, JSON.stringify(t.json));
    return t.json.value as string;
  };
  tokens.managed = await make({ ownership: 'corporate', user_email: 'ann@example.com' });
  tokens.personal = await make({ ownership: 'personal', user_email: 'bob@example.com' });
  tokens.cope = await make({ ownership: 'corporate', work_profile: true, user_email: 'cat@example.com' });
});
after(async () => {
  await server?.stop();
  await fake?.close();
});

describe('Android devices', () => {
  test('a fully managed device appears through its ENROLLMENT notification, with its facts and our token data', async () => {
    const name = fake.enroll(tokens.managed, { serialNumber: 'RFCX1234567', model: 'Pixel 9', androidVersion: '15', securityPatchLevel: '2026-05-05' });
    const d = await eventually(() => listed(name));
    assert.equal(d.platform, 'android');
    assert.equal(d.enrollment_status, 'enrolled');
    assert.equal(d.management_mode, 'DEVICE_OWNER');
    assert.equal(d.ownership, 'corporate');
    assert.equal(d.user_email, 'ann@example.com');
    assert.equal(d.serial_number, 'RFCX1234567');
    const full = await detail(name);
    assert.equal(full.os_version, '15');
    assert.equal(full.security_patch_level, '2026-05-05');
    assert.equal(full.policy.applied_name, `${[...fake.enterprises.keys()][0]}/policies/${POLICY}`);
    assert.equal(full.policy.applied_version, '1');
    assert.equal(full.policy_compliant, true);
    assert.equal(full.hardware_info.model, 'Pixel 9');
    assert.match(full.enrollment_token_id, /\S/);
    await drained();
  });

  test('a personal device gets a work profile; a status report updates compliance and details', async () => {
    const name = fake.enroll(tokens.personal);
    const d = await eventually(() => listed(name));
    assert.equal(d.management_mode, 'PROFILE_OWNER');
    assert.equal(d.ownership, 'personal');
    fake.checkIn(name, { policyCompliant: false, nonComplianceDetails: [{ settingName: 'passwordPolicies', nonComplianceReason: 'USER_ACTION' }] });
    const full = await eventually(async () => {
      const x = await detail(name);
      assert.equal(x.policy_compliant, false);
      return x;
    });
    assert.deepEqual(full.non_compliance_details, [{ settingName: 'passwordPolicies', nonComplianceReason: 'USER_ACTION' }]);
    await drained();
  });

  test('duplicated and reordered notifications never bring back an older report', async () => {
    const name = fake.enroll(tokens.cope, { companyOwned: true });
    await eventually(() => listed(name));
    await drained();
    fake.pubsub.hold();
    fake.pubsub.duplicateNext(3);
    fake.checkIn(name, { softwareInfo: { androidVersion: '14', securityPatchLevel: '2026-01-01' } });
    fake.checkIn(name, { softwareInfo: { androidVersion: '15', securityPatchLevel: '2026-03-01' } });
    fake.checkIn(name, { softwareInfo: { androidVersion: '16', securityPatchLevel: '2026-06-01' } });
    const newest = fake.device(name)!.device.lastStatusReportTime!;
    // Newest first, each twice: the first one read is the newest, the rest are older or equal.
    fake.pubsub.release('reverse');
    await drained();
    const x = await detail(name);
    assert.equal(x.os_version, '16');
    assert.equal(x.security_patch_level, '2026-06-01');
    assert.equal(x.last_status_report_at, new Date(newest).toISOString());
    assert.equal(x.management_mode, 'PROFILE_OWNER');
    assert.equal(x.ownership, 'corporate');
    assert.equal(fake.pubsub.acked.length, fake.pubsub.published.filter((m) => !m.dropped).length + 3, 'every copy acknowledged');
  });

  test('a dropped ENROLLMENT: the device comes with the next reconcile (API and CLI), which also marks removed what Google no longer lists', async () => {
    fake.pubsub.dropNext(1);
    const name = fake.enroll(tokens.managed, { serialNumber: 'DROPPED0001' });
    await drained();
    const before = await api('GET', '/devices?platform=android&limit=500');
    assert.ok(!before.json.devices.some((d: Record<string, any>) => d.google_name === name), 'not there before the reconcile');
    const listCalls = fake.calls.filter((c) => c.operation === 'enterprises.devices.list').length;
    const r = await api('POST', '/android/sync');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.devices, 4);
    assert.equal(r.json.removed, 0);
    assert.equal(fake.calls.filter((c) => c.operation === 'enterprises.devices.list').length, listCalls + 1);
    assert.equal((await listed(name)).serial_number, 'DROPPED0001');
    assert.equal(fake.calls.at(-1)!.query.pageSize, '100');

    // Gone at Google without a word (deleted in the Google Admin console): removed at the next reconcile.
    const gone = [...fake.enterprises.values()][0]!;
    gone.devices.delete(name.split('/').pop()!);
    const cli = await server.cliAsync(['android', 'sync']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, /^3 devices in 1 pages from enterprises\/\S+; 1 removed; 0 unreadable; \d+ ms\n$/);
    assert.equal((await listed(name)).enrollment_status, 'removed');
  });

  test('a reconcile pages through devices.list 100 at a time', async () => {
    const e = [...fake.enterprises.values()][0]!;
    fake.addDevices(e.name, 250);
    const r = await api('POST', '/android/sync');
    assert.equal(r.json.pages, 3);
    assert.equal(r.json.devices, 253);
    const pages = fake.calls.filter((c) => c.operation === 'enterprises.devices.list').slice(-3);
    assert.deepEqual(
      pages.map((c) => (c.answer as { devices: unknown[] }).devices.length),
      [100, 100, 53],
    );
  });

  test('Apple and Android devices in one list, filter, search and console pages', async () => {
    const apple = new AppleDevice(server.url);
    await apple.scepEnroll(CHALLENGE);
    assert.equal((await apple.authenticate()).status, 200);
    assert.equal((await apple.tokenUpdate()).status, 200);

    const all: Array<Record<string, any>> = [];
    let cursor: string | null = null;
    do {
      const r = await api('GET', `/devices?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      all.push(...r.json.devices);
      cursor = r.json.next_cursor;
    } while (cursor);
    assert.equal(all.filter((d) => d.platform === 'android').length, 253 + 1);
    assert.equal(all.filter((d) => d.platform !== 'android').length, 1);
    assert.deepEqual(all.map((d) => d.id), [...all.map((d) => d.id)].sort(), 'one id order');
    assert.equal(new Set(all.map((d) => d.id)).size, all.length);
    const enrolled = await api('GET', '/devices?platform=android&enrolled=false');
    assert.equal(enrolled.json.devices.length, 1);
    assert.ok(all.some((d) => d.serial_number === apple.serial && d.platform !== 'android'), 'the Apple device beside');
    const androidOnly = await api('GET', '/devices?platform=android&limit=500');
    assert.ok(androidOnly.json.devices.every((d: Record<string, any>) => d.platform === 'android'));

    // The console: search finds both platforms; the dashboard counts Android; the Android page shows its facts.
    const made = server.cli(['admin', 'create', '--username', 'root', '--password-stdin', '--role', 'admin'], {}, `${ADMIN_PASSWORD}\n`);
    assert.equal(made.status, 0, made.stderr);
    const web = new ConsoleClient(server.url);
    assert.equal((await web.login('root', ADMIN_PASSWORD)).status, 303);
    const search = await web.get('/devices?q=pixel+9');
    assert.equal(search.status, 200);
    assert.match(search.text, /Pixel 9/);
    assert.match(search.text, /Android 15/);
    const serial = await web.get(`/devices?q=${apple.serial.slice(0, 6)}`);
    assert.match(serial.text, new RegExp(apple.serial));
    const droid = all.find((d) => d.serial_number === 'RFCX1234567')!;
    const page = await web.get(`/devices/${droid.id}`);
    assert.equal(page.status, 200);
    for (const text of ['Fully managed', 'ann@example.com', '2026-05-05', POLICY, 'Pixel 9']) assert.ok(page.text.includes(text), text);
    const personal = all.find((d) => d.user_email === 'bob@example.com')!;
    const nonCompliant = await web.get(`/devices/${personal.id}`);
    assert.match(nonCompliant.text, /data-testid="non-compliance"/);
    assert.match(nonCompliant.text, /passwordPolicies/);
    const dash = await web.get('/');
    assert.match(dash.text, /data-testid="android-non-compliant">\d+</);
    assert.match(dash.text, /href="\/devices\?platform=android">Android</);
  });

  test("the fake's answers fit the discovery document's response schemas", () => {
    const answered = fake.calls.filter((c) => c.status === 200);
    const schemas = new Set(answered.map((c) => c.responseSchema));
    for (const s of ['Device', 'ListDevicesResponse']) assert.ok(schemas.has(s) || s === 'Device', s);
    for (const c of answered) {
      const schema = (generated as Record<string, unknown>)[c.responseSchema ?? ''] as typeof generated.Status | undefined;
      assert.ok(schema, `a generated schema for ${c.responseSchema}`);
      const r = schema.safeParse(c.answer);
      assert.ok(r.success, `${c.operation}: ${r.error?.message}`);
    }
  });
});

// Android devices over the wire: the real server pulling notifications from the fake Pub/Sub and
// reconciling through the fake devices.list; the devices in the one device list beside Apple ones.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import * as generated from '../src/android/amapi/schemas.generated.ts';
import { AppleDevice } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { bindEnterprise } from './support/android-bind.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';
import { startHookReceiver } from './support/hook-receiver.ts';
import { eventually } from './support/wait.ts';
import { startServer, tokenApi, type TestServer } from './support/server.ts';

const POLICY = 'devices-policy';
const CHALLENGE = 'android-devices-challenge';
const ADMIN_PASSWORD = 'correct horse battery staple 42';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof tokenApi>;
const tokens: Record<'managed' | 'personal' | 'cope', string> = { managed: '', personal: '', cope: '' };
/** Google's names of the devices enrolled by the first tests, by kind. */
const names: Record<'managed' | 'personal' | 'cope', string> = { managed: '', personal: '', cope: '' };

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
  api = tokenApi(server, 'android-devices-test');
  await bindEnterprise(server, api, fake);
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
    const name = (names.managed = fake.enroll(tokens.managed, { serialNumber: 'RFCX1234567', model: 'Pixel 9', androidVersion: '15', securityPatchLevel: '2026-05-05' }));
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
    const name = (names.personal = fake.enroll(tokens.personal));
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
    const name = (names.cope = fake.enroll(tokens.cope, { companyOwned: true }));
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

  const issued = () => fake.calls.filter((c) => c.operation === 'enterprises.devices.issueCommand').length;
  const command = async (name: string, request_type: string, params?: Record<string, unknown>) =>
    api('POST', `/devices/${(await listed(name)).id}/commands`, { request_type, ...(params ? { params } : {}) });
  const finished = (uuid: string, status = 'done') =>
    eventually(async () => {
      const r = await api('GET', `/commands/${uuid}`);
      assert.equal(r.json.status, status, JSON.stringify(r.json));
      return r.json;
    });

  test('each command, sent through issueCommand, is done once the device checks in (its COMMAND notification)', async () => {
    const cases: Array<[keyof typeof names, string, Record<string, unknown> | undefined, (done: Record<string, any>) => void]> = [
      ['managed', 'LOCK', undefined, (d) => assert.equal(d.scope, 'device')],
      ['personal', 'LOCK', undefined, (d) => assert.equal(d.scope, 'work_profile', 'a work profile locks the work profile')],
      ['managed', 'RESET_PASSWORD', { newPassword: '834712', resetPasswordFlags: ['REQUIRE_ENTRY'] }, (d) => assert.deepEqual(d.params, { resetPasswordFlags: ['REQUIRE_ENTRY'] }, 'the password is not kept')],
      ['managed', 'REBOOT', undefined, () => undefined],
      ['managed', 'START_LOST_MODE', { startLostModeParams: { lostMessage: { defaultMessage: 'Please call' }, lostPhoneNumber: { defaultMessage: '+1 555 0100' } } }, (d) => assert.deepEqual(d.result.startLostModeStatus, { status: 'SUCCESS' })],
      ['managed', 'STOP_LOST_MODE', undefined, (d) => assert.deepEqual(d.result.stopLostModeStatus, { status: 'SUCCESS' })],
      ['managed', 'CLEAR_APP_DATA', { clearAppsDataParams: { packageNames: ['com.example.mail'] } }, (d) => assert.deepEqual(d.result.clearAppsDataStatus.results, { 'com.example.mail': { clearingResult: 'SUCCESS' } })],
    ];
    for (const [kind, type, params, check] of cases) {
      const sent = await command(names[kind], type, params);
      assert.equal(sent.status, 201, `${type}: ${JSON.stringify(sent.json)}`);
      assert.equal(sent.json.status, 'sent');
      assert.match(sent.json.operation_name, new RegExp(`^${names[kind]}/operations/\\d+$`));
      assert.equal((await api('GET', `/commands/${sent.json.command_uuid}`)).json.status, 'sent', 'pending until the device checks in');
      fake.checkIn(names[kind]);
      const done = await finished(sent.json.command_uuid);
      assert.equal(done.request_type, type);
      check(done);
      if (type === 'START_LOST_MODE') await eventually(async () => assert.equal((await detail(names.managed)).state, 'LOST'));
    }
    const body = fake.calls.filter((c) => c.operation === 'enterprises.devices.issueCommand').find((c) => (c.body as { type: string }).type === 'RESET_PASSWORD')!.body;
    assert.equal((body as { newPassword: string }).newPassword, '834712', 'Google got the password');
    const history = await api('GET', `/devices/${(await listed(names.managed)).id}/commands`);
    assert.deepEqual(
      history.json.commands.map((h: Record<string, string>) => h.request_type),
      ['CLEAR_APP_DATA', 'STOP_LOST_MODE', 'START_LOST_MODE', 'REBOOT', 'RESET_PASSWORD', 'LOCK'],
    );
    assert.ok(history.json.commands.every((h: Record<string, string>) => h.status === 'done'));
  });

  test('a lost COMMAND notification: operations.get finds it done at the next sync', async () => {
    const sent = await command(names.managed, 'LOCK');
    fake.pubsub.dropNext(1);
    fake.checkIn(names.managed);
    await drained();
    assert.equal((await api('GET', `/commands/${sent.json.command_uuid}`)).json.status, 'sent');
    const r = await api('POST', '/android/sync');
    assert.equal(r.json.commands_finished, 1);
    assert.equal((await api('GET', `/commands/${sent.json.command_uuid}`)).json.status, 'done');
    assert.ok(fake.calls.some((c) => c.operation === 'enterprises.devices.operations.get' && c.path.endsWith(sent.json.operation_name.split('/').pop())));
  });

  test('commands the management mode cannot run are refused before sending, with the reason', async () => {
    const before = issued();
    const cases: Array<[keyof typeof names, string, RegExp]> = [
      ['personal', 'REBOOT', /only supported on fully managed devices/],
      ['cope', 'REBOOT', /only supported on fully managed devices/],
      ['managed', 'RELINQUISH_OWNERSHIP', /only for company-owned devices with a work profile/],
      ['personal', 'RELINQUISH_OWNERSHIP', /only for company-owned devices with a work profile/],
      ['personal', 'START_LOST_MODE', /not on a personal device's work profile/],
    ];
    for (const [kind, type, reason] of cases) {
      const r = await command(names[kind], type);
      assert.equal(r.status, 422, `${kind} ${type}`);
      assert.equal(r.json.error.code, 'command_not_supported');
      assert.match(r.json.error.message, reason);
    }
    const bad: Array<[string, Record<string, unknown> | undefined, string, number]> = [
      ['SELF_DESTRUCT', undefined, 'unknown_request_type', 400],
      ['CLEAR_APP_DATA', undefined, 'invalid_command_params', 400],
      ['LOCK', { newPassword: 'x' }, 'invalid_command_params', 400],
      ['RESET_PASSWORD', { resetPasswordFlags: ['NOW_PLEASE'] }, 'invalid_command_params', 400],
    ];
    for (const [type, params, code, status] of bad) {
      const r = await command(names.managed, type, params);
      assert.equal(r.status, status, `${type} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code);
    }
    assert.equal(issued(), before, 'Google saw none of them');
  });

  test('RELINQUISH_OWNERSHIP on a company-owned work profile: done, then Google forgets the device', async () => {
    const sent = await command(names.cope, 'RELINQUISH_OWNERSHIP');
    assert.equal(sent.status, 201, JSON.stringify(sent.json));
    fake.checkIn(names.cope);
    await finished(sent.json.command_uuid);
    await api('POST', '/android/sync');
    assert.equal((await listed(names.cope)).enrollment_status, 'removed');
    const again = await command(names.cope, 'LOCK');
    assert.equal(again.json.error.code, 'enrollment_not_enrolled');
  });

  test('mdm android command sends one from the CLI', async () => {
    const id = (await listed(names.managed)).id;
    const r = await server.cliAsync(['android', 'command', id, 'LOCK']);
    assert.equal(r.status, 0, r.stderr);
    const [uuid, type, status] = r.stdout.trim().split('\t');
    assert.equal(type, 'LOCK');
    assert.equal(status, 'sent');
    fake.checkIn(names.managed);
    await finished(uuid!);
    const refused = await server.cliAsync(['android', 'command', (await listed(names.personal)).id, 'REBOOT']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /only supported on fully managed devices/);
  });

  test('the console: lock an Android device, then wipe it after seeing what the wipe does', async () => {
    const name = fake.enroll(tokens.managed, { serialNumber: 'CONSOLE0001' });
    const d = await eventually(() => listed(name));
    const web = new ConsoleClient(server.url);
    await web.login('root', ADMIN_PASSWORD);
    const page = await web.get(`/devices/${d.id}`);
    assert.match(page.text, /name="type" value="LOCK"/);
    assert.match(page.text, /name="type" value="REBOOT"/, 'fully managed: reboot offered');
    assert.doesNotMatch(page.text, /value="STOP_LOST_MODE"/, 'not lost');
    const before = issued();
    const lock = await web.post(`/devices/${d.id}/android-command`, { type: 'LOCK' }, { csrf: true });
    assert.equal(lock.status, 303);
    assert.equal(issued(), before + 1);
    fake.checkIn(name);
    await eventually(async () => assert.match((await web.get(`/devices/${d.id}`)).text, /data-request-type="LOCK"[^]*?<td class="status">done</));

    const wipes = fake.wipes.length;
    const ask = await web.post(`/devices/${d.id}/wipe`, {}, { csrf: true });
    assert.equal(ask.status, 200);
    assert.match(ask.text, /Factory reset<\/strong>: a company-owned device/);
    assert.match(ask.text, /name="confirm" value="yes"/);
    assert.equal(fake.wipes.length, wipes, 'asking wipes nothing');
    const wiped = await web.post(`/devices/${d.id}/wipe`, { confirm: 'yes' }, { csrf: true });
    assert.equal(wiped.status, 303);
    assert.equal(fake.wipes.at(-1)!.name, name);
    assert.equal(fake.wipes.at(-1)!.effect, 'factory_reset');
    assert.match((await web.get(`/devices/${d.id}`)).text, /Actions are available while the device is enrolled/);
  });

  test('wipe: said before it is done; a personal device loses its work profile only, a company device is factory reset', async () => {
    const personal = (await listed(names.personal)).id;
    const preview = await api('GET', `/devices/${personal}/wipe`);
    assert.equal(preview.status, 200);
    assert.equal(preview.json.effect, 'work_profile_removed');
    assert.match(preview.json.description, /personal apps and data stay/);
    const unconfirmed = await api('POST', `/devices/${personal}/wipe`, {});
    assert.equal(unconfirmed.status, 409);
    assert.equal(unconfirmed.json.error.code, 'wipe_not_confirmed');
    assert.match(unconfirmed.json.error.message, /work profile is removed/);
    assert.equal((await api('POST', `/devices/${personal}/wipe`, { confirm: true, wipe_data_flags: ['SHRED'] })).status, 400);
    assert.equal((await api('POST', `/devices/${personal}/wipe`, { confirm: true, reason_message: 'x'.repeat(201) })).status, 400);
    const removeInstead = await api('DELETE', `/devices/${personal}`);
    assert.equal(removeInstead.status, 409);
    assert.equal(removeInstead.json.error.code, 'android_use_wipe');
    const wipesBefore = fake.wipes.length;

    const done = await api('POST', `/devices/${personal}/wipe`, { confirm: true, reason_message: 'You left the company' });
    assert.equal(done.status, 200, JSON.stringify(done.json));
    assert.equal(done.json.effect, 'work_profile_removed');
    assert.deepEqual(fake.wipes.at(-1), { name: names.personal, effect: 'work_profile_removed', wipeDataFlags: [], wipeReasonMessage: 'You left the company' });
    assert.equal((await listed(names.personal)).enrollment_status, 'removed');
    const history = await api('GET', `/devices/${personal}/commands`);
    assert.equal(history.json.commands[0].request_type, 'WIPE');
    assert.equal((await api('POST', `/devices/${personal}/wipe`, { confirm: true })).json.error.code, 'enrollment_not_enrolled');

    const managed = (await listed(names.managed)).id;
    const cli = await server.cliAsync(['android', 'wipe', managed]);
    assert.equal(cli.status, 1);
    assert.match(cli.stdout, /^factory_reset: a company-owned device/);
    assert.equal(fake.wipes.length, wipesBefore + 1, 'the preview sends nothing');
    const full = await api('POST', `/devices/${managed}/wipe`, { confirm: true, wipe_data_flags: ['WIPE_EXTERNAL_STORAGE'] });
    assert.equal(full.json.effect, 'factory_reset');
    assert.deepEqual(fake.wipes.at(-1), { name: names.managed, effect: 'factory_reset', wipeDataFlags: ['WIPE_EXTERNAL_STORAGE'], wipeReasonMessage: undefined });
    assert.equal(fake.device(names.managed), undefined, 'gone at Google');
    // A reconcile afterwards changes nothing: Google no longer lists it and it is removed here already.
    const r = await api('POST', '/android/sync');
    assert.equal(r.json.removed, 0);
  });

  test('webhooks hear of an Android device new to us and of its compliance flipping, once per change', async () => {
    const receiver = await startHookReceiver();
    const got = receiver.hooks;
    try {
      const hook = await api('POST', '/webhooks', { url: receiver.url, events: ['device.enrolled', 'compliance.changed'] });
      assert.equal(hook.status, 201);
      const name = fake.enroll(tokens.managed, { serialNumber: 'HOOKS0001' });
      const enrolled = await eventually(async () => {
        const e = got.find((x) => x.type === 'device.enrolled' && x.data.google_name === name);
        assert.ok(e);
        return e;
      });
      assert.equal(enrolled.data.platform, 'android');
      assert.equal(enrolled.data.serial_number, 'HOOKS0001');
      assert.equal(enrolled.data.device_id, (await listed(name)).id);
      fake.checkIn(name, { policyCompliant: false, nonComplianceDetails: [{ settingName: 'cameraDisabled', nonComplianceReason: 'MANAGEMENT_MODE' }] });
      const flipped = await eventually(async () => {
        const e = got.find((x) => x.type === 'compliance.changed' && x.data.device_id === enrolled.data.device_id);
        assert.ok(e);
        return e;
      });
      assert.deepEqual([flipped.data.compliant, flipped.data.previous], [false, true]);
      // A report that changes nothing about compliance is no event.
      fake.checkIn(name, { softwareInfo: { androidVersion: '16' } });
      fake.checkIn(name, { policyCompliant: true, nonComplianceDetails: [] });
      await eventually(async () => assert.equal(got.filter((x) => x.type === 'compliance.changed' && x.data.device_id === enrolled.data.device_id).length, 2, JSON.stringify(got)));
      await drained();
      assert.equal(got.filter((x) => x.type === 'compliance.changed' && x.data.device_id === enrolled.data.device_id).length, 2);
      assert.equal((await api('DELETE', `/webhooks/${hook.json.id}`)).status, 204);
    } finally {
      receiver.close();
    }
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

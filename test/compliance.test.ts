// Apple compliance over the wire: a simulated device enrolls through SCEP and MDM, answers its
// inventory commands, and the appliance evaluates what it reported against its effective policy;
// a policy change re-evaluates at once. Timeline, lookups and the webhook as a trust system sees them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_PERSONA, drainCommands, enrolledDevice, type AppleDevice } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { startHookReceiver, type HookReceiver } from './support/hook-receiver.ts';
import { eventually } from './support/wait.ts';
import { startServer, tokenApi, type TestServer } from './support/server.ts';

const CHALLENGE = 'compliance-test-challenge';

let server: TestServer;
let api: ReturnType<typeof tokenApi>;
let receiver: HookReceiver;
let policyId = '';
let device: AppleDevice;
let deviceId = '';

const compliance = async (id: string) => {
  const r = await api('GET', `/devices/${id}/compliance`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
};
const ruleIds = (c: Record<string, any>) => (c.failing_rules as Array<{ id: string }>).map((r) => r.id);

before(async () => {
  receiver = await startHookReceiver();
  server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
  api = tokenApi(server, 'compliance-test');
  const hook = await api('POST', '/webhooks', { url: receiver.url, events: ['compliance.changed'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.json));
});
after(async () => {
  await server?.stop();
  receiver?.close();
});

test('a device with no policy is compliant, saying why', async () => {
  const d = await enrolledDevice(server.url, CHALLENGE, { persona: { ...TEST_PERSONA, apps: [...TEST_PERSONA.apps] } });
  const found = await api('GET', `/compliance?udid=${d.udid}`);
  assert.equal(found.status, 200, JSON.stringify(found.json));
  const c = await compliance(found.json.device_id);
  assert.deepEqual([c.state, c.reason, c.policy, c.failing_rules], ['compliant', 'no_policy', null, []]);
});

test('no passcode against a passcode policy: non-compliant with passcode_required; set, and compliant again', async () => {
  const created = await api('POST', '/policies', { name: 'iPhone baseline', document: { passcode: { required: true, min_length: 6 }, min_os_version: { ios: '17.0' } } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  policyId = created.json.id;
  assert.equal((await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'ios' })).status, 201);
  device = await enrolledDevice(server.url, CHALLENGE, { persona: { ...TEST_PERSONA, passcode: false, apps: [...TEST_PERSONA.apps] } });
  const found = await api('GET', `/compliance?udid=${device.udid}`);
  assert.equal(found.status, 200);
  deviceId = found.json.device_id;
  assert.deepEqual([found.json.platform, found.json.state], ['ios', 'noncompliant']);
  const bad = await compliance(deviceId);
  assert.deepEqual(ruleIds(bad), ['passcode_required']);
  assert.deepEqual(bad.policy, { id: policyId, version: 1 });
  assert.match(bad.failing_rules[0].message, /passcode/i);
  const bySerial = await api('GET', `/compliance?serial=${device.serial}`);
  assert.deepEqual([bySerial.json.device_id, bySerial.json.state], [deviceId, 'noncompliant']);

  // The user sets a passcode; the next SecurityInfo says so.
  device.persona.passcode = true;
  const q = await api('POST', `/devices/${deviceId}/commands`, { request_type: 'SecurityInfo' });
  assert.equal(q.status, 201, JSON.stringify(q.json));
  await drainCommands(device);
  const good = await compliance(deviceId);
  assert.deepEqual([good.state, good.failing_rules], ['compliant', []]);
  assert.deepEqual(
    good.timeline.map((e: Record<string, any>) => [e.state, e.previous_state, e.failing_rules.map((r: { id: string }) => r.id)]),
    [
      ['compliant', 'noncompliant', []],
      ['noncompliant', 'unknown', ['passcode_required']],
      // DeviceInformation came before SecurityInfo: the passcode was not known yet.
      ['unknown', null, []],
    ],
  );
  // Found non-compliant, then fixed: one event each (not knowing yet is no news).
  const events = await eventually(async () => {
    const e = receiver.hooks.filter((h) => h.type === 'compliance.changed' && h.data.device_id === deviceId);
    assert.equal(e.length, 2, JSON.stringify(receiver.hooks));
    return e;
  });
  assert.deepEqual(
    events.map((e) => [e.data.state, e.data.previous_state, e.data.platform]),
    [
      ['noncompliant', 'unknown', 'ios'],
      ['compliant', 'noncompliant', 'ios'],
    ],
  );
});

test('a minimum OS above what the device runs makes it non-compliant at once, with min_os_version', async () => {
  const r = await api('PUT', `/policies/${policyId}`, { document: { passcode: { required: true, min_length: 6 }, min_os_version: { ios: '17.10' } } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const c = await compliance(deviceId);
  assert.equal(c.state, 'noncompliant');
  assert.deepEqual(
    c.failing_rules.map((x: Record<string, unknown>) => [x.id, x.required, x.reported]),
    [['min_os_version', '17.10', TEST_PERSONA.osVersion]],
  );
  assert.deepEqual(c.policy, { id: policyId, version: 2 });
  // A rule set that changes while the state stays is in the timeline, but no flip for the webhook.
  const r2 = await api('PUT', `/policies/${policyId}`, { document: { min_os_version: { ios: '17.10' }, required_apps: { apple: ['com.example.missing'] } } });
  assert.equal(r2.status, 200);
  const c2 = await compliance(deviceId);
  assert.deepEqual(ruleIds(c2).sort(), ['min_os_version', 'required_app_missing']);
  assert.deepEqual(c2.timeline.slice(0, 2).map((e: Record<string, any>) => [e.state, e.previous_state]), [
    ['noncompliant', 'noncompliant'],
    ['noncompliant', 'compliant'],
  ]);
  await eventually(async () => assert.equal(receiver.hooks.filter((h) => h.type === 'compliance.changed' && h.data.device_id === deviceId).length, 3));

  // The console's device page: state, what fails, the latest changes.
  const password = 'correct horse battery staple 42';
  assert.equal(server.cli(['admin', 'create', '--username', 'viewer', '--password-stdin', '--role', 'read-only'], {}, `${password}\n`).status, 0);
  const web = new ConsoleClient(server.url);
  assert.equal((await web.login('viewer', password)).status, 303);
  const page = await web.get(`/devices/${deviceId}`);
  assert.equal(page.status, 200);
  assert.match(page.text, /data-testid="compliance-state"[^>]*>Not compliant</);
  assert.match(page.text, /<code>min_os_version<\/code>/);
  assert.match(page.text, /com\.example\.missing is not installed/);
  assert.match(page.text, /data-testid="compliance-timeline"/);
});

test('unassigned, the device is compliant again with no policy', async () => {
  const list = await api('GET', `/policies/${policyId}/assignments`);
  assert.equal((await api('DELETE', `/policies/${policyId}/assignments/${list.json.assignments[0].id}`)).status, 204);
  const c = await compliance(deviceId);
  assert.deepEqual([c.state, c.reason], ['compliant', 'no_policy']);
});

// Policies enforced on Android over the wire: the real server against the fake AMAPI and Pub/Sub.
// One AMAPI policy per (policy, ownership), patched once per version whatever the device count;
// devices pointed at it with devices.patch only when their bucket changes, back on their
// enrollment policy when none of ours applies; Google's failures recorded and retried at the
// next sync. Compliance follows each status report; the webhook fires once per flip.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { bindEnterprise } from './support/android-bind.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';
import { startHookReceiver, type HookReceiver } from './support/hook-receiver.ts';
import { eventually } from './support/wait.ts';
import { startServer, tokenApi, type TestServer } from './support/server.ts';

const ENROLL_POLICY = 'enroll-policy';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof tokenApi>;
let enterprise = '';
const tokens = { corporate: '', personal: '' };
const devices = { corp: { name: '', id: '' }, personal: { name: '', id: '' } };
let policyId = '';
let assignmentId = '';
let receiver: HookReceiver;

async function idOf(name: string): Promise<string> {
  return eventually(async () => {
    const r = await api('GET', '/devices?platform=android&limit=500');
    const d = (r.json.devices as Array<Record<string, any>>).find((x) => x.google_name === name);
    assert.ok(d, `${name} listed`);
    return d.id as string;
  });
}

const compliance = async (id: string) => {
  const r = await api('GET', `/devices/${id}/compliance`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
};
const callsOf = (operation: string) => fake.calls.filter((c) => c.operation === operation && c.status === 200);
const bucket = (ownership: string) => `${enterprise}/policies/mdm-${policyId}-${ownership}`;

before(async () => {
  fake = await startFakeAmapi();
  receiver = await startHookReceiver();
  server = await startServer({
    env: {
      MDM_SCEP_WORKERS: '0',
      MDM_AMAPI_URL: fake.url,
      MDM_PUBSUB_URL: fake.url,
      MDM_ANDROID_PUBSUB_SUBSCRIPTION: fake.pubsub.name,
      MDM_ANDROID_PULL_INTERVAL: '1s',
    },
  });
  api = tokenApi(server, 'policy-android-test');
  const hook = await api('POST', '/webhooks', { url: receiver.url, events: ['compliance.changed'] });
  assert.equal(hook.status, 201, JSON.stringify(hook.json));
});
after(async () => {
  await server?.stop();
  await fake?.close();
  receiver?.close();
});

test('a policy assigned before any enterprise is bound saves; the device says why nothing reached it', async () => {
  // A device left from an enterprise since unbound: seeded, as enrollment needs one bound.
  const db = new Database(path.join(server.dataDir, 'mdm.sqlite'));
  db.pragma('busy_timeout = 5000');
  const orphan = 'p-orphan-android';
  db.prepare(
    `INSERT INTO android_devices (id, name, enterprise_name, status, ownership, policy_name, reported_at, created_at, updated_at)
     VALUES (?, 'enterprises/LC0/devices/1', 'enterprises/LC0', 'enrolled', 'corporate', 'enterprises/LC0/policies/old', 0, 0, 0)`,
  ).run(orphan);
  try {
    const created = await api('POST', '/policies', { name: 'Android baseline', document: { passcode: { required: true, min_length: 6 }, min_os_version: { android: '14' } } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    policyId = created.json.id;
    const a = await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'android' });
    assert.equal(a.status, 201, JSON.stringify(a.json));
    assignmentId = a.json.id;
    assert.equal(fake.calls.length, 0);
    const e = await api('GET', `/devices/${orphan}/effective-policy`);
    assert.equal(e.json.policy.id, policyId);
    assert.equal(e.json.enforcement.android.status, 'error');
    assert.equal(e.json.enforcement.android.error.code, 'android_enterprise_missing');
  } finally {
    db.prepare(`UPDATE android_devices SET status = 'removed' WHERE id = ?`).run(orphan);
    db.close();
  }
});

test('an enrolling device is pointed at its bucket policy, which is patched once for all its devices', async () => {
  enterprise = await bindEnterprise(server, api, fake);
  assert.equal((await api('PUT', `/android/policies/${ENROLL_POLICY}`, { screenCaptureDisabled: true })).status, 200);
  for (const ownership of ['corporate', 'personal'] as const) {
    const t = await api('POST', '/android/enrollment-tokens', { policy: ENROLL_POLICY, ownership });
    assert.equal(t.status, 201, JSON.stringify(t.json));
    tokens[ownership] = t.json.value;
  }
  devices.corp.name = fake.enroll(tokens.corporate, { serialNumber: 'ANDCORP0001', androidVersion: '15' });
  devices.personal.name = fake.enroll(tokens.personal, { serialNumber: 'ANDBYOD0001', androidVersion: '15' });
  devices.corp.id = await idOf(devices.corp.name);
  devices.personal.id = await idOf(devices.personal.name);
  await eventually(async () => {
    assert.equal(fake.device(devices.corp.name)!.device.policyName, bucket('corporate'));
    assert.equal(fake.device(devices.personal.name)!.device.policyName, bucket('personal'));
  });
  // One patch per bucket, with the compiled policy: the personal one scopes the passcode to the work profile.
  const patches = callsOf('enterprises.policies.patch').filter((c) => c.path.includes('/policies/mdm-'));
  assert.deepEqual(patches.map((c) => c.path).sort(), [`/v1/${bucket('corporate')}`, `/v1/${bucket('personal')}`]);
  const personal = fake.enterprises.get(enterprise)!.policies.get(`mdm-${policyId}-personal`)!;
  assert.equal((personal.policy.passwordPolicies as Array<Record<string, unknown>>)[0]!.passwordScope, 'SCOPE_PROFILE');
  assert.equal(fake.enterprises.get(enterprise)!.policies.get(`mdm-${policyId}-corporate`)!.policy.minimumApiLevel, 34);
  // devices.patch carried the policy alone.
  for (const c of callsOf('enterprises.devices.patch')) {
    assert.equal(c.query.updateMask, 'policyName');
    assert.deepEqual(Object.keys(c.body as object), ['policyName']);
  }
  const e = await api('GET', `/devices/${devices.corp.id}/effective-policy`);
  assert.equal(e.json.enforcement.android.policy_name, bucket('corporate'));
  assert.equal(e.json.enforcement.android.enrolled_policy_name, `${enterprise}/policies/${ENROLL_POLICY}`);
  assert.equal(e.json.enforcement.android.status, 'applied');
  assert.equal(e.json.enforcement.android.google_policy_version, '1');
});

test('a new version patches each bucket once and no device; the same targets again send nothing', async () => {
  const before = fake.calls.length;
  const r = await api('PUT', `/policies/${policyId}`, { document: { passcode: { required: true, min_length: 8 }, min_os_version: { android: '14' } } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const sent = fake.calls.slice(before);
  assert.deepEqual(sent.map((c) => `${c.operation} ${c.path}`).sort(), [`enterprises.policies.patch /v1/${bucket('corporate')}`, `enterprises.policies.patch /v1/${bucket('personal')}`]);
  const corp = fake.enterprises.get(enterprise)!.policies.get(`mdm-${policyId}-corporate`)!;
  assert.equal((corp.policy.passwordPolicies as Array<Record<string, unknown>>)[0]!.passwordMinimumLength, 8);
  const e = await api('GET', `/devices/${devices.corp.id}/effective-policy`);
  assert.equal(e.json.enforcement.android.policy_version, 2);
  assert.equal(e.json.enforcement.android.google_policy_version, '2');
  // A group change that leaves the effective policy as it was: nothing goes to Google.
  const g = await api('POST', '/groups', { name: 'Android people' });
  const after = fake.calls.length;
  assert.equal((await api('PUT', `/groups/${g.json.id}/members/${devices.corp.id}`)).status, 201);
  assert.equal(fake.calls.length, after);
});

test('a status report with non-compliance shows the failing rule, in the lookup too; fixed, compliant again; one webhook per flip', async () => {
  const id = devices.corp.id;
  await eventually(async () => assert.equal((await compliance(id)).state, 'compliant'));
  assert.deepEqual((await compliance(id)).policy, { id: policyId, version: 2 });
  fake.checkIn(devices.corp.name, { policyCompliant: false, nonComplianceDetails: [{ settingName: 'passwordPolicies', nonComplianceReason: 'USER_ACTION' }] });
  const bad = await eventually(async () => {
    const c = await compliance(id);
    assert.equal(c.state, 'noncompliant');
    return c;
  });
  assert.deepEqual(
    bad.failing_rules.map((r: Record<string, unknown>) => [r.id, r.setting, r.reason]),
    [['android_setting_noncompliant', 'passwordPolicies', 'USER_ACTION']],
  );
  assert.match(bad.failing_rules[0].message, /passwordPolicies: the user has not done what it needs/);
  const lookup = await api('GET', '/compliance?serial=ANDCORP0001');
  assert.equal(lookup.status, 200);
  assert.deepEqual([lookup.json.device_id, lookup.json.platform, lookup.json.state], [id, 'android', 'noncompliant']);

  fake.checkIn(devices.corp.name, { policyCompliant: true, nonComplianceDetails: [] });
  const good = await eventually(async () => {
    const c = await compliance(id);
    assert.equal(c.state, 'compliant');
    return c;
  });
  assert.deepEqual(good.failing_rules, []);
  assert.deepEqual(
    good.timeline.slice(0, 2).map((e: Record<string, unknown>) => [e.state, e.previous_state]),
    [
      ['compliant', 'noncompliant'],
      ['noncompliant', 'compliant'],
    ],
  );
  const flips = await eventually(async () => {
    const f = receiver.hooks.filter((h) => h.type === 'compliance.changed' && h.data.device_id === id);
    assert.equal(f.length, 2);
    return f;
  });
  assert.deepEqual(
    flips.map((f) => [f.data.state, f.data.previous_state, f.data.compliant, f.data.previous, f.data.platform]),
    [
      ['noncompliant', 'compliant', false, true, 'android'],
      ['compliant', 'noncompliant', true, false, 'android'],
    ],
  );
  assert.equal(flips[0]!.data.failing_rules[0].id, 'android_setting_noncompliant');
  // The page is capped by limit, with a cursor to the next.
  const paged = await api('GET', `/devices/${id}/compliance?limit=1`);
  assert.equal(paged.json.timeline.length, 1);
  const next = await api('GET', `/devices/${id}/compliance?limit=1&cursor=${paged.json.next_cursor}`);
  assert.deepEqual([next.json.timeline[0].state, next.json.timeline[0].previous_state], ['noncompliant', 'compliant']);
});

test('a device below the minimum Android release is non-compliant with min_os_version; the personal one is found by its enterprise-specific id', async () => {
  const name = fake.enroll(tokens.corporate, { serialNumber: 'ANDOLD0001', androidVersion: '13' });
  const id = await idOf(name);
  await eventually(async () => assert.equal(fake.device(name)!.device.policyName, bucket('corporate')));
  const c = await eventually(async () => {
    const x = await compliance(id);
    assert.equal(x.state, 'noncompliant');
    return x;
  });
  assert.deepEqual(
    c.failing_rules.map((r: Record<string, unknown>) => [r.id, r.required, r.reported]),
    [['min_os_version', '14', '13']],
  );
  const esid = fake.device(devices.personal.name)!.device.hardwareInfo!.enterpriseSpecificId!;
  const r = await api('GET', `/compliance?enterprise_id=${esid}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.device_id, devices.personal.id);
  assert.equal(r.json.state, 'compliant');
  assert.match(r.json.evaluated_at, /^\d{4}-/);
});

test('the lookup wants exactly one key and answers 404 for an unknown device', async () => {
  for (const q of ['', '?serial=A&udid=B', '?colour=red']) {
    const r = await api('GET', `/compliance${q}`);
    assert.equal(r.status, 400, q);
    assert.equal(r.json.error.code, 'invalid_request');
  }
  const r = await api('GET', '/compliance?serial=NOSUCHSERIAL');
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'device_not_found');
  assert.equal((await api('GET', '/devices/no-such-device/compliance')).status, 404);
});

test("Google failing does not fail the admin's save: the error is recorded per device and the next sync retries", async () => {
  // Every attempt of the bucket patch (the client retries a 503 three times) fails.
  fake.fail(503, 8);
  const r = await api('PUT', `/policies/${policyId}`, { document: { passcode: { required: true, min_length: 9 }, min_os_version: { android: '14' } } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  fake.clearFaults();
  const e = await api('GET', `/devices/${devices.corp.id}/effective-policy`);
  assert.equal(e.json.enforcement.android.status, 'error');
  assert.equal(e.json.enforcement.android.error.code, 'google_unavailable');
  const sync = await api('POST', '/android/sync');
  assert.equal(sync.status, 200, JSON.stringify(sync.json));
  const fixed = await api('GET', `/devices/${devices.corp.id}/effective-policy`);
  assert.equal(fixed.json.enforcement.android.status, 'applied');
  assert.equal(fixed.json.enforcement.android.policy_version, 3);
  const corp = fake.enterprises.get(enterprise)!.policies.get(`mdm-${policyId}-corporate`)!;
  assert.equal((corp.policy.passwordPolicies as Array<Record<string, unknown>>)[0]!.passwordMinimumLength, 9);
});

test('unassigned, every device goes back to the policy it enrolled with; deleted, the policy leaves Google too', async () => {
  const r = await api('DELETE', `/policies/${policyId}/assignments/${assignmentId}`);
  assert.equal(r.status, 204);
  for (const d of [devices.corp, devices.personal]) assert.equal(fake.device(d.name)!.device.policyName, `${enterprise}/policies/${ENROLL_POLICY}`);
  // Google reports the device compliant with that policy, and no policy of ours applies.
  fake.checkIn(devices.corp.name, { policyCompliant: true });
  await eventually(async () => {
    const c = await compliance(devices.corp.id);
    assert.deepEqual([c.state, c.reason, c.policy], ['compliant', 'no_policy', null]);
  });
  // Deleted, its AMAPI policies go too: no device is on them any more.
  const before = fake.calls.length;
  assert.equal((await api('DELETE', `/policies/${policyId}`)).status, 204);
  assert.deepEqual(fake.calls.slice(before).map((c) => `${c.operation} ${c.status} ${c.path}`).sort(), [
    `enterprises.policies.delete 200 /v1/${bucket('corporate')}`,
    `enterprises.policies.delete 200 /v1/${bucket('personal')}`,
  ]);
  assert.deepEqual([...fake.enterprises.get(enterprise)!.policies.keys()].sort(), [ENROLL_POLICY]);
});

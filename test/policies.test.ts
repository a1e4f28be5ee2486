// Policies over the wire: versions, groups, assignments, the one effective policy per device by
// the precedence rule (group > platform > ownership > all, then priority, then name), previews
// diffed against what devices have, and refusals with the field named. Devices are seeded into
// the server's database: enrollment has its own tests, targeting only reads platform and ownership.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, before, test } from 'node:test';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

let server: TestServer;
let api: ReturnType<typeof jsonApi>;

const DEVICES = {
  iosCorp: 'P0000001-IOS-CORP',
  iosPersonal: 'P0000002-IOS-BYOD',
  macCorp: 'P0000003-MAC-CORP',
  androidCorp: 'p0000004-android-corp',
  androidPersonal: 'p0000005-android-byod',
};

before(async () => {
  server = await startServer();
  const created = server.cli(['api-token', 'create', '--name', 'policies']);
  assert.equal(created.status, 0, created.stderr);
  api = jsonApi(server, created.stdout.trim());
  const db = new Database(path.join(server.dataDir, 'mdm.sqlite'));
  db.pragma('busy_timeout = 5000');
  const apple = db.prepare(`INSERT INTO apple_devices (id, udid, platform, os_version, created_at, updated_at) VALUES (?, ?, ?, '17.5', 0, 0)`);
  const channel = db.prepare(`INSERT INTO apple_enrollments (id, type, device_id, status, ownership, created_at) VALUES (?, 'device', ?, 'enrolled', ?, 0)`);
  const android = db.prepare(
    `INSERT INTO android_devices (id, name, enterprise_name, status, ownership, reported_at, created_at, updated_at) VALUES (?, ?, 'enterprises/LC1', 'enrolled', ?, 0, 0, 0)`,
  );
  for (const [id, platform, ownership] of [
    [DEVICES.iosCorp, 'ios', 'corporate'],
    [DEVICES.iosPersonal, 'ios', 'personal'],
    [DEVICES.macCorp, 'macos', 'corporate'],
  ] as const) {
    apple.run(id, id, platform);
    channel.run(id, id, ownership);
  }
  android.run(DEVICES.androidCorp, 'enterprises/LC1/devices/4', 'corporate');
  android.run(DEVICES.androidPersonal, 'enterprises/LC1/devices/5', 'personal');
  db.close();
});
after(async () => {
  await server?.stop();
});

const doc = (minLength: number, extra: Record<string, unknown> = {}) => ({ passcode: { required: true, min_length: minLength, complexity: 'numeric' }, ...extra });

async function createPolicy(name: string, document: Record<string, unknown>): Promise<string> {
  const r = await api('POST', '/policies', { name, document });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id as string;
}
async function assign(policyId: string, body: Record<string, unknown>): Promise<string> {
  const r = await api('POST', `/policies/${policyId}/assignments`, body);
  assert.equal(r.status, 201, JSON.stringify(r.json));
  return r.json.id as string;
}
const effective = async (deviceId: string) => {
  const r = await api('GET', `/devices/${deviceId}/effective-policy`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
};

test('bad policies are refused with the field named, and nothing is created', async () => {
  for (const [body, status, code, why] of [
    [{ name: 'x', document: { passcode: { required: true, colour: 'red' } } }, 400, 'invalid_request', /colour: not accepted/],
    [{ name: 'x', document: { passcode: { complexity: 'strong' } } }, 400, 'invalid_request', /document\.passcode\.complexity/],
    [{ name: 'x', document: { camera: false } }, 400, 'invalid_request', /camera: not accepted/],
    [{ name: 'x', document: {}, owner: 'me' }, 400, 'invalid_request', /owner: not accepted/],
    [{ name: 'x', document: { passcode: { required: true, max_failed_attempts: 20 } } }, 422, 'profile_invalid', /ios: .*maxFailedAttempts: must be at most 11/],
    [{ name: 'x', document: { min_os_version: { android: '42' } } }, 400, 'invalid_request', /min_os_version\.android: 42/],
  ] as const) {
    const r = await api('POST', '/policies', body);
    assert.equal(r.status, status, JSON.stringify(body));
    assert.equal(r.json.error.code, code);
    assert.match(r.json.error.message, why);
  }
  assert.deepEqual((await api('GET', '/policies')).json.policies, []);
  assert.equal((await api('GET', '/policies/nope')).json.error.code, 'policy_not_found');
});

test('PUT makes a new version; earlier versions stay readable and compilable', async () => {
  const id = await createPolicy('Versioned', doc(4));
  const dup = await api('POST', '/policies', { name: 'Versioned', document: {} });
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error.code, 'policy_name_taken');

  const put = await api('PUT', `/policies/${id}`, { document: doc(6), description: 'six digits' });
  assert.equal(put.status, 200);
  assert.equal(put.json.version, 2);
  assert.equal(put.json.document.passcode.min_length, 6);
  const versions = (await api('GET', `/policies/${id}/versions`)).json.versions;
  assert.deepEqual(versions.map((v: { version: number }) => v.version), [2, 1]);
  assert.equal(versions[1].document.passcode.min_length, 4);
  assert.equal(versions[1].created_by, 'api-token:policies');

  const v1 = await api('GET', `/policies/${id}/compiled?platform=ios&version=1`);
  const v2 = await api('GET', `/policies/${id}/compiled?platform=ios`);
  assert.equal(v1.json.output.PayloadContent[0].minLength, 4);
  assert.equal(v2.json.output.PayloadContent[0].minLength, 6);
  assert.equal(v1.json.identifier, v2.json.identifier, 'one profile identifier per policy: a new version replaces');
  assert.notEqual(v1.json.output.PayloadUUID, v2.json.output.PayloadUUID);
  assert.match(v2.json.xml, /<key>minLength<\/key>\s*<integer>6<\/integer>/);
  const android = await api('GET', `/policies/${id}/compiled?platform=android&ownership=personal`);
  assert.deepEqual(android.json.output.passwordPolicies, [{ passwordScope: 'SCOPE_PROFILE', passwordQuality: 'NUMERIC_COMPLEX', passwordMinimumLength: 6 }]);
  assert.equal((await api('GET', `/policies/${id}/compiled?platform=windows`)).status, 400);
  assert.equal((await api('GET', `/policies/${id}/compiled?platform=ios&version=9`)).json.error.code, 'policy_version_not_found');

  assert.equal((await api('DELETE', `/policies/${id}`)).status, 204);
  assert.equal((await api('GET', `/policies/${id}/versions`)).status, 404);
});

test('groups and assignments refuse unknown groups, devices and targets', async () => {
  const g = await api('POST', '/groups', { name: 'Refusals' });
  assert.equal(g.status, 201);
  assert.equal((await api('POST', '/groups', { name: 'Refusals' })).json.error.code, 'group_name_taken');
  const unknownDevice = await api('PUT', `/groups/${g.json.id}/members/NO-SUCH-DEVICE`);
  assert.equal(unknownDevice.status, 404);
  assert.equal(unknownDevice.json.error.code, 'device_not_found');
  const unknownGroup = await api('PUT', `/groups/no-such-group/members/${DEVICES.iosCorp}`);
  assert.equal(unknownGroup.json.error.code, 'group_not_found');

  const id = await createPolicy('Refusal target', {});
  for (const [body, code] of [
    [{ target: 'group', group_id: 'no-such-group' }, 'group_not_found'],
    [{ target: 'platform', platform: 'windows' }, 'invalid_request'],
    [{ target: 'ownership', ownership: 'borrowed' }, 'invalid_request'],
    [{ target: 'everything' }, 'invalid_request'],
    [{ target: 'all', priority: 1.5 }, 'invalid_request'],
  ] as const) {
    assert.equal((await api('POST', `/policies/${id}/assignments`, body)).json.error.code, code, JSON.stringify(body));
  }
  await assign(id, { target: 'all' });
  assert.equal((await api('POST', `/policies/${id}/assignments`, { target: 'all', priority: 3 })).json.error.code, 'assignment_exists');
  assert.equal((await api('GET', `/devices/NO-SUCH-DEVICE/effective-policy`)).json.error.code, 'device_not_found');
  assert.equal((await api('DELETE', `/policies/${id}`)).status, 204);
  assert.equal((await api('DELETE', `/groups/${g.json.id}`)).status, 204);
});

test('the effective policy: group over platform over ownership over all; ties by priority, then name', async () => {
  const base = await createPolicy('Base', doc(4));
  const corp = await createPolicy('Corporate', doc(6, { camera_disabled: true }));
  const ios = await createPolicy('iOS', doc(8));
  const iosBeta = await createPolicy('iOS beta', doc(9));
  const vip = await createPolicy('VIP', doc(10));
  await assign(base, { target: 'all' });
  await assign(corp, { target: 'ownership', ownership: 'corporate' });
  const iosAssignment = await assign(ios, { target: 'platform', platform: 'ios' });
  // Same kind and priority as "iOS": the name decides, and "iOS" sorts first.
  await assign(iosBeta, { target: 'platform', platform: 'ios' });
  const group = (await api('POST', '/groups', { name: 'VIPs' })).json;
  assert.equal((await api('PUT', `/groups/${group.id}/members/${DEVICES.iosCorp}`)).status, 201);
  assert.equal((await api('PUT', `/groups/${group.id}/members/${DEVICES.iosCorp}`)).json.added, false, 'adding twice is harmless');
  assert.equal((await api('PUT', `/groups/${group.id}/members/${DEVICES.androidPersonal}`)).status, 201);
  await assign(vip, { target: 'group', group_id: group.id });
  assert.deepEqual((await api('GET', `/groups/${group.id}`)).json.members, [DEVICES.iosCorp, DEVICES.androidPersonal].sort());

  const byDevice = async () =>
    Object.fromEntries(await Promise.all(Object.entries(DEVICES).map(async ([k, id]) => [k, (await effective(id)).policy?.name])));
  assert.deepEqual(await byDevice(), { iosCorp: 'VIP', iosPersonal: 'iOS', macCorp: 'Corporate', androidCorp: 'Corporate', androidPersonal: 'VIP' });

  const why = await effective(DEVICES.iosPersonal);
  assert.deepEqual(why.assignment, { ...why.assignment, id: iosAssignment, target: 'platform', platform: 'ios', priority: 0 });
  assert.equal(why.compiled.platform, 'ios');
  assert.equal(why.compiled.ownership, 'personal');
  assert.equal(why.compiled.output.PayloadContent[0].minLength, 8);
  const android = await effective(DEVICES.androidCorp);
  assert.equal(android.compiled.output.cameraAccess, 'CAMERA_ACCESS_DISABLED');
  assert.equal(android.compiled.output.passwordPolicies[0].passwordScope, 'SCOPE_DEVICE');

  // A higher priority beats the name order; leaving the group falls back to the platform policy.
  const beta = (await api('GET', `/policies/${iosBeta}/assignments`)).json.assignments[0];
  assert.equal((await api('DELETE', `/policies/${iosBeta}/assignments/${beta.id}`)).status, 204);
  await assign(iosBeta, { target: 'platform', platform: 'ios', priority: 5 });
  assert.equal((await api('DELETE', `/groups/${group.id}/members/${DEVICES.iosCorp}`)).status, 204);
  assert.equal((await effective(DEVICES.iosCorp)).policy.name, 'iOS beta');
  assert.equal((await effective(DEVICES.iosPersonal)).policy.name, 'iOS beta');
  assert.equal((await api('DELETE', `/groups/${group.id}/members/${DEVICES.iosCorp}`)).json.error.code, 'member_not_found');

  // Deleting a policy takes its assignments with it.
  assert.equal((await api('DELETE', `/policies/${iosBeta}`)).status, 204);
  assert.equal((await effective(DEVICES.iosCorp)).policy.name, 'iOS');
  for (const id of [base, corp, ios, vip]) assert.equal((await api('DELETE', `/policies/${id}`)).status, 204);
  assert.equal((await api('DELETE', `/groups/${group.id}`)).status, 204);
  assert.equal((await effective(DEVICES.iosCorp)).policy, null);
});

test('preview: who is affected, per platform and ownership, with the compiled output and its diff', async () => {
  const id = await createPolicy('Fleet', doc(6));
  await assign(id, { target: 'all' });
  const r = await api('POST', `/policies/${id}/preview`, { document: doc(8, { camera_disabled: true }) });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const p = r.json;
  assert.equal(p.from_version, 1);
  assert.equal(p.to_version, 2);
  assert.equal(p.devices, 5);
  assert.deepEqual(p.per_platform, { ios: 2, macos: 1, android: 2 });
  const iosCorp = p.groups.find((g: { platform: string; ownership: string }) => g.platform === 'ios' && g.ownership === 'corporate');
  assert.deepEqual(iosCorp.sample_device_ids, [DEVICES.iosCorp]);
  assert.deepEqual(
    iosCorp.changes.find((c: { path: string }) => c.path === 'PayloadContent[0].minLength'),
    { path: 'PayloadContent[0].minLength', op: 'changed', before: 6, after: 8 },
  );
  assert.ok(iosCorp.changes.some((c: { path: string; op: string }) => c.path === 'PayloadContent[1]' && c.op === 'added'), JSON.stringify(iosCorp.changes));
  const androidCorp = p.groups.find((g: { platform: string; ownership: string }) => g.platform === 'android' && g.ownership === 'corporate');
  assert.deepEqual(
    androidCorp.changes.map((c: { path: string }) => c.path).sort(),
    ['cameraAccess', 'passwordPolicies[0].passwordMinimumLength', 'personalUsagePolicies'],
  );
  // A document a platform cannot take shows up per group, before anyone saves it.
  const bad = (await api('POST', `/policies/${id}/preview`, { document: doc(6, { auto_lock: { max_inactivity_minutes: 30 } }) })).json;
  const macBad = bad.groups.find((g: { platform: string }) => g.platform === 'macos');
  assert.equal(macBad.error.code, 'profile_invalid');
  assert.match(macBad.error.message, /maxInactivity/);
  assert.equal(bad.groups.find((g: { platform: string }) => g.platform === 'android').error, null);
  assert.equal((await api('POST', `/policies/${id}/preview`, { document: { nope: 1 } })).json.error.code, 'invalid_request');
  // Preview changes nothing.
  assert.equal((await api('GET', `/policies/${id}`)).json.version, 1);
  assert.equal((await api('DELETE', `/policies/${id}`)).status, 204);
});

// Apple policy enforcement over the wire: simulated iPhones enroll through SCEP and MDM, a policy
// assigned to them arrives as one InstallProfile, new versions replace it, a device's refusal is
// recorded with its error and not resent, and leaving the policy's scope sends RemoveProfile.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { decodePlist } from '../src/apple/plist.ts';
import { TEST_PERSONA, drainCommands, enrolledDevice, enrolledWithLink, type AppleDevice, type Dict } from './support/apple-device.ts';
import { signedIn } from './support/console.ts';
import { writePushCertificate } from './support/push-cert.ts';
import { startServer, tempDir, tokenApi, type TestServer } from './support/server.ts';

const CHALLENGE = 'apple-policy-test-challenge';
const IDENTIFIER = (policyId: string) => `org.openmdm.policy.${policyId}`;

let server: TestServer;
let api: ReturnType<typeof tokenApi>;
let policyId = '';
let assignmentId = '';
let a: AppleDevice;
let b: AppleDevice;

const newDevice = (passcode = true) => enrolledDevice(server.url, CHALLENGE, { persona: { ...TEST_PERSONA, passcode, apps: [...TEST_PERSONA.apps] } });
const profiles = async (d: AppleDevice) => {
  const r = await api('GET', `/devices/${d.udid}/profiles`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json;
};
const states = async (d: AppleDevice) => (await profiles(d)).policy_profiles.map((p: Record<string, any>) => [p.identifier, p.policy.version, p.state]);
const requestTypes = (cmds: Dict[]) => cmds.map((c) => (c.Command as Dict).RequestType);
const commands = (cmds: Dict[]) => cmds.map((c) => c.Command as Dict);
/** The configuration profile an InstallProfile carries. */
const payloadOf = (c: Dict) => decodePlist(Buffer.from((c.Command as Dict).Payload as Uint8Array));
const onDevice = (d: AppleDevice) => d.profiles.filter((p) => String(p.PayloadIdentifier).startsWith('org.openmdm.policy.')).map((p) => p.PayloadIdentifier);
const setDocument = async (document: Record<string, unknown>) => {
  const r = await api('PUT', `/policies/${policyId}`, { document });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r.json.version as number;
};

before(async () => {
  server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
  api = tokenApi(server, 'apple-policy-test');
  // Enrollment links (personal devices) need the push topic their profile carries.
  const pc = writePushCertificate(tempDir());
  const imported = server.cli(['push', 'import', '--cert', pc.cert, '--key', pc.key]);
  assert.equal(imported.status, 0, imported.stderr);
});
after(async () => {
  await server?.stop();
});

test('assigned, the policy reaches an enrolled iPhone as one profile: pending, then installed', async () => {
  a = await newDevice(false);
  assert.deepEqual((await profiles(a)).policy_profiles, []);
  const created = await api('POST', '/policies', { name: 'iPhone baseline', document: { passcode: { required: true, min_length: 6 }, camera_disabled: true } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  policyId = created.json.id;
  const assigned = await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'ios' });
  assert.equal(assigned.status, 201, JSON.stringify(assigned.json));
  assignmentId = assigned.json.id;
  assert.deepEqual(await states(a), [[IDENTIFIER(policyId), 1, 'pending']]);

  const cmds = await drainCommands(a);
  assert.deepEqual(requestTypes(cmds), ['InstallProfile']);
  const profile = payloadOf(cmds[0]!);
  assert.equal(profile.PayloadIdentifier, IDENTIFIER(policyId));
  const content = profile.PayloadContent as Dict[];
  assert.deepEqual(content.map((p) => p.PayloadType), ['com.apple.mobiledevice.passwordpolicy', 'com.apple.applicationaccess']);
  assert.deepEqual([content[0]!.forcePIN, content[0]!.minLength, content[1]!.allowCamera], [true, 6, false]);

  const after = await profiles(a);
  assert.deepEqual(after.policy_profiles.map((p: Record<string, any>) => [p.state, p.policy.name, p.error]), [['installed', 'iPhone baseline', null]]);
  assert.deepEqual(onDevice(a), [IDENTIFIER(policyId)]);
  // The effective policy says the same, as the Apple enforcer's record.
  const effective = await api('GET', `/devices/${a.udid}/effective-policy`);
  assert.equal(effective.json.enforcement.apple[0].state, 'installed');
  // Nothing changed: enforcing again (a group change touching the device) sends nothing.
  const g = await api('POST', '/groups', { name: 'Sales' });
  assert.equal((await api('PUT', `/groups/${g.json.id}/members/${a.udid}`)).status, 201);
  assert.deepEqual(await drainCommands(a), []);
});

test('after the profile, the device reports; compliance follows it, with the failing rule, until the user sets a passcode the profile accepts', async () => {
  const rules = async () => {
    assert.equal((await api('POST', `/devices/${a.udid}/commands`, { request_type: 'SecurityInfo' })).status, 201);
    await drainCommands(a);
    const c = await api('GET', `/devices/${a.udid}/compliance`);
    return [c.json.state, c.json.failing_rules.map((r: { id: string }) => r.id)];
  };
  assert.deepEqual(await rules(), ['noncompliant', ['passcode_required']]);
  // A four-digit passcode: the device itself says it does not meet the installed profile (minLength 6).
  Object.assign(a.persona, { passcode: true, passcodeLength: 4 });
  assert.deepEqual(await rules(), ['noncompliant', ['passcode_compliant']]);
  a.persona.passcodeLength = 6;
  assert.deepEqual(await rules(), ['compliant', []]);
});

test('a device enrolling into the scope gets the profile with its first commands', async () => {
  b = await newDevice();
  // enrolledDevice answered everything queued at enrollment: the inventory and the profile.
  assert.deepEqual(await states(b), [[IDENTIFIER(policyId), 1, 'installed']]);
  assert.deepEqual(onDevice(b), [IDENTIFIER(policyId)]);
});

test('a new version replaces the profile in place; a version not yet delivered is taken back, not sent', async () => {
  const v2 = await setDocument({ passcode: { required: true, min_length: 8 }, camera_disabled: true });
  assert.deepEqual(await states(a), [[IDENTIFIER(policyId), v2, 'pending']]);
  // A third version before the device called: it gets the latest only.
  const v3 = await setDocument({ passcode: { required: true, min_length: 10 } });
  const cmds = await drainCommands(a);
  assert.deepEqual(requestTypes(cmds), ['InstallProfile']);
  const content = payloadOf(cmds[0]!).PayloadContent as Dict[];
  assert.deepEqual(content.map((p) => [p.PayloadType, p.minLength]), [['com.apple.mobiledevice.passwordpolicy', 10]]);
  assert.deepEqual(await states(a), [[IDENTIFIER(policyId), v3, 'installed']]);
  assert.deepEqual(onDevice(a), [IDENTIFIER(policyId)]);
  assert.equal(a.profiles.find((p) => p.PayloadIdentifier === IDENTIFIER(policyId))!.PayloadDisplayName, 'iPhone baseline');
  await drainCommands(b);
});

test("a device that refuses the profile: failed with the device's error, not sent again by itself; sent again when an admin asks", async () => {
  // Enrolled with a profile whose AccessRights leave out installing profiles (bit 2): the device refuses.
  b.accessRights = 1 | 4 | 8;
  const v = await setDocument({ passcode: { required: true, min_length: 12 } });
  assert.deepEqual(requestTypes(await drainCommands(b)), ['InstallProfile']);
  const p = (await profiles(b)).policy_profiles[0];
  assert.deepEqual([p.state, p.policy.version, p.error.code], ['failed', v, 'MCMDMErrorDomain:12021']);
  assert.match(p.error.message, /AllowInstallationRemoval/);
  // Enforcing the same thing again (a group change) does not resend what the device refused.
  const g = await api('POST', '/groups', { name: 'Refusers' });
  assert.equal((await api('PUT', `/groups/${g.json.id}/members/${b.udid}`)).status, 201);
  assert.deepEqual(await drainCommands(b), []);
  // The console's device page says the same, with the device's own words.
  const web = await signedIn(server, 'viewer', 'read-only');
  const page = await web.get(`/devices/${b.udid}`);
  assert.match(page.text, new RegExp(`data-testid="policy-panel"[^]*In force: <a href="/policies/${policyId}">iPhone baseline</a>, version ${v}`));
  assert.match(page.text, /<tr data-state="failed">(?:(?!<\/tr>)[^])*MCMDMErrorDomain:12021(?:(?!<\/tr>)[^])*AllowInstallationRemoval/);
  assert.doesNotMatch(page.text, /Send again what failed/, 'a read-only admin is not offered it');

  // The cause fixed (the device takes profiles again), an admin sends it again from the page.
  b.accessRights = undefined;
  const admin = await signedIn(server, 'fixer', 'admin');
  assert.match((await admin.get(`/devices/${b.udid}`)).text, /Send again what failed/);
  const again = await admin.post(`/devices/${b.udid}/enforce`, {}, { csrf: true });
  assert.equal(again.status, 303);
  assert.match((await admin.get(again.headers.get('location')!)).text, /What the device refused is sent again/);
  assert.deepEqual(requestTypes(await drainCommands(b)), ['InstallProfile']);
  assert.deepEqual(await states(b), [[IDENTIFIER(policyId), v, 'installed']]);
  // The API does the same; with nothing refused, nothing is sent.
  const viaApi = await api('POST', `/devices/${b.udid}/enforce`);
  assert.deepEqual([viaApi.status, viaApi.json.forgotten_failures], [200, 0]);
  assert.deepEqual(await drainCommands(b), []);
  assert.deepEqual((await api('POST', '/devices/nope/enforce')).status, 404);
  const audit = await api('GET', '/audit?action=device.enforce');
  assert.deepEqual(audit.json.events.map((e: Record<string, any>) => e.details.forgotten_failures), [0, 1]);
  await drainCommands(a);
});

test('out of scope, the profile is removed; one never delivered is removed too, and the device saying it is not there settles it', async () => {
  assert.equal((await api('DELETE', `/policies/${policyId}/assignments/${assignmentId}`)).status, 204);
  assert.deepEqual((await states(a)).map((s: unknown[]) => s[2]), ['removing']);
  assert.deepEqual(requestTypes(await drainCommands(a)), ['RemoveProfile']);
  assert.deepEqual((await profiles(a)).policy_profiles, []);
  assert.deepEqual(onDevice(a), []);
  // b's last install failed, an earlier version is on it: removed as well.
  assert.deepEqual(requestTypes(await drainCommands(b)), ['RemoveProfile']);
  assert.deepEqual(onDevice(b), []);
  assert.deepEqual((await profiles(b)).policy_profiles, []);

  // Assigned and unassigned before the device called: the install is taken back, the removal
  // goes anyway (it might have been delivered), and "not found" ends it.
  const again = await api('POST', `/policies/${policyId}/assignments`, { target: 'all' });
  assert.equal(again.status, 201);
  assert.equal((await api('DELETE', `/policies/${policyId}/assignments/${again.json.id}`)).status, 204);
  assert.deepEqual(requestTypes(await drainCommands(a)), ['RemoveProfile']);
  assert.deepEqual((await profiles(a)).policy_profiles, []);
});

test('a command the device will never answer (cancelled, expired) does not leave its profile stuck; a removal wanted back is taken back', async () => {
  assert.equal((await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'ios' })).status, 201);
  await drainCommands(a);
  // A new version queued, then its command cancelled by an admin before the device called.
  const v = await setDocument({ passcode: { required: true, min_length: 9 } });
  const pending = (await profiles(a)).policy_profiles[0];
  assert.equal(pending.state, 'pending');
  assert.equal((await api('DELETE', `/commands/${pending.command_uuid}`)).json.cancelled > 0, true);
  // The next pass over the device (here: asked from the API) sends it again, not "still pending".
  assert.equal((await api('POST', `/devices/${a.udid}/enforce`)).status, 200);
  assert.deepEqual(requestTypes(await drainCommands(a)), ['InstallProfile']);
  assert.deepEqual(await states(a), [[IDENTIFIER(policyId), v, 'installed']]);

  // Unassigned and assigned again before the device called: the removal is taken back, only the install goes.
  const list = await api('GET', `/policies/${policyId}/assignments`);
  assert.equal((await api('DELETE', `/policies/${policyId}/assignments/${list.json.assignments[0].id}`)).status, 204);
  assert.deepEqual((await states(a)).map((x: unknown[]) => x[2]), ['removing']);
  assert.equal((await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'ios' })).status, 201);
  assert.deepEqual(requestTypes(await drainCommands(a)), ['InstallProfile']);
  assert.deepEqual((await states(a)).map((x: unknown[]) => x[2]), ['installed']);
  assert.deepEqual(onDevice(a), [IDENTIFIER(policyId)]);
  const all = await api('GET', `/policies/${policyId}/assignments`);
  assert.equal((await api('DELETE', `/policies/${policyId}/assignments/${all.json.assignments[0].id}`)).status, 204);
  await drainCommands(a);
  await drainCommands(b);
});

test('the profiles route: what the device listed, ours marked; an unknown id is 404', async () => {
  const assigned = await api('POST', `/policies/${policyId}/assignments`, { target: 'platform', platform: 'ios' });
  assert.equal(assigned.status, 201);
  await drainCommands(a);
  assert.equal((await api('POST', `/devices/${a.udid}/commands`, { request_type: 'ProfileList' })).status, 201);
  await drainCommands(a);
  const r = await profiles(a);
  assert.deepEqual(
    r.installed.map((p: Record<string, any>) => [p.identifier, p.managed, p.policy_id]),
    a.profiles.map((p) => [p.PayloadIdentifier, p.IsManaged === true, p.PayloadIdentifier === IDENTIFIER(policyId) ? policyId : null]),
  );
  assert.ok(r.installed.some((p: Record<string, any>) => p.policy_id === policyId));
  const missing = await api('GET', '/devices/nope/profiles');
  assert.deepEqual([missing.status, missing.json.error.code], [404, 'device_not_found']);
});

test("from the device's page an admin puts it in a group; the group's policy wins and its profile replaces the other", async () => {
  const kiosk = await api('POST', '/policies', { name: 'Kiosk', document: { camera_disabled: true } });
  assert.equal(kiosk.status, 201, JSON.stringify(kiosk.json));
  const group = await api('POST', '/groups', { name: 'Front desk' });
  assert.equal((await api('POST', `/policies/${kiosk.json.id}/assignments`, { target: 'group', group_id: group.json.id })).status, 201);
  const admin = await signedIn(server, 'groupie', 'admin');
  const page = await admin.get(`/devices/${a.udid}`);
  assert.match(page.text, /data-testid="groups-panel"[^]*<option value="[^"]+">Front desk<\/option>/);
  const added = await admin.post(`/devices/${a.udid}/groups`, { group_id: group.json.id }, { csrf: true });
  assert.equal(added.status, 303);
  assert.match((await admin.get(added.headers.get('location')!)).text, /Added to the group/);
  // The group's policy wins: its profile goes on, the platform policy's comes off.
  assert.deepEqual(
    commands(await drainCommands(a)).map((c) => [c.RequestType, c.Identifier ?? (c.RequestType === 'InstallProfile' ? payloadOf({ Command: c }).PayloadIdentifier : null)]).sort(),
    [
      ['InstallProfile', IDENTIFIER(kiosk.json.id)],
      ['RemoveProfile', IDENTIFIER(policyId)],
    ],
  );
  const removed = await admin.post(`/devices/${a.udid}/groups/${group.json.id}/remove`, {}, { csrf: true });
  assert.equal(removed.status, 303);
  assert.deepEqual(
    commands(await drainCommands(a)).map((c) => c.RequestType).sort(),
    ['InstallProfile', 'RemoveProfile'],
  );
  const audit = await api('GET', `/audit?target=${group.json.id}`);
  assert.deepEqual(audit.json.events.map((e: Record<string, unknown>) => e.action).slice(0, 2), ['group.member.remove', 'group.member.add']);
  assert.equal((await api('DELETE', `/policies/${kiosk.json.id}`)).status, 204);
  await drainCommands(a);
});

test('a device that checks out has none of our profiles; enrolling again, it gets them anew', async () => {
  assert.equal((await b.checkin('CheckOut')).status, 200);
  assert.deepEqual((await profiles(b)).policy_profiles, []);
  const c = await newDevice();
  assert.deepEqual(await states(c), [[IDENTIFIER(policyId), (await api('GET', `/policies/${policyId}`)).json.version, 'installed']]);
});

test('retiring a personal iPhone removes our profiles and the MDM profile, and nothing the user put there', async () => {
  const p = await enrolledWithLink(server, { ownership: 'personal', user: 'bob@example.com', persona: { ...TEST_PERSONA, apps: [...TEST_PERSONA.apps] } });
  assert.deepEqual((await states(p)).map((s: unknown[]) => s[2]), ['installed']);
  // A profile Bob installed himself (a VPN): not ours, not managed.
  const own = { PayloadType: 'Configuration', PayloadIdentifier: 'com.bob.vpn', PayloadUUID: 'B0B', PayloadVersion: 1, PayloadDisplayName: 'Home VPN', IsManaged: false, PayloadContent: [{ PayloadType: 'com.apple.vpn.managed' }] };
  p.profiles.push(own);

  const plan = await api('GET', `/devices/${p.udid}/wipe`);
  assert.equal(plan.status, 200, JSON.stringify(plan.json));
  assert.deepEqual([plan.json.effect, plan.json.ownership], ['retire', 'personal']);
  assert.deepEqual(
    plan.json.removes.map((r: Record<string, unknown>) => [r.kind, r.identifier]),
    [
      ['policy_profile', IDENTIFIER(policyId)],
      ['mdm_profile', 'org.openmdm.enroll'],
    ],
  );
  assert.ok(plan.json.keeps.some((k: string) => /personal apps/.test(k)));

  const unconfirmed = await api('POST', `/devices/${p.udid}/wipe`, {});
  assert.deepEqual([unconfirmed.status, unconfirmed.json.error.code], [409, 'wipe_not_confirmed']);
  assert.match(unconfirmed.json.error.message, /policy profiles/);
  const pin = await api('POST', `/devices/${p.udid}/wipe`, { confirm: true, pin: '123456' });
  assert.deepEqual([pin.status, pin.json.error.code], [400, 'invalid_request']);
  assert.deepEqual(await drainCommands(p), [], 'nothing is sent before the wipe is confirmed');
  // A new version on its way to the device when the retire is confirmed: taken back, never installed.
  await setDocument({ passcode: { required: true, min_length: 7 } });
  assert.deepEqual((await states(p)).map((s: unknown[]) => s[2]), ['pending']);

  const done = await api('POST', `/devices/${p.udid}/wipe`, { confirm: true });
  assert.equal(done.status, 200, JSON.stringify(done.json));
  assert.equal(done.json.command_uuids.length, 2);
  const again = await api('POST', `/devices/${p.udid}/wipe`, { confirm: true });
  assert.deepEqual([again.status, again.json.error.code], [409, 'retire_pending']);
  // A policy change meanwhile leaves the retiring device alone.
  await setDocument({ passcode: { required: true, min_length: 6 } });
  const sent = await drainCommands(p);
  assert.deepEqual(
    sent.map((c) => [(c.Command as Dict).RequestType, (c.Command as Dict).Identifier]),
    [
      ['RemoveProfile', IDENTIFIER(policyId)],
      ['RemoveProfile', 'org.openmdm.enroll'],
    ],
  );
  assert.equal(p.unenrolled, true);
  assert.deepEqual(p.profiles.map((x) => x.PayloadIdentifier), ['com.bob.vpn']);
  assert.equal(p.erased, false);
  assert.equal((await p.checkin('CheckOut')).status, 200);
  assert.deepEqual((await profiles(p)).policy_profiles, []);
  const device = await api('GET', `/devices/${p.udid}`);
  assert.equal(device.json.enrollment_status, 'unenrolled');
  const audit = await api('GET', '/audit?action=device.wipe');
  assert.deepEqual([audit.json.events[0].details.kind, audit.json.events[0].details.command_uuids], ['retire', done.json.command_uuids]);
});

test('a company iPhone is erased: the plan says everything goes, EraseDevice is sent once confirmed', async () => {
  const c = await enrolledWithLink(server, { ownership: 'corporate', persona: { ...TEST_PERSONA, apps: [...TEST_PERSONA.apps] } });
  const plan = await api('GET', `/devices/${c.udid}/wipe`);
  assert.deepEqual([plan.json.effect, plan.json.removes.map((r: Record<string, unknown>) => r.kind), plan.json.keeps], ['erase', ['everything'], []]);
  const bad = await api('POST', `/devices/${c.udid}/wipe`, { confirm: true, reason_message: 'bye' });
  assert.deepEqual([bad.status, bad.json.error.code], [400, 'invalid_request']);
  const done = await api('POST', `/devices/${c.udid}/wipe`, { confirm: true });
  assert.equal(done.status, 200, JSON.stringify(done.json));
  assert.deepEqual(requestTypes(await drainCommands(c)), ['EraseDevice']);
  assert.equal(c.erased, true);
});

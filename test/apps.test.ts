// The app catalog and managed apps over the wire: catalog entries say how an app installs (App
// Store by bundle id or iTunes store id, an enterprise manifest), a policy's required apps reach
// simulated iPhones and Macs as InstallApplication, apps leaving the scope go with
// RemoveApplication, and retiring a personal iPhone takes our apps and leaves the owner's.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { TEST_PERSONA, drainCommands, enrolledDevice, enrolledWithLink, type AppleDevice, type Dict } from './support/apple-device.ts';
import { signedIn } from './support/console.ts';
import { writePushCertificate } from './support/push-cert.ts';
import { startServer, tempDir, tokenApi, type TestServer } from './support/server.ts';

const CHALLENGE = 'apps-test-challenge';
const MAC = { ...TEST_PERSONA, platform: 'macOS' as const, deviceName: 'Test Mac', productName: 'Mac15,3', model: 'Mac15,3', modelName: 'MacBook Pro', osVersion: '14.5', buildVersion: '23F79', apps: [] };

let server: TestServer;
let api: ReturnType<typeof tokenApi>;
let mailId = '';
let policyId = '';
let iphone: AppleDevice;
let mac: AppleDevice;

const commands = (cmds: Dict[]) => cmds.map((c) => c.Command as Dict);
const managed = async (d: AppleDevice) => {
  const r = await api('GET', `/devices/${d.udid}/apps`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return Object.fromEntries(r.json.managed_apps.map((a: Record<string, any>) => [a.bundle_id, a]));
};
const require = async (apps: string[]) => {
  const r = await api('PUT', `/policies/${policyId}`, { document: { required_apps: { apple: apps } } });
  assert.equal(r.status, 200, JSON.stringify(r.json));
};

before(async () => {
  server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
  api = tokenApi(server, 'apps-test');
  const pc = writePushCertificate(tempDir());
  assert.equal(server.cli(['push', 'import', '--cert', pc.cert, '--key', pc.key]).status, 0);
});
after(async () => {
  await server?.stop();
});

test('the catalog: App Store, enterprise and Play apps; duplicates and bad sources refused; changes audited', async () => {
  const mail = await api('POST', '/apps', { source: 'app_store', name: 'Mail', bundle_id: 'com.example.mail' });
  assert.equal(mail.status, 201, JSON.stringify(mail.json));
  mailId = mail.json.id;
  assert.deepEqual([mail.json.platform, mail.json.bundle_id, mail.json.itunes_store_id], ['apple', 'com.example.mail', null]);
  const field = await api('POST', '/apps', { source: 'enterprise', name: 'Field', bundle_id: 'com.example.field', manifest_url: 'https://apps.example.com/field/manifest.plist' });
  assert.equal(field.status, 201, JSON.stringify(field.json));
  const play = await api('POST', '/apps', { source: 'play', name: 'Mail', package_name: 'com.example.mail' });
  assert.deepEqual([play.status, play.json.platform, play.json.package_name], [201, 'android', 'com.example.mail']);

  const again = await api('POST', '/apps', { source: 'app_store', name: 'Mail again', bundle_id: 'com.example.mail' });
  assert.deepEqual([again.status, again.json.error.code], [409, 'app_exists']);
  const http = await api('POST', '/apps', { source: 'enterprise', name: 'X', bundle_id: 'com.example.x', manifest_url: 'http://apps.example.com/x.plist' });
  assert.deepEqual([http.status, http.json.error.code], [400, 'invalid_request']);
  assert.match(http.json.error.message, /https/);
  const wrong = await api('PATCH', `/apps/${play.json.id}`, { itunes_store_id: 5 });
  assert.deepEqual([wrong.status, wrong.json.error.code], [400, 'invalid_request']);
  assert.equal((await api('GET', '/apps')).json.apps.length, 3);
  assert.equal((await api('DELETE', `/apps/${play.json.id}`)).status, 204);
  assert.equal((await api('GET', `/apps/${play.json.id}`)).status, 404);
  const audit = await api('GET', '/audit?action=app.create');
  assert.equal(audit.json.events.length, 3);
});

test("required apps install as managed apps: by bundle id on an iPhone, from the manifest for an enterprise app; a Mac needs the iTunes id", async () => {
  iphone = await enrolledDevice(server.url, CHALLENGE);
  mac = await enrolledDevice(server.url, CHALLENGE, { persona: MAC });
  const created = await api('POST', '/policies', { name: 'Apps', document: { required_apps: { apple: ['com.example.mail', 'com.example.field'] } } });
  assert.equal(created.status, 201, JSON.stringify(created.json));
  policyId = created.json.id;
  assert.equal((await api('POST', `/policies/${policyId}/assignments`, { target: 'all' })).status, 201);

  const all = commands(await drainCommands(iphone));
  // A policy of required apps alone compiles to a profile with nothing in it: none is installed.
  assert.ok(!all.some((c) => c.RequestType === 'InstallProfile'));
  const sent = all.filter((c) => c.RequestType === 'InstallApplication');
  assert.deepEqual(
    sent.map((c) => [c.Identifier ?? null, c.ManifestURL ?? null, c.ManagementFlags]).sort(),
    [
      [null, 'https://apps.example.com/field/manifest.plist', 1],
      ['com.example.mail', null, 1],
    ],
  );
  const onPhone = await managed(iphone);
  assert.deepEqual([onPhone['com.example.mail'].state, onPhone['com.example.mail'].device_state], ['installed', 'Managed']);
  assert.deepEqual([onPhone['com.example.field'].state, onPhone['com.example.field'].device_state], ['installing', 'Queued']);
  assert.ok(iphone.managedApps.has('com.example.mail'));

  // The Mac: the manifest works, the App Store app cannot go by bundle id.
  assert.deepEqual(
    commands(await drainCommands(mac))
      .filter((c) => c.RequestType === 'InstallApplication')
      .map((c) => c.ManifestURL),
    ['https://apps.example.com/field/manifest.plist'],
  );
  const onMac = await managed(mac);
  assert.deepEqual([onMac['com.example.mail'].state, onMac['com.example.mail'].error.code], ['failed', 'app_not_installable']);
  assert.match(onMac['com.example.mail'].error.message, /itunes_store_id/);
  // Given the iTunes store id, the Mac gets it.
  assert.equal((await api('PATCH', `/apps/${mailId}`, { itunes_store_id: 1_234_567 })).status, 200);
  assert.deepEqual(
    commands(await drainCommands(mac)).map((c) => [c.RequestType, c.iTunesStoreID]),
    [['InstallApplication', 1_234_567]],
  );
  assert.equal((await managed(mac))['com.example.mail'].state, 'installing');
  // The iPhone already has it: nothing is sent again.
  assert.deepEqual(await drainCommands(iphone), []);
  // The device page lists its managed apps as the device left them.
  const web = await signedIn(server, 'viewer', 'read-only');
  const page = (await web.get(`/devices/${mac.udid}`)).text;
  assert.match(page, /<h3>Managed apps<\/h3>/);
  assert.match(page, /<tr data-state="installing"><td><code>com\.example\.mail<\/code><\/td><td>installing<\/td><td>Queued<\/td>/);
});

test('compliance sees what the device lists; an app that shows up in its list is installed', async () => {
  assert.equal((await api('POST', `/devices/${iphone.udid}/commands`, { request_type: 'InstalledApplicationList' })).status, 201);
  await drainCommands(iphone);
  const c = await api('GET', `/devices/${iphone.udid}/compliance`);
  assert.deepEqual(
    c.json.failing_rules.map((r: Record<string, unknown>) => [r.id, r.app]),
    [['required_app_missing', 'com.example.field']],
  );
  const listed = await api('GET', `/devices/${iphone.udid}/apps`);
  assert.deepEqual(
    listed.json.installed.filter((a: Record<string, unknown>) => a.managed_by_us).map((a: Record<string, unknown>) => a.bundle_id),
    ['com.example.mail'],
  );
  // The enterprise app finishes installing on the device; its next list shows it, and that settles the row.
  assert.equal((await managed(iphone))['com.example.field'].state, 'installing');
  iphone.persona.apps.push({ Identifier: 'com.example.field', Name: 'Field', ShortVersion: '2.0', Version: '20', BundleSize: 4_000_000 });
  iphone.managedApps.set('com.example.field', 1);
  assert.equal((await api('POST', `/devices/${iphone.udid}/commands`, { request_type: 'InstalledApplicationList' })).status, 201);
  await drainCommands(iphone);
  assert.equal((await managed(iphone))['com.example.field'].state, 'installed');
  assert.equal((await api('GET', `/devices/${iphone.udid}/compliance`)).json.state, 'compliant');
});

test('an app leaving the scope is removed as a managed app; the others stay; one not delivered yet is taken back', async () => {
  // An app required and dropped again before the iPhone called: its install is taken back, no removal goes.
  await require(['com.example.mail', 'com.example.field', 'com.example.extra']);
  assert.equal((await managed(iphone))['com.example.extra'].state, 'pending');
  await require(['com.example.field']);
  const sent = commands(await drainCommands(iphone));
  assert.deepEqual(sent.map((c) => [c.RequestType, c.Identifier]), [['RemoveApplication', 'com.example.mail']]);
  assert.deepEqual(Object.keys(await managed(iphone)), ['com.example.field']);
  assert.equal(iphone.managedApps.has('com.example.mail'), false);
  assert.ok(iphone.persona.apps.some((a) => a.Identifier === TEST_PERSONA.apps[0]!.Identifier), "the user's own app is untouched");
  // The Mac answers it does not manage it (it was still queued): recorded as the device said.
  const macSent = commands(await drainCommands(mac));
  assert.deepEqual(macSent.map((c) => c.RequestType), ['RemoveApplication']);
  const onMac = await managed(mac);
  assert.deepEqual([onMac['com.example.mail'].state, onMac['com.example.mail'].error.code], ['remove_failed', 'MCMDMErrorDomain:12029']);
  // Not sent again by itself; an admin asking sends again the removal the device refused and the
  // install it never finished (the field app, still Queued), and the device says the same.
  assert.deepEqual(await drainCommands(mac), []);
  assert.equal((await api('POST', `/devices/${mac.udid}/enforce`)).json.forgotten_failures, 2);
  assert.deepEqual(
    commands(await drainCommands(mac))
      .map((c) => [c.RequestType, c.Identifier ?? c.ManifestURL])
      .sort(),
    [
      ['InstallApplication', 'https://apps.example.com/field/manifest.plist'],
      ['RemoveApplication', 'com.example.mail'],
    ],
  );
  assert.equal((await managed(mac))['com.example.mail'].state, 'remove_failed');
});

test('retiring a personal iPhone removes our apps, then the MDM profile; the owner keeps theirs', async () => {
  await require(['com.example.notes']);
  await drainCommands(iphone);
  const p = await enrolledWithLink(server, { ownership: 'personal' });
  assert.deepEqual(Object.keys(await managed(p)), ['com.example.notes']);
  assert.ok(p.managedApps.has('com.example.notes'));
  const plan = await api('GET', `/devices/${p.udid}/wipe`);
  assert.deepEqual(
    plan.json.removes.map((r: Record<string, unknown>) => [r.kind, r.identifier]),
    [
      ['managed_app', 'com.example.notes'],
      ['mdm_profile', 'org.openmdm.enroll'],
    ],
  );
  assert.equal((await api('POST', `/devices/${p.udid}/wipe`, { confirm: true })).status, 200);
  assert.deepEqual(
    commands(await drainCommands(p)).map((c) => [c.RequestType, c.Identifier]),
    [
      ['RemoveApplication', 'com.example.notes'],
      ['RemoveProfile', 'org.openmdm.enroll'],
    ],
  );
  assert.deepEqual(p.persona.apps.map((a) => a.Identifier), TEST_PERSONA.apps.map((a) => a.Identifier));
  assert.equal(p.unenrolled, true);
  assert.deepEqual(await managed(p), {});
});

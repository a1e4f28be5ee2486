// The app catalog in the console over HTTP: App Store, enterprise and Play apps added (the API's
// refusals shown in the page with what was typed), changed, removed; a change re-runs enforcement
// as the API's does (a Mac's required App Store app becomes installable once it has an iTunes id);
// read-only admins see no forms and are refused; nothing changes without the CSRF token.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, before, test } from 'node:test';
import { ConsoleClient, signedIn } from './support/console.ts';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

const MAC = 'A0000001-MAC-CORP';

let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let admin: ConsoleClient;
let viewer: ConsoleClient;

const errorBanner = (t: string) => /class="banner error"[^>]*>([\s\S]*?)<\/div>/.exec(t)?.[1] ?? '';
const catalog = async () => (await api('GET', '/apps')).json.apps as Array<Record<string, any>>;
const managed = async () => (await api('GET', `/devices/${MAC}/apps`)).json.managed_apps as Array<Record<string, any>>;

before(async () => {
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0' } });
  const t = server.cli(['api-token', 'create', '--name', 'console-apps']);
  assert.equal(t.status, 0, t.stderr);
  api = jsonApi(server, t.stdout.trim());
  const db = new Database(path.join(server.dataDir, 'mdm.sqlite'));
  db.pragma('busy_timeout = 5000');
  db.prepare(`INSERT INTO apple_devices (id, udid, platform, os_version, created_at, updated_at) VALUES (?, ?, 'macos', '14.5', 0, 0)`).run(MAC, MAC);
  db.prepare(`INSERT INTO apple_enrollments (id, type, device_id, status, ownership, created_at) VALUES (?, 'device', ?, 'enrolled', 'corporate', 0)`).run(MAC, MAC);
  db.close();
  admin = await signedIn(server, 'root', 'admin');
  viewer = await signedIn(server, 'viewer', 'read-only');
});
after(async () => {
  await server?.stop();
});

test('apps added from each source, refusals shown with what was typed, changed and removed; every change enforced', async () => {
  const policy = await api('POST', '/policies', { name: 'Mail on Macs', document: { required_apps: { apple: ['com.example.mail'] } } });
  assert.equal(policy.status, 201);
  assert.equal((await api('POST', `/policies/${policy.json.id}/assignments`, { target: 'platform', platform: 'macos' })).status, 201);
  assert.equal((await managed())[0]?.error?.code, 'app_not_installable', 'a Mac cannot install it without an iTunes id');

  const page = await admin.get('/apps');
  assert.equal(page.status, 200);
  for (const id of ['app_store-name', 'app_store-bundle', 'app_store-itunes', 'enterprise-name', 'enterprise-bundle', 'enterprise-manifest', 'play-name', 'play-package']) {
    assert.match(page.text, new RegExp(`<label for="${id}">`), `a label for ${id}`);
  }

  const badManifest = await admin.post('/apps', { source: 'enterprise', name: 'Tool', bundle_id: 'com.example.tool', manifest_url: 'http://apps.example.com/tool.plist' }, { csrf: true });
  assert.equal(badManifest.status, 400);
  assert.match(errorBanner(badManifest.text), /manifest_url: must be an https:\/\/ URL/);
  assert.match(badManifest.text, /id="enterprise-manifest" name="manifest_url"[^>]*value="http:\/\/apps\.example\.com\/tool\.plist"/, 'what was typed is kept');
  const badId = await admin.post('/apps', { source: 'play', name: 'Chat', package_name: 'chat' }, { csrf: true });
  assert.equal(badId.status, 400);
  assert.match(errorBanner(badId.text), /package_name: must be an app id/);
  assert.equal((await catalog()).length, 0, 'nothing added');

  for (const form of [
    { source: 'app_store', name: 'Mail', bundle_id: 'com.example.mail', itunes_store_id: '' },
    { source: 'enterprise', name: 'Tool', bundle_id: 'com.example.tool', manifest_url: 'https://apps.example.com/tool.plist' },
    { source: 'play', name: 'Chat', package_name: 'com.example.chat' },
  ] as Array<Record<string, string>>) {
    const r = await admin.post('/apps', form, { csrf: true });
    assert.equal(r.status, 303, errorBanner(r.text));
    assert.equal(r.headers.get('location'), '/apps?done=added');
  }
  const dup = await admin.post('/apps', { source: 'play', name: 'Chat again', package_name: 'com.example.chat' }, { csrf: true });
  assert.equal(dup.status, 409);
  assert.match(errorBanner(dup.text), /com\.example\.chat is in the catalog already/);

  const apps = await catalog();
  assert.deepEqual(apps.map((a) => [a.name, a.source, a.bundle_id ?? a.package_name, a.itunes_store_id, a.manifest_url]), [
    ['Chat', 'play', 'com.example.chat', null, null],
    ['Mail', 'app_store', 'com.example.mail', null, null],
    ['Tool', 'enterprise', 'com.example.tool', null, 'https://apps.example.com/tool.plist'],
  ]);
  const listed = await admin.get('/apps?done=added');
  assert.match(listed.text, /App added to the catalog/);
  const mail = apps.find((a) => a.name === 'Mail')!;
  assert.match(listed.text, new RegExp(`<a href="/apps/${mail.id}">Mail</a>`));

  // The iTunes id makes the Mac's required app installable: the change is enforced at once.
  const badEdit = await admin.post(`/apps/${mail.id}/edit`, { name: 'Mail', itunes_store_id: 'abc' }, { csrf: true });
  assert.equal(badEdit.status, 400);
  assert.match(errorBanner(badEdit.text), /itunes_store_id/);
  assert.match(badEdit.text, /name="itunes_store_id"[^>]*value="abc"/);
  const edit = await admin.post(`/apps/${mail.id}/edit`, { name: 'Company Mail', itunes_store_id: '1234567890' }, { csrf: true });
  assert.equal(edit.status, 303, errorBanner(edit.text));
  assert.equal(edit.headers.get('location'), `/apps/${mail.id}?done=saved`);
  const after = (await api('GET', `/apps/${mail.id}`)).json;
  assert.equal(after.name, 'Company Mail');
  assert.equal(after.itunes_store_id, 1234567890);
  const m = (await managed())[0]!;
  assert.equal(m.bundle_id, 'com.example.mail');
  assert.notEqual(m.state, 'failed', 'enforcement ran after the change');
  assert.ok(m.command_uuid);

  const tool = apps.find((a) => a.name === 'Tool')!;
  const toolPage = await admin.get(`/apps/${tool.id}`);
  assert.match(toolPage.text, /id="app-manifest" name="manifest_url"/);
  assert.doesNotMatch(toolPage.text, /name="itunes_store_id"/, 'only what the source has');
  assert.equal((await admin.post(`/apps/${tool.id}/edit`, { name: 'Tool', manifest_url: 'https://apps.example.com/tool2.plist' }, { csrf: true })).status, 303);
  assert.equal((await api('GET', `/apps/${tool.id}`)).json.manifest_url, 'https://apps.example.com/tool2.plist');

  const removed = await admin.post(`/apps/${tool.id}/delete`, {}, { csrf: true });
  assert.equal(removed.headers.get('location'), '/apps?done=deleted');
  assert.equal((await api('GET', `/apps/${tool.id}`)).status, 404);
  assert.equal((await admin.get(`/apps/${tool.id}`)).status, 404);
});

test('a read-only admin sees the catalog without forms and is refused; without the CSRF token nothing changes', async () => {
  const before = await catalog();
  const id = before[0]!.id as string;
  const list = await viewer.get('/apps');
  assert.equal(list.status, 200);
  assert.doesNotMatch(list.text, /<form method="post" action="\/apps/);
  assert.doesNotMatch((await viewer.get(`/apps/${id}`)).text, /<form method="post" action="\/apps/);
  for (const [p, body] of [
    ['/apps', { source: 'play', name: 'Sneaky', package_name: 'com.example.sneaky' }],
    [`/apps/${id}/edit`, { name: 'Renamed' }],
    [`/apps/${id}/delete`, {}],
  ] as const) {
    const r = await viewer.post(p, body, { csrf: true });
    assert.equal(r.status, 403, p);
    assert.match(r.text, /read-only/);
    assert.equal((await admin.post(p, body)).status, 403, `${p} without a token`);
  }
  assert.deepEqual(await catalog(), before);
});

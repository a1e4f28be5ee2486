// Policies in the console over HTTP: a policy made through the form (every field labelled), a
// refused form shown with the field's path and what was typed, nothing saved; an edit previewed
// (devices, diff) before the new version is saved, a stale save refused; assignments; the compiled
// Apple profile; delete only with the name typed back; read-only admins see and change nothing;
// no change without the CSRF token. Devices are seeded: targeting only reads platform and ownership.
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, before, test } from 'node:test';
import { ConsoleClient, signedIn } from './support/console.ts';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

const IOS = 'C0000001-IOS-CORP';
const MAC = 'C0000002-MAC-CORP';

let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let admin: ConsoleClient;
let viewer: ConsoleClient;

const sql = <T = Record<string, any>,>(query: string, ...args: unknown[]): T[] => {
  const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
  try {
    return db.prepare(query).all(...args) as T[];
  } finally {
    db.close();
  }
};
const audited = (action: string) => sql<{ n: number }>('SELECT count(*) AS n FROM audit_events WHERE action = ?', action)[0]!.n;
const errorBanner = (t: string) => /class="banner error"[^>]*>([\s\S]*?)<\/div>/.exec(t)?.[1] ?? '';

before(async () => {
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0' } });
  const t = server.cli(['api-token', 'create', '--name', 'console-policies']);
  assert.equal(t.status, 0, t.stderr);
  api = jsonApi(server, t.stdout.trim());
  const db = new Database(path.join(server.dataDir, 'mdm.sqlite'));
  db.pragma('busy_timeout = 5000');
  for (const [id, platform] of [
    [IOS, 'ios'],
    [MAC, 'macos'],
  ]) {
    db.prepare(`INSERT INTO apple_devices (id, udid, platform, os_version, created_at, updated_at) VALUES (?, ?, ?, '17.5', 0, 0)`).run(id, id, platform);
    db.prepare(`INSERT INTO apple_enrollments (id, type, device_id, status, ownership, created_at) VALUES (?, 'device', ?, 'enrolled', 'corporate', 0)`).run(id, id);
  }
  db.close();
  admin = await signedIn(server, 'root', 'admin');
  viewer = await signedIn(server, 'viewer', 'read-only');
});
after(async () => {
  await server?.stop();
});

/** The form as a browser posts it: unticked checkboxes are simply absent. */
const form = (o: Record<string, string> = {}) => ({
  name: 'Corporate phones',
  description: 'Phones the company owns',
  passcode_rules: '1',
  passcode_required: '1',
  passcode_min_length: '6',
  passcode_complexity: 'numeric',
  passcode_max_failed_attempts: '10',
  passcode_max_age_days: '',
  auto_lock_minutes: '5',
  encryption_required: '1',
  camera_disabled: '1',
  apps_allow: '',
  apps_block: 'com.example.game\ncom.example.other',
  apps_users_may_install: '1',
  required_apps_apple: 'com.example.mail',
  required_apps_android: '',
  min_os_ios: '17.0',
  min_os_ipados: '',
  min_os_macos: '',
  min_os_android: '13',
  personal_devices: 'work_profile',
  ...o,
});

const policyCount = async () => (await api('GET', '/policies')).json.policies.length as number;

async function createPolicy(o: Record<string, string> = {}): Promise<string> {
  const r = await admin.post('/policies', form(o), { csrf: true });
  assert.equal(r.status, 303, errorBanner(r.text));
  const id = /^\/policies\/([0-9a-f-]{36})\?done=created$/.exec(r.headers.get('location') ?? '')?.[1];
  assert.ok(id, r.headers.get('location') ?? '');
  return id;
}

test('a policy made through the form has every setting, and the list shows it', async () => {
  const empty = await admin.get('/policies/new');
  assert.equal(empty.status, 200);
  for (const name of Object.keys(form())) {
    assert.match(empty.text, new RegExp(`<label[^>]*for="pf-${name}"`), `a label for ${name}`);
    assert.match(empty.text, new RegExp(`id="pf-${name}"[^>]*name="${name}"|name="${name}"[^>]*id="pf-${name}"`), `an input ${name}`);
  }
  const auditBefore = audited('policy.create');
  const id = await createPolicy();
  assert.equal(audited('policy.create'), auditBefore + 1);
  const saved = await api('GET', `/policies/${id}`);
  assert.deepEqual(saved.json.document, {
    passcode: { required: true, min_length: 6, complexity: 'numeric', max_failed_attempts: 10 },
    auto_lock: { max_inactivity_minutes: 5 },
    encryption_required: true,
    camera_disabled: true,
    screen_capture_disabled: false,
    apps: { block: ['com.example.game', 'com.example.other'], users_may_install: true },
    required_apps: { apple: ['com.example.mail'], android: [] },
    min_os_version: { ios: '17.0', android: '13' },
    personal_devices: 'work_profile',
  });
  assert.equal(saved.json.description, 'Phones the company owns');
  assert.equal(saved.json.version, 1);

  const page = await admin.get(`/policies/${id}?done=created`);
  assert.equal(page.status, 200);
  assert.match(page.text, /Policy created/);
  assert.match(page.text, /<dt>Passcode<\/dt><dd>required, at least 6 characters, complexity numeric, wipe after 10 failed attempts<\/dd>/);
  assert.match(page.text, /Not assigned/);

  const list = await admin.get('/policies');
  assert.match(list.text, new RegExp(`<a href="/policies/${id}">Corporate phones</a>`));
  assert.match(list.text, /href="\/policies\/new"/);
  assert.match(list.text, /<nav[^>]*>[\s\S]*href="\/policies"[\s\S]*<\/nav>/, 'in the nav');

  // The edit form starts from what is saved.
  const edit = await admin.get(`/policies/${id}/edit`);
  assert.match(edit.text, /name="passcode_min_length" value="6"/);
  assert.match(edit.text, /name="apps_block"[^>]*>com\.example\.game\ncom\.example\.other<\/textarea>/);
  assert.match(edit.text, /id="pf-camera_disabled" type="checkbox" name="camera_disabled" value="1" checked=""/);
});

test('a refused form shows each error with its path and keeps what was typed; nothing is saved', async () => {
  const before = await policyCount();
  const bad = await admin.post('/policies', form({ name: 'Bad one', passcode_min_length: '40', apps_allow: 'com.example.ok\nnot an id', min_os_ios: 'seventeen', auto_lock_minutes: 'soon' }), { csrf: true });
  assert.equal(bad.status, 400);
  const banner = errorBanner(bad.text);
  assert.match(banner, /passcode\.min_length: /);
  assert.match(banner, /apps\.allow\[1\]: must be an app id such as com\.example\.app \(&quot;not&quot;\)/);
  assert.match(banner, /min_os_version\.ios: must be a version such as 17\.4/);
  assert.match(banner, /auto_lock\.max_inactivity_minutes: must be a whole number/);
  // Beside the field too, which is marked invalid.
  assert.match(bad.text, /name="passcode_min_length" value="40"[^>]*aria-invalid="true"[^>]*\/?>\s*<ul class="field-error" id="passcode_min_length-error"><li>passcode\.min_length/);
  assert.match(bad.text, /name="apps_allow"[^>]*>com\.example\.ok\nnot an id<\/textarea>/, 'what was typed is kept');
  assert.match(bad.text, /name="min_os_ios" value="seventeen"/);
  assert.match(bad.text, /name="name" value="Bad one"/);

  // A document every field of which is valid but which a platform refuses: the platform's words, the form kept.
  const refused = await admin.post('/policies', form({ name: 'Too many attempts', passcode_max_failed_attempts: '20' }), { csrf: true });
  assert.equal(refused.status, 422);
  assert.match(errorBanner(refused.text), /ios: .*maxFailedAttempts/);
  assert.match(refused.text, /name="passcode_max_failed_attempts" value="20"/);
  assert.doesNotMatch(refused.text, /at .*\.tsx?:\d+/, 'no stack trace');

  const noName = await admin.post('/policies', form({ name: '   ' }), { csrf: true });
  assert.equal(noName.status, 400);
  assert.match(errorBanner(noName.text), /name: a name is needed/);
  assert.equal(await policyCount(), before, 'nothing saved');
});

test('assign to a platform, see it listed and counted; the compiled view shows the Apple profile', async () => {
  const id = await createPolicy({ name: 'Assigned' });
  const r = await admin.post(`/policies/${id}/assignments`, { target: 'platform:ios', priority: '5' }, { csrf: true });
  assert.equal(r.status, 303);
  assert.equal(r.headers.get('location'), `/policies/${id}?done=assigned`);
  const page = await admin.get(r.headers.get('location')!);
  assert.match(page.text, /<td>iOS devices<\/td><td class="num">5<\/td>/);
  assert.match(page.text, /in force on 1 device\./);
  const list = await admin.get('/policies');
  assert.match(list.text, /iOS devices \(priority 5\)<\/td><td class="num">1<\/td>/);
  assert.equal((await api('GET', `/devices/${IOS}/effective-policy`)).json.policy.id, id);

  const dup = await admin.post(`/policies/${id}/assignments`, { target: 'platform:ios', priority: '0' }, { csrf: true });
  assert.equal(dup.status, 409);
  assert.match(errorBanner(dup.text), /already assigned/);
  const badTarget = await admin.post(`/policies/${id}/assignments`, { target: 'platform:windows', priority: '0' }, { csrf: true });
  assert.equal(badTarget.status, 400);

  const compiled = await admin.get(`/policies/${id}/compiled?platform=ios&ownership=corporate`);
  assert.equal(compiled.status, 200);
  const pre = /<pre data-testid="compiled-output">([\s\S]*?)<\/pre>/.exec(compiled.text)?.[1] ?? '';
  assert.match(pre, /^&lt;\?xml version=&quot;1\.0&quot;/);
  assert.match(pre, /&lt;string&gt;com\.apple\.mobiledevice\.passwordpolicy&lt;\/string&gt;/);
  assert.match(pre, new RegExp(`&lt;string&gt;org\\.openmdm\\.policy\\.${id}&lt;/string&gt;`));
  const android = await admin.get(`/policies/${id}/compiled?platform=android&ownership=personal`);
  assert.match(/<pre data-testid="compiled-output">([\s\S]*?)<\/pre>/.exec(android.text)?.[1] ?? '', /&quot;passwordPolicies&quot;/);
  assert.equal((await admin.get(`/policies/${id}/compiled?platform=windows`)).status, 400);

  // Removed again.
  const assignment = (await api('GET', `/policies/${id}/assignments`)).json.assignments[0].id;
  const removed = await admin.post(`/policies/${id}/assignments/${assignment}/remove`, {}, { csrf: true });
  assert.equal(removed.headers.get('location'), `/policies/${id}?done=unassigned`);
  assert.equal((await api('GET', `/policies/${id}/assignments`)).json.assignments.length, 0);
  assert.equal(audited('policy.unassign'), 1);
});

test('an edit is previewed with its diff before the new version is saved; a save over a newer version is refused', async () => {
  const id = await createPolicy({ name: 'Previewed' });
  assert.equal((await admin.post(`/policies/${id}/assignments`, { target: 'platform:macos', priority: '0' }, { csrf: true })).status, 303);
  const edited = form({ name: 'Previewed', passcode_min_length: '8', camera_disabled: '', from_version: '1' });
  const preview = await admin.post(`/policies/${id}/preview`, edited, { csrf: true });
  assert.equal(preview.status, 200, errorBanner(preview.text));
  assert.match(preview.text, /In force on 1 device\./);
  assert.match(preview.text, /macOS, company: 1 device/);
  assert.match(preview.text, new RegExp(`href="/devices/${MAC}">${MAC}</a>`));
  const changes = /<table data-testid="changes">([\s\S]*?)<\/table>/.exec(preview.text)?.[1] ?? '';
  assert.match(changes, /<td class="break">PayloadContent\[0\]\.minLength<\/td><td>changed<\/td><td class="break">6<\/td><td class="break">8<\/td>/);
  assert.match(preview.text, /Save as version 2/);
  assert.equal((await api('GET', `/policies/${id}`)).json.version, 1, 'a preview saves nothing');

  const documentJson = /name="document_json" value="([^"]*)"/.exec(preview.text)?.[1];
  assert.ok(documentJson);
  const decoded = documentJson.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
  const saved = await admin.post(`/policies/${id}/versions`, { from_version: '1', document_json: decoded }, { csrf: true });
  assert.equal(saved.status, 303, errorBanner(saved.text));
  assert.equal(saved.headers.get('location'), `/policies/${id}?done=saved`);
  const v2 = await api('GET', `/policies/${id}`);
  assert.equal(v2.json.version, 2);
  assert.equal(v2.json.document.passcode.min_length, 8);
  assert.equal(v2.json.document.camera_disabled, false);
  assert.equal(audited('policy.update'), 1);

  // The same preview saved again was made against version 1: refused, nothing saved.
  const stale = await admin.post(`/policies/${id}/versions`, { from_version: '1', document_json: decoded }, { csrf: true });
  assert.equal(stale.status, 409);
  assert.match(errorBanner(stale.text), /now version 2/);
  assert.equal((await api('GET', `/policies/${id}`)).json.version, 2);

  // Saving straight from the form is possible too.
  const direct = await admin.post(`/policies/${id}/versions`, form({ name: 'Previewed', passcode_min_length: '9', from_version: '2' }), { csrf: true });
  assert.equal(direct.status, 303, errorBanner(direct.text));
  assert.equal((await api('GET', `/policies/${id}`)).json.version, 3);

  const page = await admin.get(`/policies/${id}`);
  assert.match(page.text, new RegExp(`<a href="/policies/${id}/versions/1">1</a></td><td>admin:root</td>`));
  const old = await admin.get(`/policies/${id}/versions/1`);
  assert.equal(old.status, 200);
  assert.match(old.text, /&quot;min_length&quot;: 6/);
  assert.match(old.text, /the current version is 3/);
  assert.equal((await admin.get(`/policies/${id}/versions/9`)).status, 404);
});

test('delete needs the policy name typed back', async () => {
  const id = await createPolicy({ name: 'Doomed' });
  const wrong = await admin.post(`/policies/${id}/delete`, { confirm: 'doomed' }, { csrf: true });
  assert.equal(wrong.status, 400);
  assert.match(errorBanner(wrong.text), /Type the policy&#39;s name, Doomed, to delete it\. Nothing was deleted\./);
  assert.equal((await api('GET', `/policies/${id}`)).status, 200);
  const ok = await admin.post(`/policies/${id}/delete`, { confirm: 'Doomed' }, { csrf: true });
  assert.equal(ok.status, 303);
  assert.equal(ok.headers.get('location'), '/policies?done=deleted');
  assert.equal((await api('GET', `/policies/${id}`)).status, 404);
  assert.equal((await admin.get(`/policies/${id}`)).status, 404);
});

test('a read-only admin sees no action and is refused every change; without the CSRF token nothing changes', async () => {
  const id = await createPolicy({ name: 'Watched' });
  const list = await viewer.get('/policies');
  assert.equal(list.status, 200);
  assert.match(list.text, /Watched/);
  assert.doesNotMatch(list.text, /New policy/);
  const page = await viewer.get(`/policies/${id}`);
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.text, /<form method="post" action="\/policies/);
  assert.doesNotMatch(page.text, /\/edit"/);
  assert.equal((await viewer.get(`/policies/${id}/compiled?platform=macos`)).status, 200, 'reading is fine');
  assert.equal((await viewer.get('/policies/new')).status, 403);
  assert.equal((await viewer.get(`/policies/${id}/edit`)).status, 403);
  const before = (await api('GET', `/policies/${id}`)).json;
  for (const [p, body] of [
    ['/policies', form({ name: 'Sneaky' })],
    [`/policies/${id}/preview`, form({ from_version: '1' })],
    [`/policies/${id}/versions`, form({ name: 'Watched', from_version: '1' })],
    [`/policies/${id}/assignments`, { target: 'all', priority: '0' }],
    [`/policies/${id}/delete`, { confirm: 'Watched' }],
  ] as const) {
    const r = await viewer.post(p, body, { csrf: true });
    assert.equal(r.status, 403, p);
    assert.match(r.text, /read-only/);
    const noToken = await admin.post(p, body);
    assert.equal(noToken.status, 403, `${p} without a token`);
  }
  assert.deepEqual((await api('GET', `/policies/${id}`)).json, before);
  assert.equal((await api('GET', `/policies/${id}/assignments`)).json.assignments.length, 0);
  assert.ok(!(await api('GET', '/policies')).json.policies.some((p: { name: string }) => p.name === 'Sneaky'));
});

test('groups: created, a device added by id and listed, a policy assigned to it wins, removed; deleted only with the name typed back', async () => {
  const none = await admin.post('/groups', { name: '  ' }, { csrf: true });
  assert.equal(none.status, 400);
  assert.match(errorBanner(none.text), /the group needs a name/);

  const created = await admin.post('/groups', { name: 'Sales' }, { csrf: true });
  assert.equal(created.status, 303, errorBanner(created.text));
  const gid = /^\/groups\/([0-9a-f-]{36})\?done=created$/.exec(created.headers.get('location') ?? '')?.[1];
  assert.ok(gid);
  const taken = await admin.post('/groups', { name: 'Sales' }, { csrf: true });
  assert.equal(taken.status, 409);
  assert.match(taken.text, /name="name"[^>]*value="Sales"/, 'what was typed is kept');

  const unknown = await admin.post(`/groups/${gid}/members`, { device_id: 'NO-SUCH-DEVICE' }, { csrf: true });
  assert.equal(unknown.status, 404);
  assert.match(errorBanner(unknown.text), /no device NO-SUCH-DEVICE/);
  const added = await admin.post(`/groups/${gid}/members`, { device_id: ` ${IOS} ` }, { csrf: true });
  assert.equal(added.headers.get('location'), `/groups/${gid}?done=added`);
  assert.equal((await admin.post(`/groups/${gid}/members`, { device_id: IOS }, { csrf: true })).headers.get('location'), `/groups/${gid}?done=already`);
  let page = await admin.get(`/groups/${gid}`);
  assert.match(page.text, new RegExp(`<td><a href="/devices/${IOS}">${IOS}</a></td>`));
  assert.match((await admin.get('/groups')).text, new RegExp(`<a href="/groups/${gid}">Sales</a></td><td class="num">1</td>`));

  // A group assignment beats the platform one.
  const general = await createPolicy({ name: 'General iOS' });
  await admin.post(`/policies/${general}/assignments`, { target: 'platform:ios', priority: '100' }, { csrf: true });
  const sales = await createPolicy({ name: 'Sales phones' });
  assert.match((await admin.get(`/policies/${sales}`)).text, new RegExp(`<option value="group:${gid}">Group Sales</option>`));
  assert.equal((await admin.post(`/policies/${sales}/assignments`, { target: `group:${gid}`, priority: '0' }, { csrf: true })).status, 303);
  assert.equal((await api('GET', `/devices/${IOS}/effective-policy`)).json.policy.id, sales);
  assert.match((await admin.get(`/policies/${sales}`)).text, /<td>Group Sales<\/td>/);
  page = await admin.get(`/groups/${gid}`);
  assert.match(page.text, new RegExp(`<a href="/policies/${sales}">Sales phones</a>`));

  // A read-only admin sees the group, changes nothing.
  const seen = await viewer.get(`/groups/${gid}`);
  assert.equal(seen.status, 200);
  assert.doesNotMatch(seen.text, /<form method="post" action="\/groups/);
  assert.doesNotMatch((await viewer.get('/groups')).text, /<form method="post" action="\/groups/);
  for (const p of ['/groups', `/groups/${gid}/members`, `/groups/${gid}/members/${IOS}/remove`, `/groups/${gid}/delete`]) {
    assert.equal((await viewer.post(p, { name: 'x', device_id: MAC, confirm: 'Sales' }, { csrf: true })).status, 403, p);
    assert.equal((await admin.post(p, { name: 'x', device_id: MAC, confirm: 'Sales' })).status, 403, `${p} without a token`);
  }
  assert.deepEqual((await api('GET', `/groups/${gid}`)).json.members, [IOS]);

  const removed = await admin.post(`/groups/${gid}/members/${IOS}/remove`, {}, { csrf: true });
  assert.equal(removed.headers.get('location'), `/groups/${gid}?done=removed`);
  assert.deepEqual((await api('GET', `/groups/${gid}`)).json.members, []);
  assert.equal((await api('GET', `/devices/${IOS}/effective-policy`)).json.policy.id, general, 'the platform policy again');

  const wrong = await admin.post(`/groups/${gid}/delete`, { confirm: 'sales' }, { csrf: true });
  assert.equal(wrong.status, 400);
  assert.match(errorBanner(wrong.text), /Nothing was deleted/);
  assert.equal((await api('GET', `/groups/${gid}`)).status, 200);
  const gone = await admin.post(`/groups/${gid}/delete`, { confirm: 'Sales' }, { csrf: true });
  assert.equal(gone.headers.get('location'), '/groups?done=deleted');
  assert.equal((await api('GET', `/groups/${gid}`)).status, 404);
  assert.deepEqual(
    sql<{ action: string }>("SELECT action FROM audit_events WHERE action LIKE 'group.%' ORDER BY id").map((r) => r.action),
    ['group.create', 'group.member.add', 'group.member.add', 'group.member.remove', 'group.delete'],
  );
});

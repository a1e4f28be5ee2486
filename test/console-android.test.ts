// The console's Android page over HTTP, against the strict fake AMAPI: the key uploaded, the
// enterprise bound through Google's signup page, a policy listed, enrollment tokens made (the QR
// code of a company device, the link of a personal one), revoked, the enterprise unbound only
// with its name typed back; read-only admins see and change nothing; every change audited.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ConsoleClient, signedIn } from './support/console.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

const PUBLIC_URL = 'http://127.0.0.1:8080';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let admin: ConsoleClient;
let viewer: ConsoleClient;

before(async () => {
  fake = await startFakeAmapi();
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_AMAPI_URL: fake.url } });
  const t = server.cli(['api-token', 'create', '--name', 'console-android']);
  api = jsonApi(server, t.stdout.trim());
  admin = await signedIn(server, 'root', 'admin');
  viewer = await signedIn(server, 'viewer', 'read-only');
});
after(async () => {
  await server?.stop();
  await fake?.close();
});

test('key, enterprise, tokens and unbind through the console', async () => {
  assert.match((await admin.get('/')).text, /No Android enterprise is bound/, 'the dashboard says so');
  let page = await admin.get('/android');
  assert.equal(page.status, 200);
  assert.match(page.text, /No key yet/);
  assert.doesNotMatch(page.text, /Bind an enterprise<\/button>/, 'no signup before a key');

  // A file that is not a key: refused in the page, nothing stored.
  const bad = await admin.upload('/android/service-account', {}, { key: ['key.json', '{"type":"authorized_user"}'] }, { csrf: true });
  assert.equal(bad.status, 400);
  assert.match(bad.text, /class="banner error"/);
  assert.equal((await api('GET', '/android/service-account')).status, 404);

  const key = fake.serviceAccountKey();
  const up = await admin.upload('/android/service-account', {}, { key: ['key.json', key.json] }, { csrf: true });
  assert.equal(up.status, 303);
  page = await admin.get(up.headers.get('location')!);
  assert.match(page.text, /Service-account key imported/);
  assert.ok(page.text.includes(JSON.parse(key.json).client_email));

  // Signup: the answer is a link to Google's page (a form post cannot redirect off-site under the CSP).
  const signup = await admin.post('/android/signup', {}, { csrf: true });
  assert.equal(signup.status, 200);
  const google = /href="([^"]+)" data-testid="signup-link"/.exec(signup.text)?.[1]?.replace(/&amp;/g, '&');
  assert.ok(google, 'a link to the signup page');
  const consent = await fetch(google, { redirect: 'manual' });
  const callback = consent.headers.get('location')!.replace(PUBLIC_URL, server.url);
  assert.equal((await fetch(callback)).status, 201);
  page = await admin.get('/android');
  const enterprise = /Bound to <strong>[^<]*<\/strong> \((enterprises\/[^)]+)\)/.exec(page.text)?.[1];
  assert.ok(enterprise, 'the bound enterprise is shown');
  assert.doesNotMatch((await admin.get('/')).text, /No Android enterprise is bound/);

  assert.equal((await api('PUT', '/android/policies/phones', { screenCaptureDisabled: true })).status, 200);
  page = await admin.get('/android');
  assert.match(page.text, /data-testid="android-policies"[\s\S]*phones/);

  // A company device: the QR code.
  const made = await admin.post('/android/enrollment-tokens', { policy: 'phones', kind: 'corporate', user_email: 'ann@example.com', ttl: '7d', one_time: '1' }, { csrf: true });
  assert.equal(made.status, 303);
  const tokenPage = await admin.get(made.headers.get('location')!);
  assert.match(tokenPage.text, /Token created/);
  assert.match(tokenPage.text, /Company \(fully managed\), policy phones, for ann@example\.com; one device only; active/);
  const qr = /<img src="([^"]+qr\.svg)"/.exec(tokenPage.text)?.[1];
  assert.ok(qr);
  const svg = await admin.get(qr);
  assert.equal(svg.status, 200);
  assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
  assert.match(svg.text, /^<svg|^<\?xml/);
  const tokenId = qr.split('/')[3]!;

  // A personal device: the link to open on it.
  const personal = await admin.post('/android/enrollment-tokens', { policy: 'phones', kind: 'personal', user_email: '', ttl: '1d', one_time: '' }, { csrf: true });
  const personalPage = await admin.get(personal.headers.get('location')!);
  assert.match(personalPage.text, /value="https:\/\/enterprise\.google\.com\/android\/enroll\?et=[^"]+" data-testid="byod-link"/);

  // A bad form: the reason in the page, no token made.
  const before = fake.calls.length;
  const refused = await admin.post('/android/enrollment-tokens', { policy: 'phones', kind: 'tablet', user_email: '', ttl: '7d', one_time: '' }, { csrf: true });
  assert.equal(refused.status, 400);
  assert.match(refused.text, /choose the kind of device/);
  assert.equal(fake.calls.filter((c, i) => i >= before && c.method === 'POST').length, 0, 'nothing sent to Google');

  const revoked = await admin.post(`/android/enrollment-tokens/${tokenId}/revoke`, {}, { csrf: true });
  assert.equal(revoked.status, 303);
  assert.match((await admin.get(`/android/enrollment-tokens/${tokenId}`)).text, /This token is revoked/);
  assert.equal((await admin.get(qr)).status, 410);

  // Read-only: sees the page without its forms, is refused every change.
  const seen = await viewer.get('/android');
  assert.equal(seen.status, 200);
  assert.doesNotMatch(seen.text, /action="\/android\/enrollment-tokens"/);
  assert.equal((await viewer.post('/android/enrollment-tokens', { policy: 'phones', kind: 'corporate', user_email: '', ttl: '7d', one_time: '' }, { csrf: true })).status, 403);

  // Unbinding needs the enterprise's name typed back.
  const wrong = await admin.post('/android/enterprise/unbind', { confirm: 'enterprises/nope' }, { csrf: true });
  assert.equal(wrong.status, 400);
  assert.match(wrong.text, /Type the enterprise(&#39;|')s name/);
  assert.equal((await api('GET', '/android/enterprise')).status, 200);
  const unbound = await admin.post('/android/enterprise/unbind', { confirm: enterprise }, { csrf: true });
  assert.equal(unbound.status, 303);
  assert.equal((await api('GET', '/android/enterprise')).status, 404);

  const audit = (await api('GET', '/audit?action=android&limit=50')).json.events as Array<Record<string, any>>;
  const actions = audit.map((e) => e.action);
  for (const a of ['android.key.import', 'android.signup.create', 'android.enterprise.bind', 'android.enrollment_token.create', 'android.enrollment_token.revoke', 'android.enterprise.unbind']) {
    assert.ok(actions.includes(a), `${a} in ${actions.join(', ')}`);
  }
  // Made in the console: by the admin (the bind is Google's callback; the policy came through the API).
  const byConsole = audit.filter((e) => !['android.enterprise.bind', 'android.policy.update'].includes(e.action));
  assert.ok(byConsole.length >= 6 && byConsole.every((e) => e.actor.kind === 'admin' && e.actor.name === 'root'));
});

// Android Enterprise over the wire: the real server and CLI against the fake Android Management API.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { describeIssue } from '../src/android/amapi/issues.ts';
import * as generated from '../src/android/amapi/schemas.generated.ts';
import { Status } from '../src/android/amapi/schemas.generated.ts';
import { AMAPI_SCOPE, signedAssertion } from '../src/android/amapi/token.ts';
import { parseServiceAccountKey } from '../src/android/amapi/service-account.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';
import { jsonApi, startServer, tempDir, type TestServer } from './support/server.ts';

const PUBLIC_URL = 'http://127.0.0.1:8080';
const TOPIC = 'projects/mdm-test-project/topics/android-events';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let key: ReturnType<FakeAmapi['serviceAccountKey']>;
const dir = tempDir('mdm-android-');

const write = (name: string, content: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
};
const callsOf = (operation: string) => fake.calls.filter((c) => c.operation === operation);
/** The appliance's signup calls, not the ones the fake's own checks made. */
const signupsMade = () => callsOf('signupUrls.create').filter((c) => c.status === 200);
/** The callback as the admin's browser reaches it: Google's redirect, to the public URL, which is this server. */
const onServer = (callback: string) => callback.replace(PUBLIC_URL, server.url);

before(async () => {
  fake = await startFakeAmapi();
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_AMAPI_URL: fake.url, MDM_ANDROID_PUBSUB_TOPIC: TOPIC } });
  const r = server.cli(['api-token', 'create', '--name', 'android-test']);
  assert.equal(r.status, 0, r.stderr);
  api = jsonApi(server, r.stdout.trim());
  key = fake.serviceAccountKey();
});
after(async () => {
  await server.stop();
  await fake.close();
});

describe('the fake is as strict as Google', () => {
  const form = (assertion: string) =>
    fetch(fake.tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
    });

  test('its token endpoint verifies the JWT: signature, audience, scope, lifetime', async () => {
    const k = parseServiceAccountKey(fake.serviceAccountKey().json);
    assert.equal((await form(signedAssertion(k, AMAPI_SCOPE, Date.now()))).status, 200);
    const stranger = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const refusals: Array<[string, string]> = [
      [signedAssertion({ ...k, private_key: stranger }, AMAPI_SCOPE, Date.now()), 'Invalid JWT Signature.'],
      [signedAssertion({ ...k, token_uri: 'https://oauth2.googleapis.com/token' }, AMAPI_SCOPE, Date.now()), 'Invalid JWT: audience is not the token URI'],
      [signedAssertion(k, 'https://www.googleapis.com/auth/cloud-platform', Date.now()), 'Invalid OAuth scope or ID token audience provided.'],
      [signedAssertion(k, AMAPI_SCOPE, Date.now() - 2 * 3_600_000), 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.'],
    ];
    for (const [assertion, description] of refusals) {
      const r = await form(assertion);
      assert.equal(r.status, 400);
      assert.equal(((await r.json()) as { error_description: string }).error_description, description);
    }
    // An assertion valid for more than an hour, signed properly.
    const [h, c] = signedAssertion(k, AMAPI_SCOPE, Date.now()).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(c, 'base64url').toString());
    const long = Buffer.from(JSON.stringify({ ...claims, exp: claims.iat + 7200 })).toString('base64url');
    const sig = crypto.sign('sha256', Buffer.from(`${h}.${long}`), k.private_key).toString('base64url');
    assert.equal((await form(`${h}.${long}.${sig}`)).status, 400);
  });

  test('its API refuses calls without a valid bearer token, unknown query parameters and unknown fields', async () => {
    const r = await fetch(`${fake.url}/v1/signupUrls?projectId=p&callbackUrl=${encodeURIComponent(PUBLIC_URL)}`, { method: 'POST' });
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as { error: { status: string } }).error.status, 'UNAUTHENTICATED');
    const k = parseServiceAccountKey(fake.serviceAccountKey().json);
    const token = ((await (await form(signedAssertion(k, AMAPI_SCOPE, Date.now()))).json()) as { access_token: string }).access_token;
    const auth = { authorization: `Bearer ${token}` };
    const unknownParam = await fetch(`${fake.url}/v1/signupUrls?projectId=p&colour=red`, { method: 'POST', headers: auth });
    assert.equal(unknownParam.status, 400);
    const badBody = await fetch(`${fake.url}/v1/enterprises/LCnone/policies/p`, { method: 'PATCH', headers: auth, body: JSON.stringify({ cameraAccess: 'NEVER' }) });
    assert.equal(badBody.status, 400);
    const err = (await badBody.json()) as { error: { code: number; status: string; message: string } };
    assert.equal(err.error.status, 'INVALID_ARGUMENT');
    assert.match(err.error.message, /policy\.cameraAccess/);
  });
});

describe('the service-account key', () => {
  test('bad keys are refused, by the CLI and the API, and nothing is stored', async () => {
    const bad: Array<[string, RegExp]> = [
      ['not json', /not JSON/],
      [fake.serviceAccountKey({ type: 'authorized_user' }).json, /key\.type: must be "service_account"/],
      [JSON.stringify({ ...JSON.parse(key.json), client_email: undefined }), /key\.client_email: /],
      [fake.serviceAccountKey({ private_key: 'nope' }).json, /key\.private_key: not a PEM private key/],
      [fake.serviceAccountKey({ token_uri: 'ftp://x' }).json, /key\.token_uri: /],
    ];
    for (const [text, message] of bad) {
      const cli = server.cli(['android', 'key', 'import', '--file', write('bad.json', text)]);
      assert.equal(cli.status, 1, cli.stdout);
      assert.match(cli.stderr, message);
      assert.match(cli.stderr, /\(android_key_invalid\)/);
      const res = await fetch(`${server.url}/api/v1/android/service-account`, {
        method: 'PUT',
        headers: { authorization: (await tokenHeader()), 'content-type': 'application/json' },
        body: text,
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, 'android_key_invalid');
      assert.match(body.error.message, message);
    }
    assert.equal((await api('GET', '/android/service-account')).status, 404);
    assert.equal(server.cli(['android', 'key', 'show']).stdout, 'no service-account key\n');
  });

  test('mdm android key import: sealed in the database, only the email and project shown back', async () => {
    const r = server.cli(['android', 'key', 'import', '--file', write('key.json', key.json)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, `client_email: ${key.clientEmail}\nproject_id: ${key.projectId}\n`);
    const shown = await api('GET', '/android/service-account');
    assert.equal(shown.status, 200);
    assert.deepEqual(Object.keys(shown.json).sort(), ['client_email', 'imported_at', 'project_id']);
    assert.equal(shown.json.client_email, key.clientEmail);

    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    const rows = db.prepare('SELECT client_email, key_sealed FROM android_service_accounts').all() as Array<{ client_email: string; key_sealed: Buffer }>;
    db.close();
    assert.equal(rows.length, 1);
    const sealed = rows[0]!.key_sealed.toString('latin1');
    const keyBody = key.privateKeyPem.split('\n')[1]!;
    for (const secret of ['PRIVATE KEY', keyBody, key.clientEmail]) assert.equal(sealed.includes(secret), false, `${secret} in the sealed blob`);
  });

  test('PUT /android/service-account replaces it, and answers without the key', async () => {
    const res = await fetch(`${server.url}/api/v1/android/service-account`, {
      method: 'PUT',
      headers: { authorization: await tokenHeader(), 'content-type': 'application/json' },
      body: key.json,
    });
    assert.equal(res.status, 201);
    const text = await res.text();
    assert.equal(text.includes('PRIVATE KEY'), false);
    assert.equal((JSON.parse(text) as { client_email: string }).client_email, key.clientEmail);
  });
});

let apiToken: string | undefined;
async function tokenHeader(): Promise<string> {
  if (!apiToken) {
    const r = server.cli(['api-token', 'create', '--name', 'raw-requests']);
    assert.equal(r.status, 0, r.stderr);
    apiToken = r.stdout.trim();
  }
  return `Bearer ${apiToken}`;
}

describe('binding the enterprise', () => {
  let signupUrl: string;
  let callback: string;

  test('before signup: no enterprise, and policies need one', async () => {
    const e = await api('GET', '/android/enterprise');
    assert.equal(e.status, 404);
    assert.equal(e.json.error.code, 'android_enterprise_missing');
    const p = await api('PUT', '/android/policies/default', { screenCaptureDisabled: true });
    assert.equal(p.status, 409);
    assert.equal(p.json.error.code, 'android_enterprise_missing');
  });

  test('mdm android signup prints Google\'s URL, made with our project and callback', async () => {
    const r = await server.cliAsync(['android', 'signup']);
    assert.equal(r.status, 0, r.stderr);
    signupUrl = r.stdout.trim();
    const [create, ...more] = signupsMade();
    assert.ok(create);
    assert.equal(more.length, 0);
    assert.equal(signupUrl, (create.answer as { url: string }).url);
    assert.equal(create.query.projectId, key.projectId);
    assert.match(create.query.callbackUrl!, /^http:\/\/127\.0\.0\.1:8080\/android\/signup\/callback\?state=[A-Za-z0-9_-]{43}$/);
  });

  test('the callback refuses a signup not made here; Google\'s redirect binds the enterprise; a replay is refused', async () => {
    // The admin finishes Google's page, which sends the browser back with enterpriseToken added.
    const page = await fetch(signupUrl, { redirect: 'manual' });
    assert.equal(page.status, 302);
    callback = onServer(page.headers.get('location')!);
    const u = new URL(callback);
    assert.ok(u.searchParams.get('enterpriseToken'));

    const forged = new URL(callback);
    forged.searchParams.set('state', crypto.randomBytes(32).toString('base64url'));
    const wrong = await fetch(forged);
    assert.equal(wrong.status, 404);
    assert.match(await wrong.text(), /android_signup_unknown/);
    assert.equal((await fetch(`${server.url}/android/signup/callback?enterpriseToken=x`)).status, 400);
    assert.equal(callsOf('enterprises.create').length, 0, 'nothing sent to Google for refused callbacks');

    // The enterprise token works once, so a 5xx after enterprises.create is not retried: the
    // admin is told, and the signup URL stays usable.
    fake.fail(500, 1);
    const failed = await fetch(callback);
    assert.equal(failed.status, 503);
    assert.match(await failed.text(), /Google refused enterprises\.create: 500 INTERNAL: Internal error encountered\. \(google_internal\)/);
    assert.deepEqual(callsOf('enterprises.create').map((c) => c.status), [500]);

    const ok = await fetch(callback);
    const text = await ok.text();
    assert.equal(ok.status, 201, text);
    const [, create] = callsOf('enterprises.create');
    assert.ok(create);
    assert.equal(create.status, 200);
    const name = (create.answer as { name: string }).name;
    assert.match(text, new RegExp(`Android Enterprise bound: ${name}`));
    assert.deepEqual(create.query, {
      projectId: key.projectId,
      signupUrlName: (signupsMade()[0]!.answer as { name: string }).name,
      enterpriseToken: u.searchParams.get('enterpriseToken'),
    });
    assert.deepEqual(create.body, { pubsubTopic: TOPIC, enabledNotificationTypes: ['ENROLLMENT', 'STATUS_REPORT', 'COMMAND'] });

    const replay = await fetch(callback);
    assert.equal(replay.status, 409);
    assert.match(await replay.text(), /android_signup_used/);
    assert.equal(callsOf('enterprises.create').length, 2);
  });

  test('the bound enterprise is shown by the API and the CLI; a second signup is refused', async () => {
    const e = await api('GET', '/android/enterprise');
    assert.equal(e.status, 200);
    const name = [...fake.enterprises.keys()][0]!;
    assert.equal(e.json.name, name);
    assert.equal(e.json.project_id, key.projectId);
    assert.equal(e.json.display_name, 'Example School');
    assert.equal(e.json.pubsub_topic, TOPIC);
    assert.deepEqual(e.json.notification_types, ['ENROLLMENT', 'STATUS_REPORT', 'COMMAND']);
    const cli = server.cli(['android', 'enterprise', 'show']);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^name: ${name}\nproject: ${key.projectId}\ndisplay name: Example School\npubsub topic: ${TOPIC}\n`));
    const again = await api('POST', '/android/signup');
    assert.equal(again.status, 409);
    assert.equal(again.json.error.code, 'android_enterprise_bound');
  });
});

describe('policies', () => {
  const policy = {
    passwordPolicies: [{ passwordMinimumLength: 6, passwordQuality: 'NUMERIC_COMPLEX', passwordScope: 'SCOPE_DEVICE' }],
    maximumTimeToLock: '300000',
    encryptionPolicy: 'ENABLED_WITH_PASSWORD',
    cameraAccess: 'CAMERA_ACCESS_DISABLED',
    screenCaptureDisabled: true,
    factoryResetDisabled: true,
    applications: [{ packageName: 'com.example.notes', installType: 'FORCE_INSTALLED' }],
    playStoreMode: 'WHITELIST',
    statusReportingSettings: { softwareInfoEnabled: true, hardwareStatusEnabled: true },
    policyEnforcementRules: [{ settingName: 'passwordPolicies', blockAction: { blockAfterDays: 0 }, wipeAction: { wipeAfterDays: 7 } }],
  };
  const enterprise = () => [...fake.enterprises.values()][0]!;

  test('PUT creates a policy at Google and keeps its version; PUT again updates it with a new version', async () => {
    const created = await api('PUT', '/android/policies/default', policy);
    assert.equal(created.status, 200, JSON.stringify(created.json));
    assert.equal(created.json.version, '1');
    assert.equal(created.json.name, `${enterprise().name}/policies/default`);
    assert.deepEqual(enterprise().policies.get('default')?.policy, policy);

    const changed = { ...policy, cameraAccess: 'CAMERA_ACCESS_USER_CHOICE' };
    const updated = await api('PUT', '/android/policies/default', changed);
    assert.equal(updated.status, 200);
    assert.equal(updated.json.version, '2');
    assert.equal(updated.json.created_at, created.json.created_at);
    assert.equal(enterprise().policies.get('default')?.version, 2);

    const shown = await api('GET', '/android/policies/default');
    assert.equal(shown.json.version, '2');
    assert.equal(shown.json.policy.cameraAccess, 'CAMERA_ACCESS_USER_CHOICE');
    const list = await api('GET', '/android/policies');
    assert.deepEqual(list.json.policies.map((p: { id: string; version: string }) => [p.id, p.version]), [['default', '2']]);
    assert.match(server.cli(['android', 'policy', 'list']).stdout, /^default\t2\t/);
  });

  test('mdm android policy put, show and delete', async () => {
    const put = await server.cliAsync(['android', 'policy', 'put', 'kiosk', '--file', write('kiosk.json', JSON.stringify({ screenCaptureDisabled: true }))]);
    assert.equal(put.status, 0, put.stderr);
    assert.equal(put.stdout, `${enterprise().name}/policies/kiosk\tversion 1\n`);
    const show = server.cli(['android', 'policy', 'show', 'kiosk']);
    assert.equal(JSON.parse(show.stdout).screenCaptureDisabled, true);
    const del = await server.cliAsync(['android', 'policy', 'delete', 'kiosk']);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(enterprise().policies.has('kiosk'), false);
  });

  test('an invalid policy is refused before anything is sent, naming the field', async () => {
    const sent = fake.calls.length;
    const cases: Array<[unknown, string]> = [
      [{ ...policy, applications: [{ packageName: 'com.example.notes', installType: 'SOMETIMES' }] }, 'policy.applications[0].installType: '],
      [{ ...policy, statusReportingSettings: { softwareInfoEnabled: true, colour: 'red' } }, 'policy.statusReportingSettings.colour: unknown field'],
      [{ ...policy, kioskCustomLauncherEnabled: true }, 'policy.kioskCustomLauncherEnabled: unknown field'],
      [{ ...policy, maximumTimeToLock: 300000 }, 'policy.maximumTimeToLock: '],
      [{ ...policy, version: '7' }, 'policy.version: '],
    ];
    for (const [body, message] of cases) {
      const r = await api('PUT', '/android/policies/default', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json.error.code, 'android_policy_invalid');
      assert.ok(r.json.error.message.startsWith(message), r.json.error.message);
    }
    const cli = await server.cliAsync(['android', 'policy', 'put', 'default', '--file', write('bad-policy.json', JSON.stringify({ cameraAccess: 'NEVER' }))]);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /policy\.cameraAccess: .*\(android_policy_invalid\)/);
    const badName = await api('PUT', '/android/policies/no%20spaces', policy);
    assert.equal(badName.status, 400);
    assert.equal(fake.calls.length, sent, 'the fake saw no request');
    assert.equal(enterprise().policies.get('default')?.version, 2);
  });

  test('429 RESOURCE_EXHAUSTED: backs off and succeeds', async () => {
    const before = callsOf('enterprises.policies.patch').length;
    const issued = fake.tokensIssued;
    fake.fail(429, 2);
    const r = await api('PUT', '/android/policies/default', policy);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.version, '3');
    const patches = callsOf('enterprises.policies.patch').slice(before);
    assert.deepEqual(patches.map((c) => c.status), [429, 429, 200]);
    assert.equal((patches[0]!.answer as { error: { status: string } }).error.status, 'RESOURCE_EXHAUSTED');
    await server.waitForLog((l) => l.msg === 'Google quota exhausted (429): backing off' && l.retry === 2);
    assert.equal(fake.tokensIssued, issued, 'the cached access token was used throughout');
  });

  test('5xx: retried a bounded number of times, then Google\'s status and message are reported', async () => {
    let before = callsOf('enterprises.policies.patch').length;
    fake.fail(500, 1);
    const once = await api('PUT', '/android/policies/default', policy);
    assert.equal(once.status, 200);
    assert.deepEqual(callsOf('enterprises.policies.patch').slice(before).map((c) => c.status), [500, 200]);

    before = callsOf('enterprises.policies.patch').length;
    fake.fail(503, 50);
    const r = await api('PUT', '/android/policies/default', policy);
    fake.clearFaults();
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'google_unavailable');
    assert.equal(r.json.error.message, 'Google refused enterprises.policies.patch: 503 UNAVAILABLE: The service is currently unavailable.');
    // The first try and three retries.
    assert.deepEqual(callsOf('enterprises.policies.patch').slice(before).map((c) => c.status), [503, 503, 503, 503]);
    assert.equal((await api('GET', '/android/policies/default')).json.version, '4', 'the stored policy is unchanged');
  });

  test('an access token Google stops accepting is renewed once, and the call goes through', async () => {
    const issued = fake.tokensIssued;
    const refused = fake.unauthenticated;
    fake.expireTokens();
    const r = await api('PUT', '/android/policies/default', policy);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.version, '5');
    assert.equal(fake.unauthenticated, refused + 1);
    assert.equal(fake.tokensIssued, issued + 1);
  });

  test('DELETE removes the policy at Google and here', async () => {
    const r = await api('DELETE', '/android/policies/default');
    assert.equal(r.status, 200);
    assert.equal(enterprise().policies.has('default'), false);
    const gone = await api('GET', '/android/policies/default');
    assert.equal(gone.status, 404);
    assert.equal(gone.json.error.code, 'android_policy_missing');
    assert.equal((await api('DELETE', '/android/policies/default')).status, 404);
  });
});

describe('unbinding', () => {
  test('DELETE /android/enterprise deletes it at Google and here, with its policies', async () => {
    assert.equal((await api('PUT', '/android/policies/default', { screenCaptureDisabled: true })).status, 200);
    const name = [...fake.enterprises.keys()][0]!;
    const r = await api('DELETE', '/android/enterprise');
    assert.equal(r.status, 200);
    assert.equal(r.json.name, name);
    assert.equal(fake.enterprises.size, 0);
    assert.equal((await api('GET', '/android/enterprise')).status, 404);
    assert.deepEqual((await api('GET', '/android/policies')).json.policies, []);
    assert.equal(server.cli(['android', 'enterprise', 'show']).stdout, 'no enterprise is bound\n');
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM android_policies').get(), { n: 0 });
    db.close();
  });
});

test("every answer of the fake fits the discovery document's schemas (generated zod, strict)", () => {
  assert.ok(fake.calls.length > 10);
  for (const c of fake.calls) {
    if (c.status === 200) {
      const schema = (generated as Record<string, unknown>)[c.responseSchema ?? ''] as typeof Status | undefined;
      assert.ok(schema, `a generated schema for ${c.responseSchema}`);
      const r = schema.safeParse(c.answer);
      assert.ok(r.success, `${c.operation}: ${r.error && describeIssue(r.error, 'answer')}`);
    } else {
      // Google's JSON error form is a google.rpc.Status plus the code's name.
      const { status, ...rpc } = (c.answer as { error: { status: string } }).error;
      assert.match(status, /^[A-Z_]+$/);
      const r = Status.safeParse(rpc);
      assert.ok(r.success, `${c.operation} error: ${r.error && describeIssue(r.error, 'error')}`);
    }
  }
});

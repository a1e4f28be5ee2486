// Android enrollment tokens over the wire: the real server and CLI against the fake Android Management API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import jsQR from 'jsqr';
import { PNG } from 'pngjs';
import QRCode from 'qrcode';
import { bindEnterprise } from './support/android-bind.ts';
import { startFakeAmapi, type FakeAmapi, type RecordedCall } from './support/fake-amapi.ts';
import { jsonApi, startServer, tempDir, type TestServer } from './support/server.ts';

const POLICY = 'enroll-policy';

let fake: FakeAmapi;
let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let token: string;
const dir = tempDir('mdm-android-enroll-');

const creates = () => fake.calls.filter((c) => c.operation === 'enterprises.enrollmentTokens.create');
const lastCreate = (): RecordedCall & { body: Record<string, unknown>; answer: Record<string, string> } => creates().at(-1) as never;
const enterprise = () => [...fake.enterprises.values()][0]!;
const get = (p: string) => fetch(`${server.url}${p}`, { headers: { authorization: `Bearer ${token}` } });

/** What a phone's camera reads off the PNG. */
function decodePng(png: Buffer): string | null {
  const img = PNG.sync.read(png);
  // jsqr is CommonJS with its function as module.exports and as .default: types know only the latter.
  return jsQR.default(new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length), img.width, img.height)?.data ?? null;
}

/** The PNG signature, then IHDR first with a square image's width and height. */
function assertPng(png: Buffer): void {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  assert.equal(png.readUInt32BE(8), 13);
  assert.equal(png.subarray(12, 16).toString('latin1'), 'IHDR');
  const width = png.readUInt32BE(16);
  assert.ok(width > 100);
  assert.equal(png.readUInt32BE(20), width);
}

/** An SVG whose grid is the QR code qrcode makes for `text` at level M, with a 4-module margin. */
function assertQrSvg(svg: string, text: string): void {
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="0 0 (\d+) \1"/);
  const size = QRCode.create(text, { errorCorrectionLevel: 'M' }).modules.size;
  assert.equal(Number(/viewBox="0 0 (\d+)/.exec(svg)![1]), size + 8);
  assert.match(svg, /<\/svg>\s*$/);
}

before(async () => {
  fake = await startFakeAmapi();
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_AMAPI_URL: fake.url } });
  const r = server.cli(['api-token', 'create', '--name', 'android-enroll-test']);
  assert.equal(r.status, 0, r.stderr);
  token = r.stdout.trim();
  api = jsonApi(server, token);
  await bindEnterprise(server, api, fake);
  assert.equal((await api('PUT', `/android/policies/${POLICY}`, { screenCaptureDisabled: true })).status, 200);
});
after(async () => {
  await server.stop();
  await fake.close();
});

describe('Android enrollment tokens', () => {
  const made: string[] = [];

  test('refused before anything is sent: an unknown policy, a bad ownership, ttl or work profile on a personal device', async () => {
    const sent = fake.calls.length;
    const cases: Array<[unknown, number, string]> = [
      [{ policy: 'nope', ownership: 'corporate' }, 404, 'android_policy_missing'],
      [{ policy: POLICY, ownership: 'rented' }, 400, 'invalid_request'],
      [{ policy: POLICY, ownership: 'personal', work_profile: true }, 400, 'invalid_request'],
      [{ policy: POLICY, ownership: 'corporate', ttl: '30s' }, 400, 'invalid_request'],
      [{ policy: POLICY, ownership: 'corporate', ttl: 'soon' }, 400, 'invalid_request'],
      [{ policy: POLICY, ownership: 'corporate', user_email: 'not-an-email' }, 400, 'invalid_request'],
      [{ policy: POLICY, ownership: 'corporate', colour: 'red' }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const r = await api('POST', '/android/enrollment-tokens', body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(r.json.error.code, code, JSON.stringify(r.json));
    }
    const cli = await server.cliAsync(['android', 'enroll', 'create', '--policy', 'nope']);
    assert.equal(cli.status, 1);
    assert.match(cli.stderr, /no Android policy nope.*\(android_policy_missing\)/);
    assert.equal((await server.cliAsync(['android', 'enroll', 'create', '--policy', POLICY, '--ownership', 'personal', '--work-profile'])).status, 2);
    assert.equal(fake.calls.length, sent, 'the fake saw no request');
  });

  const ownerships: Array<[string, { ownership: string; work_profile?: boolean }, string]> = [
    ['corporate: fully managed', { ownership: 'corporate' }, 'PERSONAL_USAGE_DISALLOWED'],
    ['corporate with a work profile', { ownership: 'corporate', work_profile: true }, 'PERSONAL_USAGE_ALLOWED'],
    ['personal: a work profile', { ownership: 'personal' }, 'PERSONAL_USAGE_ALLOWED'],
  ];
  for (const [what, body, usage] of ownerships) {
    test(`POST /android/enrollment-tokens, ${what}: ${usage}, our record in additionalData`, async () => {
      const user = `user-${made.length}@example.org`;
      const r = await api('POST', '/android/enrollment-tokens', { policy: POLICY, user_email: user, ...body });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      const call = lastCreate();
      assert.equal(call.status, 200);
      assert.equal(call.path, `/v1/${enterprise().name}/enrollmentTokens`);
      assert.deepEqual(Object.keys(call.body).sort(), ['additionalData', 'allowPersonalUsage', 'duration', 'oneTimeOnly', 'policyName']);
      assert.equal(call.body.policyName, `${enterprise().name}/policies/${POLICY}`);
      assert.equal(call.body.allowPersonalUsage, usage);
      assert.equal(call.body.duration, '604800s');
      assert.equal(call.body.oneTimeOnly, false);
      assert.deepEqual(JSON.parse(call.body.additionalData as string), { enrollment_id: r.json.id, user_email: user, ownership: body.ownership });

      assert.equal(r.json.name, call.answer.name);
      assert.equal(r.json.value, call.answer.value);
      assert.equal(r.json.qr_code, call.answer.qrCode);
      assert.equal(r.json.expires_at, new Date(call.answer.expirationTimestamp!).toISOString());
      assert.equal(r.json.byod_link, `https://enterprise.google.com/android/enroll?et=${call.answer.value}`);
      assert.equal(r.json.allow_personal_usage, usage);
      assert.equal(r.json.work_profile, body.work_profile ?? false);
      assert.equal(r.json.status, 'active');
      assert.equal(
        JSON.parse(call.answer.qrCode!)['android.app.extra.PROVISIONING_ADMIN_EXTRAS_BUNDLE']['com.google.android.apps.work.clouddpc.EXTRA_ENROLLMENT_TOKEN'],
        r.json.value,
      );
      assert.deepEqual(r.json.links, {
        qr_png: `/api/v1/android/enrollment-tokens/${r.json.id}/qr.png`,
        qr_svg: `/api/v1/android/enrollment-tokens/${r.json.id}/qr.svg`,
      });
      made.push(r.json.id);
    });
  }

  test('the QR code images: a PNG that decodes to the qrCode JSON, and an SVG of the same code', async () => {
    const t = (await api('GET', `/android/enrollment-tokens/${made[0]}`)).json;
    const png = await get(t.links.qr_png);
    assert.equal(png.status, 200);
    assert.equal(png.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await png.arrayBuffer());
    assertPng(bytes);
    assert.equal(decodePng(bytes), t.qr_code);
    const svg = await get(t.links.qr_svg);
    assert.equal(svg.status, 200);
    assert.equal(svg.headers.get('content-type'), 'image/svg+xml');
    assertQrSvg(await svg.text(), t.qr_code);
    assert.equal((await get('/api/v1/android/enrollment-tokens/no-such-id/qr.png')).status, 404);
  });

  test('mdm android enroll create: value, BYOD link, expiry; the QR files; --ttl and --one-time reach Google', async () => {
    const pngFile = path.join(dir, 'qr.png');
    const svgFile = path.join(dir, 'qr.svg');
    const r = await server.cliAsync([
      'android', 'enroll', 'create', '--policy', POLICY, '--user', 'pat@example.org', '--ownership', 'personal', '--ttl', '1d', '--one-time',
      '--qr-png', pngFile, '--qr-svg', svgFile,
    ]);
    assert.equal(r.status, 0, r.stderr);
    const call = lastCreate();
    assert.equal(call.body.duration, '86400s');
    assert.equal(call.body.oneTimeOnly, true);
    assert.equal(call.body.allowPersonalUsage, 'PERSONAL_USAGE_ALLOWED');
    const id = JSON.parse(call.body.additionalData as string).enrollment_id as string;
    const value = call.answer.value!;
    const qrCode = call.answer.qrCode!;
    assert.equal(
      r.stdout,
      `id: ${id}\ntoken: ${value}\nbyod link: https://enterprise.google.com/android/enroll?et=${value}\n` +
        `expires: ${new Date(call.answer.expirationTimestamp!).toISOString()}\npolicy: ${POLICY}\n` +
        `ownership: personal (personal device, work profile)\nqr png: ${pngFile}\nqr svg: ${svgFile}\n`,
    );
    const png = fs.readFileSync(pngFile);
    assertPng(png);
    assert.equal(decodePng(png), qrCode);
    assertQrSvg(fs.readFileSync(svgFile, 'utf8'), qrCode);
    made.push(id);
  });

  test('a 5xx on create is not retried (Google may have made the token) and nothing is recorded', async () => {
    const before = creates().length;
    fake.fail(500, 1);
    const r = await api('POST', '/android/enrollment-tokens', { policy: POLICY, ownership: 'corporate' });
    assert.equal(r.status, 503);
    assert.equal(r.json.error.code, 'google_internal');
    assert.deepEqual(creates().slice(before).map((c) => c.status), [500]);
    assert.equal((await api('GET', '/android/enrollment-tokens')).json.enrollment_tokens.length, made.length);
  });

  test('GET /android/enrollment-tokens and mdm android enroll list: newest first', async () => {
    const list = (await api('GET', '/android/enrollment-tokens')).json.enrollment_tokens as Array<{ id: string; status: string }>;
    assert.deepEqual(list.map((t) => t.id), [...made].reverse());
    const cli = server.cli(['android', 'enroll', 'list']);
    assert.equal(cli.status, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(lines.map((l) => l[0]), [...made].reverse());
    assert.deepEqual(lines.at(-1)!.slice(1, 5), ['active', POLICY, 'corporate', 'user-0@example.org']);
    assert.deepEqual(lines.at(-2)!.slice(1, 4), ['active', POLICY, 'corporate+work-profile']);
  });

  test('revoke: deleted at Google, marked here, its QR code no longer served', async () => {
    const [first, second] = made as [string, string];
    const googleId = (id: string) => (fake.calls.find((c) => c.operation === 'enterprises.enrollmentTokens.create' && (c.body as { additionalData: string }).additionalData.includes(id))!.answer as { name: string }).name.split('/').pop()!;
    const firstAtGoogle = googleId(first);
    assert.ok(enterprise().enrollmentTokens.has(firstAtGoogle));
    const r = await api('DELETE', `/android/enrollment-tokens/${first}`);
    assert.equal(r.status, 200);
    assert.equal(r.json.status, 'revoked');
    assert.ok(r.json.revoked_at);
    assert.equal(enterprise().enrollmentTokens.has(firstAtGoogle), false);
    assert.equal((await get(`/api/v1/android/enrollment-tokens/${first}/qr.png`)).status, 410);
    assert.equal((await get(`/api/v1/android/enrollment-tokens/${first}/qr.svg`)).status, 410);
    const deletes = () => fake.calls.filter((c) => c.operation === 'enterprises.enrollmentTokens.delete').length;
    const sent = deletes();
    assert.equal((await api('DELETE', `/android/enrollment-tokens/${first}`)).json.status, 'revoked');
    assert.equal(deletes(), sent, 'a revoked token is not deleted twice');

    const secondAtGoogle = googleId(second);
    const cli = await server.cliAsync(['android', 'enroll', 'revoke', second]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^revoked ${second} \\(${enterprise().name}/enrollmentTokens/${secondAtGoogle}\\)\n$`));
    assert.equal(enterprise().enrollmentTokens.has(secondAtGoogle), false);
    assert.deepEqual(server.cli(['android', 'enroll', 'list']).stdout.split('\n').filter((l) => l.includes('\trevoked\t')).map((l) => l.split('\t')[0]).sort(), [first, second].sort());
    assert.equal((await api('DELETE', '/android/enrollment-tokens/no-such-id')).status, 404);
  });

  test('unbinding the enterprise removes its tokens here', async () => {
    assert.equal((await api('DELETE', '/android/enterprise')).status, 200);
    assert.deepEqual((await api('GET', '/android/enrollment-tokens')).json.enrollment_tokens, []);
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    assert.deepEqual(db.prepare('SELECT count(*) AS n FROM android_enrollment_tokens').get(), { n: 0 });
    db.close();
  });
});

test("the fake's enrollment token answers fit the discovery document's schemas (generated zod, strict)", async () => {
  const { EnrollmentToken, Empty } = await import('../src/android/amapi/schemas.generated.ts');
  const answered = fake.calls.filter((c) => c.operation.startsWith('enterprises.enrollmentTokens.') && c.status === 200);
  assert.deepEqual([...new Set(answered.map((c) => c.responseSchema))].sort(), ['Empty', 'EnrollmentToken']);
  for (const c of answered) {
    const r = (c.responseSchema === 'Empty' ? Empty : EnrollmentToken).safeParse(c.answer);
    assert.ok(r.success, `${c.operation}: ${JSON.stringify(r.error?.issues[0])}`);
  }
});

// The push certificate lifecycle through the JSON API, as the `mdm push` commands do it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodePlist } from '../src/apple/plist.ts';
import { nameToString } from '../src/pki/cert-info.ts';
import { parseCsr } from '../src/pki/scep/csr.ts';
import { pemBlocks } from '../src/pki/x509.ts';
import { peer } from './support/peers.ts';
import { issueForCsr, vendorChain, writePushCertificate } from './support/push-cert.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';

const DAY = 86_400_000;
let server: TestServer;
let token: string;
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });
const send = (method: string, path: string, body?: unknown) => api(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const json = async (r: Response) => (await r.json()) as Record<string, unknown>;
async function refused(r: Response, status: number, code: string): Promise<string> {
  assert.equal(r.status, status, code);
  const body = (await r.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code);
  return body.error.message;
}
const pem = (file: string) => fs.readFileSync(file, 'utf8');

before(async () => {
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_ORGANIZATION: 'Example School' } });
  const r = server.cli(['api-token', 'create', '--name', 'push-test']);
  assert.equal(r.status, 0, r.stderr);
  token = r.stdout.trim();
});
after(async () => {
  await server.stop();
});

test('GET before any import is a 404 with a stable code; PUT imports; GET shows it with its state', async () => {
  await refused(await api('/push/certificate'), 404, 'push_cert_missing');

  const pc = writePushCertificate(tempDir());
  const put = await send('PUT', '/push/certificate', { certificate: pem(pc.cert), private_key: pem(pc.key) });
  assert.equal(put.status, 201);
  const imported = await json(put);
  assert.equal(imported.topic, pc.topic);
  assert.ok((imported.days_left as number) >= 364);
  assert.equal(imported.state, 'ok');

  const shown = await json(await api('/push/certificate'));
  assert.equal(shown.topic, pc.topic);
  assert.equal(shown.state, 'ok');
  assert.equal(server.cli(['push', 'show']).stdout.includes(pc.topic), true);
});

test('refusals: wrong topic prefix, mismatched key, bad JSON, missing fields, no token', async () => {
  const bad = writePushCertificate(tempDir(), 'com.example.not-mdm');
  const other = writePushCertificate(tempDir());
  const cases: Array<[unknown, number, string]> = [
    [{ certificate: pem(bad.cert), private_key: pem(bad.key) }, 422, 'push_cert_bad_topic'],
    [{ certificate: pem(other.cert), private_key: pem(bad.key) }, 422, 'push_key_mismatch'],
    [{ certificate: 'nope', private_key: 'nope' }, 400, 'push_cert_unreadable'],
    [{ private_key: pem(other.key) }, 400, 'invalid_request'],
    [{ certificate: pem(other.cert), private_key: pem(other.key), force: 'yes' }, 400, 'invalid_request'],
    [{ certificate: pem(other.cert), private_key: pem(other.key) }, 409, 'push_topic_changed'],
    // No key, and no CSR made here to take one from.
    [{ certificate: pem(other.cert), force: true }, 422, 'push_key_missing'],
  ];
  const before = await json(await api('/push/certificate'));
  for (const [body, status, code] of cases) await refused(await send('PUT', '/push/certificate', body), status, code);
  await refused(await api('/push/certificate', { method: 'PUT', body: '{' }), 400, 'bad_json');
  assert.equal((await fetch(`${server.url}/api/v1/push/certificate`)).status, 401);
  for (const route of ['/push/csr', '/push/vendor-certificate', '/push/signed-request']) {
    assert.equal((await fetch(`${server.url}/api/v1${route}`, { method: 'POST' })).status, 401, route);
  }
  assert.deepEqual(await json(await api('/push/certificate')), before, 'nothing changed');
});

describe('CSR, vendor certificate, signed request, issued certificate', () => {
  const chain = vendorChain();
  let pendingDer: Buffer;

  test('POST /push/csr: 201 with the PEM; CN from the organisation, or common_name and email; GET /push/csr gives the newest', async () => {
    await refused(await api('/push/csr'), 404, 'push_csr_missing');
    const first = await send('POST', '/push/csr');
    assert.equal(first.status, 201);
    const a = await json(first);
    assert.equal(a.subject, 'CN=Example School');
    const der = pemBlocks(a.csr as string, 'CERTIFICATE REQUEST')[0]!;
    assert.equal(nameToString(parseCsr(der).subject), 'CN=Example School');

    const second = await send('POST', '/push/csr', { common_name: 'IT', email: 'it@example.org' });
    assert.equal(second.status, 201);
    const b = await json(second);
    assert.equal(b.subject, 'CN=IT, emailAddress=it@example.org');
    assert.deepEqual(await json(await api('/push/csr')), b);
    pendingDer = pemBlocks(b.csr as string, 'CERTIFICATE REQUEST')[0]!;

    const ossl = peer('openssl', ['version']);
    if (ossl.ok) {
      const r = spawnSync('openssl', ['req', '-verify', '-noout'], { input: b.csr as string, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }

    await refused(await send('POST', '/push/csr', { email: 'nope' }), 400, 'push_csr_bad_subject');
    await refused(await send('POST', '/push/csr', { common_name: '' }), 400, 'invalid_request');
    await refused(await send('POST', '/push/csr', { cn: 'x' }), 400, 'invalid_request');
    assert.deepEqual(await json(await api('/push/csr')), b, 'refusals made nothing');
  });

  test('POST /push/signed-request without a vendor certificate: 404 push_vendor_missing', async () => {
    await refused(await send('POST', '/push/signed-request'), 404, 'push_vendor_missing');
    await refused(await api('/push/vendor-certificate'), 404, 'push_vendor_missing');
  });

  test('PUT /push/vendor-certificate refusals', async () => {
    const full = chain.vendor.pem + chain.wwdr.pem + chain.root.pem;
    const cases: Array<[unknown, number, string]> = [
      [{}, 400, 'invalid_request'],
      [{ certificate: full }, 400, 'invalid_request'],
      [{ certificate: full, private_key: chain.vendor.keyPem, pkcs12: 'AAAA' }, 400, 'invalid_request'],
      [{ certificate: full, private_key: chain.vendor.keyPem, password: 'x' }, 400, 'invalid_request'],
      [{ pkcs12: 'not base64!' }, 400, 'invalid_request'],
      [{ pkcs12: 'AAAA', password: 'x' }, 400, 'pkcs12_unreadable'],
      [{ certificate: chain.vendor.pem, private_key: chain.vendor.keyPem }, 422, 'push_vendor_chain_incomplete'],
      [{ certificate: chain.vendor.pem, private_key: chain.vendor.keyPem, chain: chain.wwdr.pem }, 422, 'push_vendor_chain_incomplete'],
      [{ certificate: full, private_key: vendorChain().vendor.keyPem }, 422, 'push_vendor_key_mismatch'],
      [{ certificate: 'no certificate here', private_key: chain.vendor.keyPem }, 400, 'push_vendor_cert_unreadable'],
    ];
    for (const [body, status, code] of cases) await refused(await send('PUT', '/push/vendor-certificate', body), status, code);
    await refused(await api('/push/vendor-certificate'), 404, 'push_vendor_missing');
  });

  test('PUT /push/vendor-certificate with a PKCS#12 made by openssl (base64 and password); a wrong password is 422', async (t) => {
    const ossl = peer('openssl', ['version']);
    if (!ossl.ok) return t.skip(ossl.reason);
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'v.key'), chain.vendor.keyPem);
    fs.writeFileSync(path.join(dir, 'v.pem'), chain.vendor.pem);
    const r = spawnSync('openssl', ['pkcs12', '-export', '-inkey', path.join(dir, 'v.key'), '-in', path.join(dir, 'v.pem'), '-out', path.join(dir, 'v.p12'), '-passout', 'pass:pw'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const pkcs12 = fs.readFileSync(path.join(dir, 'v.p12')).toString('base64');
    const chainPem = chain.wwdr.pem + chain.root.pem;
    await refused(await send('PUT', '/push/vendor-certificate', { pkcs12, password: 'wrong', chain: chainPem }), 422, 'pkcs12_bad_password');
    await refused(await send('PUT', '/push/vendor-certificate', { pkcs12, password: 'pw' }), 422, 'push_vendor_chain_incomplete');
    const put = await send('PUT', '/push/vendor-certificate', { pkcs12, password: 'pw', chain: chainPem });
    assert.equal(put.status, 201);
    const v = await json(put);
    assert.equal(v.subject, 'CN=MDM Vendor: Example Corp (test), O=Example Corp');
    assert.deepEqual(v.chain, ['CN=Apple Worldwide Developer Relations Certification Authority (test), O=Apple Inc. (test)', 'CN=Apple Root CA (test), O=Apple Inc. (test)']);
  });

  test('PUT /push/vendor-certificate with PEM certificate, chain and key; GET shows it', async () => {
    const put = await send('PUT', '/push/vendor-certificate', { certificate: chain.vendor.pem + chain.root.pem, chain: chain.wwdr.pem, private_key: chain.vendor.keyPem });
    assert.equal(put.status, 201);
    const v = await json(put);
    assert.deepEqual(await json(await api('/push/vendor-certificate')), v);
    assert.equal(v.not_after, new Date(new crypto.X509Certificate(chain.vendor.der).validTo).toISOString());
  });

  test('POST /push/signed-request: base64 plist with the pending CSR, the chain and the vendor signature over the CSR', async () => {
    const r = await send('POST', '/push/signed-request');
    assert.equal(r.status, 200);
    const body = await json(r);
    assert.equal(body.csr_id, (await json(await api('/push/csr'))).id);
    const plist = decodePlist(Buffer.from(body.request as string, 'base64'));
    const csrDer = Buffer.from(plist.PushCertRequestCSR as string, 'base64');
    assert.ok(csrDer.equals(pendingDer));
    assert.ok(crypto.verify('sha256', csrDer, chain.vendor.publicKey, Buffer.from(plist.PushCertSignature as string, 'base64')));
    assert.deepEqual(pemBlocks(plist.PushCertCertificateChain as string, 'CERTIFICATE'), [chain.vendor.der, chain.wwdr.der, chain.root.der]);
  });

  test('PUT /push/certificate with the issued certificate alone: matched to the pending CSR; another topic needs force', async () => {
    const active = await json(await api('/push/certificate'));
    const issued = issueForCsr(pendingDer);
    const message = await refused(await send('PUT', '/push/certificate', { certificate: issued.pem }), 409, 'push_topic_changed');
    assert.match(message, new RegExp(`every device enrolled under ${(active.topic as string).replaceAll('.', '\\.')} would stop getting pushes`));
    assert.match(message, /"force": true/);
    assert.equal((await json(await api('/push/certificate'))).topic, active.topic);

    const put = await send('PUT', '/push/certificate', { certificate: issued.pem, force: true });
    assert.equal(put.status, 201);
    const imported = await json(put);
    assert.equal(imported.topic, issued.topic);
    assert.equal(imported.state, 'ok');
    await refused(await api('/push/csr'), 404, 'push_csr_missing');
    await refused(await send('POST', '/push/signed-request'), 404, 'push_csr_missing');
  });

  test('renewal: a new CSR, the certificate for it with the same topic, accepted without force', async () => {
    const active = await json(await api('/push/certificate'));
    const csr = await json(await send('POST', '/push/csr'));
    const renewed = issueForCsr(pemBlocks(csr.csr as string, 'CERTIFICATE REQUEST')[0]!, { topic: active.topic as string });
    const put = await send('PUT', '/push/certificate', { certificate: renewed.pem });
    assert.equal(put.status, 201);
    const shown = await json(await api('/push/certificate'));
    assert.equal(shown.topic, active.topic);
    assert.equal(shown.serial, new crypto.X509Certificate(renewed.der).serialNumber.toLowerCase().replace(/^(00)+(?=.)/, ''));
    assert.notEqual(shown.serial, active.serial);
  });

  test('a certificate whose key matches no CSR made here is 422 push_csr_no_match', async () => {
    const stranger = writePushCertificate(tempDir());
    await refused(await send('PUT', '/push/certificate', { certificate: pem(stranger.cert), force: true }), 422, 'push_csr_no_match');
  });

  test('state: expiring with 20 days left, critical with 5', async () => {
    for (const [days, state] of [
      [20, 'expiring'],
      [5, 'critical'],
    ] as const) {
      const pc = writePushCertificate(tempDir(), undefined, { notAfter: Date.now() + days * DAY });
      const put = await json(await send('PUT', '/push/certificate', { certificate: pem(pc.cert), private_key: pem(pc.key), force: true }));
      assert.deepEqual([put.state, put.days_left], [state, days - 1]);
      const shown = await json(await api('/push/certificate'));
      assert.deepEqual([shown.state, shown.days_left], [state, days - 1]);
    }
  });
});

test('the server logs the expiry state at start: a certificate with 5 days left is an error line', async () => {
  const dataDir = tempDir();
  const pc = writePushCertificate(tempDir(), undefined, { notAfter: Date.now() + 5 * DAY });
  const other = await startServer({ dataDir, env: { MDM_SCEP_WORKERS: '0' } });
  try {
    // No certificate yet: said at start (the enrollment tests wait for this line too).
    await other.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('no Apple push certificate yet'));
    const r = other.cli(['push', 'import', '--cert', pc.cert, '--key', pc.key]);
    assert.equal(r.status, 0, r.stderr);
  } finally {
    await other.stop();
  }
  const again = await startServer({ dataDir, env: { MDM_SCEP_WORKERS: '0' } });
  try {
    const line = await again.waitForLog((l) => l.mod === 'push' && l.state !== undefined);
    assert.equal(line.state, 'critical');
    assert.equal(line.level, 50);
    assert.equal(line.daysLeft, 4);
    assert.equal(line.topic, pc.topic);
    assert.match(line.msg as string, /expires in 4 days: renew it at https:\/\/identity\.apple\.com/);
  } finally {
    await again.stop();
  }
});

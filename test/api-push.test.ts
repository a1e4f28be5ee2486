// The push certificate through the JSON API, as `mdm push import` / `mdm push show` do it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, before, test } from 'node:test';
import { writePushCertificate } from './support/push-cert.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';

let server: TestServer;
let token: string;
const api = (path: string, init: RequestInit = {}) =>
  fetch(`${server.url}/api/v1${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers } });

before(async () => {
  server = await startServer({ env: { MDM_SCEP_WORKERS: '0' } });
  const r = server.cli(['api-token', 'create', '--name', 'push-test']);
  assert.equal(r.status, 0, r.stderr);
  token = r.stdout.trim();
});
after(async () => {
  await server.stop();
});

test('GET before any import is a 404 with a stable code; PUT imports; GET shows it', async () => {
  const none = await api('/push/certificate');
  assert.equal(none.status, 404);
  assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'push_cert_missing');

  const pc = writePushCertificate(tempDir());
  const put = await api('/push/certificate', {
    method: 'PUT',
    body: JSON.stringify({ certificate: fs.readFileSync(pc.cert, 'utf8'), private_key: fs.readFileSync(pc.key, 'utf8') }),
  });
  assert.equal(put.status, 201);
  const imported = (await put.json()) as Record<string, unknown>;
  assert.equal(imported.topic, pc.topic);
  assert.ok((imported.days_left as number) >= 364);

  const shown = (await (await api('/push/certificate')).json()) as Record<string, unknown>;
  assert.equal(shown.topic, pc.topic);
  assert.equal(server.cli(['push', 'show']).stdout.includes(pc.topic), true);
});

test('refusals: wrong topic prefix, mismatched key, bad JSON, missing fields, no token', async () => {
  const bad = writePushCertificate(tempDir(), 'com.example.not-mdm');
  const other = writePushCertificate(tempDir());
  const cases: Array<[unknown, number, string]> = [
    [{ certificate: fs.readFileSync(bad.cert, 'utf8'), private_key: fs.readFileSync(bad.key, 'utf8') }, 422, 'push_cert_bad_topic'],
    [{ certificate: fs.readFileSync(other.cert, 'utf8'), private_key: fs.readFileSync(bad.key, 'utf8') }, 422, 'push_key_mismatch'],
    [{ certificate: 'nope', private_key: 'nope' }, 400, 'push_cert_unreadable'],
    [{ certificate: fs.readFileSync(other.cert, 'utf8') }, 400, 'invalid_request'],
  ];
  const before = (await (await api('/push/certificate')).json()) as Record<string, unknown>;
  for (const [body, status, code] of cases) {
    const r = await api('/push/certificate', { method: 'PUT', body: JSON.stringify(body) });
    assert.equal(r.status, status, code);
    assert.equal(((await r.json()) as { error: { code: string } }).error.code, code);
  }
  const notJson = await api('/push/certificate', { method: 'PUT', body: '{' });
  assert.equal(((await notJson.json()) as { error: { code: string } }).error.code, 'bad_json');
  assert.equal((await fetch(`${server.url}/api/v1/push/certificate`)).status, 401);
  assert.deepEqual((await (await api('/push/certificate')).json()) as Record<string, unknown>, before, 'nothing changed');
});

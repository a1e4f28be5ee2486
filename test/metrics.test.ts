// /metrics over the wire: Prometheus text, behind an API token, counting what devices and
// admins did: requests by route pattern, check-ins, command answers, queued commands, pushes,
// SCEP outcomes, plus the database size and the fleet and push-certificate gauges.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { AppleDevice, answerFor } from './support/apple-device.ts';
import { createFakeAppleCa, startFakeApns, type FakeApns } from './support/fake-apns.ts';
import { jsonApi, startServer, tempDir, type TestServer } from './support/server.ts';

const CHALLENGE = 'metrics-test-challenge';
let server: TestServer;
let apns: FakeApns;
let token: string;
let topic: string;

before(async () => {
  const dir = tempDir('mdm-metrics-');
  const apple = createFakeAppleCa();
  apns = await startFakeApns({ trust: [apple.certPem] });
  fs.writeFileSync(path.join(dir, 'apns-ca.pem'), apns.caPem);
  server = await startServer({
    env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0', MDM_APNS_URL: apns.url, MDM_APNS_CA: path.join(dir, 'apns-ca.pem') },
  });
  const created = server.cli(['api-token', 'create', '--name', 'prometheus']);
  assert.equal(created.status, 0, created.stderr);
  token = created.stdout.trim();
  const identity = apple.issue();
  topic = identity.topic;
  fs.writeFileSync(path.join(dir, 'push.pem'), identity.certPem);
  fs.writeFileSync(path.join(dir, 'push.key'), identity.keyPem, { mode: 0o600 });
  assert.equal(server.cli(['push', 'import', '--cert', path.join(dir, 'push.pem'), '--key', path.join(dir, 'push.key')]).status, 0);
});
after(async () => {
  await server?.stop();
  await apns?.close();
});

/** The samples of one scrape: `name{labels}` → value. */
async function scrape(): Promise<Map<string, number>> {
  const r = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await r.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
const sample = (s: Map<string, number>, name: string, labels: Record<string, string> = {}) => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let total = 0;
  let found = false;
  for (const [key, value] of s) {
    if (!key.startsWith(name + '{') && key !== name) continue;
    if (want.every((w) => key.includes(w))) {
      total += value;
      found = true;
    }
  }
  return found ? total : undefined;
};

test('/metrics refuses a request without a valid API token', async () => {
  assert.equal((await fetch(`${server.url}/metrics`)).status, 401);
  assert.equal((await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer mdm_nope' } })).status, 401);
});

test('counts requests by route pattern, check-ins, command answers, queued commands, pushes and SCEP outcomes', async () => {
  const before = await scrape();
  const d = new AppleDevice(server.url, { topic });
  await d.scepEnroll(CHALLENGE);
  assert.equal((await d.authenticate()).status, 200);
  assert.equal((await d.tokenUpdate()).status, 200);
  let r = await d.report('Idle');
  while (r.plist) r = await d.report('Acknowledged', answerFor(d, r.plist));
  const queued = await jsonApi(server, token)('POST', `/devices/${d.udid}/commands`, { request_type: 'ProfileList' });
  assert.equal(queued.status, 201);
  const hex = d.token.toString('hex');
  // The enrollment's push and the ProfileList's may be one (one push per burst): at least one.
  for (let i = 0; i < 400 && apns.pushes.filter((p) => p.token === hex).length < 1; i++) await sleep(25);
  // A request that matches no route, and a device id in a path: one series per pattern.
  await fetch(`${server.url}/nowhere-${Date.now()}`);
  await jsonApi(server, token)('GET', `/devices/${d.udid}`);

  let after = await scrape();
  // Pushes are recorded once APNs has answered: wait for the counter rather than a fixed time.
  for (let i = 0; i < 200 && (sample(after, 'mdm_apns_pushes_total', { result: 'ok' }) ?? 0) < 1; i++) {
    await sleep(25);
    after = await scrape();
  }
  const grew = (name: string, labels: Record<string, string>) => (sample(after, name, labels) ?? 0) - (sample(before, name, labels) ?? 0);

  assert.equal(grew('mdm_apple_checkins_total', { message_type: 'Authenticate' }), 1);
  assert.equal(grew('mdm_apple_checkins_total', { message_type: 'TokenUpdate' }), 1);
  assert.equal(grew('mdm_apple_command_reports_total', { status: 'Idle' }), 1);
  assert.ok(grew('mdm_apple_command_reports_total', { status: 'Acknowledged' }) >= 1);
  // The enrollment's inventory commands and the ProfileList.
  assert.ok(grew('mdm_apple_commands_queued_total', {}) >= 2);
  assert.equal(grew('mdm_apns_pushes_total', { result: 'ok' }), apns.pushes.filter((p) => p.token === hex).length);
  assert.equal(grew('mdm_scep_operations_total', { message_type: 'PKCSReq', outcome: 'issued' }), 1);
  assert.equal(grew('mdm_http_requests_total', { route: '/mdm/checkin', method: 'PUT', status: '200' }), 2);
  assert.ok(grew('mdm_http_requests_total', { route: '/mdm', method: 'PUT', status: '200' }) >= 2);
  assert.equal(grew('mdm_http_requests_total', { route: 'unmatched', status: '404' }), 1);
  assert.equal(grew('mdm_http_requests_total', { route: '/api/v1/devices/:id', method: 'GET', status: '200' }), 1);
  assert.ok(![...after.keys()].some((k) => k.includes(d.udid)), 'no series names a device');

  // Gauges read at scrape time.
  assert.ok((sample(after, 'mdm_database_bytes') ?? 0) > 0);
  assert.ok((sample(after, 'mdm_devices', { status: 'enrolled' }) ?? 0) >= 1);
  const left = sample(after, 'mdm_push_certificate_expiry_seconds')!;
  const cert = await jsonApi(server, token)('GET', '/push/certificate');
  assert.equal(Math.floor(left / 86_400), cert.json.days_left, `push certificate seconds left: ${left}`);
  // Node's process metrics, prefixed.
  assert.ok(sample(after, 'mdm_process_resident_memory_bytes')! > 0);
});

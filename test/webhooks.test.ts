// Webhooks over the wire: registered through the API, events from a simulated Apple device
// delivered as signed JSON to a local receiver, retried with backoff while it fails, visible in
// the delivery log; refused input changes nothing.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, test } from 'node:test';
import { AppleDevice, answerFor } from './support/apple-device.ts';
import { jsonApi, startServer, type TestServer } from './support/server.ts';

const CHALLENGE = 'webhooks-test-challenge';

interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { id: string; type: string; created_at: string; data: Record<string, unknown> };
}

let server: TestServer;
let api: ReturnType<typeof jsonApi>;
let receiver: http.Server;
let receiverUrl: string;
const received: Received[] = [];
/** Statuses the receiver answers with, in turn; 200 once they run out. */
const answers: number[] = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      if (status === 200) received.push({ headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/mdm`;
  server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0', MDM_WEBHOOK_RETRY_BASE: '1s' } });
  const created = server.cli(['api-token', 'create', '--name', 'hooks']);
  assert.equal(created.status, 0, created.stderr);
  api = jsonApi(server, created.stdout.trim());
});
after(async () => {
  await server?.stop();
  receiver.close();
});

async function until<T>(what: string, get: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = get();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Checks x-mdm-signature as a receiver would: t=<unix>,v1=<hex HMAC-SHA256(secret, "t.body")>. */
function verify(r: Received, secret: string): void {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['x-mdm-signature']));
  assert.ok(m, `signature header: ${r.headers['x-mdm-signature']}`);
  const expected = crypto.createHmac('sha256', secret).update(`${m[1]}.${r.body}`).digest('hex');
  assert.ok(crypto.timingSafeEqual(Buffer.from(m[2]!, 'hex'), Buffer.from(expected, 'hex')), 'the signature verifies with the secret');
  assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 120, 'the signed time is now');
}

test('bad registrations are refused with the field named, and nothing is created', async () => {
  for (const [body, why] of [
    [{ url: 'ftp://example.com/x', events: ['device.enrolled'] }, /url: must be http/],
    [{ url: 'not a url', events: ['device.enrolled'] }, /url: not a URL/],
    [{ url: receiverUrl, events: ['device.exploded'] }, /events: unknown device\.exploded/],
    [{ url: receiverUrl, events: [] }, /events/],
    [{ url: receiverUrl, events: ['device.enrolled'], secret: 'mine' }, /secret: not accepted/],
  ] as const) {
    const r = await api('POST', '/webhooks', body);
    assert.equal(r.status, 400, JSON.stringify(body));
    assert.equal(r.json.error.code, 'invalid_request');
    assert.match(r.json.error.message, why);
  }
  assert.deepEqual((await api('GET', '/webhooks')).json.webhooks, []);
  assert.equal((await api('GET', '/webhooks/0b0e8a4e-0000-4000-8000-000000000000')).status, 404);
});

test('an enrolling Apple device: device.enrolled, command.completed per answer, device.checked_out; signed, retried while the receiver fails', async () => {
  const created = await api('POST', '/webhooks', { url: receiverUrl, events: ['device.enrolled', 'command.completed', 'device.checked_out'], description: 'SIEM' });
  assert.equal(created.status, 201);
  const { id, secret } = created.json as { id: string; secret: string };
  assert.match(secret, /^whsec_/);
  assert.equal((await api('GET', `/webhooks/${id}`)).json.secret, undefined, 'the secret is shown once');

  // The receiver is down for the first two attempts: the enrollment event still arrives, once.
  answers.push(503, 500);
  const d = new AppleDevice(server.url);
  await d.scepEnroll(CHALLENGE);
  assert.equal((await d.authenticate()).status, 200);
  assert.equal((await d.tokenUpdate()).status, 200);
  const enrolled = await until('device.enrolled', () => received.find((r) => r.json.type === 'device.enrolled'));
  verify(enrolled, secret);
  assert.equal(enrolled.headers['x-mdm-event'], 'device.enrolled');
  assert.equal(enrolled.headers['content-type'], 'application/json');
  assert.equal(enrolled.json.data.device_id, d.udid);
  assert.equal(enrolled.json.data.enrollment_id, d.udid);
  assert.equal(enrolled.json.id, enrolled.headers['x-mdm-event-id']);

  const deliveries = (await api('GET', `/webhooks/${id}/deliveries?limit=50`)).json.deliveries as Array<Record<string, any>>;
  const first = deliveries.find((x) => x.event_type === 'device.enrolled')!;
  assert.equal(first.status, 'delivered');
  assert.equal(first.attempts, 3, 'two failures, then delivered');
  assert.equal(first.last_status_code, 200);
  assert.equal(first.body.id, enrolled.json.id);

  // The device answers its inventory commands: one command.completed each, with the request type.
  let r = await d.report('Idle');
  const answered: string[] = [];
  while (r.plist) {
    answered.push(String((r.plist.Command as Record<string, unknown>).RequestType));
    r = await d.report('Acknowledged', answerFor(d, r.plist));
  }
  assert.ok(answered.length >= 2);
  await until('command.completed for every answer', () => (received.filter((x) => x.json.type === 'command.completed').length === answered.length ? true : undefined));
  const completed = received.filter((x) => x.json.type === 'command.completed');
  assert.deepEqual(completed.map((x) => x.json.data.request_type).sort(), [...answered].sort());
  for (const c of completed) {
    verify(c, secret);
    assert.equal(c.json.data.status, 'Acknowledged');
    assert.equal(c.json.data.device_id, d.udid);
  }

  assert.equal((await d.checkin('CheckOut', {})).status, 200);
  const out = await until('device.checked_out', () => received.find((x) => x.json.type === 'device.checked_out'));
  assert.equal(out.json.data.device_id, d.udid);
  // Each event once, whatever the retries.
  assert.equal(new Set(received.map((x) => x.json.id)).size, received.length);
});

test('ping tests a receiver; a disabled webhook holds its deliveries until enabled; a failed delivery can be retried; delete', async () => {
  const { id } = (await api('POST', '/webhooks', { url: receiverUrl, events: ['push_certificate.expiring'] })).json as { id: string };
  const ping = await api('POST', `/webhooks/${id}/ping`);
  assert.equal(ping.status, 202);
  const got = await until('the ping', () => received.find((x) => x.json.id === ping.json.event_id));
  assert.equal(got.json.type, 'ping');
  assert.equal(got.json.data.webhook_id, id);

  assert.equal((await api('PATCH', `/webhooks/${id}`, { enabled: false })).json.enabled, false);
  const held = await api('POST', `/webhooks/${id}/ping`);
  await sleep(1500);
  assert.equal((await api('GET', `/webhooks/${id}/deliveries/${held.json.id}`)).json.status, 'pending');
  assert.equal((await api('PATCH', `/webhooks/${id}`, { enabled: true })).json.enabled, true);
  await until('the held ping', () => received.find((x) => x.json.id === held.json.event_id));

  // Paging: newest first, a cursor to the older ones.
  const page1 = (await api('GET', `/webhooks/${id}/deliveries?limit=1`)).json;
  assert.equal(page1.deliveries.length, 1);
  assert.equal(page1.deliveries[0].id, held.json.id);
  const page2 = (await api('GET', `/webhooks/${id}/deliveries?limit=1&before=${page1.next}`)).json;
  assert.equal(page2.deliveries[0].id, ping.json.id);
  assert.equal(page2.next, null);
  assert.equal((await api('GET', `/webhooks/${id}/deliveries?before=bogus`)).status, 400);

  const retried = await api('POST', `/webhooks/${id}/deliveries/${ping.json.id}/retry`);
  assert.equal(retried.status, 202);
  await until('the ping sent again', () => (received.filter((x) => x.json.id === ping.json.event_id).length === 2 ? true : undefined));

  const rotated = await api('POST', `/webhooks/${id}/secret`);
  assert.match(rotated.json.secret, /^whsec_/);
  const after = await api('POST', `/webhooks/${id}/ping`);
  verify(await until('a ping signed with the new secret', () => received.find((x) => x.json.id === after.json.event_id)), rotated.json.secret);

  assert.equal((await api('DELETE', `/webhooks/${id}`)).status, 204);
  // Every change by the token is in the audit log, the secret never.
  const audit = (await api('GET', `/audit?action=webhook&target=${id}&limit=50`)).json;
  const actions = (audit.events as Array<Record<string, any>>).map((e) => e.action);
  for (const a of ['webhook.create', 'webhook.update', 'webhook.delivery.retry', 'webhook.secret.rotate', 'webhook.delete']) assert.ok(actions.includes(a), a);
  assert.ok((audit.events as Array<Record<string, any>>).every((e) => e.actor.kind === 'api_token' && e.target.label === receiverUrl));
  assert.ok(!JSON.stringify(audit).includes('whsec_'), 'no secret in the audit log');
  assert.equal((await api('GET', `/webhooks/${id}`)).status, 404);
  assert.equal((await api('GET', `/webhooks/${id}/deliveries`)).status, 404);
});

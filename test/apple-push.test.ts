// When the appliance pushes, over the wire against the strict fake APNs: after commands are
// queued (one push per burst), again for a device that does not call back, after a session that
// ends with NotNow commands waiting; never again after a permanent refusal until the next
// TokenUpdate; on request (API and CLI), with APNs's answer recorded; and with a renewed push
// certificate from the next push on, without a restart.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import { AppleDevice, answerFor } from './support/apple-device.ts';
import { createFakeAppleCa, startFakeApns, type FakeApns, type FakeAppleCa } from './support/fake-apns.ts';
import { jsonApi, startServer, tempDir, type TestServer } from './support/server.ts';

const CHALLENGE = 'push-test-challenge';
type Json = Record<string, any>;

/** As the fake records it: Node's colon-separated SHA-256 fingerprint of the client certificate. */
const fingerprint = (pem: string) => new crypto.X509Certificate(pem).fingerprint256;

/** Waits (bounded) until `check` holds; the bound is a test guard, not a measured threshold. */
async function until(what: string, check: () => boolean, ms = 15_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('pushing Apple devices through APNs', () => {
  let apple: FakeAppleCa;
  let apns: FakeApns;
  let server: TestServer;
  let token: string;
  let topic: string;
  const dir = tempDir('mdm-push-');

  const api = (method: string, p: string, body?: unknown) => jsonApi(server, token)(method, p, body);

  function importPush(identity: { certPem: string; keyPem: string }, name: string) {
    const cert = path.join(dir, `${name}.pem`);
    const key = path.join(dir, `${name}.key`);
    fs.writeFileSync(cert, identity.certPem);
    fs.writeFileSync(key, identity.keyPem, { mode: 0o600 });
    const r = server.cli(['push', 'import', '--cert', cert, '--key', key]);
    assert.equal(r.status, 0, r.stderr);
  }

  async function enroll() {
    const d = new AppleDevice(server.url, { topic });
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    await drain(d);
    return d;
  }

  async function drain(d: AppleDevice) {
    let r = await d.report('Idle');
    while (r.plist) r = await d.report('Acknowledged', answerFor(d, r.plist));
    assert.equal(r.status, 200);
  }

  const hex = (d: AppleDevice) => d.token.toString('hex');
  const pushesTo = (d: AppleDevice) => apns.pushes.filter((p) => p.token === hex(d));
  const channel = async (d: AppleDevice) => (await api('GET', `/devices/${d.udid}`)).json.channels[0] as Json;
  const queue = async (d: AppleDevice, requestType = 'ProfileList') => {
    const r = await api('POST', `/devices/${d.udid}/commands`, { request_type: requestType });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    return r.json.command_uuid as string;
  };

  before(async () => {
    apple = createFakeAppleCa();
    apns = await startFakeApns({ trust: [apple.certPem] });
    const apnsCa = path.join(dir, 'apns-ca.pem');
    fs.writeFileSync(apnsCa, apns.caPem);
    server = await startServer({
      env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0', MDM_APNS_URL: apns.url, MDM_APNS_CA: apnsCa, MDM_PUSH_RETRY_AFTER: '2s' },
    });
    const created = server.cli(['api-token', 'create', '--name', 'tests']);
    assert.equal(created.status, 0, created.stderr);
    token = created.stdout.trim();
    const identity = apple.issue();
    topic = identity.topic;
    importPush(identity, 'push');
  });
  after(async () => {
    await server?.stop();
    await apns?.close();
  });

  test('queued commands: one push per burst with the PushMagic and topic, recorded on the channel', async () => {
    const d = await enroll();
    // The inventory queued at enrollment was pushed too; what counts is what comes now.
    await until('the enrollment push', () => pushesTo(d).length >= 1);
    const before = pushesTo(d).length;
    await Promise.all([queue(d), queue(d, 'SecurityInfo'), queue(d, 'CertificateList')]);
    await until('a push for the new commands', () => pushesTo(d).length > before);
    const p = pushesTo(d).at(-1)!;
    assert.equal(p.magic, d.pushMagic);
    assert.equal(p.topic, topic);
    assert.equal(p.headers['apns-push-type'], 'mdm');
    await drain(d);
    await sleep(600);
    assert.equal(pushesTo(d).length, before + 1, 'three commands in one burst: one push');
    const c = await channel(d);
    assert.equal(c.last_push_result, 'ok');
    assert.ok(Date.parse(c.last_push_at) > Date.now() - 60_000);
    assert.equal(c.push_blocked, null);
  });

  test('a device that does not call back is pushed again after MDM_PUSH_RETRY_AFTER', async () => {
    const d = await enroll();
    await until('the enrollment push', () => pushesTo(d).length >= 1);
    await sleep(400);
    const base = pushesTo(d).length;
    await queue(d);
    await until('the push for the command', () => pushesTo(d).length > base);
    const first = pushesTo(d).length;
    // The device stays silent: the sweep wakes it again.
    await until('a second push', () => pushesTo(d).length > first);
    await drain(d);
  });

  test("NotNow: a session ending on another answer with NotNow commands waiting gets a push (Apple's rule)", async () => {
    const d = await enroll();
    await until('the enrollment push', () => pushesTo(d).length >= 1);
    await queue(d, 'ProfileList');
    await queue(d, 'SecurityInfo');
    await sleep(400);
    const before = pushesTo(d).length;
    const a = await d.report('Idle');
    assert.ok(a.plist);
    const b = await d.report('NotNow', { CommandUUID: a.plist.CommandUUID });
    assert.ok(b.plist, 'the other command follows');
    const end = await d.report('Acknowledged', answerFor(d, b.plist));
    assert.equal(end.plist, null, 'the NotNow one waits for the next Idle');
    // Asked for by the rule itself, not left to the sweep.
    await server.waitForLog((l) => l.msg === 'session ended with NotNow commands waiting: push requested' && l.enrollmentId === d.udid);
    await until('a push after the session', () => pushesTo(d).length > before);
    await drain(d);
  });

  test('a permanent refusal blocks pushes until the next TokenUpdate; transient ones do not', async () => {
    const d = await enroll();
    await until('the enrollment push', () => pushesTo(d).length >= 1);
    apns.rule(hex(d), { status: 410, reason: 'Unregistered' });
    const seen = apns.requests(hex(d));
    await queue(d);
    await until('the refused push', () => apns.requests(hex(d)) > seen);
    let c = await channel(d);
    for (let i = 0; i < 100 && c.push_blocked === null; i++) c = (await sleep(20), await channel(d));
    assert.equal(c.push_blocked, 'Unregistered');
    assert.equal(c.last_push_result, 'Unregistered');

    const requests = apns.requests(hex(d));
    await queue(d, 'SecurityInfo');
    await sleep(2_600);
    assert.equal(apns.requests(hex(d)), requests, 'blocked: neither the enqueue nor the sweep pushes it');

    // The admin's push-now tries anyway and shows the answer.
    const now = await api('POST', `/devices/${d.udid}/push`);
    assert.equal(now.status, 200);
    assert.deepEqual({ ok: now.json.ok, status: now.json.status, reason: now.json.reason, permanent: now.json.permanent }, { ok: false, status: 410, reason: 'Unregistered', permanent: true });

    // A new TokenUpdate lifts the block; the next push goes out (and APNs takes it now).
    apns.rule(hex(d), { times: 0 });
    assert.equal((await d.tokenUpdate()).status, 200);
    assert.equal((await channel(d)).push_blocked, null);
    const ok = pushesTo(d).length;
    await queue(d, 'CertificateList');
    await until('a push after the TokenUpdate', () => pushesTo(d).length > ok);
    await drain(d);

    // A transient failure is recorded but does not block.
    apns.rule(hex(d), { status: 503, reason: 'ServiceUnavailable', times: 1 });
    const r = await api('POST', `/devices/${d.udid}/push`);
    assert.equal(r.json.ok, true, 'retried after the 503');
    assert.ok(r.json.attempts >= 2);
    assert.equal((await channel(d)).push_blocked, null);
  });

  test('push now: API and CLI show the answer; refusals for unknown and unready channels', async () => {
    const d = await enroll();
    const r = await api('POST', `/devices/${d.udid}/push`);
    assert.equal(r.status, 200);
    assert.equal(r.json.ok, true);
    assert.match(r.json.apns_id, /^[0-9a-f-]{36}$/i);
    assert.equal(pushesTo(d).at(-1)!.apnsId, r.json.apns_id);

    const cli = await server.cliAsync(['push', 'send', d.udid]);
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`^pushed ${d.udid}: 200, apns-id [0-9a-fA-F-]{36} \\(1 attempt\\)`));
    assert.equal((await channel(d)).last_push_result, 'ok');

    assert.equal((await api('POST', '/devices/NO-SUCH-DEVICE/push')).json.error.code, 'device_not_found');
    const unknown = await server.cliAsync(['push', 'send', 'NO-SUCH-ENROLLMENT']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /no enrollment NO-SUCH-ENROLLMENT/);
    assert.equal(server.cli(['push', 'send']).status, 2);

    const pending = new AppleDevice(server.url, { topic });
    await pending.scepEnroll(CHALLENGE);
    assert.equal((await pending.authenticate()).status, 200);
    const notReady = await api('POST', `/devices/${pending.udid}/push`);
    assert.equal(notReady.status, 409);
    assert.equal(notReady.json.error.code, 'push_not_ready');
  });

  test('a removed device is pushed once more, so that it calls and hears it is not recognized', async () => {
    const d = await enroll();
    await sleep(400);
    const before = pushesTo(d).length;
    const removed = await api('DELETE', `/devices/${d.udid}`);
    assert.equal(removed.status, 200);
    assert.equal(removed.json.status, 'removed');
    await until('the farewell push', () => pushesTo(d).length > before);
    assert.equal(pushesTo(d).at(-1)!.magic, d.pushMagic);
    const told = await d.report('Idle');
    assert.equal(told.status, 403);
    // Removed, it is no longer pushed for anything: not by the sweep, not by commands (refused anyway).
    const after = apns.requests(hex(d));
    await sleep(2_600);
    assert.equal(apns.requests(hex(d)), after);
  });

  test('a renewed push certificate (same topic) is used from the next push on, without a restart', async () => {
    const d = await enroll();
    const old = pushesTo(d).at(-1)?.certFingerprint;
    const renewed = apple.issue(topic);
    importPush(renewed, 'renewed');
    const fp = fingerprint(renewed.certPem);
    assert.notEqual(fp, old);
    // The server notices an import by another process within its poll: push until it has.
    for (let i = 0; i < 40 && pushesTo(d).at(-1)?.certFingerprint !== fp; i++) {
      const n = pushesTo(d).length;
      await api('POST', `/devices/${d.udid}/push`);
      await until('the push', () => pushesTo(d).length > n);
      await sleep(250);
    }
    assert.equal(pushesTo(d).at(-1)?.certFingerprint, fp, 'the renewed certificate is in use');
    assert.equal(pushesTo(d).at(-1)?.topic, topic);
  });
});

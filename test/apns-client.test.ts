// The APNs client against a strict fake APNs over real HTTP/2 + TLS on loopback.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http2 from 'node:http2';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createApnsClient, type ApnsClientOptions } from '../src/push/apns/client.ts';
import { tokenRejected } from '../src/push/apns/failures.ts';
import type { ApnsIdentity, ApnsPush, ApnsResult } from '../src/push/apns/types.ts';
import { createFakeAppleCa, selfSignedPushIdentity, startFakeApns, type FakeApns, type FakeApnsOptions } from './support/fake-apns.ts';
import { tempDir } from './support/server.ts';

const token = () => crypto.randomBytes(32).toString('hex');
const magic = () => crypto.randomUUID().toUpperCase();

let identity: ApnsIdentity;
/** The same topic under another certificate and key: a renewed push certificate. */
let renewed: ApnsIdentity;
/** A certificate the fake APNs has never heard of. */
let stranger: ApnsIdentity;

const apple = createFakeAppleCa();

before(() => {
  identity = apple.issue();
  renewed = apple.issue(identity.topic);
  stranger = selfSignedPushIdentity(tempDir('mdm-apns-'));
});

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function logSink() {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

async function setup(fakeOpts: Partial<FakeApnsOptions> = {}, clientOpts: Partial<ApnsClientOptions> = {}) {
  const fake = await startFakeApns({ trust: [apple.certPem], ...fakeOpts });
  const { log, lines } = logSink();
  const client = createApnsClient({
    log,
    url: fake.url,
    ca: fake.caPem,
    identity: () => identity,
    backoff: { baseMs: 1, capMs: 4 },
    ...clientOpts,
  });
  cleanups.push(async () => {
    await client.close();
    await fake.close();
  });
  return { fake, client, lines };
}

const tokensOf = (fake: FakeApns) => fake.pushes.map((p) => p.token);

describe('a push', () => {
  test('arrives with the PushMagic as the whole payload, the certificate topic and the MDM headers', async () => {
    const t0 = Date.UTC(2030, 0, 1);
    const { fake, client, lines } = await setup({}, { now: () => t0 });
    const p = { token: token(), pushMagic: magic() };
    const result = await client.push(p);
    assert.equal(result.ok, true);
    assert.equal(fake.pushes.length, 1);
    const got = fake.pushes[0]!;
    assert.deepEqual(result, { ok: true, status: 200, apnsId: got.apnsId, attempts: 1 });
    assert.equal(got.token, p.token);
    assert.equal(got.magic, p.pushMagic);
    assert.equal(got.topic, identity.topic);
    assert.equal(got.headers['apns-push-type'], 'mdm');
    assert.equal(got.headers['apns-priority'], '10');
    assert.equal(got.headers['apns-expiration'], String(t0 / 1000 + 86_400));
    assert.equal(got.certFingerprint, new crypto.X509Certificate(identity.certPem).fingerprint256);

    const zero = await client.push({ token: token(), pushMagic: magic(), expiration: 0 });
    assert.equal(zero.ok, true);
    assert.equal(fake.pushes[1]!.headers['apns-expiration'], '0');

    const logged = lines.join('');
    assert.ok(logged.length > 0);
    assert.equal(logged.includes(p.pushMagic), false, 'the PushMagic must not be logged');
    assert.equal(logged.includes(p.token), false, 'the full token must not be logged');
  });

  test('a token that is not hex, or an empty PushMagic, fails permanently without a request', async () => {
    const { fake, client } = await setup();
    assert.deepEqual(await client.push({ token: 'zz' + token(), pushMagic: magic() }), { ok: false, permanent: true, reason: 'BadDeviceToken', attempts: 0 });
    assert.deepEqual(await client.push({ token: token(), pushMagic: '' }), { ok: false, permanent: true, reason: 'BadPushMagic', attempts: 0 });
    assert.equal(fake.connections.length, 0);
  });

  test('with no push certificate every push fails with NoPushCertificate, until one is there', async () => {
    let current: ApnsIdentity | null = null;
    const { fake, client } = await setup({}, { identity: () => current });
    const p = { token: token(), pushMagic: magic() };
    assert.deepEqual(await client.push(p), { ok: false, permanent: true, reason: 'NoPushCertificate', attempts: 0 });
    assert.equal(fake.connections.length, 0);
    current = identity;
    assert.equal((await client.push(p)).ok, true);
    assert.deepEqual(tokensOf(fake), [p.token]);
  });
});

describe('failures', () => {
  test('410, 400 and 403 are permanent: reported at once, never retried', async () => {
    const { fake, client, lines } = await setup();
    const sent: string[] = [];
    const cases: Array<[number, string, boolean]> = [
      [410, 'Unregistered', true],
      [410, 'ExpiredToken', true],
      [400, 'BadDeviceToken', true],
      [400, 'DeviceTokenNotForTopic', true],
      [400, 'TopicDisallowed', false],
      [403, 'BadCertificate', false],
      [403, 'BadCertificateEnvironment', false],
    ];
    for (const [status, reason, deadToken] of cases) {
      const t = token();
      const m = magic();
      sent.push(t, m);
      fake.rule(t, { status, reason });
      const r = await client.push({ token: t, pushMagic: m });
      assert.equal(r.ok, false);
      assert.equal(r.ok === false && r.permanent, true, reason);
      assert.equal(r.ok === false && r.status, status);
      assert.equal(r.ok === false && r.reason, reason);
      assert.equal(r.attempts, 1);
      assert.equal(fake.requests(t), 1, `${reason} must not be retried`);
      assert.equal(tokenRejected(r), deadToken, reason);
      if (status === 410) assert.equal(typeof (r.ok === false && r.timestamp), 'number');
    }
    const logged = lines.join('');
    assert.match(logged, /push refused/);
    for (const secret of sent) assert.equal(logged.includes(secret), false, 'no full token or PushMagic in the logs');
  });

  test('429, 500 and 503 are retried with backoff until they pass', async () => {
    const { fake, client } = await setup({}, { maxAttempts: 4 });
    for (const [status, reason] of [
      [429, 'TooManyRequests'],
      [500, 'InternalServerError'],
      [503, 'ServiceUnavailable'],
      [503, 'Shutdown'],
    ] as const) {
      const t = token();
      fake.rule(t, { status, reason, times: 3 });
      const r = await client.push({ token: t, pushMagic: magic() });
      assert.equal(r.ok, true, reason);
      assert.equal(r.attempts, 4);
      assert.equal(fake.requests(t), 4);
    }
    assert.equal(fake.pushes.length, 4);
  });

  test('a transient failure that persists is reported after maxAttempts requests, as transient', async () => {
    const { fake, client } = await setup({}, { maxAttempts: 3 });
    const t = token();
    fake.rule(t, { status: 503, reason: 'ServiceUnavailable' });
    const r = await client.push({ token: t, pushMagic: magic() });
    assert.deepEqual(r, { ok: false, permanent: false, status: 503, reason: 'ServiceUnavailable', attempts: 3 });
    assert.equal(fake.requests(t), 3);
  });

  test('an APNs whose certificate the client does not trust fails permanently, without retries', async () => {
    const fake = await startFakeApns({ trust: [apple.certPem] });
    const { log } = logSink();
    const client = createApnsClient({ log, url: fake.url, identity: () => identity, backoff: { baseMs: 1, capMs: 4 } });
    cleanups.push(async () => {
      await client.close();
      await fake.close();
    });
    const r = await client.push({ token: token(), pushMagic: magic() });
    assert.equal(r.ok, false);
    assert.equal(r.ok === false && r.permanent, true);
    assert.equal(r.ok === false && r.reason, 'ServerCertificateUntrusted');
    assert.equal(r.attempts, 1);
    assert.equal(fake.pushes.length, 0);
  });

  test('a push certificate APNs does not accept gets no push through', async () => {
    const { fake, client } = await setup({}, { identity: () => stranger, maxAttempts: 2 });
    const r = await client.push({ token: token(), pushMagic: magic() });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 2);
    assert.equal(fake.pushes.length, 0);
  });
});

describe('connections', () => {
  test('a GOAWAY mid-burst: every push is delivered exactly once', async () => {
    const { fake, client } = await setup({ goawayAfter: 40, delayMs: 5 }, { maxSessions: 1, maxAttempts: 3 });
    const pushes = Array.from({ length: 200 }, () => ({ token: token(), pushMagic: magic() }));
    const results = await Promise.all(pushes.map((p) => client.push(p)));
    assert.deepEqual(
      results.filter((r) => !r.ok),
      [],
    );
    assert.ok(fake.connections.length >= 2, 'a new connection after the GOAWAY');
    await fake.connections[0]!.closed;
    const delivered = tokensOf(fake).sort();
    assert.deepEqual(delivered, pushes.map((p) => p.token).sort(), 'each push exactly once');
    // Pushes refused by the GOAWAY went to the next connection without a backoff round.
    assert.ok(results.some((r) => r.attempts === 2));
  });

  test('a dropped connection: the client reconnects and the push goes through', async () => {
    const { fake, client } = await setup();
    const first = { token: token(), pushMagic: magic() };
    assert.equal((await client.push(first)).ok, true);
    const dropped = { token: token(), pushMagic: magic() };
    fake.rule(dropped.token, { drop: true, times: 1 });
    const r = await client.push(dropped);
    assert.equal(r.ok, true);
    assert.equal(r.attempts, 2);
    assert.equal(fake.connections.length, 2);
    await fake.connections[0]!.closed;
    assert.deepEqual(tokensOf(fake), [first.token, dropped.token]);
    assert.equal(fake.pushes[1]!.connection, 2);
  });

  test("the server's SETTINGS_MAX_CONCURRENT_STREAMS is respected; a full connection brings a second one", async () => {
    const { fake, client } = await setup({ maxConcurrentStreams: 3, delayMs: 10 }, { maxSessions: 2 });
    const results = await Promise.all(Array.from({ length: 30 }, () => client.push({ token: token(), pushMagic: magic() })));
    assert.ok(results.every((r) => r.ok));
    assert.equal(fake.connections.length, 2, 'a second connection once the first was full, and no third');
    for (const c of fake.connections) assert.ok(c.maxConcurrent <= 3, `connection ${c.id} had ${c.maxConcurrent} streams at once`);
    assert.equal(fake.pushes.length, 30);
  });

  test('push() waits for a slot beyond maxPending instead of holding more', async () => {
    const { fake, client } = await setup({ delayMs: 5 }, { maxPending: 8, maxSessions: 2 });
    const all = Array.from({ length: 50 }, () => client.push({ token: token(), pushMagic: magic() }));
    const s = client.stats();
    assert.equal(s.pending, 8);
    assert.equal(s.waiting, 42);
    const results = await Promise.all(all);
    assert.ok(results.every((r) => r.ok));
    assert.ok(fake.maxConcurrent() <= 8, `APNs saw ${fake.maxConcurrent()} requests at once`);
    assert.deepEqual({ pending: client.stats().pending, waiting: client.stats().waiting }, { pending: 0, waiting: 0 });
  });

  test('identity hot swap: in-flight pushes finish on the old connection, new ones use the new certificate, the old connection closes', async () => {
    let current = identity;
    const { fake, client } = await setup({}, { identity: () => current });
    let release!: () => void;
    const slow = { token: token(), pushMagic: magic() };
    fake.rule(slow.token, { hold: new Promise<void>((r) => (release = r)) });
    const slowResult = client.push(slow);
    await fake.requestSeen(slow.token);

    current = renewed;
    client.reloadIdentity();
    const fresh = { token: token(), pushMagic: magic() };
    assert.equal((await client.push(fresh)).ok, true);
    release();
    assert.equal((await slowResult).ok, true);
    await fake.connections[0]!.closed;

    const fp = (i: ApnsIdentity) => new crypto.X509Certificate(i.certPem).fingerprint256;
    const byToken = new Map(fake.pushes.map((p) => [p.token, p]));
    assert.equal(byToken.get(slow.token)!.connection, 1);
    assert.equal(byToken.get(slow.token)!.certFingerprint, fp(identity));
    assert.equal(byToken.get(fresh.token)!.connection, 2);
    assert.equal(byToken.get(fresh.token)!.certFingerprint, fp(renewed));
    assert.equal(fake.connections.length, 2);
    assert.equal(fake.connections[1]!.isClosed, false);
  });

  test('setIdentity swaps without a provider, and null stops pushes', async () => {
    const { fake, client } = await setup({}, { identity: undefined });
    assert.equal((await client.push({ token: token(), pushMagic: magic() })).ok === false, true);
    client.setIdentity(identity);
    assert.equal((await client.push({ token: token(), pushMagic: magic() })).ok, true);
    client.setIdentity(renewed);
    assert.equal((await client.push({ token: token(), pushMagic: magic() })).ok, true);
    assert.equal(fake.pushes[1]!.certFingerprint, new crypto.X509Certificate(renewed.certPem).fingerprint256);
    client.setIdentity(null);
    const r = await client.push({ token: token(), pushMagic: magic() });
    assert.equal(r.ok === false && r.reason, 'NoPushCertificate');
    assert.equal(fake.pushes.length, 2);
  });

  test('close() resolves every unfinished push with a transient ClientClosed', async () => {
    const { fake, client } = await setup({}, { maxPending: 2, closeGraceMs: 0, backoff: { baseMs: 60_000, capMs: 60_000 } });
    const held = { token: token(), pushMagic: magic() };
    fake.rule(held.token, { hold: new Promise<void>(() => {}) });
    const backingOff = { token: token(), pushMagic: magic() };
    fake.rule(backingOff.token, { status: 503, reason: 'ServiceUnavailable' });
    const results = [client.push(held), client.push(backingOff), client.push({ token: token(), pushMagic: magic() })];
    await fake.requestSeen(held.token);
    await fake.requestSeen(backingOff.token);
    await client.close();
    const settled: ApnsResult[] = await Promise.all(results);
    assert.deepEqual(
      settled.map((r) => r.ok === false && !r.permanent && r.reason),
      ['ClientClosed', 'ClientClosed', 'ClientClosed'],
    );
    assert.deepEqual(
      settled.map((r) => r.attempts),
      [1, 1, 0],
    );
    const late = await client.push({ token: token(), pushMagic: magic() });
    assert.deepEqual(late, { ok: false, permanent: false, reason: 'ClientClosed', attempts: 0 });
  });
});

describe('at scale', () => {
  test('5,000 pushes through pushMany with bounded concurrency, each delivered once', async () => {
    const { fake, client } = await setup({ maxConcurrentStreams: 100 }, { maxPending: 300, maxSessions: 2 });
    const pushes = Array.from({ length: 5_000 }, (_, i) => ({ token: token(), pushMagic: magic(), n: i }));
    async function* source(): AsyncGenerator<ApnsPush & { n: number }> {
      for (const p of pushes) yield p;
    }
    let outstandingPeak = 0;
    const seen = new Set<number>();
    for await (const { push, result } of client.pushMany(source(), { concurrency: 250 })) {
      assert.equal(result.ok, true);
      seen.add(push.n);
      outstandingPeak = Math.max(outstandingPeak, client.stats().pending);
    }
    assert.equal(seen.size, 5_000);
    assert.ok(outstandingPeak <= 250, `pushMany held ${outstandingPeak} pushes at once`);
    assert.equal(new Set(tokensOf(fake)).size, 5_000);
    assert.equal(fake.pushes.length, 5_000);
    for (const c of fake.connections) assert.ok(c.maxConcurrent <= 100);
    assert.ok(fake.connections.length <= 2);
  });
});

describe('pushMany', () => {
  test('takes an array too, and pairs every result with its push', async () => {
    const { fake, client } = await setup();
    const gone = { token: token(), pushMagic: magic(), id: 'gone' };
    fake.rule(gone.token, { status: 410, reason: 'Unregistered' });
    const items = [{ token: token(), pushMagic: magic(), id: 'a' }, gone, { token: token(), pushMagic: magic(), id: 'b' }];
    const out = new Map<string, ApnsResult>();
    for await (const { push, result } of client.pushMany(items, { concurrency: 2 })) out.set(push.id, result);
    assert.deepEqual([...out.keys()].sort(), ['a', 'b', 'gone']);
    assert.equal(out.get('a')!.ok, true);
    assert.equal(out.get('b')!.ok, true);
    assert.equal(tokenRejected(out.get('gone')!), true);
    assert.deepEqual(tokensOf(fake).sort(), [items[0]!.token, items[2]!.token].sort());
  });
});

describe('the fake APNs refuses what APNs refuses', () => {
  let fake: FakeApns;
  let session: http2.ClientHttp2Session;
  before(async () => {
    fake = await startFakeApns({ trust: [apple.certPem] });
    session = http2.connect(fake.url, { cert: identity.certPem, key: identity.keyPem, ca: fake.caPem });
  });
  after(async () => {
    session.close();
    await fake.close();
  });

  function send(headers: http2.OutgoingHttpHeaders, body: string): Promise<{ status: number; reason?: string }> {
    return new Promise((resolve, reject) => {
      const s = session.request(headers);
      let status = 0;
      let data = '';
      s.on('response', (h) => (status = Number(h[':status'])));
      s.on('data', (c: Buffer) => (data += c));
      s.on('end', () => resolve({ status, ...(data ? { reason: (JSON.parse(data) as { reason: string }).reason } : {}) }));
      s.on('error', reject);
      if (!s.writableEnded) s.end(body);
    });
  }
  const good = () => ({
    ':method': 'POST',
    ':path': `/3/device/${token()}`,
    'apns-topic': identity.topic,
    'apns-push-type': 'mdm',
    'apns-priority': '10',
    'apns-expiration': '0',
  });
  const body = JSON.stringify({ mdm: magic() });

  test('each documented rejection', async () => {
    const cases: Array<[http2.OutgoingHttpHeaders, string, number, string]> = [
      [{ ...good(), ':method': 'GET' }, '', 405, 'MethodNotAllowed'],
      [{ ...good(), ':path': '/3/devices/abcd' }, body, 404, 'BadPath'],
      [{ ...good(), ':path': '/3/device/' }, body, 400, 'MissingDeviceToken'],
      [{ ...good(), ':path': '/3/device/xyz' }, body, 400, 'BadDeviceToken'],
      [{ ...good(), 'apns-topic': undefined }, body, 400, 'MissingTopic'],
      [{ ...good(), 'apns-topic': 'not a topic' }, body, 400, 'BadTopic'],
      [{ ...good(), 'apns-topic': 'com.apple.mgmt.External.other' }, body, 400, 'TopicDisallowed'],
      [{ ...good(), 'apns-push-type': 'alert' }, body, 400, 'InvalidPushType'],
      [{ ...good(), 'apns-priority': '7' }, body, 400, 'BadPriority'],
      [{ ...good(), 'apns-expiration': 'tomorrow' }, body, 400, 'BadExpirationDate'],
      [{ ...good(), 'apns-id': 'not-a-uuid' }, body, 400, 'BadMessageId'],
      [good(), '', 400, 'PayloadEmpty'],
      [good(), '{"aps":{"alert":"hi"}}', 400, 'PayloadEmpty'],
      [good(), '{"mdm":"x","extra":1}', 400, 'PayloadEmpty'],
      [good(), JSON.stringify({ mdm: 'x'.repeat(5000) }), 413, 'PayloadTooLarge'],
    ];
    for (const [headers, b, status, reason] of cases) {
      assert.deepEqual(await send(headers, b), { status, reason }, `${reason}: ${JSON.stringify(headers)}`);
    }
    assert.equal(fake.pushes.length, 0);
    assert.deepEqual(await send(good(), body), { status: 200 });
    assert.equal(fake.pushes.length, 1);
  });

  test('a client certificate it does not trust gets no connection', async () => {
    const s = http2.connect(fake.url, { cert: stranger.certPem, key: stranger.keyPem, ca: fake.caPem });
    s.on('error', () => {});
    const outcome = await new Promise<string>((resolve) => {
      s.once('remoteSettings', () => resolve('settings'));
      s.once('close', () => resolve('closed'));
    });
    s.destroy();
    assert.equal(outcome, 'closed');
    assert.equal(fake.connections.length, 1, 'only the trusted session');
  });
});

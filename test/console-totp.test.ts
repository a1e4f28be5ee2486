// Two-factor sign-in for console admins: the TOTP function against RFC 6238's own test vectors,
// the service with a controllable clock (setup, sealing, the second sign-in step, replay,
// throttling shared with passwords, turning off, reset), then the same over HTTP and the CLI.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createAdminRepo } from '../src/admins/repo.ts';
import { createAdmins, LOGIN_CHALLENGE_MS, LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS, type LoginChallenge } from '../src/admins/service.ts';
import { base32, matchStep, otpauthUri, stepAt, totpCode, TOTP } from '../src/admins/totp.ts';
import { createLogger } from '../src/log.ts';
import { createSealer } from '../src/secrets/seal.ts';
import { openStore, type Store } from '../src/store/db.ts';
import { qrSvg } from '../src/console/qr.ts';
import { ConsoleClient } from './support/console.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';
import { Authenticator, fromBase32 } from './support/totp.ts';

const PASSWORD = 'correct horse battery';

describe('TOTP (RFC 6238)', () => {
  // Appendix B, SHA-1 column: the seed is the ASCII string "12345678901234567890".
  const seed = Buffer.from('12345678901234567890', 'ascii');
  const vectors: Array<[number, string]> = [
    [59, '94287082'],
    [1111111109, '07081804'],
    [1111111111, '14050471'],
    [1234567890, '89005924'],
    [2000000000, '69279037'],
    [20000000000, '65353130'],
  ];

  test("the RFC's test vectors: 8 digits as printed, and the 6-digit codes are their last six", () => {
    for (const [seconds, expected] of vectors) {
      const step = stepAt(seconds * 1000);
      assert.equal(totpCode(seed, step, 8), expected, `T=${seconds}`);
      assert.equal(totpCode(seed, step), expected.slice(2), `T=${seconds}, 6 digits`);
    }
    assert.equal(stepAt(1111111109 * 1000), 0x23523ec, "the RFC's T for 2005-03-18 01:58:29");
    assert.equal(stepAt(20000000000 * 1000), 0x27bc86aa, 'a step past 2^32 seconds');
  });

  test('a code is accepted one step either side of now and no further; anything but six digits is refused', () => {
    const at = 1111111111 * 1000;
    const now = stepAt(at);
    for (const d of [-1, 0, 1]) assert.equal(matchStep(seed, totpCode(seed, now + d), at), now + d);
    for (const d of [-2, 2]) assert.equal(matchStep(seed, totpCode(seed, now + d), at), null);
    assert.equal(matchStep(seed, totpCode(seed, now, 8), at), null);
    assert.equal(matchStep(seed, ` ${totpCode(seed, now)}`, at), null);
    assert.equal(matchStep(seed, '', at), null);
  });

  test('the key in base32 and the otpauth URI apps read', () => {
    assert.equal(base32(seed), 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    assert.equal(base32(Buffer.from('foobar')), 'MZXW6YTBOI', 'RFC 4648 section 10, unpadded');
    assert.deepEqual(fromBase32(base32(seed)), seed);
    const uri = new URL(otpauthUri({ issuer: 'Acme & Co', account: 'ann@acme', secret: seed }));
    assert.equal(uri.protocol, 'otpauth:');
    assert.equal(uri.host, 'totp');
    assert.equal(decodeURIComponent(uri.pathname), '/Acme & Co:ann@acme');
    assert.deepEqual(Object.fromEntries(uri.searchParams), { secret: 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', issuer: 'Acme & Co', algorithm: 'SHA1', digits: '6', period: '30' });
    assert.deepEqual(TOTP, { digits: 6, stepSeconds: 30, secretBytes: 20, window: 1 });
  });
});

describe('two-factor for console admins (service)', () => {
  let store: Store;
  let clock: number;
  let admins: ReturnType<typeof createAdmins>;
  let masterKey: Buffer;
  const stores: Store[] = [];

  beforeEach(() => {
    store = openStore(tempDir());
    stores.push(store);
    clock = Date.UTC(2026, 0, 1);
    masterKey = crypto.randomBytes(32);
    const log = createLogger('silent');
    admins = createAdmins({ repo: createAdminRepo(store.db), sealer: createSealer(masterKey), log, publicUrl: 'https://mdm.example.com', organization: 'Example Org', now: () => clock });
  });
  after(() => stores.forEach((s) => s.close()));

  /** Alice with two-factor on; her app's codes follow the test clock. */
  async function enrolled(name = 'alice', role: 'admin' | 'read-only' = 'admin') {
    const a = await admins.create({ username: name, password: PASSWORD, role });
    admins.twoFactor.start(a.id);
    const setup = admins.twoFactor.pendingSetup(a.id)!;
    const app = new Authenticator(fromBase32(setup.secret), () => clock);
    admins.twoFactor.enable(a.id, app.next(), '10.0.0.1');
    return { id: a.id, app };
  }
  const challenge = async (name: string, address = '10.0.0.1') => {
    const r = await admins.login(name, PASSWORD, address);
    assert.ok('challenge' in r, 'a two-factor challenge, not a session');
    return r as LoginChallenge;
  };

  test('setup: a sealed random 20-byte secret, on only after a right code; a wrong code changes nothing', async () => {
    const a = await admins.create({ username: 'alice', password: PASSWORD, role: 'admin' });
    assert.equal(admins.twoFactor.pendingSetup(a.id), null, 'nothing until started');
    admins.twoFactor.start(a.id);
    const setup = admins.twoFactor.pendingSetup(a.id)!;
    const secret = fromBase32(setup.secret);
    assert.equal(secret.length, 20);
    const uri = new URL(setup.uri);
    assert.equal(decodeURIComponent(uri.pathname), '/Example Org:alice');
    assert.equal(uri.searchParams.get('issuer'), 'Example Org');
    assert.equal(uri.searchParams.get('secret'), setup.secret);

    const row = () => store.sqlite.prepare('SELECT totp_secret, totp_pending, totp_last_step FROM admins').get() as Record<string, Buffer | number | null>;
    const pending = row().totp_pending as Buffer;
    assert.ok(!pending.includes(secret), 'not stored in the clear');
    assert.deepEqual(createSealer(masterKey).unseal(`admin-totp:${a.id}`, pending), secret, 'sealed with the master key under admin-totp:<id>');
    assert.throws(() => createSealer(masterKey).unseal('admin-totp:someone-else', pending), 'bound to this admin');

    const app = new Authenticator(secret, () => clock);
    assert.throws(() => admins.twoFactor.enable(a.id, app.wrong(), '10.0.0.1'), { code: 'totp_invalid', status: 400 });
    assert.equal(row().totp_secret, null);
    assert.equal(admins.list()[0]!.twoFactor, false);
    assert.ok('secret' in (await admins.login('alice', PASSWORD, '10.0.0.1')), 'still one step');

    admins.twoFactor.enable(a.id, app.next(), '10.0.0.1');
    assert.deepEqual(row().totp_secret, pending);
    assert.equal(row().totp_pending, null);
    assert.equal(row().totp_last_step, stepAt(clock) - 1, 'the confirming code is spent');
    assert.equal(admins.list()[0]!.twoFactor, true);
    assert.throws(() => admins.twoFactor.start(a.id), { code: 'totp_enabled' });
    assert.equal(admins.twoFactor.pendingSetup(a.id), null, 'the secret is not shown again');
  });

  test('sign-in: the password alone gives a challenge, not a session; the code signs in; a used code is refused', async () => {
    const { app } = await enrolled();
    const c = await challenge('alice');
    assert.match(c.challenge, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(store.sqlite.prepare('SELECT COUNT(*) FROM admin_sessions').pluck().get(), 0);
    assert.equal(store.sqlite.prepare('SELECT hash FROM admin_login_challenges').pluck().get(), crypto.createHash('sha256').update(c.challenge).digest('hex'));
    assert.equal(admins.session(c.challenge), null, 'the challenge is no session');

    assert.throws(() => admins.loginCode(c.challenge, app.wrong(), '10.0.0.1'), { code: 'login_failed' });
    const code = app.next();
    const s = admins.loginCode(c.challenge, code, '10.0.0.1');
    assert.equal(admins.session(s.secret)!.admin.username, 'alice');
    assert.equal(admins.session(s.secret)!.admin.twoFactor, true);
    assert.throws(() => admins.loginCode(c.challenge, app.next(), '10.0.0.1'), { code: 'login_expired' }, 'a challenge signs in once');

    const again = await challenge('alice');
    assert.throws(() => admins.loginCode(again.challenge, code, '10.0.0.1'), { code: 'login_failed' }, 'the same code within its window');
    clock += 30_000;
    assert.throws(() => admins.loginCode(again.challenge, code, '10.0.0.1'), { code: 'login_failed' }, 'nor in the next step, while it is still in the window');
    assert.ok(admins.loginCode(again.challenge, app.next(), '10.0.0.1').secret);
  });

  test('challenges expire after 5 minutes, are refused when forged, and end at a reset', async () => {
    const { id, app } = await enrolled();
    const c = await challenge('alice');
    clock += LOGIN_CHALLENGE_MS;
    assert.throws(() => admins.loginCode(c.challenge, app.next(), '10.0.0.1'), { code: 'login_expired', status: 410 });
    assert.throws(() => admins.loginCode('A'.repeat(43), app.next(), '10.0.0.1'), { code: 'login_expired' });
    admins.purge();
    assert.equal(store.sqlite.prepare('SELECT COUNT(*) FROM admin_login_challenges').pluck().get(), 0, 'purged');

    const pending = await challenge('alice');
    assert.equal(admins.twoFactor.reset('ALICE'), true);
    assert.throws(() => admins.loginCode(pending.challenge, app.next(), '10.0.0.1'), { code: 'login_expired' });
    assert.ok('secret' in (await admins.login('alice', PASSWORD, '10.0.0.1')), 'password alone once reset');
    assert.equal(admins.twoFactor.reset('alice'), false, 'already off');
    assert.throws(() => admins.twoFactor.reset('nobody'), { code: 'not_found' });
    // Set up again from scratch: a new secret.
    admins.twoFactor.start(id);
    assert.notDeepEqual(fromBase32(admins.twoFactor.pendingSetup(id)!.secret), app.secret);
  });

  test('throttling: wrong codes count with wrong passwords, a right password does not clear them, and a lockout holds for the code too', async () => {
    const { app } = await enrolled();
    await assert.rejects(admins.login('alice', 'wrong', '10.0.1.1'), { code: 'login_failed' });
    let c = await challenge('alice', '10.0.1.2');
    for (let i = 1; i < LOGIN_MAX_FAILURES - 1; i++) {
      assert.throws(() => admins.loginCode(c.challenge, app.wrong(), `10.0.1.${i + 2}`), { code: 'login_failed' });
      c = await challenge('alice', '10.0.1.2');
    }
    assert.throws(() => admins.loginCode(c.challenge, app.wrong(), '10.0.1.9'), { code: 'login_failed' });
    assert.throws(() => admins.loginCode(c.challenge, app.next(), '10.0.1.10'), { code: 'login_throttled', status: 429 }, 'the right code, locked out');
    await assert.rejects(admins.login('alice', PASSWORD, '10.0.1.11'), { code: 'login_throttled' }, 'and the password step too');

    clock += LOGIN_WINDOW_MS;
    c = await challenge('alice');
    assert.ok(admins.loginCode(c.challenge, app.next(), '10.0.1.12').secret, 'after the window');

    // A right code clears the count, as a right password does without two-factor.
    clock += 60_000;
    for (let i = 1; i < LOGIN_MAX_FAILURES; i++) await assert.rejects(admins.login('alice', 'wrong', `10.0.2.${i}`), { code: 'login_failed' });
    c = await challenge('alice', '10.0.2.9');
    assert.ok(admins.loginCode(c.challenge, app.next(), '10.0.2.9').secret);
    for (let i = 1; i < LOGIN_MAX_FAILURES; i++) await assert.rejects(admins.login('alice', 'wrong', `10.0.2.${i}`), { code: 'login_failed' });
    assert.ok('challenge' in (await admins.login('alice', PASSWORD, '10.0.2.9')), 'not locked out: the earlier four were cleared');
  });

  test('turning off needs a current, unused code, counted against throttling; a read-only admin can use two-factor too', async () => {
    const { id, app } = await enrolled();
    const last = app.again();
    assert.throws(() => admins.twoFactor.disable(id, last, '10.0.3.1'), { code: 'totp_invalid' }, 'the code that turned it on is spent');
    for (let i = 1; i < LOGIN_MAX_FAILURES; i++) assert.throws(() => admins.twoFactor.disable(id, app.wrong(), '10.0.3.1'), { code: 'totp_invalid' });
    assert.throws(() => admins.twoFactor.disable(id, app.next(), '10.0.3.1'), { code: 'login_throttled' });
    assert.equal(admins.list()[0]!.twoFactor, true);
    clock += LOGIN_WINDOW_MS;
    admins.twoFactor.disable(id, app.next(), '10.0.3.1');
    assert.equal(admins.list()[0]!.twoFactor, false);
    assert.throws(() => admins.twoFactor.disable(id, app.next(), '10.0.3.1'), { code: 'totp_not_enabled' });
    assert.equal(store.sqlite.prepare('SELECT totp_secret FROM admins').pluck().get(), null, 'the secret is gone');

    const viewer = await enrolled('viewer', 'read-only');
    const c = await challenge('viewer', '10.0.3.2');
    assert.equal(admins.loginCode(c.challenge, viewer.app.next(), '10.0.3.2').admin.role, 'read-only');
  });
});

describe('two-factor over HTTP and the CLI', () => {
  let server: TestServer;
  const challengeOf = (html: string) => /name="challenge" value="([A-Za-z0-9_-]{43})"/.exec(html)?.[1];
  const banner = (html: string) => /class="banner error"[^>]*>([^<]*)</.exec(html)?.[1];

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_TRUSTED_PROXIES: '127.0.0.1', MDM_ORGANIZATION: 'Example Org' } });
    for (const [name, role] of [['root', 'admin'], ['viewer', 'read-only'], ['carol', 'admin']] as const) {
      const r = server.cli(['admin', 'create', '--username', name, '--password-stdin', '--role', role], { MDM_LOG_LEVEL: 'warn' }, PASSWORD + '\n');
      assert.equal(r.status, 0, r.stderr);
    }
  });
  after(async () => {
    await server?.stop();
  });

  /** Signs in with the password alone and sets two-factor up; the app that holds the new secret. */
  async function enrol(name: string) {
    const c = new ConsoleClient(server.url);
    assert.equal((await c.login(name, PASSWORD)).status, 303);
    assert.equal((await c.post('/account/two-factor/start', {}, { csrf: true })).status, 303);
    const page = await c.get('/account/two-factor');
    const app = Authenticator.fromPage(page.text);
    assert.equal((await c.post('/account/two-factor/enable', { code: app.next() }, { csrf: true })).headers.get('location'), '/account/two-factor?done=on');
    return { c, app };
  }

  test('setup: Settings links to it; a QR code and the otpauth URI; CSRF needed; a wrong code refused, the right one turns it on', async () => {
    const c = new ConsoleClient(server.url);
    await c.login('root', PASSWORD);
    const settings = await c.get('/settings');
    assert.match(settings.text, /data-testid="own-two-factor">[^]*?<strong>off<\/strong>[^]*?href="\/account\/two-factor"/);
    const off = await c.get('/account/two-factor');
    assert.equal(off.status, 200);
    assert.match(off.text, /<strong>Off\.<\/strong>/);
    assert.doesNotMatch(off.text, /<svg/);

    assert.equal((await c.post('/account/two-factor/start')).status, 403, 'no CSRF token');
    assert.equal((await c.post('/account/two-factor/start', {}, { csrf: true, headers: { origin: 'https://evil.example' } })).status, 403);
    const started = await c.post('/account/two-factor/start', {}, { csrf: true });
    assert.equal(started.status, 303);
    assert.equal(started.headers.get('location'), '/account/two-factor');
    const page = await c.get('/account/two-factor');
    assert.match(page.text, /<div class="qr" role="img"[^>]*><svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[^>]*viewBox="0 0 \d+ \d+"[^]*?<\/svg><\/div>/, 'an inline SVG QR code');
    assert.match(page.headers.get('content-security-policy')!, /default-src 'none'/, 'inline SVG needs no relaxed policy');
    const uri = /data-testid="totp-uri">([^<]+)</.exec(page.text)![1]!.replace(/&amp;/g, '&');
    const app = Authenticator.fromPage(page.text);
    assert.equal(uri, `otpauth://totp/Example%20Org:root?secret=${base32(app.secret)}&issuer=Example%20Org&algorithm=SHA1&digits=6&period=30`);
    assert.ok(page.text.includes(await qrSvg(uri)), 'the QR code is of that URI');

    assert.equal((await c.post('/account/two-factor/enable', { code: app.peek() })).status, 403, 'no CSRF token: refused before the code is looked at');
    const wrong = await c.post('/account/two-factor/enable', { code: app.wrong() }, { csrf: true });
    assert.equal(wrong.status, 400);
    assert.match(banner(wrong.text)!, /not right/);
    assert.match(wrong.text, /<svg/, 'still being set up, the same secret');
    assert.equal(Authenticator.fromPage(wrong.text).secret.toString('hex'), app.secret.toString('hex'));
    assert.equal(server.cli(['admin', 'list']).stdout.match(/^root\t.*\t(\S+)$/m)![1], '-');

    const on = await c.post('/account/two-factor/enable', { code: app.next() }, { csrf: true });
    assert.equal(on.status, 303);
    const done = await c.get(on.headers.get('location')!);
    assert.match(done.text, /Two-factor authentication is on/);
    assert.match(done.text, /<strong>On\.<\/strong>/);
    assert.doesNotMatch(done.text, /totp-secret|<svg/, 'the secret is not shown again');
    assert.equal(server.cli(['admin', 'list']).stdout.match(/^root\t.*\t(\S+)$/m)![1], 'two-factor');

    // Sign-in now takes the code: the password alone gives the code form and no cookie.
    const fresh = new ConsoleClient(server.url);
    const first = await fresh.post('/login', { username: 'root', password: PASSWORD, next: '/devices' });
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('set-cookie'), null);
    const challenge = challengeOf(first.text)!;
    assert.ok(challenge, 'the code form carries the challenge');
    assert.match(first.text, /name="next" value="\/devices"/);
    assert.equal((await fresh.get('/devices')).status, 303, 'not signed in yet');
    assert.equal((await fresh.post('/login/two-factor', { challenge, code: app.peek(), next: '/devices' }, { headers: { origin: 'https://evil.example' } })).status, 403);
    const bad = await fresh.post('/login/two-factor', { challenge, code: app.wrong(), next: '/devices' });
    assert.equal(bad.status, 400);
    assert.equal(challengeOf(bad.text), challenge, 'another try with the same challenge');
    const code = app.next();
    const ok = await fresh.post('/login/two-factor', { challenge, code, next: '/devices' });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), '/devices');
    assert.match(ok.headers.get('set-cookie')!, /^mdm_session=[A-Za-z0-9_-]{43};.*HttpOnly/);

    // Replay: the same code, right password, another browser.
    const replay = await new ConsoleClient(server.url).loginWithCode('root', PASSWORD, code);
    assert.equal(replay.second!.status, 400);
    assert.equal(replay.second!.headers.get('set-cookie'), null);
    const reused = await new ConsoleClient(server.url).post('/login/two-factor', { challenge, code: app.peek() });
    assert.equal(reused.status, 410, 'a challenge signs in once');

    // Turning it off takes a current code too.
    assert.equal((await c.post('/account/two-factor/disable', { code: app.again() }, { csrf: true })).status, 400, 'a spent code');
    const disabled = await c.post('/account/two-factor/disable', { code: app.next() }, { csrf: true });
    assert.equal(disabled.headers.get('location'), '/account/two-factor?done=off');
    assert.equal((await new ConsoleClient(server.url).login('root', PASSWORD)).status, 303, 'the password alone again');
  });

  test('throttling: wrong codes lock the account out like wrong passwords; a read-only admin has two-factor too', async () => {
    const { app } = await enrol('viewer');
    const from = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}` });
    for (let i = 0; i < 5; i++) {
      const r = await new ConsoleClient(server.url).loginWithCode('viewer', PASSWORD, app.wrong(), from(i));
      assert.equal(r.second!.status, 400, `attempt ${i + 1}`);
      assert.match(banner(r.second!.text)!, /Wrong code/);
    }
    const locked = await new ConsoleClient(server.url).post('/login', { username: 'viewer', password: PASSWORD }, { headers: from(9) });
    assert.equal(locked.status, 429, 'the password step is locked too');
    assert.equal(banner(locked.text), 'Too many failed sign-ins. Try again in 15 minutes.');
  });

  test('mdm admin totp reset: the admin signs in with the password alone and can set two-factor up again', async () => {
    const { app } = await enrol('carol');
    const before = await new ConsoleClient(server.url).post('/login', { username: 'carol', password: PASSWORD });
    assert.ok(challengeOf(before.text), 'two-factor is on');
    const r = server.cli(['admin', 'totp', 'reset', '--username', 'Carol']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'two-factor turned off for carol; they can set it up again after signing in\n');
    assert.equal((await new ConsoleClient(server.url).post('/login/two-factor', { challenge: challengeOf(before.text)!, code: app.peek() })).status, 410, 'a half-done sign-in ends');
    const c = new ConsoleClient(server.url);
    assert.equal((await c.login('carol', PASSWORD)).status, 303);
    assert.match((await c.get('/account/two-factor')).text, /<strong>Off\.<\/strong>/);
    assert.equal(server.cli(['admin', 'totp', 'reset', '--username', 'carol']).stdout, 'two-factor was not on for carol\n');
    const missing = server.cli(['admin', 'totp', 'reset', '--username', 'nobody']);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /no admin named nobody/);
    assert.notEqual(server.cli(['admin', 'totp', 'reset']).status, 0, '--username is required');
  });
});

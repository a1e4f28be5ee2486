// Console admins at the service level with a controllable clock: scrypt password hashes, the
// one-time setup URL, sign-in throttling per account and per address, and session expiry.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, beforeEach, describe, test } from 'node:test';
import { hashPassword, SCRYPT, verifyPassword } from '../src/admins/password.ts';
import { createAdminRepo } from '../src/admins/repo.ts';
import { createAdmins, LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS, SESSION_IDLE_MS, SESSION_MAX_MS, SETUP_TTL_MS } from '../src/admins/service.ts';
import { createLogger } from '../src/log.ts';
import { createSealer } from '../src/secrets/seal.ts';
import { openStore, type Store } from '../src/store/db.ts';
import { tempDir } from './support/server.ts';

const PASSWORD = 'correct horse battery';

describe('console admins', () => {
  let store: Store;
  let clock: number;
  let admins: ReturnType<typeof createAdmins>;
  const stores: Store[] = [];

  beforeEach(() => {
    store = openStore(tempDir());
    stores.push(store);
    clock = Date.UTC(2026, 0, 1);
    admins = createAdmins({
      repo: createAdminRepo(store.db),
      sealer: createSealer(crypto.randomBytes(32)),
      log: createLogger('silent'),
      publicUrl: 'https://mdm.example.com',
      organization: 'Example',
      now: () => clock,
    });
  });
  const signIn = async (name: string, pass: string, address: string) => {
    const r = await admins.login(name, pass, address);
    assert.ok('secret' in r, 'a session, not a two-factor challenge');
    return r;
  };
  after(() => stores.forEach((s) => s.close()));

  test('passwords: scrypt N=2^15 r=8 p=1, 16-byte salt, 32-byte key; verified against the stored parameters', async () => {
    assert.deepEqual(SCRYPT, { N: 32768, r: 8, p: 1, saltBytes: 16, keyBytes: 32 });
    const h = await hashPassword(PASSWORD);
    const [alg, N, r, p, salt, key] = h.split('$');
    assert.deepEqual([alg, N, r, p], ['scrypt', '32768', '8', '1']);
    assert.equal(Buffer.from(salt!, 'base64').length, 16);
    assert.equal(Buffer.from(key!, 'base64').length, 32);
    const expected = crypto.scryptSync(PASSWORD, Buffer.from(salt!, 'base64'), 32, { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
    assert.ok(expected.equals(Buffer.from(key!, 'base64')), 'the key is scrypt of the password with exactly these parameters');
    assert.notEqual(await hashPassword(PASSWORD), h, 'a fresh salt each time');
    assert.equal(await verifyPassword(PASSWORD, h), true);
    assert.equal(await verifyPassword(PASSWORD + ' ', h), false);
    assert.equal(await verifyPassword(PASSWORD, 'plain'), false);
    // Parameters travel with the hash: an older, cheaper hash still verifies.
    const old = ['scrypt', 1024, 8, 1, salt, crypto.scryptSync(PASSWORD, Buffer.from(salt!, 'base64'), 32, { N: 1024, r: 8, p: 1 }).toString('base64')].join('$');
    assert.equal(await verifyPassword(PASSWORD, old), true);
  });

  test('accounts: stored hashed, names case-insensitive and unique, weak input refused', async () => {
    const a = await admins.create({ username: 'Alice', password: PASSWORD, role: 'admin' });
    assert.equal(a.username, 'alice');
    const row = store.sqlite.prepare('SELECT * FROM admins').get() as Record<string, string>;
    assert.match(row.password_hash!, /^scrypt\$32768\$8\$1\$/);
    assert.ok(!JSON.stringify(row).includes(PASSWORD));
    await assert.rejects(admins.create({ username: 'ALICE', password: PASSWORD, role: 'admin' }), { code: 'admin_exists' });
    await assert.rejects(admins.create({ username: 'bob', password: 'short', role: 'admin' }), { code: 'invalid_request' });
    await assert.rejects(admins.create({ username: 'bob smith', password: PASSWORD, role: 'admin' }), { code: 'invalid_request' });
    await assert.rejects(admins.create({ username: 'bob', password: PASSWORD, role: 'root' as 'admin' }), { code: 'invalid_request' });
  });

  test('setup URL: only while there is no admin, stored hashed, single use, expires', async () => {
    const url = admins.issueSetupUrl()!;
    assert.match(url, /^https:\/\/mdm\.example\.com\/setup\?token=[A-Za-z0-9_-]{43}$/);
    const token = new URL(url).searchParams.get('token')!;
    assert.equal(store.sqlite.prepare('SELECT hash FROM admin_setup_tokens').pluck().get(), crypto.createHash('sha256').update(token).digest('hex'));
    assert.equal(admins.setupTokenValid(token), true);
    assert.equal(admins.setupTokenValid(token + 'x'), false);
    await assert.rejects(admins.completeSetup('wrong', { username: 'root', password: PASSWORD }), { code: 'setup_unavailable' });

    const s = await admins.completeSetup(token, { username: 'root', password: PASSWORD });
    assert.equal(s.admin.role, 'admin');
    assert.ok(admins.session(s.secret));
    await assert.rejects(admins.completeSetup(token, { username: 'second', password: PASSWORD }), { code: 'setup_unavailable' });
    assert.equal(admins.issueSetupUrl(), null, 'no setup URL once an admin exists');
    assert.equal(admins.list().length, 1);
  });

  test('setup URL: expires, and a newer one replaces it; an admin made on the command line spends it', async () => {
    const first = new URL(admins.issueSetupUrl()!).searchParams.get('token')!;
    const second = new URL(admins.issueSetupUrl()!).searchParams.get('token')!;
    assert.equal(admins.setupTokenValid(first), false);
    clock += SETUP_TTL_MS;
    assert.equal(admins.setupTokenValid(second), false);
    await assert.rejects(admins.completeSetup(second, { username: 'root', password: PASSWORD }), { code: 'setup_unavailable' });
    const third = new URL(admins.issueSetupUrl()!).searchParams.get('token')!;
    await admins.create({ username: 'cli', password: PASSWORD, role: 'admin' });
    assert.equal(admins.setupTokenValid(third), false);
  });

  test('throttling: 5 failures per account in 15 minutes lock it out, even with the right password; the message says nothing about which part was wrong', async () => {
    await admins.create({ username: 'alice', password: PASSWORD, role: 'admin' });
    await assert.rejects(admins.login('nobody', 'x', '10.0.0.9'), { code: 'login_failed', message: 'Wrong username or password.' });
    await assert.rejects(admins.login('alice', 'wrong', '10.0.0.9'), { code: 'login_failed', message: 'Wrong username or password.' });
    await assert.rejects(admins.login('alice', PASSWORD + 'x'.repeat(1024), '10.0.0.9'), { code: 'login_failed' }, 'an oversized password counts as a failure');
    for (let i = 2; i < LOGIN_MAX_FAILURES; i++) await assert.rejects(admins.login('alice', 'wrong', `10.0.1.${i}`), { code: 'login_failed' });
    await assert.rejects(admins.login('alice', PASSWORD, '10.0.2.1'), { code: 'login_throttled', status: 429 });
    await assert.rejects(admins.login('ALICE', PASSWORD, '10.0.2.2'), { code: 'login_throttled' }, 'the name is matched as stored');
    clock += LOGIN_WINDOW_MS;
    const s = await signIn('alice', PASSWORD, '10.0.2.1');
    assert.equal(s.admin.username, 'alice');
    // Success clears the account's failures.
    for (let i = 1; i < LOGIN_MAX_FAILURES; i++) await assert.rejects(admins.login('alice', 'wrong', `10.0.3.${i}`), { code: 'login_failed' });
    assert.ok(await admins.login('alice', PASSWORD, '10.0.3.9'));
  });

  test('throttling: 5 failures from one address in 15 minutes lock that address out, whichever accounts it tried', async () => {
    await admins.create({ username: 'alice', password: PASSWORD, role: 'admin' });
    for (let i = 0; i < LOGIN_MAX_FAILURES; i++) await assert.rejects(admins.login(`user${i}`, 'guess', '192.0.2.7'), { code: 'login_failed' });
    await assert.rejects(admins.login('alice', PASSWORD, '192.0.2.7'), { code: 'login_throttled', status: 429 });
    assert.ok(await admins.login('alice', PASSWORD, '192.0.2.8'), 'other addresses are not affected');
  });

  test('sessions: 256-bit secret stored as its SHA-256, idle expiry, absolute expiry, logout deletes the row', async () => {
    await admins.create({ username: 'alice', password: PASSWORD, role: 'read-only' });
    const s = await signIn('alice', PASSWORD, '127.0.0.1');
    assert.equal(Buffer.from(s.secret, 'base64url').length, 32);
    const rows = () => store.sqlite.prepare('SELECT * FROM admin_sessions').all() as Array<Record<string, unknown>>;
    assert.equal(rows()[0]!.hash, crypto.createHash('sha256').update(s.secret).digest('hex'));
    assert.ok(!JSON.stringify(rows()).includes(s.secret));
    assert.equal(admins.session(s.secret)!.admin.role, 'read-only');
    assert.equal(admins.session(s.secret)!.csrfToken, s.csrfToken);

    // Kept alive by use, just inside the idle limit each time, until the absolute end.
    const started = clock;
    while (clock + SESSION_IDLE_MS - 1 < started + SESSION_MAX_MS) {
      clock += SESSION_IDLE_MS - 1;
      assert.ok(admins.session(s.secret), `alive after ${(clock - started) / 60_000} minutes of activity`);
    }
    clock = started + SESSION_MAX_MS;
    assert.equal(admins.session(s.secret), null, 'past the absolute end');
    assert.equal(rows().length, 0, 'an ended session is deleted when seen');

    const idle = await signIn('alice', PASSWORD, '127.0.0.1');
    clock += SESSION_IDLE_MS;
    assert.equal(admins.session(idle.secret), null, 'idle too long');

    const out = await signIn('alice', PASSWORD, '127.0.0.1');
    admins.logout(out.secret);
    assert.equal(admins.session(out.secret), null);
    assert.equal(rows().length, 0);
    assert.equal(admins.session('not-a-session'), null);
  });
});

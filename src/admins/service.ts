import crypto from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { sha256Hex } from '../secrets/hash.ts';
import type { Sealer } from '../secrets/seal.ts';
import { hashPassword, verifyPassword } from './password.ts';
import type { AdminRepo, AdminRow } from './repo.ts';
import { createThrottle, LOGIN_WINDOW_MS } from './throttle.ts';
import { createTwoFactor } from './two-factor.ts';

export { LOGIN_MAX_FAILURES, LOGIN_WINDOW_MS } from './throttle.ts';

export const ROLES = ['admin', 'read-only'] as const;
export type Role = (typeof ROLES)[number];

/** A session ends after this long without a request... */
export const SESSION_IDLE_MS = 30 * 60_000;
/** ...and after this long in any case: a stolen cookie is not good forever. */
export const SESSION_MAX_MS = 12 * 3_600_000;
/** Between a right password and the code: long enough to find the phone, short enough that a half-done sign-in is not left lying around. */
export const LOGIN_CHALLENGE_MS = 5 * 60_000;
/** The setup URL is for the person who just installed the appliance: a day is plenty. */
export const SETUP_TTL_MS = 24 * 3_600_000;
/** lastSeenAt is what idle expiry reads: minute precision spares a write per request. */
const TOUCH_EVERY_MS = 60_000;

export const username = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^[a-z0-9._@-]{1,64}$/, 'must be 1-64 letters, digits or . _ @ -');
export const password = z.string().min(12, 'must be at least 12 characters').max(1024, 'must be at most 1024 characters');

export interface AdminInfo {
  id: string;
  username: string;
  role: Role;
  createdAt: number;
  twoFactor: boolean;
}
export interface Session {
  admin: AdminInfo;
  csrfToken: string;
}
/** A new session: `secret` goes into the cookie and nowhere else. */
export interface NewSession extends Session {
  secret: string;
  expiresAt: number;
}
/** A right password for an admin with two-factor on: `challenge` goes back with the code, and opens nothing else. */
export interface LoginChallenge {
  challenge: string;
  expiresAt: number;
}

const info = ({ passwordHash: _p, totpSecret, totpPending: _t, totpLastStep: _s, ...row }: AdminRow): AdminInfo => ({ ...row, twoFactor: totpSecret !== null });
const hash = sha256Hex;
const random = () => crypto.randomBytes(32).toString('base64url');

function parse<S extends z.ZodType>(schema: S, value: unknown, field: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new AppError('invalid_request', `${field}: ${r.error.issues[0]?.message ?? 'invalid'}`);
  return r.data;
}

/** Console admins: accounts, the first-admin setup URL, sign-in with throttling and optional two-factor, and server-side sessions. */
export function createAdmins(opts: { repo: AdminRepo; sealer: Sealer; log: Logger; publicUrl: string; organization: string; now?: () => number }) {
  const { repo, log } = opts;
  const now = opts.now ?? Date.now;
  const throttle = createThrottle({ repo, log, now });
  const twoFactor = createTwoFactor({ repo, sealer: opts.sealer, throttle, issuer: opts.organization, log, now });
  // Unknown names are checked against this, so they cost the same time as wrong passwords.
  // Made on first use: CLI commands that never sign anyone in should not pay for a hash.
  let decoy: Promise<string> | null = null;

  function newSession(admin: AdminRow): NewSession {
    const secret = random();
    const t = now();
    const row = { hash: hash(secret), adminId: admin.id, csrfToken: random(), createdAt: t, lastSeenAt: t, expiresAt: t + SESSION_MAX_MS };
    repo.insertSession(row);
    return { secret, csrfToken: row.csrfToken, admin: info(admin), expiresAt: row.expiresAt };
  }

  async function newAdmin(input: { username: string; password: string; role: Role }): Promise<AdminRow> {
    return {
      id: crypto.randomUUID(),
      username: parse(username, input.username, 'username'),
      passwordHash: await hashPassword(parse(password, input.password, 'password')),
      role: parse(z.enum(ROLES), input.role, 'role'),
      createdAt: now(),
      totpSecret: null,
      totpPending: null,
      totpLastStep: null,
    };
  }

  return {
    twoFactor,

    /** AppError invalid_request, admin_exists. */
    async create(input: { username: string; password: string; role: Role }): Promise<AdminInfo> {
      const row = await newAdmin(input);
      repo.transaction(() => {
        if (repo.adminByUsername(row.username)) throw new AppError('admin_exists', `an admin named ${row.username} already exists`, 409);
        repo.insertAdmin(row);
        // The first admin made from the command line makes the setup URL pointless.
        repo.deleteSetupTokens();
      });
      log.info({ id: row.id, username: row.username, role: row.role }, 'admin created');
      return info(row);
    },

    /**
     * Deletes another admin; their sessions end at once. Nobody deletes themselves (a slip would
     * lock them out mid-task), and the last admin who can change things stays.
     * AppError admin_not_found (404), admin_self (409), admin_last (409).
     */
    remove(id: string, byAdminId: string): AdminInfo {
      if (id === byAdminId) throw new AppError('admin_self', 'You cannot delete your own account; another admin can.', 409);
      return repo.transaction(() => {
        const row = repo.adminById(id);
        if (!row) throw new AppError('admin_not_found', `no admin ${id}`, 404);
        if (row.role === 'admin' && repo.countAdmins('admin') <= 1) throw new AppError('admin_last', 'This is the last admin who can change things: make another one first.', 409);
        repo.deleteAdmin(id);
        log.info({ id, username: row.username }, 'admin deleted');
        return info(row);
      });
    },

    /** AppError admin_not_found (404). */
    get(id: string): AdminInfo {
      const row = repo.adminById(id);
      if (!row) throw new AppError('admin_not_found', `no admin ${id}`, 404);
      return info(row);
    },

    list(): AdminInfo[] {
      return repo.admins().map(info);
    },

    needsSetup(): boolean {
      return !repo.anyAdmin();
    },

    /** A fresh one-time setup URL while there is no admin (replacing any earlier one), else null. */
    issueSetupUrl(): string | null {
      if (repo.anyAdmin()) return null;
      const token = random();
      const t = now();
      repo.replaceSetupToken({ hash: hash(token), createdAt: t, expiresAt: t + SETUP_TTL_MS });
      return `${opts.publicUrl}/setup?token=${token}`;
    },

    /** Whether a setup token can still be used: the setup page shows its form only then. */
    setupTokenValid(token: string): boolean {
      const row = repo.setupToken(hash(token));
      return !!row && row.expiresAt > now() && !repo.anyAdmin();
    },

    /** Creates the first admin (role admin) with the setup token, spending it, and signs them in. AppError setup_unavailable, invalid_request. */
    async completeSetup(token: string, input: { username: string; password: string }): Promise<NewSession> {
      const row = await newAdmin({ ...input, role: 'admin' });
      return repo.transaction(() => {
        const t = repo.setupToken(hash(token));
        if (!t || t.expiresAt <= now() || repo.anyAdmin()) {
          throw new AppError('setup_unavailable', 'This setup link is not valid any more. Restart the server to log a new one, or use mdm admin create.', 410);
        }
        repo.insertAdmin(row);
        repo.deleteSetupTokens();
        log.info({ id: row.id, username: row.username }, 'first admin created through the setup URL');
        return newSession(row);
      });
    },

    /**
     * Signs in, or for an admin with two-factor on, returns the challenge that `loginCode` takes
     * with the code. Throttled per account and per address before the password is even checked,
     * so a guesser learns nothing once locked out; the refusal never says which part was wrong.
     * AppError login_throttled (429), login_failed.
     */
    async login(name: string, pass: string, address: string): Promise<NewSession | LoginChallenge> {
      const user = name.trim().toLowerCase().slice(0, 200);
      const t = now();
      throttle.check(user, address);
      const admin = repo.adminByUsername(user);
      // No stored password is longer: an oversized one is wrong without being hashed.
      const ok = pass.length <= 1024 && (await verifyPassword(pass, admin?.passwordHash ?? (await (decoy ??= hashPassword(random())))));
      if (!admin || !ok) {
        throttle.fail(user, address);
        log.warn({ username: user, address }, 'sign-in failed');
        throw new AppError('login_failed', 'Wrong username or password.', 400);
      }
      if (admin.totpSecret) {
        // Failures are cleared only once the code is right too: else each right password would
        // buy a guesser who has it another four tries at the code.
        const challenge = random();
        repo.insertLoginChallenge({ hash: hash(challenge), adminId: admin.id, expiresAt: t + LOGIN_CHALLENGE_MS });
        log.info({ username: user, address }, 'sign-in: password accepted, code wanted');
        return { challenge, expiresAt: t + LOGIN_CHALLENGE_MS };
      }
      throttle.clear(user);
      log.info({ username: user, address }, 'signed in');
      return newSession(admin);
    },

    /**
     * The second step: a current code, not used before, for the challenge's admin. Wrong codes
     * count with wrong passwords; the challenge stays for another try until it expires.
     * AppError login_expired (410), login_throttled (429), login_failed.
     */
    loginCode(challenge: string, code: string, address: string): NewSession {
      const h = hash(challenge);
      const found = /^[A-Za-z0-9_-]{43}$/.test(challenge) ? repo.loginChallenge(h) : undefined;
      if (!found || found.challenge.expiresAt <= now() || !found.admin.totpSecret) {
        throw new AppError('login_expired', 'This sign-in has expired. Sign in again.', 410);
      }
      const user = found.admin.username;
      throttle.check(user, address);
      if (!twoFactor.verify(found.admin, code)) {
        throttle.fail(user, address);
        log.warn({ username: user, address }, 'sign-in failed: wrong code');
        throw new AppError('login_failed', 'Wrong code, or one used already. Type the code your app shows now.', 400);
      }
      return repo.transaction(() => {
        repo.deleteLoginChallenge(h);
        throttle.clear(user);
        log.info({ username: user, address }, 'signed in with two-factor');
        return newSession(found.admin);
      });
    },

    /** The live session a cookie's secret stands for, or null when unknown, idle too long or past its end. */
    session(secret: string): Session | null {
      if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
      const h = hash(secret);
      const found = repo.session(h);
      if (!found) return null;
      const t = now();
      if (found.session.expiresAt <= t || t - found.session.lastSeenAt >= SESSION_IDLE_MS) {
        repo.deleteSession(h);
        return null;
      }
      if (t - found.session.lastSeenAt >= TOUCH_EVERY_MS) repo.touchSession(h, t);
      return { admin: info(found.admin), csrfToken: found.session.csrfToken };
    },

    logout(secret: string): void {
      repo.deleteSession(hash(secret));
    },

    /** Housekeeping: ended sessions, expired sign-in challenges, and failures older than the throttling window. */
    purge(): void {
      const t = now();
      repo.purgeSessions(t, t - SESSION_IDLE_MS);
      repo.purgeFailures(t - LOGIN_WINDOW_MS);
      repo.purgeLoginChallenges(t);
    },
  };
}

export type Admins = ReturnType<typeof createAdmins>;

import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import type { AdminRepo, AdminRow } from './repo.ts';
import type { Throttle } from './throttle.ts';
import { base32, matchStep, otpauthUri, TOTP } from './totp.ts';

export interface TotpSetup {
  /** otpauth://totp/...: what the QR code holds. */
  uri: string;
  /** The same secret in base32, for typing into an app that cannot scan. */
  secret: string;
}

const WRONG = 'That code is not right, or it was used already. Type the code your app shows now.';

/**
 * Per-admin TOTP two-factor: setting it up (a secret shown once and confirmed with a code),
 * turning it off (with a code), checking sign-in codes, and the CLI's reset for a lost phone.
 * Secrets are sealed with the master key, so a copied database holds none.
 */
export function createTwoFactor(opts: { repo: AdminRepo; sealer: Sealer; throttle: Throttle; issuer: string; log: Logger; now: () => number }) {
  const { repo, sealer, throttle, log, now } = opts;
  const label = (id: string) => `admin-totp:${id}`;

  /** The step a code matches in the current window, spent so it cannot be used again; null if none or spent already. */
  function spend(admin: AdminRow, sealed: Buffer, code: string): number | null {
    const step = matchStep(sealer.unseal(label(admin.id), sealed), code.trim(), now());
    return step !== null && repo.spendTotpStep(admin.id, step) ? step : null;
  }

  function admin(id: string): AdminRow {
    const row = repo.adminById(id);
    if (!row) throw new AppError('not_found', 'no such admin', 404);
    return row;
  }

  /** Wrong codes count against sign-in throttling, as wrong passwords do: otherwise a stolen session could search the million codes. */
  function guarded(row: AdminRow, address: string, sealed: Buffer, code: string): number {
    throttle.check(row.username, address);
    const step = spend(row, sealed, code);
    if (step === null) {
      throttle.fail(row.username, address);
      log.warn({ username: row.username, address }, 'two-factor: wrong code');
      throw new AppError('totp_invalid', WRONG, 400);
    }
    return step;
  }

  return {
    /** For sign-in: whether this is a current, unspent code of the admin's active secret (spending it if so). */
    verify(row: AdminRow, code: string): boolean {
      return row.totpSecret !== null && spend(row, row.totpSecret, code) !== null;
    },

    /** The secret being set up, if one was started and two-factor is not on yet. */
    pendingSetup(adminId: string): TotpSetup | null {
      const row = admin(adminId);
      if (row.totpSecret || !row.totpPending) return null;
      const secret = sealer.unseal(label(row.id), row.totpPending);
      return { uri: otpauthUri({ issuer: opts.issuer, account: row.username, secret }), secret: base32(secret) };
    },

    /** A fresh random secret to set up, replacing any unconfirmed one. AppError totp_enabled (409). */
    start(adminId: string): void {
      const row = admin(adminId);
      if (row.totpSecret) throw new AppError('totp_enabled', 'Two-factor authentication is on already; turn it off first to set up another phone.', 409);
      repo.setTotp(row.id, { totpPending: sealer.seal(label(row.id), crypto.randomBytes(TOTP.secretBytes)) });
    },

    /** Turns two-factor on once a code from the secret being set up proves the app has it. AppError totp_invalid, login_throttled, totp_not_started (409). */
    enable(adminId: string, code: string, address: string): void {
      const row = admin(adminId);
      if (row.totpSecret || !row.totpPending) throw new AppError('totp_not_started', 'There is no two-factor setup in progress: start it again.', 409);
      // Checked against the new secret; the step is spent (kept as the last one used) so the same code cannot also sign in.
      guarded(row, address, row.totpPending, code);
      repo.setTotp(row.id, { totpSecret: row.totpPending, totpPending: null });
      throttle.clear(row.username);
      log.info({ username: row.username }, 'two-factor turned on');
    },

    /** Turns two-factor off with a current code. AppError totp_invalid, login_throttled, totp_not_enabled (409). */
    disable(adminId: string, code: string, address: string): void {
      const row = admin(adminId);
      if (!row.totpSecret) throw new AppError('totp_not_enabled', 'Two-factor authentication is off.', 409);
      guarded(row, address, row.totpSecret, code);
      repo.setTotp(row.id, { totpSecret: null, totpPending: null, totpLastStep: null });
      log.info({ username: row.username }, 'two-factor turned off');
    },

    /** `mdm admin totp reset`: for an admin who lost the phone; their half-done sign-ins end too. AppError not_found. */
    reset(username: string): boolean {
      const row = repo.adminByUsername(username.trim().toLowerCase());
      if (!row) throw new AppError('not_found', `no admin named ${username}`, 404);
      repo.transaction(() => {
        repo.setTotp(row.id, { totpSecret: null, totpPending: null, totpLastStep: null });
        repo.deleteLoginChallengesOf(row.id);
      });
      log.warn({ username: row.username, wasOn: row.totpSecret !== null }, 'two-factor reset');
      return row.totpSecret !== null;
    },
  };
}

export type TwoFactor = ReturnType<typeof createTwoFactor>;

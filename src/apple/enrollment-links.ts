import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { createChallenges } from '../pki/challenges.ts';
import { sha256Hex } from '../secrets/hash.ts';
import type { AppleRepo } from './repo.ts';

export type Ownership = 'corporate' | 'personal';
const hash = sha256Hex;

/** The SCEP challenge in a downloaded profile lives this long at most: installing follows downloading. */
const CHALLENGE_TTL = 24 * 3_600_000;

/**
 * Single-use enrollment links, `PUBLIC_URL/enroll/<token>`. Downloading the profile spends the
 * link and mints the one-time SCEP challenge the profile carries, bound to the link, so the
 * device that enrolls with it inherits the link's user and ownership.
 */
export function createEnrollmentLinks(opts: { repo: AppleRepo; challenges: ReturnType<typeof createChallenges>; publicUrl: string; log: Logger; now?: () => number }) {
  const { repo, log } = opts;
  const now = opts.now ?? Date.now;

  function check(token: string) {
    const row = repo.enrollmentTokenByHash(hash(token));
    if (!row) throw new AppError('enrollment_link_unknown', 'This enrollment link is not valid.', 404);
    if (row.usedAt) throw new AppError('enrollment_link_used', 'This enrollment link has already been used. Ask your IT administrator for a new one.', 410);
    if (row.expiresAt <= now()) throw new AppError('enrollment_link_expired', 'This enrollment link has expired. Ask your IT administrator for a new one.', 410);
    return row;
  }

  return {
    create(o: { userEmail?: string | null; ownership: Ownership; ttlMs: number }) {
      const token = crypto.randomBytes(24).toString('base64url');
      const id = crypto.randomUUID();
      const t = now();
      repo.insertEnrollmentToken({ id, hash: hash(token), userEmail: o.userEmail ?? null, ownership: o.ownership, createdAt: t, expiresAt: t + o.ttlMs });
      log.info({ id, ownership: o.ownership, userEmail: o.userEmail }, 'enrollment link created');
      return { id, token, url: `${opts.publicUrl}/enroll/${token}`, expiresAt: t + o.ttlMs };
    },

    /** The link's state, for the page: AppError when unknown, used or expired. */
    check,

    /** Spends the link and returns the fresh SCEP challenge for its profile. */
    spend(token: string): { challenge: string; ownership: Ownership; userEmail: string | null } {
      return repo.transaction(() => {
        const row = check(token);
        const t = now();
        const challenge = opts.challenges.issue(Math.min(CHALLENGE_TTL, row.expiresAt - t), `enroll:${row.id}`);
        if (!repo.spendEnrollmentToken(row.id, challenge.id, t)) throw new AppError('enrollment_link_used', 'This enrollment link has already been used.', 410);
        return { challenge: challenge.secret, ownership: row.ownership, userEmail: row.userEmail };
      });
    },
  };
}

export type EnrollmentLinks = ReturnType<typeof createEnrollmentLinks>;

import crypto from 'node:crypto';
import { sha256Hex } from '../secrets/hash.ts';
import type { PkiRepo } from './repo.ts';

export const hashChallenge = (secret: string): string => sha256Hex(secret);

/** One-time SCEP challenges: the secret is shown once and only its hash is kept. */
export function createChallenges(repo: PkiRepo, now: () => number = Date.now) {
  return {
    issue(ttlMs: number, purpose = 'cli'): { id: string; secret: string; expiresAt: number } {
      const secret = crypto.randomBytes(16).toString('hex');
      const id = crypto.randomUUID();
      const t = now();
      repo.insertChallenge({ id, hash: hashChallenge(secret), purpose, createdAt: t, expiresAt: t + ttlMs });
      return { id, secret, expiresAt: t + ttlMs };
    },
    /** Drops challenges that expired over a week ago; used ones stay that long for the audit trail. */
    purgeExpired(): number {
      return repo.purgeChallenges(now() - 7 * 86_400_000);
    },
  };
}

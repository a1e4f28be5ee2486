import crypto from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ApiTokenRow, AuthRepo } from './repo.ts';
import { sha256Hex } from '../secrets/hash.ts';

/** The prefix makes a leaked token recognisable to secret scanners and to people. */
export const API_TOKEN_PREFIX = 'mdm_';
const TOKEN_SHAPE = /^mdm_[A-Za-z0-9_-]{43}$/;
/** last_used_at is for humans deciding what to revoke: minute precision spares a write per request. */
const TOUCH_EVERY_MS = 60_000;

const hash = sha256Hex;
export const apiTokenName = z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters');

export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}
const info = ({ hash: _, ...row }: ApiTokenRow): ApiTokenInfo => row;

/** Bearer tokens for `/api/v1`: the secret is shown once at creation, only its SHA-256 is stored. */
export function createApiTokens(opts: { repo: AuthRepo; log: Logger; now?: () => number }) {
  const { repo, log } = opts;
  const now = opts.now ?? Date.now;

  return {
    create(name: string): ApiTokenInfo & { token: string } {
      const parsed = apiTokenName.safeParse(name);
      if (!parsed.success) throw new AppError('invalid_request', `name: ${parsed.error.issues[0]?.message}`);
      const token = API_TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
      const row = { id: crypto.randomUUID(), name: parsed.data, hash: hash(token), createdAt: now(), lastUsedAt: null, revokedAt: null };
      repo.insertApiToken(row);
      log.info({ id: row.id, name: row.name }, 'API token created');
      return { ...info(row), token };
    },

    list(): ApiTokenInfo[] {
      return repo.apiTokens().map(info);
    },

    /** Revoking twice keeps the first revocation time. */
    revoke(id: string): ApiTokenInfo {
      const row = repo.apiToken(id);
      if (!row) throw new AppError('api_token_not_found', `no API token ${id}`, 404);
      if (row.revokedAt === null) {
        row.revokedAt = now();
        repo.revokeApiToken(id, row.revokedAt);
        log.info({ id, name: row.name }, 'API token revoked');
      }
      return info(row);
    },

    /** The live token a bearer secret stands for, or null when it is malformed, unknown or revoked. */
    authenticate(secret: string): ApiTokenInfo | null {
      if (!TOKEN_SHAPE.test(secret)) return null;
      const row = repo.apiTokenByHash(hash(secret));
      if (!row || row.revokedAt !== null) return null;
      const t = now();
      if (row.lastUsedAt === null || t - row.lastUsedAt >= TOUCH_EVERY_MS) {
        repo.touchApiToken(row.id, t);
        row.lastUsedAt = t;
      }
      return info(row);
    },
  };
}

export type ApiTokens = ReturnType<typeof createApiTokens>;

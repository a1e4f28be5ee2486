import { sqliteTable, text, integer, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** API tokens for `/api/v1`: the secret is shown once, only its SHA-256 is kept. */
export const apiTokens = sqliteTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    hash: text('hash').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    lastUsedAt: integer('last_used_at', { mode: 'number' }),
    revokedAt: integer('revoked_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('api_tokens_hash').on(t.hash)],
);

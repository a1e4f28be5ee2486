import { desc, eq, sql } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { apiTokens } from './tables.ts';

export type ApiTokenRow = typeof apiTokens.$inferSelect;

export function createAuthRepo(db: Db) {
  // Prepared once: this runs on every API request.
  const byHash = db.select().from(apiTokens).where(eq(apiTokens.hash, sql.placeholder('hash'))).prepare();

  return {
    insertApiToken(row: typeof apiTokens.$inferInsert) {
      db.insert(apiTokens).values(row).run();
    },
    apiTokenByHash(hash: string): ApiTokenRow | undefined {
      return byHash.get({ hash });
    },
    apiToken(id: string): ApiTokenRow | undefined {
      return db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
    },
    apiTokens(): ApiTokenRow[] {
      return db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt), apiTokens.id).all();
    },
    touchApiToken(id: string, now: number) {
      db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id)).run();
    },
    revokeApiToken(id: string, now: number) {
      db.update(apiTokens).set({ revokedAt: now }).where(eq(apiTokens.id, id)).run();
    },
  };
}

export type AuthRepo = ReturnType<typeof createAuthRepo>;

import { and, count, eq, gt, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { admins, adminSessions, adminSetupTokens, loginFailures } from './tables.ts';

export type AdminRow = typeof admins.$inferSelect;
export type SessionRow = typeof adminSessions.$inferSelect;

export function createAdminRepo(db: Db) {
  // Prepared once: this runs on every console request.
  const sessionByHash = db
    .select({ session: adminSessions, admin: admins })
    .from(adminSessions)
    .innerJoin(admins, eq(admins.id, adminSessions.adminId))
    .where(eq(adminSessions.hash, sql.placeholder('hash')))
    .prepare();

  return {
    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
    anyAdmin(): boolean {
      return db.select({ id: admins.id }).from(admins).limit(1).get() !== undefined;
    },
    insertAdmin(row: AdminRow) {
      db.insert(admins).values(row).run();
    },
    adminByUsername(username: string): AdminRow | undefined {
      return db.select().from(admins).where(eq(admins.username, username)).get();
    },
    admins(): AdminRow[] {
      return db.select().from(admins).orderBy(admins.username).all();
    },
    replaceSetupToken(row: typeof adminSetupTokens.$inferInsert) {
      db.delete(adminSetupTokens).run();
      db.insert(adminSetupTokens).values(row).run();
    },
    setupToken(hash: string) {
      return db.select().from(adminSetupTokens).where(eq(adminSetupTokens.hash, hash)).get();
    },
    deleteSetupTokens() {
      db.delete(adminSetupTokens).run();
    },
    insertSession(row: SessionRow) {
      db.insert(adminSessions).values(row).run();
    },
    session(hash: string) {
      return sessionByHash.get({ hash });
    },
    touchSession(hash: string, now: number) {
      db.update(adminSessions).set({ lastSeenAt: now }).where(eq(adminSessions.hash, hash)).run();
    },
    deleteSession(hash: string) {
      db.delete(adminSessions).where(eq(adminSessions.hash, hash)).run();
    },
    /** Sessions past their absolute end or idle for longer than allowed. */
    purgeSessions(now: number, idleBefore: number) {
      return db
        .delete(adminSessions)
        .where(or(lt(adminSessions.expiresAt, now), lt(adminSessions.lastSeenAt, idleBefore)))
        .run().changes;
    },
    recordFailure(username: string, address: string, at: number) {
      db.insert(loginFailures).values({ username, address, at }).run();
    },
    /** Failures after `since` for this account and from this address: two index range counts. */
    failuresSince(username: string, address: string, since: number) {
      const byUser = db.select({ n: count() }).from(loginFailures).where(and(eq(loginFailures.username, username), gt(loginFailures.at, since))).get()!.n;
      const byAddress = db.select({ n: count() }).from(loginFailures).where(and(eq(loginFailures.address, address), gt(loginFailures.at, since))).get()!.n;
      return { byUser, byAddress };
    },
    clearFailures(username: string) {
      db.delete(loginFailures).where(eq(loginFailures.username, username)).run();
    },
    purgeFailures(before: number) {
      db.delete(loginFailures).where(lt(loginFailures.at, before)).run();
    },
  };
}

export type AdminRepo = ReturnType<typeof createAdminRepo>;

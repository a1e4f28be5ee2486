import { and, count, eq, gt, isNull, lt, lte, or, sql } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { adminLoginChallenges, admins, adminSessions, adminSetupTokens, loginFailures } from './tables.ts';

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
    /** Its sessions and half-done sign-ins go with it (ON DELETE CASCADE). */
    deleteAdmin(id: string): boolean {
      return db.delete(admins).where(eq(admins.id, id)).run().changes === 1;
    },
    countAdmins(role: AdminRow['role']): number {
      return db.select({ n: count() }).from(admins).where(eq(admins.role, role)).get()?.n ?? 0;
    },
    adminById(id: string): AdminRow | undefined {
      return db.select().from(admins).where(eq(admins.id, id)).get();
    },
    setTotp(id: string, set: Partial<Pick<AdminRow, 'totpSecret' | 'totpPending' | 'totpLastStep'>>) {
      return db.update(admins).set(set).where(eq(admins.id, id)).run().changes;
    },
    /**
     * Records `step` as used, only if it is later than the last one used: false means the code
     * was spent already (or a concurrent request spent it first).
     */
    spendTotpStep(id: string, step: number): boolean {
      return (
        db
          .update(admins)
          .set({ totpLastStep: step })
          .where(and(eq(admins.id, id), or(isNull(admins.totpLastStep), lt(admins.totpLastStep, step))))
          .run().changes === 1
      );
    },
    insertLoginChallenge(row: typeof adminLoginChallenges.$inferInsert) {
      db.insert(adminLoginChallenges).values(row).run();
    },
    loginChallenge(hash: string) {
      return db
        .select({ challenge: adminLoginChallenges, admin: admins })
        .from(adminLoginChallenges)
        .innerJoin(admins, eq(admins.id, adminLoginChallenges.adminId))
        .where(eq(adminLoginChallenges.hash, hash))
        .get();
    },
    deleteLoginChallenge(hash: string) {
      db.delete(adminLoginChallenges).where(eq(adminLoginChallenges.hash, hash)).run();
    },
    deleteLoginChallengesOf(adminId: string) {
      db.delete(adminLoginChallenges).where(eq(adminLoginChallenges.adminId, adminId)).run();
    },
    purgeLoginChallenges(now: number) {
      db.delete(adminLoginChallenges).where(lte(adminLoginChallenges.expiresAt, now)).run();
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

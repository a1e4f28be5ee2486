import { and, asc, desc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { androidEnrollmentTokens, androidEnterprises, androidPolicies, androidServiceAccounts, androidSignupUrls } from './tables.ts';

export type ServiceAccountRow = typeof androidServiceAccounts.$inferSelect;
export type SignupUrlRow = typeof androidSignupUrls.$inferSelect;
export type EnterpriseRow = typeof androidEnterprises.$inferSelect;
export type PolicyRow = typeof androidPolicies.$inferSelect;
export type EnrollmentTokenRow = typeof androidEnrollmentTokens.$inferSelect;

export function createAndroidRepo(db: Db) {
  return {
    serviceAccount(): ServiceAccountRow | undefined {
      return db.select().from(androidServiceAccounts).limit(1).get();
    },
    replaceServiceAccount(row: ServiceAccountRow): void {
      db.transaction(() => {
        db.delete(androidServiceAccounts).run();
        db.insert(androidServiceAccounts).values(row).run();
      });
    },

    insertSignupUrl(row: SignupUrlRow): void {
      db.insert(androidSignupUrls).values(row).run();
    },
    signupUrlByState(state: string): SignupUrlRow | undefined {
      return db.select().from(androidSignupUrls).where(eq(androidSignupUrls.state, state)).get();
    },
    /** Marks an unused signup URL used; false when it was used already (a replayed callback). */
    claimSignupUrl(name: string, at: number): boolean {
      return db.update(androidSignupUrls).set({ usedAt: at }).where(and(eq(androidSignupUrls.name, name), isNull(androidSignupUrls.usedAt))).run().changes === 1;
    },
    releaseSignupUrl(name: string): void {
      db.update(androidSignupUrls).set({ usedAt: null }).where(eq(androidSignupUrls.name, name)).run();
    },

    enterprise(): EnterpriseRow | undefined {
      return db.select().from(androidEnterprises).limit(1).get();
    },
    insertEnterprise(row: EnterpriseRow): void {
      db.insert(androidEnterprises).values(row).run();
    },
    /** Its policies go with it (ON DELETE CASCADE). */
    deleteEnterprise(name: string): void {
      db.delete(androidEnterprises).where(eq(androidEnterprises.name, name)).run();
    },

    policies(enterpriseName: string): PolicyRow[] {
      return db.select().from(androidPolicies).where(eq(androidPolicies.enterpriseName, enterpriseName)).orderBy(asc(androidPolicies.policyId)).all();
    },
    policy(enterpriseName: string, policyId: string): PolicyRow | undefined {
      return db
        .select()
        .from(androidPolicies)
        .where(and(eq(androidPolicies.enterpriseName, enterpriseName), eq(androidPolicies.policyId, policyId)))
        .get();
    },
    upsertPolicy(row: PolicyRow): void {
      db.insert(androidPolicies)
        .values(row)
        .onConflictDoUpdate({
          target: [androidPolicies.enterpriseName, androidPolicies.policyId],
          set: { policy: row.policy, version: row.version, updatedAt: row.updatedAt },
        })
        .run();
    },
    deletePolicy(enterpriseName: string, policyId: string): void {
      db.delete(androidPolicies).where(and(eq(androidPolicies.enterpriseName, enterpriseName), eq(androidPolicies.policyId, policyId))).run();
    },

    insertEnrollmentToken(row: EnrollmentTokenRow): void {
      db.insert(androidEnrollmentTokens).values(row).run();
    },
    enrollmentToken(enterpriseName: string, id: string): EnrollmentTokenRow | undefined {
      return db
        .select()
        .from(androidEnrollmentTokens)
        .where(and(eq(androidEnrollmentTokens.enterpriseName, enterpriseName), eq(androidEnrollmentTokens.id, id)))
        .get();
    },
    /** Newest first; tokens made in the same millisecond in the order they were inserted. */
    enrollmentTokens(enterpriseName: string): EnrollmentTokenRow[] {
      return db
        .select()
        .from(androidEnrollmentTokens)
        .where(eq(androidEnrollmentTokens.enterpriseName, enterpriseName))
        .orderBy(desc(androidEnrollmentTokens.createdAt), desc(sql`rowid`))
        .all();
    },
    markEnrollmentTokenRevoked(id: string, at: number): void {
      db.update(androidEnrollmentTokens).set({ revokedAt: at }).where(and(eq(androidEnrollmentTokens.id, id), isNull(androidEnrollmentTokens.revokedAt))).run();
    },

    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
  };
}

export type AndroidRepo = ReturnType<typeof createAndroidRepo>;

import { desc, eq } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { pushCertificates } from './tables.ts';

export type PushCertificateRow = typeof pushCertificates.$inferSelect;

export function createPushRepo(db: Db) {
  return {
    /** Imports leave at most one active row; newest first keeps the answer defined even if that were broken by hand. */
    active(): PushCertificateRow | undefined {
      return db.select().from(pushCertificates).where(eq(pushCertificates.status, 'active')).orderBy(desc(pushCertificates.createdAt)).limit(1).get();
    },
    retireActive(): number {
      return db.update(pushCertificates).set({ status: 'retired' }).where(eq(pushCertificates.status, 'active')).run().changes;
    },
    insert(row: typeof pushCertificates.$inferInsert) {
      db.insert(pushCertificates).values(row).run();
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
  };
}

export type PushRepo = ReturnType<typeof createPushRepo>;

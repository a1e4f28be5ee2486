import { desc, eq } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { pushCertificates, pushCsrs, pushVendorCertificates } from './tables.ts';

export type PushCertificateRow = typeof pushCertificates.$inferSelect;
export type PushCsrRow = typeof pushCsrs.$inferSelect;
export type PushVendorRow = typeof pushVendorCertificates.$inferSelect;

export function createPushRepo(db: Db) {
  return {
    /** Imports leave at most one active row; newest first keeps the answer defined even if that were broken by hand. */
    active(): PushCertificateRow | undefined {
      return db.select().from(pushCertificates).where(eq(pushCertificates.status, 'active')).orderBy(desc(pushCertificates.createdAt)).limit(1).get();
    },
    /** Only the id: polled for changes made by another process, without reading the certificate and sealed key. */
    activeId(): string | null {
      const row = db
        .select({ id: pushCertificates.id })
        .from(pushCertificates)
        .where(eq(pushCertificates.status, 'active'))
        .orderBy(desc(pushCertificates.createdAt))
        .limit(1)
        .get();
      return row?.id ?? null;
    },
    retireActive(): number {
      return db.update(pushCertificates).set({ status: 'retired' }).where(eq(pushCertificates.status, 'active')).run().changes;
    },
    insert(row: typeof pushCertificates.$inferInsert) {
      db.insert(pushCertificates).values(row).run();
    },

    pendingCsr(): PushCsrRow | undefined {
      return db.select().from(pushCsrs).where(eq(pushCsrs.status, 'pending')).orderBy(desc(pushCsrs.createdAt)).limit(1).get();
    },
    /** Every CSR, newest first: the candidates an issued certificate is matched against. */
    csrs(): PushCsrRow[] {
      return db.select().from(pushCsrs).orderBy(desc(pushCsrs.createdAt)).all();
    },
    supersedePendingCsrs(): number {
      return db.update(pushCsrs).set({ status: 'superseded' }).where(eq(pushCsrs.status, 'pending')).run().changes;
    },
    insertCsr(row: typeof pushCsrs.$inferInsert) {
      db.insert(pushCsrs).values(row).run();
    },
    markCsrIssued(id: string, certificateId: string) {
      db.update(pushCsrs).set({ status: 'issued', certificateId }).where(eq(pushCsrs.id, id)).run();
    },

    activeVendor(): PushVendorRow | undefined {
      return db
        .select()
        .from(pushVendorCertificates)
        .where(eq(pushVendorCertificates.status, 'active'))
        .orderBy(desc(pushVendorCertificates.createdAt))
        .limit(1)
        .get();
    },
    retireActiveVendor(): number {
      return db.update(pushVendorCertificates).set({ status: 'retired' }).where(eq(pushVendorCertificates.status, 'active')).run().changes;
    },
    insertVendor(row: typeof pushVendorCertificates.$inferInsert) {
      db.insert(pushVendorCertificates).values(row).run();
    },

    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
  };
}

export type PushRepo = ReturnType<typeof createPushRepo>;

import { and, desc, eq, getTableColumns, gt, isNull, lt, sql } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { certificates, pkiAuthorities, pkiCrls, scepChallenges } from './tables.ts';

export type AuthorityName = (typeof pkiAuthorities.$inferSelect)['name'];
export type CertificateRow = typeof certificates.$inferSelect;

export function createPkiRepo(db: Db) {
  // Prepared once: these run on every enrollment, where building the query each time showed in profiles.
  const byScepRequest = db.select().from(certificates).where(eq(certificates.scepRequestId, sql.placeholder('id'))).prepare();
  const bySerial = db.select().from(certificates).where(eq(certificates.serial, sql.placeholder('serial'))).prepare();
  // Prepared once (drizzle builds an insert in ~120 µs, a tenth of an enrollment): every column is
  // a placeholder, so the caller's row must be complete.
  const insertCert = db
    .insert(certificates)
    .values(
      Object.fromEntries(Object.keys(getTableColumns(certificates)).map((k) => [k, sql.placeholder(k)])) as never,
    )
    .prepare();
  const crlNumber = db.select({ n: sql<number>`max(${pkiCrls.number})` }).from(pkiCrls).prepare();
  const consume = db
    .update(scepChallenges)
    .set({ usedAt: sql`${sql.placeholder('now')}` })
    .where(and(eq(scepChallenges.hash, sql.placeholder('hash')), isNull(scepChallenges.usedAt), gt(scepChallenges.expiresAt, sql.placeholder('now'))))
    .returning({ id: scepChallenges.id })
    .prepare();

  return {
    authority(name: AuthorityName) {
      return db.select().from(pkiAuthorities).where(eq(pkiAuthorities.name, name)).get();
    },
    /** Inserts unless another process got there first; the caller re-reads what won. */
    insertAuthorityIfAbsent(row: typeof pkiAuthorities.$inferInsert) {
      db.insert(pkiAuthorities).values(row).onConflictDoNothing().run();
    },
    replaceAuthority(row: typeof pkiAuthorities.$inferInsert) {
      db.insert(pkiAuthorities)
        .values(row)
        .onConflictDoUpdate({ target: pkiAuthorities.name, set: { certDer: row.certDer, keySealed: row.keySealed, createdAt: row.createdAt } })
        .run();
    },
    /** Records a certificate just issued: valid, never revoked. */
    insertCertificate(row: Omit<CertificateRow, 'status' | 'revokedAt' | 'revocationReason'>) {
      insertCert.run({ ...row, status: 'valid', revokedAt: null, revocationReason: null });
    },
    certificate(serial: string): CertificateRow | undefined {
      return bySerial.get({ serial });
    },
    certificateByScepRequest(scepRequestId: string): CertificateRow | undefined {
      return byScepRequest.get({ id: scepRequestId });
    },
    /** The newest certificate issued for a transaction and key (CertPoll). */
    certificateByScepTransaction(transactionId: string, publicKeySha256: string) {
      return db
        .select()
        .from(certificates)
        .where(and(eq(certificates.scepTransactionId, transactionId), eq(certificates.publicKeySha256, publicKeySha256)))
        .orderBy(desc(certificates.createdAt))
        .limit(1)
        .get();
    },
    listCertificates(opts: { kind?: CertificateRow['kind']; limit: number }) {
      return db
        .select({
          serial: certificates.serial,
          kind: certificates.kind,
          subject: certificates.subject,
          notBefore: certificates.notBefore,
          notAfter: certificates.notAfter,
          status: certificates.status,
          owner: certificates.owner,
          revokedAt: certificates.revokedAt,
        })
        .from(certificates)
        .where(opts.kind ? eq(certificates.kind, opts.kind) : undefined)
        .orderBy(desc(certificates.createdAt))
        .limit(opts.limit)
        .all();
    },
    revoke(serial: string, at: number, reason: number): boolean {
      const r = db
        .update(certificates)
        .set({ status: 'revoked', revokedAt: at, revocationReason: reason })
        .where(and(eq(certificates.serial, serial), eq(certificates.status, 'valid')))
        .run();
      return r.changes === 1;
    },
    /** Revoked certificates still inside their validity: what a CRL must list. */
    revokedUnexpired(now: number) {
      return db
        .select({ serial: certificates.serial, revokedAt: certificates.revokedAt, reason: certificates.revocationReason })
        .from(certificates)
        .where(and(eq(certificates.status, 'revoked'), gt(certificates.notAfter, now)))
        .all();
    },
    /** The number of the newest CRL: it moves with every revocation. */
    crlNumber(): number {
      return crlNumber.get()?.n ?? 0;
    },
    latestCrl() {
      return db.select().from(pkiCrls).orderBy(desc(pkiCrls.number)).limit(1).get();
    },
    insertCrl(row: typeof pkiCrls.$inferInsert) {
      db.insert(pkiCrls).values(row).run();
    },
    insertChallenge(row: typeof scepChallenges.$inferInsert) {
      db.insert(scepChallenges).values(row).run();
    },
    /** Marks a live challenge used; false when it is unknown, used or expired. Atomic in SQLite. */
    consumeChallenge(hash: string, now: number): string | null {
      return consume.get({ hash, now })?.id ?? null;
    },
    recordChallengeUse(id: string, serial: string) {
      db.update(scepChallenges).set({ usedBySerial: serial }).where(eq(scepChallenges.id, id)).run();
    },
    purgeChallenges(before: number) {
      return db.delete(scepChallenges).where(lt(scepChallenges.expiresAt, before)).run().changes;
    },
    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
    countByKind() {
      return db
        .select({ kind: certificates.kind, status: certificates.status, n: sql<number>`count(*)` })
        .from(certificates)
        .groupBy(certificates.kind, certificates.status)
        .all();
    },
  };
}

export type PkiRepo = ReturnType<typeof createPkiRepo>;

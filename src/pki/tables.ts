import { sqliteTable, text, integer, blob, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** The CA's own key pairs: the root CA, the SCEP RA, the appliance's TLS server identity. */
export const pkiAuthorities = sqliteTable('pki_authorities', {
  name: text('name', { enum: ['ca', 'ra', 'tls'] }).primaryKey(),
  certDer: blob('cert_der', { mode: 'buffer' }).notNull(),
  /** PKCS#8 DER sealed with the master key (label `pki:<name>`). */
  keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
});

/** Every certificate the CA has issued, whatever it is for. */
export const certificates = sqliteTable(
  'certificates',
  {
    serial: text('serial').primaryKey(),
    kind: text('kind', { enum: ['ra', 'tls', 'device'] }).notNull(),
    subject: text('subject').notNull(),
    notBefore: integer('not_before', { mode: 'number' }).notNull(),
    notAfter: integer('not_after', { mode: 'number' }).notNull(),
    status: text('status', { enum: ['valid', 'revoked'] }).notNull().default('valid'),
    revokedAt: integer('revoked_at', { mode: 'number' }),
    revocationReason: integer('revocation_reason'),
    /** What the certificate belongs to: `scep:<challenge id>`, `renewal:<old serial>`, `appliance`, later an enrollment id. */
    owner: text('owner'),
    publicKeySha256: text('public_key_sha256').notNull(),
    scepTransactionId: text('scep_transaction_id'),
    /**
     * Identifies the SCEP request that produced the certificate: transactionID, requested key and
     * the certificate being renewed. A retry repeats all three; scepclient derives its
     * transactionID from the key, so a renewal with the same key differs only in the third.
     */
    scepRequestId: text('scep_request_id'),
    renewedFrom: text('renewed_from'),
    der: blob('der', { mode: 'buffer' }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('certificates_scep_request').on(t.scepRequestId),
    index('certificates_scep_txn').on(t.scepTransactionId, t.publicKeySha256),
    index('certificates_status').on(t.status, t.notAfter),
    index('certificates_kind').on(t.kind, t.createdAt),
  ],
);

/** One-time SCEP challenges, stored as SHA-256 of the secret so a database read does not yield usable ones. */
export const scepChallenges = sqliteTable(
  'scep_challenges',
  {
    id: text('id').primaryKey(),
    hash: text('hash').notNull(),
    purpose: text('purpose').notNull().default('cli'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
    usedAt: integer('used_at', { mode: 'number' }),
    usedBySerial: text('used_by_serial'),
  },
  (t) => [uniqueIndex('scep_challenges_hash').on(t.hash), index('scep_challenges_expiry').on(t.expiresAt)],
);

/** Issued CRLs; the highest number is current. The number must never go back, so it lives here. */
export const pkiCrls = sqliteTable('pki_crls', {
  number: integer('number').primaryKey(),
  thisUpdate: integer('this_update', { mode: 'number' }).notNull(),
  nextUpdate: integer('next_update', { mode: 'number' }).notNull(),
  der: blob('der', { mode: 'buffer' }).notNull(),
});

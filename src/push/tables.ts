import { sqliteTable, text, integer, blob, index } from 'drizzle-orm/sqlite-core';

/** Apple MDM push certificates: the active one gives the profiles their Topic and signs APNs connections. */
export const pushCertificates = sqliteTable(
  'push_certificates',
  {
    id: text('id').primaryKey(),
    /** The subject UID (com.apple.mgmt....): every enrolled device subscribes to it. */
    topic: text('topic').notNull(),
    certDer: blob('cert_der', { mode: 'buffer' }).notNull(),
    /** PKCS#8 DER sealed with the master key (label `push:<id>`). */
    keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
    serial: text('serial').notNull(),
    notBefore: integer('not_before', { mode: 'number' }).notNull(),
    notAfter: integer('not_after', { mode: 'number' }).notNull(),
    status: text('status', { enum: ['active', 'retired'] }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('push_certificates_status').on(t.status, t.createdAt)],
);

/**
 * Push CSRs made here: the key stays sealed in this row until Apple's certificate for it is
 * imported, so the admin never handles the push private key. Every row stays matchable (an
 * admin may upload an older CSR, or the same one again on renewal); the newest pending one is
 * what `GET /push/csr` and the signed request use.
 */
export const pushCsrs = sqliteTable(
  'push_csrs',
  {
    id: text('id').primaryKey(),
    /** The subject as `CN=..., emailAddress=...`, for listings. */
    subject: text('subject').notNull(),
    csrDer: blob('csr_der', { mode: 'buffer' }).notNull(),
    /** SubjectPublicKeyInfo DER of the key: an issued certificate is matched to its CSR by it. */
    spkiDer: blob('spki_der', { mode: 'buffer' }).notNull(),
    /** PKCS#8 DER sealed with the master key (label `push-csr:<id>`). */
    keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
    status: text('status', { enum: ['pending', 'superseded', 'issued'] }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    /** The push certificate that was issued for this CSR, once imported. */
    certificateId: text('certificate_id'),
  },
  (t) => [index('push_csrs_status').on(t.status, t.createdAt)],
);

/** The admin's MDM vendor certificate (Apple's "MDM CSR" certificate), which signs push CSRs for Apple's portal. */
export const pushVendorCertificates = sqliteTable(
  'push_vendor_certificates',
  {
    id: text('id').primaryKey(),
    subject: text('subject').notNull(),
    serial: text('serial').notNull(),
    certDer: blob('cert_der', { mode: 'buffer' }).notNull(),
    /** The issuers up to Apple's root, in order, as concatenated DER: Apple's portal wants the whole chain. */
    chainDer: blob('chain_der', { mode: 'buffer' }).notNull(),
    /** PKCS#8 DER sealed with the master key (label `push-vendor:<id>`). */
    keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
    notBefore: integer('not_before', { mode: 'number' }).notNull(),
    notAfter: integer('not_after', { mode: 'number' }).notNull(),
    status: text('status', { enum: ['active', 'retired'] }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('push_vendor_certificates_status').on(t.status, t.createdAt)],
);

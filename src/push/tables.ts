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

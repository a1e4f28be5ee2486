import { sqliteTable, text, integer, blob, index, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** People who use the web console. `read-only` admins see everything and change nothing. */
export const admins = sqliteTable(
  'admins',
  {
    id: text('id').primaryKey(),
    /** Lower-cased: sign-in is case-insensitive on the name. */
    username: text('username').notNull(),
    /** `scrypt$N$r$p$salt$hash` (base64): the parameters travel with the hash so they can be raised later. */
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: ['admin', 'read-only'] }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    /** The TOTP secret once two-factor is on, sealed with the master key (label `admin-totp:<id>`); null while off. */
    totpSecret: blob('totp_secret', { mode: 'buffer' }),
    /** A secret being set up: shown as a QR code, active only once a code from it is typed. Same sealing. */
    totpPending: blob('totp_pending', { mode: 'buffer' }),
    /** The last step whose code was accepted: a code seen once is refused for the rest of its window. */
    totpLastStep: integer('totp_last_step', { mode: 'number' }),
  },
  (t) => [uniqueIndex('admins_username').on(t.username)],
);

/** Console sessions: only the SHA-256 of the cookie's secret is kept, so a database copy logs no one in. */
export const adminSessions = sqliteTable(
  'admin_sessions',
  {
    hash: text('hash').primaryKey(),
    adminId: text('admin_id')
      .notNull()
      .references(() => admins.id, { onDelete: 'cascade' }),
    /** Sent back in every state-changing form and htmx request; not a credential on its own. */
    csrfToken: text('csrf_token').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }).notNull(),
    /** The absolute end, however active the session is. */
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('admin_sessions_expires').on(t.expiresAt), index('admin_sessions_admin').on(t.adminId)],
);

/**
 * A sign-in halfway through: the password was right and the admin has two-factor on, so the
 * code is still wanted. Not a session: it opens nothing but the code form, kept as the SHA-256
 * of its secret, and lasts minutes.
 */
export const adminLoginChallenges = sqliteTable(
  'admin_login_challenges',
  {
    hash: text('hash').primaryKey(),
    adminId: text('admin_id')
      .notNull()
      .references(() => admins.id, { onDelete: 'cascade' }),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('admin_login_challenges_expires').on(t.expiresAt)],
);

/** The one-time URL that creates the first admin; logged at start while there is none. */
export const adminSetupTokens = sqliteTable('admin_setup_tokens', {
  hash: text('hash').primaryKey(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
  expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
});

/** Failed sign-ins, by account and by address: what login throttling counts. */
export const loginFailures = sqliteTable(
  'login_failures',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    username: text('username').notNull(),
    address: text('address').notNull(),
    at: integer('at', { mode: 'number' }).notNull(),
  },
  (t) => [index('login_failures_username').on(t.username, t.at), index('login_failures_address').on(t.address, t.at)],
);

import { sqliteTable, text, integer, blob, primaryKey, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * The Google Cloud service account the appliance calls the Android Management API as. One row:
 * importing a key replaces it. The whole key JSON is sealed; its email and project are kept in
 * the clear to show which account it is without unsealing.
 */
export const androidServiceAccounts = sqliteTable('android_service_accounts', {
  id: text('id').primaryKey(),
  clientEmail: text('client_email').notNull(),
  projectId: text('project_id').notNull(),
  /** The key JSON sealed with the master key (label `android-key:<id>`). */
  keySealed: blob('key_sealed', { mode: 'buffer' }).notNull(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
});

/**
 * Signup URLs made with signupUrls.create. Google adds only enterpriseToken to the callback URL,
 * so the callback URL we give it carries `state`, a random value naming this row: only a signup
 * URL made here, and not yet used, may bind an enterprise.
 */
export const androidSignupUrls = sqliteTable(
  'android_signup_urls',
  {
    /** Google's name, signupUrls/C...: enterprises.create takes it. */
    name: text('name').primaryKey(),
    /** 32 random bytes, base64url, in the callback URL's query. */
    state: text('state').notNull(),
    url: text('url').notNull(),
    projectId: text('project_id').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    /** When Google's callback used it; a second callback for it is refused. */
    usedAt: integer('used_at', { mode: 'number' }),
  },
  (t) => [uniqueIndex('android_signup_urls_state').on(t.state)],
);

/** The enterprise bound through signup (at most one). */
export const androidEnterprises = sqliteTable('android_enterprises', {
  /** Google's name, enterprises/LC... */
  name: text('name').primaryKey(),
  projectId: text('project_id').notNull(),
  displayName: text('display_name'),
  pubsubTopic: text('pubsub_topic'),
  /** JSON array of the notification types enabled at creation. */
  notificationTypes: text('notification_types').notNull(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
});

/** Android policies as Google last returned them, with the version it gave them. */
export const androidPolicies = sqliteTable(
  'android_policies',
  {
    enterpriseName: text('enterprise_name')
      .notNull()
      .references(() => androidEnterprises.name, { onDelete: 'cascade' }),
    /** The last segment of enterprises/E/policies/ID: the name used in the API and CLI. */
    policyId: text('policy_id').notNull(),
    /** The Policy JSON Google returned. */
    policy: text('policy').notNull(),
    /** Google's int64 version, as the decimal string it sends. */
    version: text('version').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.enterpriseName, t.policyId] })],
);

/**
 * Enrollment tokens made here. Google keeps a token until it expires or is deleted and lists only
 * live ones with a partial view, so what it was made for (policy, ownership, user) is kept here;
 * `id` travels in the token's additionalData and comes back on the enrolled Device.
 */
export const androidEnrollmentTokens = sqliteTable('android_enrollment_tokens', {
  id: text('id').primaryKey(),
  enterpriseName: text('enterprise_name')
    .notNull()
    .references(() => androidEnterprises.name, { onDelete: 'cascade' }),
  /** Google's name, enterprises/E/enrollmentTokens/T: what enrollmentTokens.delete takes. */
  name: text('name').notNull(),
  /** The token value a device enrolls with. */
  value: text('value').notNull(),
  /** Google's provisioning JSON, the QR code's content. */
  qrCode: text('qr_code').notNull(),
  policyId: text('policy_id').notNull(),
  ownership: text('ownership', { enum: ['corporate', 'personal'] }).notNull(),
  workProfile: integer('work_profile', { mode: 'boolean' }).notNull(),
  allowPersonalUsage: text('allow_personal_usage').notNull(),
  oneTimeOnly: integer('one_time_only', { mode: 'boolean' }).notNull(),
  userEmail: text('user_email'),
  expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
  /** Deleted at Google; the row stays, since devices enrolled with it still name it. */
  revokedAt: integer('revoked_at', { mode: 'number' }),
});

import { sql } from 'drizzle-orm';
import { sqliteTable, text, integer, blob, index, primaryKey, uniqueIndex } from 'drizzle-orm/sqlite-core';

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

/**
 * Android devices as Google last reported them, beside apple_devices in the one device list. The
 * id is ours (random, so it never meets an Apple UDID); Google's name is unique. Facts the list
 * and search need are columns; Google's hardware and software reports are kept whole as JSON.
 */
export const androidDevices = sqliteTable(
  'android_devices',
  {
    id: text('id').primaryKey(),
    /** Google's name, enterprises/E/devices/D. */
    name: text('name').notNull(),
    enterpriseName: text('enterprise_name').notNull(),
    /** Google's Device.state: ACTIVE, DISABLED, DELETED, PROVISIONING, LOST, PREPARING_FOR_MIGRATION, ... */
    state: text('state'),
    /** Ours: `removed` once Google no longer lists it, it was deleted or wiped from here; never undone for the same name. */
    status: text('status', { enum: ['enrolled', 'removed'] }).notNull(),
    ownership: text('ownership', { enum: ['corporate', 'personal'] }),
    /** DEVICE_OWNER (fully managed) or PROFILE_OWNER (work profile). */
    managementMode: text('management_mode'),
    userEmail: text('user_email'),
    /** Our enrollment token record the device enrolled with (its additionalData). */
    enrollmentTokenId: text('enrollment_token_id'),
    serialNumber: text('serial_number'),
    deviceName: text('device_name'),
    model: text('model'),
    brand: text('brand'),
    manufacturer: text('manufacturer'),
    androidVersion: text('android_version'),
    securityPatchLevel: text('security_patch_level'),
    apiLevel: integer('api_level'),
    policyName: text('policy_name'),
    appliedPolicyName: text('applied_policy_name'),
    appliedPolicyVersion: text('applied_policy_version'),
    appliedState: text('applied_state'),
    policyCompliant: integer('policy_compliant', { mode: 'boolean' }),
    nonComplianceDetails: text('non_compliance_details', { mode: 'json' }),
    hardwareInfo: text('hardware_info', { mode: 'json' }),
    softwareInfo: text('software_info', { mode: 'json' }),
    lastStatusReportAt: integer('last_status_report_at', { mode: 'number' }),
    lastPolicySyncAt: integer('last_policy_sync_at', { mode: 'number' }),
    enrolledAt: integer('enrolled_at', { mode: 'number' }),
    /**
     * How new the stored report is (the report's lastStatusReportTime, else its enrollmentTime): a
     * notification or page older than this is ignored, so a late or replayed one never regresses it.
     */
    reportedAt: integer('reported_at', { mode: 'number' }).notNull(),
    removedAt: integer('removed_at', { mode: 'number' }),
    /** The last reconcile that saw it in devices.list. */
    seenInListAt: integer('seen_in_list_at', { mode: 'number' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('android_devices_name').on(t.name),
    index('android_devices_status').on(t.status, t.id),
    // The console's search: case-insensitive prefix ranges, one index each (as apple_devices).
    index('android_devices_name_lower').on(sql`lower(${t.deviceName})`),
    index('android_devices_serial_lower').on(sql`lower(${t.serialNumber})`),
    index('android_devices_model_lower').on(sql`lower(${t.model})`),
    index('android_devices_user_email_lower').on(sql`lower(${t.userEmail})`),
    // The device-trust lookup (GET /api/v1/compliance?enterprise_id=): the id lives in Google's hardwareInfo.
    index('android_devices_enterprise_specific_id').on(sql`json_extract(${t.hardwareInfo}, '$.enterpriseSpecificId')`),
    // The devices list sorted by these (src/devices/fleet-branches.ts): (key, id), written as the queries write them.
    index('android_devices_sort_name').on(sql`lower(coalesce(${t.deviceName}, ''))`, t.id),
    index('android_devices_sort_model').on(sql`lower(coalesce(${t.manufacturer}, ${t.model}, ''))`, t.id),
    index('android_devices_sort_os').on(
      sql`printf('%s %05d %05d %s', 'android', CAST(${t.androidVersion} AS INTEGER), iif(instr(${t.androidVersion}, '.') > 0, CAST(substr(${t.androidVersion}, instr(${t.androidVersion}, '.') + 1) AS INTEGER), 0), ${t.androidVersion})`,
      t.id,
    ),
    index('android_devices_sort_enrolled').on(sql`coalesce(${t.enrolledAt}, -1)`, t.id),
    index('android_devices_sort_last_seen').on(sql`coalesce(${t.lastStatusReportAt}, -1)`, t.id),
  ],
);

/** Commands sent with devices.issueCommand, and the Operation Google tracks each by, to done. */
export const androidCommands = sqliteTable(
  'android_commands',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id').notNull(),
    /** LOCK, RESET_PASSWORD, REBOOT, ... */
    type: text('type').notNull(),
    /** What was asked, without secrets (a new password is never stored). */
    params: text('params', { mode: 'json' }),
    /** Google's Operation name; null until issueCommand answered. */
    operationName: text('operation_name'),
    status: text('status', { enum: ['sending', 'sent', 'done', 'error'] }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    /** The Operation's metadata (the Command with its status fields) when it finished. */
    result: text('result', { mode: 'json' }),
    createdBy: text('created_by'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('android_commands_device').on(t.deviceId, t.createdAt), uniqueIndex('android_commands_operation').on(t.operationName), index('android_commands_status').on(t.status)],
);

/**
 * The AMAPI policies the appliance keeps for its own policies: one per (policy, ownership), named
 * enterprises/E/policies/mdm-<policy id>-<corporate|personal>, patched once per new version of
 * ours whatever the number of devices on it. `sentVersion` is our version Google accepted,
 * `googleVersion` the version it gave; an error is kept until the next attempt succeeds.
 */
export const androidPolicyBuckets = sqliteTable('android_policy_buckets', {
  name: text('name').primaryKey(),
  enterpriseName: text('enterprise_name').notNull(),
  policyId: text('policy_id').notNull(),
  ownership: text('ownership', { enum: ['corporate', 'personal'] }).notNull(),
  sentVersion: integer('sent_version'),
  googleVersion: text('google_version'),
  errorCode: text('error_code'),
  errorMessage: text('error_message'),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});

/**
 * Per Android device, the policy we asked Google to put it on: ours (policy id and version, on
 * its bucket's AMAPI policy) or, once none of ours applies, back the one it enrolled with
 * (`enrolledPolicyName`, kept from before our first change). `status` error: the last attempt
 * failed (no enterprise, Google refused); the periodic sync tries again.
 */
export const androidPolicyTargets = sqliteTable(
  'android_policy_targets',
  {
    deviceId: text('device_id').primaryKey(),
    enrolledPolicyName: text('enrolled_policy_name'),
    policyId: text('policy_id'),
    policyVersion: integer('policy_version'),
    policyName: text('policy_name'),
    status: text('status', { enum: ['applied', 'error'] }).notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('android_policy_targets_status').on(t.status)],
);

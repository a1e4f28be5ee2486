import { sql } from 'drizzle-orm';
import { sqliteTable, text, integer, blob, index, uniqueIndex, primaryKey } from 'drizzle-orm/sqlite-core';

/** Single-use enrollment links (`/enroll/<token>`), each bound to the SCEP challenge its profile carries. */
export const enrollmentTokens = sqliteTable(
  'enrollment_tokens',
  {
    id: text('id').primaryKey(),
    hash: text('hash').notNull(),
    userEmail: text('user_email'),
    ownership: text('ownership', { enum: ['corporate', 'personal'] }).notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
    /** When the profile was downloaded: the link is spent then. */
    usedAt: integer('used_at', { mode: 'number' }),
    /** The one-time SCEP challenge minted into the profile. */
    challengeId: text('challenge_id'),
    /** The device enrollment that completed with this link. */
    enrollmentId: text('enrollment_id'),
  },
  (t) => [uniqueIndex('enrollment_tokens_hash').on(t.hash)],
);

/**
 * One MDM channel of a device: the device channel (UDID, or EnrollmentID for User Enrollment)
 * or a user channel (`UDID:UserID`).
 */
export const appleEnrollments = sqliteTable(
  'apple_enrollments',
  {
    id: text('id').primaryKey(),
    type: text('type', { enum: ['device', 'user', 'user-enrollment-device', 'user-enrollment-user'] }).notNull(),
    /** The device record this channel belongs to (its own id for device channels). */
    deviceId: text('device_id').notNull(),
    /** `removed`: an admin took the device out of management; it is told to unenroll when it next calls. */
    status: text('status', { enum: ['pending', 'enrolled', 'unenrolled', 'removed'] }).notNull(),
    /** SHA-256 (hex) of the identity certificate bound at Authenticate. */
    certSha256: text('cert_sha256'),
    topic: text('topic'),
    pushToken: text('push_token'),
    pushMagic: text('push_magic'),
    unlockTokenSealed: blob('unlock_token_sealed', { mode: 'buffer' }),
    bootstrapTokenSealed: blob('bootstrap_token_sealed', { mode: 'buffer' }),
    userShortName: text('user_short_name'),
    userLongName: text('user_long_name'),
    enrollmentTokenId: text('enrollment_token_id'),
    ownership: text('ownership', { enum: ['corporate', 'personal'] }).notNull().default('corporate'),
    userEmail: text('user_email'),
    authenticatedAt: integer('authenticated_at', { mode: 'number' }),
    enrolledAt: integer('enrolled_at', { mode: 'number' }),
    unenrolledAt: integer('unenrolled_at', { mode: 'number' }),
    tokenUpdatedAt: integer('token_updated_at', { mode: 'number' }),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }),
    /** The last APNs push to this channel: when, and `ok` or APNs's (or the client's) reason. */
    lastPushAt: integer('last_push_at', { mode: 'number' }),
    lastPushResult: text('last_push_result'),
    /** A permanent APNs refusal (Unregistered, BadDeviceToken, ...): no pushes until the next TokenUpdate. */
    pushBlocked: text('push_blocked'),
    /** An admin retired the device (its managed profiles and the MDM profile are being removed): policies leave it alone. */
    retireRequestedAt: integer('retire_requested_at', { mode: 'number' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('apple_enrollments_device').on(t.deviceId),
    index('apple_enrollments_cert').on(t.certSha256),
    index('apple_enrollments_status').on(t.status, t.lastSeenAt),
    // The console: recent enrollments on the dashboard, search by user.
    index('apple_enrollments_enrolled_at').on(t.enrolledAt),
    index('apple_enrollments_user_email').on(sql`lower(${t.userEmail})`),
    // The devices list sorted by these (src/devices/fleet-branches.ts): (key, id), NULL as -1, as the queries say it.
    index('apple_enrollments_sort_enrolled').on(sql`coalesce(${t.enrolledAt}, -1)`, t.id),
    index('apple_enrollments_sort_last_seen').on(sql`coalesce(${t.lastSeenAt}, -1)`, t.id),
  ],
);

/** What a device told us about itself: facts from check-ins and parsed inventory. */
export const appleDevices = sqliteTable(
  'apple_devices',
  {
    id: text('id').primaryKey(),
    udid: text('udid'),
    serialNumber: text('serial_number'),
    deviceName: text('device_name'),
    model: text('model'),
    modelName: text('model_name'),
    productName: text('product_name'),
    osVersion: text('os_version'),
    buildVersion: text('build_version'),
    /** ios, ipados, macos, tvos, visionos, watchos: from ProductName/Model. */
    platform: text('platform'),
    /** JSON of the latest parsed responses: DeviceInformation, SecurityInfo, apps, profiles, certificates. */
    deviceInformation: text('device_information', { mode: 'json' }),
    securityInfo: text('security_info', { mode: 'json' }),
    installedApps: text('installed_apps', { mode: 'json' }),
    profiles: text('profiles', { mode: 'json' }),
    certificates: text('certificates', { mode: 'json' }),
    inventoryUpdatedAt: integer('inventory_updated_at', { mode: 'number' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('apple_devices_serial').on(t.serialNumber),
    // The device-trust lookup (GET /api/v1/compliance?udid=).
    index('apple_devices_udid').on(t.udid),
    // The console's search: case-insensitive prefix ranges over these, one index each.
    index('apple_devices_name_lower').on(sql`lower(${t.deviceName})`),
    index('apple_devices_serial_lower').on(sql`lower(${t.serialNumber})`),
    index('apple_devices_model_lower').on(sql`lower(${t.model})`),
    index('apple_devices_model_name_lower').on(sql`lower(${t.modelName})`),
    // (platform, id): a platform filter reads its devices already in the list's id order.
    index('apple_devices_platform').on(t.platform, t.id),
    // The devices list sorted by these (src/devices/fleet-branches.ts): (key, id), written as the queries write them.
    index('apple_devices_sort_name').on(sql`lower(coalesce(${t.deviceName}, ''))`, t.id),
    index('apple_devices_sort_model').on(sql`lower(coalesce(${t.modelName}, ${t.model}, ''))`, t.id),
    index('apple_devices_sort_os').on(
      sql`printf('%s %05d %05d %s', ${t.platform}, CAST(${t.osVersion} AS INTEGER), iif(instr(${t.osVersion}, '.') > 0, CAST(substr(${t.osVersion}, instr(${t.osVersion}, '.') + 1) AS INTEGER), 0), ${t.osVersion})`,
      t.id,
    ),
  ],
);

/** A command as queued: its plist is built and validated once, whatever the number of targets. */
export const appleCommands = sqliteTable(
  'apple_commands',
  {
    uuid: text('uuid').primaryKey(),
    requestType: text('request_type').notNull(),
    /** The full command plist (XML) sent to devices, CommandUUID included. */
    plist: blob('plist', { mode: 'buffer' }).notNull(),
    /** The parameters as given, for display and audit. */
    params: text('params', { mode: 'json' }),
    priority: integer('priority').notNull().default(0),
    createdBy: text('created_by'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'number' }),
  },
  (t) => [index('apple_commands_created').on(t.createdAt)],
);

/** The queue: one row per command and enrollment, with the device's answer. */
export const appleCommandTargets = sqliteTable(
  'apple_command_targets',
  {
    commandUuid: text('command_uuid').notNull(),
    enrollmentId: text('enrollment_id').notNull(),
    status: text('status', { enum: ['pending', 'sent', 'not_now', 'acknowledged', 'error', 'command_format_error', 'cancelled', 'expired'] }).notNull(),
    /** Copied from the command so the next-command query is one index range. */
    priority: integer('priority').notNull(),
    queuedAt: integer('queued_at', { mode: 'number' }).notNull(),
    resultPlist: blob('result_plist', { mode: 'buffer' }),
    result: text('result', { mode: 'json' }),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.commandUuid, t.enrollmentId] }),
    // The next-command lookup per status reads this index in order: no sort, however long the queue.
    index('apple_command_targets_queue').on(t.enrollmentId, t.status, sql`${t.priority} DESC`, t.queuedAt),
  ],
);

/**
 * The policy profiles this server asked a device to have: one row per device and profile
 * identifier (one per policy). `pending` until the device answers the InstallProfile, then
 * `installed` or `failed` with the device's error; `removing` while a RemoveProfile is out
 * (`remove_failed` when refused). A removed profile's row is deleted: what is not here, we
 * did not put there.
 */
export const applePolicyProfiles = sqliteTable(
  'apple_policy_profiles',
  {
    deviceId: text('device_id').notNull(),
    /** The profile's PayloadIdentifier. */
    identifier: text('identifier').notNull(),
    policyId: text('policy_id').notNull(),
    policyName: text('policy_name').notNull(),
    policyVersion: integer('policy_version').notNull(),
    state: text('state', { enum: ['pending', 'installed', 'failed', 'removing', 'remove_failed'] }).notNull(),
    /** The InstallProfile or RemoveProfile that decides the state: answers to any other are stale. */
    commandUuid: text('command_uuid').notNull(),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.identifier] })],
);

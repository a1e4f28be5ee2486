import { integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

/**
 * The app catalog: the company's apps and where each comes from — Apple's App Store (bundle id,
 * and the iTunes store id a Mac needs), an enterprise app's manifest URL, or Google Play.
 * Policies name apps by bundle id or package name; the catalog says how to install them.
 */
export const apps = sqliteTable(
  'apps',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    platform: text('platform', { enum: ['apple', 'android'] }).notNull(),
    source: text('source', { enum: ['app_store', 'enterprise', 'play'] }).notNull(),
    /** The bundle id (Apple) or package name (Android). */
    identifier: text('identifier').notNull(),
    itunesStoreId: integer('itunes_store_id'),
    manifestUrl: text('manifest_url'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('apps_platform_identifier').on(t.platform, t.identifier)],
);

/**
 * The apps this server installed on an Apple device as managed apps: one row per device and
 * bundle id. `pending` until the device answers InstallApplication, then `installing` (the
 * device's State: Queued, Prompting, Installing...) or `installed` (Managed), or `failed` with
 * the device's error; `removing` while a RemoveApplication is out. A removed app's row is deleted.
 */
export const appleManagedApps = sqliteTable(
  'apple_managed_apps',
  {
    deviceId: text('device_id').notNull(),
    bundleId: text('bundle_id').notNull(),
    state: text('state', { enum: ['pending', 'installing', 'installed', 'failed', 'removing', 'remove_failed'] }).notNull(),
    /** The InstallApplication or RemoveApplication that decides the state. */
    commandUuid: text('command_uuid').notNull(),
    /** What the device last said of the install (its State). */
    deviceState: text('device_state'),
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.bundleId] })],
);

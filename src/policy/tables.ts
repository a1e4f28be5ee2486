import { sqliteTable, text, integer, index, primaryKey, uniqueIndex } from 'drizzle-orm/sqlite-core';

/** A named policy; its settings live in its versions, the latest being `currentVersion`. */
export const policies = sqliteTable('policies', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  description: text('description'),
  currentVersion: integer('current_version').notNull(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});

/** Every document a policy ever had, never changed once written: what a device got can be read back. */
export const policyVersions = sqliteTable(
  'policy_versions',
  {
    policyId: text('policy_id')
      .notNull()
      .references(() => policies.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    /** The PolicyDocument as JSON, defaults filled in. */
    document: text('document').notNull(),
    createdBy: text('created_by'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.policyId, t.version] })],
);

/** A group an admin made by hand; members are device ids of either platform. */
export const deviceGroups = sqliteTable('device_groups', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
});

export const deviceGroupMembers = sqliteTable(
  'device_group_members',
  {
    groupId: text('group_id')
      .notNull()
      .references(() => deviceGroups.id, { onDelete: 'cascade' }),
    /** apple_devices.id or android_devices.id. */
    deviceId: text('device_id').notNull(),
    addedAt: integer('added_at', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.deviceId] }), index('device_group_members_device').on(t.deviceId)],
);

/**
 * A policy applied to a target: every device, an ownership, a platform or a group. `value` is the
 * ownership or platform; `groupId` the group (so deleting a group drops its assignments).
 */
export const policyAssignments = sqliteTable(
  'policy_assignments',
  {
    id: text('id').primaryKey(),
    policyId: text('policy_id')
      .notNull()
      .references(() => policies.id, { onDelete: 'cascade' }),
    target: text('target', { enum: ['all', 'ownership', 'platform', 'group'] }).notNull(),
    value: text('value'),
    groupId: text('group_id').references(() => deviceGroups.id, { onDelete: 'cascade' }),
    priority: integer('priority').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    // One assignment per policy and target: a second would only blur which priority counts.
    uniqueIndex('policy_assignments_target').on(t.policyId, t.target, t.value, t.groupId),
    index('policy_assignments_group').on(t.groupId),
  ],
);

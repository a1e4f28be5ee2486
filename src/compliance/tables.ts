import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * Each device's compliance with its effective policy, from what it last reported: Apple and
 * Android alike (ids share one space). `failingRules` is a JSON array of { id, message, ... }.
 */
export const deviceCompliance = sqliteTable(
  'device_compliance',
  {
    deviceId: text('device_id').primaryKey(),
    platform: text('platform'),
    state: text('state', { enum: ['compliant', 'noncompliant', 'unknown'] }).notNull(),
    /** no_policy: compliant because no policy of ours applies. */
    reason: text('reason'),
    failingRules: text('failing_rules', { mode: 'json' }).notNull(),
    policyId: text('policy_id'),
    policyVersion: integer('policy_version'),
    evaluatedAt: integer('evaluated_at', { mode: 'number' }).notNull(),
    /** When the state or the failing rules last changed. */
    changedAt: integer('changed_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    // (state, device_id): a state's devices in id order, for the devices list's filter and sort.
    index('device_compliance_state').on(t.state, t.deviceId),
    // (device_id, state): a device's state without reading its row (the rules are its bulk), for
    // the list's column and filters and the dashboard's pass over every device.
    index('device_compliance_device_state').on(t.deviceId, t.state),
  ],
);

/** Changes only: a state flip or a different set of failing rules. Capped per device. */
export const complianceEvents = sqliteTable(
  'compliance_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    deviceId: text('device_id').notNull(),
    state: text('state').notNull(),
    previousState: text('previous_state'),
    failingRules: text('failing_rules', { mode: 'json' }).notNull(),
    policyId: text('policy_id'),
    policyVersion: integer('policy_version'),
    at: integer('at', { mode: 'number' }).notNull(),
  },
  (t) => [index('compliance_events_device').on(t.deviceId, t.id)],
);

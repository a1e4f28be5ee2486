import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core';

/**
 * The audit log: one row per state change made by an admin, an API token or the command line.
 * Append-only: nothing updates or deletes a row. `id` orders it (newest first is `id DESC`), so
 * pages are keyset pages on `id`; every index ends in `id` for that reason.
 */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    at: integer('at', { mode: 'number' }).notNull(),
    actorKind: text('actor_kind', { enum: ['admin', 'api_token', 'system'] }).notNull(),
    /** The admin's or token's id; null for the command line and for a sign-in under an unknown name. */
    actorId: text('actor_id'),
    /** The admin's username or the token's name as they were then: either may change or go later. */
    actorName: text('actor_name').notNull(),
    /** A stable dotted name: `device.lock`, `api_token.create`, `admin.login.failed`... */
    action: text('action').notNull(),
    targetType: text('target_type'),
    targetId: text('target_id'),
    targetLabel: text('target_label'),
    /** The client's address (the socket's peer, or what a trusted proxy names); null from the command line. */
    address: text('address'),
    /** What else tells the change apart (a command's type, a role...); never a secret. */
    details: text('details', { mode: 'json' }).$type<Record<string, unknown>>(),
  },
  (t) => [
    index('audit_events_at').on(t.at),
    index('audit_events_actor').on(t.actorName, t.id),
    index('audit_events_action').on(t.action, t.id),
    index('audit_events_target').on(t.targetId, t.id),
    index('audit_events_target_label').on(t.targetLabel, t.id),
  ],
);

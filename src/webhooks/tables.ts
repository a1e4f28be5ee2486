import { sqliteTable, text, integer, blob, index } from 'drizzle-orm/sqlite-core';

/** Where admins want events sent. The signing secret is sealed: it must be read back to sign. */
export const webhooks = sqliteTable('webhooks', {
  id: text('id').primaryKey(),
  url: text('url').notNull(),
  /** JSON array of event types. */
  events: text('events').notNull(),
  description: text('description'),
  enabled: integer('enabled', { mode: 'boolean' }).notNull(),
  /** HMAC-SHA256 key, sealed with the master key (label `webhook:<id>`). */
  secretSealed: blob('secret_sealed', { mode: 'buffer' }).notNull(),
  createdBy: text('created_by'),
  createdAt: integer('created_at', { mode: 'number' }).notNull(),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});

/** One event for one webhook: its body as sent, every attempt's outcome, the next try. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    id: text('id').primaryKey(),
    webhookId: text('webhook_id')
      .notNull()
      .references(() => webhooks.id, { onDelete: 'cascade' }),
    /** The event's id: the same for every webhook it went to, so a receiver can deduplicate. */
    eventId: text('event_id').notNull(),
    eventType: text('event_type').notNull(),
    /** The JSON body, exactly as signed and sent. */
    body: text('body').notNull(),
    status: text('status', { enum: ['pending', 'delivered', 'failed'] }).notNull(),
    attempts: integer('attempts').notNull(),
    nextAttemptAt: integer('next_attempt_at', { mode: 'number' }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('webhook_deliveries_due').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_webhook').on(t.webhookId, t.createdAt),
  ],
);

import { and, desc, eq, lt, lte, or } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { webhookDeliveries, webhooks } from './tables.ts';

export type WebhookRow = typeof webhooks.$inferSelect;
export type DeliveryRow = typeof webhookDeliveries.$inferSelect;

export function createWebhookRepo(db: Db) {
  const sqlite = db.$client;
  // Read on every event: a prepared statement over a table of a handful of rows.
  const enabled = sqlite.prepare('SELECT id, events FROM webhooks WHERE enabled = 1');
  return {
    transaction: <T>(fn: () => T): T => sqlite.transaction(fn)(),
    insert(row: WebhookRow): void {
      db.insert(webhooks).values(row).run();
    },
    update(id: string, set: Partial<WebhookRow>): void {
      db.update(webhooks).set(set).where(eq(webhooks.id, id)).run();
    },
    delete(id: string): boolean {
      return db.delete(webhooks).where(eq(webhooks.id, id)).run().changes > 0;
    },
    get(id: string): WebhookRow | undefined {
      return db.select().from(webhooks).where(eq(webhooks.id, id)).get();
    },
    list(): WebhookRow[] {
      return db.select().from(webhooks).orderBy(webhooks.createdAt, webhooks.id).all();
    },
    subscribers(): Array<{ id: string; events: string }> {
      return enabled.all() as Array<{ id: string; events: string }>;
    },
    insertDeliveries(rows: DeliveryRow[]): void {
      if (rows.length) db.insert(webhookDeliveries).values(rows).run();
    },
    delivery(id: string): DeliveryRow | undefined {
      return db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)).get();
    },
    /** Pending deliveries due by `now`, oldest first, with the webhook's URL and sealed secret. */
    due(now: number, limit: number) {
      return db
        .select({ delivery: webhookDeliveries, url: webhooks.url, secretSealed: webhooks.secretSealed, enabled: webhooks.enabled })
        .from(webhookDeliveries)
        .innerJoin(webhooks, eq(webhooks.id, webhookDeliveries.webhookId))
        .where(and(eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now), eq(webhooks.enabled, true)))
        .orderBy(webhookDeliveries.nextAttemptAt)
        .limit(limit)
        .all();
    },
    updateDelivery(id: string, set: Partial<DeliveryRow>): void {
      db.update(webhookDeliveries).set(set).where(eq(webhookDeliveries.id, id)).run();
    },
    /** A webhook's deliveries, newest first; keyset: those created before (`beforeAt`, `beforeId`). */
    deliveries(webhookId: string, o: { limit: number; status?: DeliveryRow['status']; before?: { at: number; id: string } }): DeliveryRow[] {
      const d = webhookDeliveries;
      return db
        .select()
        .from(d)
        .where(
          and(
            eq(d.webhookId, webhookId),
            o.status ? eq(d.status, o.status) : undefined,
            o.before ? or(lt(d.createdAt, o.before.at), and(eq(d.createdAt, o.before.at), lt(d.id, o.before.id))) : undefined,
          ),
        )
        .orderBy(desc(d.createdAt), desc(d.id))
        .limit(o.limit)
        .all();
    },
    /** Drops finished deliveries older than `before`: the log is for recent trouble, not an archive. */
    prune(before: number): number {
      return db
        .delete(webhookDeliveries)
        .where(and(or(eq(webhookDeliveries.status, 'delivered'), eq(webhookDeliveries.status, 'failed')), lt(webhookDeliveries.updatedAt, before)))
        .run().changes;
    },
  };
}

export type WebhookRepo = ReturnType<typeof createWebhookRepo>;

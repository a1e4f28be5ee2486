import { and, desc, eq, gte, lt, lte, or, type SQL } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { auditEvents } from './tables.ts';

export type AuditRow = typeof auditEvents.$inferSelect;
export type AuditInsert = typeof auditEvents.$inferInsert;

export interface AuditQuery {
  actor?: string;
  /** `device` matches `device` and `device.lock`, not `devices`. */
  action?: string;
  /** A target's id or its label. */
  target?: string;
  from?: number;
  to?: number;
  /** Rows older than this id (the last id of the previous page). */
  beforeId?: number;
  limit: number;
}

export function createAuditRepo(db: Db) {
  return {
    insert(row: AuditInsert) {
      db.insert(auditEvents).values(row).run();
    },
    /** Newest first. The action prefix is a range (`device.` to `device/`), so the index serves it. */
    list(q: AuditQuery): AuditRow[] {
      const where: Array<SQL | undefined> = [];
      if (q.actor) where.push(eq(auditEvents.actorName, q.actor));
      if (q.action) where.push(or(eq(auditEvents.action, q.action), and(gte(auditEvents.action, `${q.action}.`), lt(auditEvents.action, `${q.action}/`))));
      if (q.target) where.push(or(eq(auditEvents.targetId, q.target), eq(auditEvents.targetLabel, q.target)));
      if (q.from !== undefined) where.push(gte(auditEvents.at, q.from));
      if (q.to !== undefined) where.push(lte(auditEvents.at, q.to));
      if (q.beforeId !== undefined) where.push(lt(auditEvents.id, q.beforeId));
      return db
        .select()
        .from(auditEvents)
        .where(and(...where))
        .orderBy(desc(auditEvents.id))
        .limit(q.limit)
        .all();
    },
  };
}

export type AuditRepo = ReturnType<typeof createAuditRepo>;

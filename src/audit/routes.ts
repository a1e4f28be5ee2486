import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, parseWith } from '../api/http.ts';
import { clientAddress } from '../http/client-address.ts';
import { auditFilters } from './query.ts';
import type { Actor, Audit, AuditEntry } from './service.ts';

/** The caller of an API request: its token, from the client's address. */
export function apiActor(c: Context, token: { id: string; name: string }, trustedProxies: string[]): Actor {
  return { kind: 'api_token', id: token.id, name: token.name, address: clientAddress(c, trustedProxies) };
}

export const auditJson = (e: AuditEntry) => ({
  id: e.id,
  at: iso(e.at),
  actor: { kind: e.actorKind, id: e.actorId, name: e.actorName },
  action: e.action,
  target: e.targetType === null ? null : { type: e.targetType, id: e.targetId, label: e.targetLabel },
  address: e.address,
  details: e.details ?? null,
});

/** Opaque to clients; inside, the id the next page starts below. */
const cursor = {
  encode: (before: number) => Buffer.from(JSON.stringify({ before })).toString('base64url'),
  schema: z.string().transform((s, ctx) => {
    try {
      return z.object({ before: z.number().int().positive() }).parse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8'))).before;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not a cursor from this API: pass next_cursor as it came' });
      return z.NEVER;
    }
  }),
};

export const listQuery = auditFilters.extend({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: cursor.schema.optional(),
});

/** `GET /api/v1/audit`: the audit log, newest first, with the console's filters and a cursor. */
export function auditApiRoutes(audit: Audit) {
  const app = new Hono<ApiEnv>();
  app.get('/audit', (c) => {
    const q = parseWith(listQuery, c.req.query(), 'query');
    const page = audit.page({ ...q, beforeId: q.cursor, limit: q.limit });
    return c.json({ events: page.entries.map(auditJson), next_cursor: page.nextBefore === null ? null : cursor.encode(page.nextBefore) });
  });
  return app;
}

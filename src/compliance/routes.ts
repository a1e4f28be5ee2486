import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiEnv } from '../api/auth.ts';
import { iso, parseWith } from '../api/http.ts';
import { AppError } from '../errors.ts';
import type { ComplianceEventRow } from './repo.ts';
import type { Compliance } from './service.ts';

/** The timeline cursor is the id of the last entry shown, opaque to clients. */
const cursor = z.string().transform((s, ctx) => {
  const n = /^c(\d{1,15})$/.exec(Buffer.from(s, 'base64url').toString('utf8'));
  if (!n) {
    ctx.addIssue({ code: 'custom', message: 'not a cursor from this API: pass next_cursor as it came' });
    return z.NEVER;
  }
  return Number(n[1]);
});
const encodeCursor = (id: number) => Buffer.from(`c${id}`).toString('base64url');

export const ComplianceQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(20),
  cursor: cursor.optional(),
});

const key = z.string().trim().min(1).max(200);
export const LookupQuery = z.strictObject({ serial: key.optional(), udid: key.optional(), enterprise_id: key.optional() });

const eventJson = (e: ComplianceEventRow) => ({
  state: e.state,
  previous_state: e.previousState,
  failing_rules: e.failingRules,
  policy: e.policyId ? { id: e.policyId, version: e.policyVersion } : null,
  at: iso(e.at),
});

/** `/api/v1/devices/:id/compliance` and `/api/v1/compliance?serial|udid|enterprise_id=`: read-only, for people and device-trust systems. */
export function complianceRoutes(compliance: Compliance) {
  const app = new Hono<ApiEnv>();

  app.get('/devices/:id/compliance', (c) => {
    const q = parseWith(ComplianceQuery, c.req.query(), 'query');
    const id = c.req.param('id');
    const r = compliance.get(id, { before: q.cursor, limit: q.limit });
    const cur = r.current;
    return c.json({
      device_id: id,
      platform: cur?.platform ?? null,
      // Never evaluated yet (no report, no policy change since it enrolled): not known.
      state: cur?.state ?? 'unknown',
      reason: cur?.reason ?? (cur ? null : 'not_reported'),
      failing_rules: cur?.failingRules ?? [],
      policy: cur?.policyId ? { id: cur.policyId, version: cur.policyVersion } : null,
      evaluated_at: iso(cur?.evaluatedAt),
      changed_at: iso(cur?.changedAt),
      timeline: r.timeline.map(eventJson),
      next_cursor: r.nextCursor === null ? null : encodeCursor(r.nextCursor),
    });
  });

  app.get('/compliance', (c) => {
    const q = parseWith(LookupQuery, c.req.query(), 'query');
    const given = [q.serial, q.udid, q.enterprise_id].filter((v) => v !== undefined).length;
    if (given !== 1) throw new AppError('invalid_request', 'give exactly one of serial, udid or enterprise_id');
    const r = compliance.lookup({ serial: q.serial, udid: q.udid, enterpriseId: q.enterprise_id });
    return c.json({ device_id: r.deviceId, platform: r.platform, state: r.state, evaluated_at: iso(r.evaluatedAt) });
  });

  return app;
}

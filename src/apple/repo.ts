import { and, eq, gt, inArray, lt, ne, or, sql, desc, isNull } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { appleCommands, appleCommandTargets, appleDevices, appleEnrollments, enrollmentTokens } from './tables.ts';

export type EnrollmentRow = typeof appleEnrollments.$inferSelect;
/** Where to push a channel: its APNs token (hex) and PushMagic. */
export interface PushTarget {
  id: string;
  token: string;
  pushMagic: string;
}
/** What authorizing a device's message needs of its enrollment. */
export type EnrollmentBinding = Pick<EnrollmentRow, 'id' | 'certSha256' | 'status'>;
export type DeviceRow = typeof appleDevices.$inferSelect;
export type CommandRow = typeof appleCommands.$inferSelect;
export type TargetStatus = (typeof appleCommandTargets.$inferSelect)['status'];
const ACTIVE: TargetStatus[] = ['pending', 'not_now'];

export function createAppleRepo(db: Db) {
  // Prepared once: these run on every check-in.
  const enrollmentById = db.select().from(appleEnrollments).where(eq(appleEnrollments.id, sql.placeholder('id'))).prepare();
  const bindingById = db
    .select({ id: appleEnrollments.id, certSha256: appleEnrollments.certSha256, status: appleEnrollments.status })
    .from(appleEnrollments)
    .where(eq(appleEnrollments.id, sql.placeholder('id')))
    .prepare();
  const touch = db
    .update(appleEnrollments)
    .set({ lastSeenAt: sql`${sql.placeholder('now')}` })
    .where(eq(appleEnrollments.id, sql.placeholder('id')))
    .prepare();
  // The next command in one statement: the head of the pending queue and (after an Idle) the head
  // of the NotNow one, each an in-order read of the queue index (an OR across the two statuses made
  // SQLite sort every queued row with its plist), the better of the two, joined to its body.
  // Raw SQL: drizzle's builder cannot order and limit the two sides of a UNION ALL apart.
  const head = `SELECT command_uuid, priority, queued_at, ? AS rank FROM apple_command_targets
    WHERE enrollment_id = @id AND status = ? ORDER BY priority DESC, queued_at LIMIT 1`;
  const nextForEnrollment = db.$client.prepare<{ id: string; withNotNow: number }, { uuid: string; plist: Buffer; requestType: string; expiresAt: number | null }>(
    `SELECT h.command_uuid AS uuid, c.plist AS plist, c.request_type AS requestType, c.expires_at AS expiresAt
     FROM (SELECT * FROM (${head.replace('?', "0").replace('?', "'pending'")})
           UNION ALL
           SELECT * FROM (${head.replace('?', "1").replace('?', "'not_now'")} ) WHERE @withNotNow) AS h
     JOIN apple_commands c ON c.uuid = h.command_uuid
     ORDER BY h.priority DESC, h.queued_at, h.rank LIMIT 1`,
  );
  const pushTargets = db.$client.prepare<[string, string], PushTarget>(
    `SELECT id, push_token AS token, push_magic AS pushMagic FROM apple_enrollments
     WHERE id IN (SELECT value FROM json_each(?)) AND status = ? AND push_token IS NOT NULL AND push_magic IS NOT NULL AND push_blocked IS NULL`,
  );
  const pushTargetById = db.$client.prepare<[string], { id: string; status: string; token: string | null; pushMagic: string | null; pushBlocked: string | null }>(
    'SELECT id, status, push_token AS token, push_magic AS pushMagic, push_blocked AS pushBlocked FROM apple_enrollments WHERE id = ?',
  );
  const recordPush = db.$client.prepare<{ id: string; at: number; result: string; block: string }>(
    `UPDATE apple_enrollments SET last_push_at = @at, last_push_result = @result,
       push_blocked = CASE @block WHEN 'clear' THEN NULL WHEN 'set' THEN @result ELSE push_blocked END
     WHERE id = @id`,
  );
  // Both sweeps walk the (status, last_seen_at) index from the oldest.
  const staleWithCommands = db.$client
    .prepare<{ before: number; limit: number }, string>(
      `SELECT e.id FROM apple_enrollments e
       WHERE e.status = 'enrolled' AND e.last_seen_at < @before AND coalesce(e.last_push_at, 0) < @before AND e.push_blocked IS NULL
         AND e.push_token IS NOT NULL
         AND EXISTS (SELECT 1 FROM apple_command_targets t WHERE t.enrollment_id = e.id AND t.status IN ('pending', 'not_now'))
       ORDER BY e.last_seen_at LIMIT @limit`,
    )
    .pluck();
  const silentSince = db.$client
    .prepare<{ before: number; limit: number }, string>(
      `SELECT id FROM apple_enrollments
       WHERE status = 'enrolled' AND last_seen_at < @before AND coalesce(last_push_at, 0) < @before AND push_blocked IS NULL AND push_token IS NOT NULL
       ORDER BY last_seen_at LIMIT @limit`,
    )
    .pluck();
  const expireTarget = db
    .update(appleCommandTargets)
    .set({ status: 'expired', updatedAt: sql`${sql.placeholder('now')}` })
    .where(and(eq(appleCommandTargets.commandUuid, sql.placeholder('uuid')), eq(appleCommandTargets.enrollmentId, sql.placeholder('id'))))
    .prepare();
  const report = db
    .update(appleCommandTargets)
    .set({
      status: sql`${sql.placeholder('status')}`,
      resultPlist: sql`${sql.placeholder('plist')}`,
      result: sql`${sql.placeholder('result')}`,
      updatedAt: sql`${sql.placeholder('now')}`,
    })
    .where(
      and(
        eq(appleCommandTargets.commandUuid, sql.placeholder('uuid')),
        eq(appleCommandTargets.enrollmentId, sql.placeholder('id')),
        inArray(appleCommandTargets.status, ACTIVE),
      ),
    )
    .returning({ requestType: sql<string>`(SELECT request_type FROM apple_commands WHERE uuid = ${appleCommandTargets.commandUuid})` })
    .prepare();

  return {
    transaction<T>(fn: () => T): T {
      return db.transaction(() => fn(), { behavior: 'immediate' });
    },
    enrollment(id: string): EnrollmentRow | undefined {
      return enrollmentById.get({ id });
    },
    binding(id: string): EnrollmentBinding | undefined {
      return bindingById.get({ id });
    },
    enrollmentsByCert(sha256: string) {
      return db.select().from(appleEnrollments).where(eq(appleEnrollments.certSha256, sha256)).all();
    },
    upsertEnrollment(row: typeof appleEnrollments.$inferInsert) {
      const { id, createdAt, ...rest } = row;
      db.insert(appleEnrollments).values(row).onConflictDoUpdate({ target: appleEnrollments.id, set: rest }).run();
    },
    updateEnrollment(id: string, set: Partial<typeof appleEnrollments.$inferInsert>) {
      db.update(appleEnrollments).set(set).where(eq(appleEnrollments.id, id)).run();
    },
    touch(id: string, now: number) {
      touch.run({ id, now });
    },
    /** Marks every channel of a device unenrolled (a device-channel CheckOut ends its user channels too). */
    unenrollDevice(deviceId: string, now: number) {
      db.update(appleEnrollments).set({ status: 'unenrolled', unenrolledAt: now }).where(eq(appleEnrollments.deviceId, deviceId)).run();
    },
    upsertDevice(row: typeof appleDevices.$inferInsert) {
      const { id, createdAt, ...rest } = row;
      const set = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
      db.insert(appleDevices).values(row).onConflictDoUpdate({ target: appleDevices.id, set }).run();
    },
    device(id: string): DeviceRow | undefined {
      return db.select().from(appleDevices).where(eq(appleDevices.id, id)).get();
    },
    updateDevice(id: string, set: Partial<typeof appleDevices.$inferInsert>) {
      db.update(appleDevices).set(set).where(eq(appleDevices.id, id)).run();
    },
    insertCommand(row: typeof appleCommands.$inferInsert) {
      db.insert(appleCommands).values(row).run();
    },
    command(uuid: string): CommandRow | undefined {
      return db.select().from(appleCommands).where(eq(appleCommands.uuid, uuid)).get();
    },
    insertTargets(uuid: string, enrollmentIds: string[], priority: number, now: number) {
      // One statement over a JSON array: no bound-variable limit, and SQLite inserts 100,000
      // targets natively instead of row objects going through the query builder.
      db.run(sql`INSERT INTO ${appleCommandTargets} (command_uuid, enrollment_id, status, priority, queued_at, updated_at)
        SELECT ${uuid}, value, 'pending', ${priority}, ${now}, ${now} FROM json_each(${JSON.stringify(enrollmentIds)})`);
    },
    nextCommand(enrollmentId: string, withNotNow: boolean, now: number): { uuid: string; plist: Buffer; requestType: string } | undefined {
      for (;;) {
        const c = nextForEnrollment.get({ id: enrollmentId, withNotNow: withNotNow ? 1 : 0 });
        if (!c) return undefined;
        if (c.expiresAt === null || c.expiresAt > now) return { uuid: c.uuid, plist: c.plist, requestType: c.requestType };
        // Past its TTL and not yet swept by maintenance: never send it, look further.
        expireTarget.run({ uuid: c.uuid, id: enrollmentId, now });
      }
    },
    /** Records a device's answer to a pending command; the request type, or undefined when there was none pending. */
    report(enrollmentId: string, uuid: string, status: TargetStatus, plist: Buffer, result: unknown, now: number): string | undefined {
      return report.get({ id: enrollmentId, uuid, status, plist, result: JSON.stringify(result ?? null), now })?.requestType;
    },
    /**
     * Channels among `ids` a push can reach: enrolled (or, to tell them, removed), with a token and
     * PushMagic, not blocked by a permanent refusal.
     */
    pushTargets(ids: string[], status: 'enrolled' | 'removed' = 'enrolled'): PushTarget[] {
      return pushTargets.all(JSON.stringify(ids), status);
    },
    /** One channel's push details whatever its state, for an admin's push-now. */
    pushTarget(id: string) {
      return pushTargetById.get(id);
    },
    /**
     * Push outcomes in one transaction: `ok` clears a block (the token works after all), a
     * permanent refusal sets one, a transient failure leaves it as it was.
     */
    recordPushes(outcomes: Array<{ id: string; at: number; result: string; block: 'clear' | 'set' | 'keep' }>) {
      db.$client.transaction(() => {
        for (const o of outcomes) recordPush.run({ id: o.id, at: o.at, result: o.result, block: o.block });
      })();
    },
    /** Enrolled channels with unanswered commands, not seen and not pushed since `before`. */
    staleWithCommands(before: number, limit: number): string[] {
      return staleWithCommands.all({ before, limit });
    },
    /** Enrolled channels not seen and not pushed since `before`. */
    silentSince(before: number, limit: number): string[] {
      return silentSince.all({ before, limit });
    },
    /** Every channel of a device marked removed and its unanswered commands cancelled; the enrollments touched. */
    removeDevice(deviceId: string, now: number): { enrollments: number; cancelled: number; ids: string[] } {
      return db.transaction(
        () => {
          const ids = db.select({ id: appleEnrollments.id }).from(appleEnrollments).where(eq(appleEnrollments.deviceId, deviceId)).all().map((r) => r.id);
          if (!ids.length) return { enrollments: 0, cancelled: 0, ids };
          db.update(appleEnrollments)
            // The push token stays: one last push makes the device call and hear it is removed.
            .set({ status: 'removed', unenrolledAt: now })
            .where(and(eq(appleEnrollments.deviceId, deviceId), ne(appleEnrollments.status, 'removed')))
            .run();
          const cancelled = db
            .update(appleCommandTargets)
            .set({ status: 'cancelled', updatedAt: now })
            .where(and(inArray(appleCommandTargets.enrollmentId, ids), inArray(appleCommandTargets.status, ACTIVE)))
            .run().changes;
          return { enrollments: ids.length, cancelled, ids };
        },
        { behavior: 'immediate' },
      );
    },
    cancelPendingFor(enrollmentId: string, now: number) {
      return db
        .update(appleCommandTargets)
        .set({ status: 'cancelled', updatedAt: now })
        .where(and(eq(appleCommandTargets.enrollmentId, enrollmentId), inArray(appleCommandTargets.status, ACTIVE)))
        .run().changes;
    },
    /** Cancels a command for these enrollments where none has answered it yet; how many it took back. */
    cancelTargets(uuid: string, enrollmentIds: string[], now: number): number {
      return db
        .update(appleCommandTargets)
        .set({ status: 'cancelled', updatedAt: now })
        .where(
          and(
            eq(appleCommandTargets.commandUuid, uuid),
            inArray(appleCommandTargets.status, ACTIVE),
            // A JSON array, not one bound variable per id: SQLite caps those at 32,766.
            sql`${appleCommandTargets.enrollmentId} IN (SELECT value FROM json_each(${JSON.stringify(enrollmentIds)}))`,
          ),
        )
        .run().changes;
    },
    cancelCommand(uuid: string, now: number) {
      return db
        .update(appleCommandTargets)
        .set({ status: 'cancelled', updatedAt: now })
        .where(and(eq(appleCommandTargets.commandUuid, uuid), inArray(appleCommandTargets.status, ACTIVE)))
        .run().changes;
    },
    expireCommands(now: number) {
      return db
        .update(appleCommandTargets)
        .set({ status: 'expired', updatedAt: now })
        .where(
          and(
            inArray(appleCommandTargets.status, ACTIVE),
            inArray(appleCommandTargets.commandUuid, db.select({ uuid: appleCommands.uuid }).from(appleCommands).where(lt(appleCommands.expiresAt, now))),
          ),
        )
        .run().changes;
    },
    /** Enrollments among `ids` that already have an unanswered command of this type. */
    withPending(requestType: string, ids: string[]) {
      if (!ids.length) return [];
      return db
        .selectDistinct({ id: appleCommandTargets.enrollmentId })
        .from(appleCommandTargets)
        .innerJoin(appleCommands, eq(appleCommands.uuid, appleCommandTargets.commandUuid))
        .where(
          and(
            eq(appleCommands.requestType, requestType),
            inArray(appleCommandTargets.status, ACTIVE),
            // A JSON array, not one bound variable per id: SQLite caps those at 32,766.
            sql`${appleCommandTargets.enrollmentId} IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`,
          ),
        )
        .all()
        .map((r) => r.id);
    },
    targets(uuid: string) {
      return db.select().from(appleCommandTargets).where(eq(appleCommandTargets.commandUuid, uuid)).all();
    },
    insertEnrollmentToken(row: typeof enrollmentTokens.$inferInsert) {
      db.insert(enrollmentTokens).values(row).run();
    },
    enrollmentTokenByHash(hash: string) {
      return db.select().from(enrollmentTokens).where(eq(enrollmentTokens.hash, hash)).get();
    },
    /** Spends a link: true when it was unused and unexpired, and is now used. */
    spendEnrollmentToken(id: string, challengeId: string, now: number): boolean {
      return (
        db
          .update(enrollmentTokens)
          .set({ usedAt: now, challengeId })
          .where(and(eq(enrollmentTokens.id, id), isNull(enrollmentTokens.usedAt), sql`${enrollmentTokens.expiresAt} > ${now}`))
          .run().changes === 1
      );
    },
    /** Enrolled device channels whose inventory is older than `before`, with no DeviceInformation waiting. */
    /** Device channels whose inventory is older than `before` and not being asked for, in id order after `afterId`. */
    inventoryDue(before: number, limit: number, afterId = ''): string[] {
      return db
        .select({ id: appleEnrollments.id })
        .from(appleEnrollments)
        .innerJoin(appleDevices, eq(appleDevices.id, appleEnrollments.deviceId))
        .where(
          and(
            // Walked in id order from where the last batch ended: each batch reads about its own rows,
            // not again every row the earlier batches queued for (`+`: not by the status index).
            gt(appleEnrollments.id, afterId),
            sql`+${appleEnrollments.status} = 'enrolled'`,
            inArray(appleEnrollments.type, ['device', 'user-enrollment-device']),
            or(isNull(appleDevices.inventoryUpdatedAt), lt(appleDevices.inventoryUpdatedAt, before)),
            sql`NOT EXISTS (SELECT 1 FROM ${appleCommandTargets} t JOIN ${appleCommands} c ON c.uuid = t.command_uuid
                 WHERE t.enrollment_id = ${appleEnrollments.id} AND t.status IN ('pending', 'not_now') AND c.request_type = 'DeviceInformation')`,
          ),
        )
        .orderBy(appleEnrollments.id)
        .limit(limit)
        .all()
        .map((r) => r.id);
    },
    enrollmentTokenByChallenge(challengeId: string) {
      return db.select().from(enrollmentTokens).where(eq(enrollmentTokens.challengeId, challengeId)).get();
    },
    linkEnrollmentToken(tokenId: string, enrollmentId: string) {
      db.update(enrollmentTokens).set({ enrollmentId }).where(eq(enrollmentTokens.id, tokenId)).run();
    },
    /**
     * A page of devices with their device channel (whose enrollment id is the device id), in id
     * order: keyset pagination after `afterId` stays one primary-key range scan at any depth.
     */
    listDevices(o: { limit: number; afterId?: string; platform?: string; enrolled?: boolean }) {
      const e = appleEnrollments;
      const d = appleDevices;
      return db
        .select({
          id: d.id,
          udid: d.udid,
          serialNumber: d.serialNumber,
          deviceName: d.deviceName,
          model: d.model,
          osVersion: d.osVersion,
          platform: d.platform,
          enrollmentStatus: e.status,
          ownership: e.ownership,
          userEmail: e.userEmail,
          lastSeenAt: e.lastSeenAt,
          enrolledAt: e.enrolledAt,
        })
        .from(d)
        .leftJoin(e, eq(e.id, d.id))
        .where(
          and(
            o.afterId === undefined ? undefined : gt(d.id, o.afterId),
            o.platform === undefined ? undefined : eq(d.platform, o.platform),
            o.enrolled === undefined ? undefined : o.enrolled ? eq(e.status, 'enrolled') : or(isNull(e.status), ne(e.status, 'enrolled')),
          ),
        )
        .orderBy(d.id)
        .limit(o.limit)
        .all();
    },
    enrollmentsOfDevice(deviceId: string): EnrollmentRow[] {
      return db.select().from(appleEnrollments).where(eq(appleEnrollments.deviceId, deviceId)).orderBy(appleEnrollments.createdAt, appleEnrollments.id).all();
    },
    /** Enrollments among `ids` with what their device told us that decides which commands it takes. */
    commandTargetFacts(ids: string[]) {
      const e = appleEnrollments;
      const d = appleDevices;
      const out = [];
      for (let i = 0; i < ids.length; i += 500) {
        out.push(
          ...db
            .select({
              id: e.id,
              type: e.type,
              status: e.status,
              ownership: e.ownership,
              platform: d.platform,
              productName: d.productName,
              model: d.model,
              osVersion: d.osVersion,
              // 1, 0 or null: the inventory's answer, without reading the whole document.
              supervised: sql<number | null>`json_extract(${d.deviceInformation}, '$.IsSupervised')`,
            })
            .from(e)
            .leftJoin(d, eq(d.id, e.deviceId))
            .where(inArray(e.id, ids.slice(i, i + 500)))
            .all(),
        );
      }
      return out;
    },
    /** Each target's state and parsed answer, without the raw plists. */
    targetResults(uuid: string) {
      const t = appleCommandTargets;
      return db
        .select({ enrollmentId: t.enrollmentId, status: t.status, updatedAt: t.updatedAt, result: t.result })
        .from(t)
        .where(eq(t.commandUuid, uuid))
        .orderBy(t.enrollmentId)
        .all();
    },
  };
}

export type AppleRepo = ReturnType<typeof createAppleRepo>;

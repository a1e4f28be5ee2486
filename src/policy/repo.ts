import { and, asc, desc, eq } from 'drizzle-orm';
import type { Db } from '../store/db.ts';
import { deviceGroupMembers, deviceGroups, policies, policyAssignments, policyVersions } from './tables.ts';

export type PolicyRow = typeof policies.$inferSelect;
export type PolicyVersionRow = typeof policyVersions.$inferSelect;
export type GroupRow = typeof deviceGroups.$inferSelect;
export type AssignmentRow = typeof policyAssignments.$inferSelect;

/** What policy targeting needs to know of a device, whichever platform it is. */
export interface DeviceFacts {
  id: string;
  /** ios, ipados, macos, tvos, ... or android; null when an Apple device has not said yet. */
  platform: string | null;
  ownership: 'corporate' | 'personal' | null;
}

export function createPolicyRepo(db: Db) {
  const sqlite = db.$client;
  // Read straight from the Apple and Android tables: targeting only needs platform and ownership,
  // and the devices of both platforms share one id space (as the fleet listing shows them).
  const appleFacts = sqlite.prepare(
    `SELECT d.id, d.platform, e.ownership FROM apple_devices d LEFT JOIN apple_enrollments e ON e.id = d.id WHERE d.id = ?`,
  );
  const androidFacts = sqlite.prepare(`SELECT id, 'android' AS platform, ownership FROM android_devices WHERE id = ? AND status = 'enrolled'`);
  const allFacts = sqlite.prepare(
    `SELECT d.id, d.platform, e.ownership FROM apple_devices d JOIN apple_enrollments e ON e.id = d.id WHERE e.status = 'enrolled'
     UNION ALL SELECT id, 'android', ownership FROM android_devices WHERE status = 'enrolled'`,
  );
  // Prepared once: targeting reads these on every report a device makes (compliance) and every change.
  const allAssignments = db
    .select({ assignment: policyAssignments, policyName: policies.name, currentVersion: policies.currentVersion })
    .from(policyAssignments)
    .innerJoin(policies, eq(policies.id, policyAssignments.policyId))
    .prepare();
  const groupsOf = sqlite.prepare(`SELECT group_id AS id FROM device_group_members WHERE device_id = ?`);
  return {
    transaction: <T>(fn: () => T): T => sqlite.transaction(fn)(),

    insertPolicy(row: PolicyRow): void {
      db.insert(policies).values(row).run();
    },
    updatePolicy(id: string, set: Partial<PolicyRow>): void {
      db.update(policies).set(set).where(eq(policies.id, id)).run();
    },
    deletePolicy(id: string): boolean {
      return db.delete(policies).where(eq(policies.id, id)).run().changes > 0;
    },
    policy(id: string): PolicyRow | undefined {
      return db.select().from(policies).where(eq(policies.id, id)).get();
    },
    policyByName(name: string): PolicyRow | undefined {
      return db.select().from(policies).where(eq(policies.name, name)).get();
    },
    policies(): PolicyRow[] {
      return db.select().from(policies).orderBy(asc(policies.name)).all();
    },

    insertVersion(row: PolicyVersionRow): void {
      db.insert(policyVersions).values(row).run();
    },
    version(policyId: string, version: number): PolicyVersionRow | undefined {
      return db
        .select()
        .from(policyVersions)
        .where(and(eq(policyVersions.policyId, policyId), eq(policyVersions.version, version)))
        .get();
    },
    versions(policyId: string): PolicyVersionRow[] {
      return db.select().from(policyVersions).where(eq(policyVersions.policyId, policyId)).orderBy(desc(policyVersions.version)).all();
    },

    insertGroup(row: GroupRow): void {
      db.insert(deviceGroups).values(row).run();
    },
    group(id: string): GroupRow | undefined {
      return db.select().from(deviceGroups).where(eq(deviceGroups.id, id)).get();
    },
    groupByName(name: string): GroupRow | undefined {
      return db.select().from(deviceGroups).where(eq(deviceGroups.name, name)).get();
    },
    groups(): GroupRow[] {
      return db.select().from(deviceGroups).orderBy(asc(deviceGroups.name)).all();
    },
    deleteGroup(id: string): boolean {
      return db.delete(deviceGroups).where(eq(deviceGroups.id, id)).run().changes > 0;
    },
    members(groupId: string): string[] {
      return db
        .select({ id: deviceGroupMembers.deviceId })
        .from(deviceGroupMembers)
        .where(eq(deviceGroupMembers.groupId, groupId))
        .orderBy(asc(deviceGroupMembers.deviceId))
        .all()
        .map((r) => r.id);
    },
    /** Adds a member; false when it was one already. */
    addMember(groupId: string, deviceId: string, at: number): boolean {
      return db.insert(deviceGroupMembers).values({ groupId, deviceId, addedAt: at }).onConflictDoNothing().run().changes > 0;
    },
    removeMember(groupId: string, deviceId: string): boolean {
      return db
        .delete(deviceGroupMembers)
        .where(and(eq(deviceGroupMembers.groupId, groupId), eq(deviceGroupMembers.deviceId, deviceId)))
        .run().changes > 0;
    },
    /** group id → member device ids, for every group. */
    allMemberships(): Array<{ groupId: string; deviceId: string }> {
      return db.select({ groupId: deviceGroupMembers.groupId, deviceId: deviceGroupMembers.deviceId }).from(deviceGroupMembers).all();
    },
    groupsOf: (deviceId: string): string[] => (groupsOf.all(deviceId) as Array<{ id: string }>).map((r) => r.id),

    insertAssignment(row: AssignmentRow): void {
      db.insert(policyAssignments).values(row).run();
    },
    deleteAssignment(policyId: string, id: string): boolean {
      return db
        .delete(policyAssignments)
        .where(and(eq(policyAssignments.policyId, policyId), eq(policyAssignments.id, id)))
        .run().changes > 0;
    },
    assignments(policyId: string): AssignmentRow[] {
      return db.select().from(policyAssignments).where(eq(policyAssignments.policyId, policyId)).orderBy(asc(policyAssignments.createdAt), asc(policyAssignments.id)).all();
    },
    /** Every assignment with its policy's name and current version: the input of precedence. */
    allAssignments: () => allAssignments.all(),

    device(id: string): DeviceFacts | undefined {
      return (appleFacts.get(id) ?? androidFacts.get(id)) as DeviceFacts | undefined;
    },
    /** Every enrolled device of both platforms. */
    devices(): DeviceFacts[] {
      return allFacts.all() as DeviceFacts[];
    },
  };
}

export type PolicyRepo = ReturnType<typeof createPolicyRepo>;

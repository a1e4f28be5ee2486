import { asc, eq } from 'drizzle-orm';
import { staleRows } from '../apple/policy-profile-repo.ts';
import type { Db } from '../store/db.ts';
import { apps, type appleManagedApps } from './tables.ts';

export type AppRow = typeof apps.$inferSelect;
export type ManagedAppRow = typeof appleManagedApps.$inferSelect;

const MANAGED = `device_id AS deviceId, bundle_id AS bundleId, state, command_uuid AS commandUuid, device_state AS deviceState,
  error_code AS errorCode, error_message AS errorMessage, updated_at AS updatedAt`;

/** The app catalog and the per-device managed Apple apps (one prepared upsert per row, in the caller's transaction). */
export function createAppRepo(db: Db) {
  const sqlite = db.$client;
  const upsert = sqlite.prepare(
    `INSERT INTO apple_managed_apps (device_id, bundle_id, state, command_uuid, device_state, error_code, error_message, updated_at)
     VALUES (@deviceId, @bundleId, @state, @commandUuid, @deviceState, @errorCode, @errorMessage, @updatedAt)
     ON CONFLICT(device_id, bundle_id) DO UPDATE SET state = excluded.state, command_uuid = excluded.command_uuid,
       device_state = excluded.device_state, error_code = excluded.error_code, error_message = excluded.error_message, updated_at = excluded.updated_at`,
  );
  const all = sqlite.prepare(`SELECT ${MANAGED} FROM apple_managed_apps`);
  const ofDevice = sqlite.prepare(`SELECT ${MANAGED} FROM apple_managed_apps WHERE device_id = ? ORDER BY bundle_id`);
  const byCommand = sqlite.prepare(`SELECT ${MANAGED} FROM apple_managed_apps WHERE device_id = ? AND command_uuid = ?`);
  const remove = sqlite.prepare(`DELETE FROM apple_managed_apps WHERE device_id = ? AND bundle_id = ? AND command_uuid = ?`);
  const forget = sqlite.prepare(`DELETE FROM apple_managed_apps WHERE device_id = ?`);
  // An install the user declined or that failed later stays `installing` as far as answers go: asked again, it is sent again.
  const forgetFailed = sqlite.prepare(`DELETE FROM apple_managed_apps WHERE device_id = ? AND state IN ('failed', 'installing')`);
  const stale = staleRows(sqlite, 'apple_managed_apps', 'bundle_id');
  const reopenRemovals = sqlite.prepare(`UPDATE apple_managed_apps SET state = 'installed', error_code = NULL, error_message = NULL WHERE device_id = ? AND state = 'remove_failed'`);

  return {
    transaction: <T>(fn: () => T): T => sqlite.transaction(fn)(),

    apps: (): AppRow[] => db.select().from(apps).orderBy(asc(apps.name), asc(apps.id)).all(),
    app: (id: string): AppRow | undefined => db.select().from(apps).where(eq(apps.id, id)).get(),
    /** Apple catalog entries by bundle id: how each required app is installed. */
    appleByBundle(): Map<string, AppRow> {
      return new Map(db.select().from(apps).where(eq(apps.platform, 'apple')).all().map((a) => [a.identifier, a]));
    },
    insertApp(row: AppRow): boolean {
      return db.insert(apps).values(row).onConflictDoNothing().run().changes > 0;
    },
    updateApp(id: string, set: Partial<AppRow>): void {
      db.update(apps).set(set).where(eq(apps.id, id)).run();
    },
    deleteApp: (id: string): boolean => db.delete(apps).where(eq(apps.id, id)).run().changes > 0,

    /** Every managed-app row, by device: one read for a whole enforcement pass. */
    managed(): Map<string, ManagedAppRow[]> {
      const out = new Map<string, ManagedAppRow[]>();
      for (const r of all.all() as ManagedAppRow[]) (out.get(r.deviceId) ?? out.set(r.deviceId, []).get(r.deviceId)!).push(r);
      return out;
    },
    managedOf: (deviceId: string): ManagedAppRow[] => ofDevice.all(deviceId) as ManagedAppRow[],
    managedByCommand: (deviceId: string, commandUuid: string): ManagedAppRow | undefined => byCommand.get(deviceId, commandUuid) as ManagedAppRow | undefined,
    saveManaged(rows: ManagedAppRow[]): void {
      for (const r of rows) upsert.run(r);
    },
    deleteManaged: (deviceId: string, bundleId: string, commandUuid: string): boolean => remove.run(deviceId, bundleId, commandUuid).changes > 0,
    forgetManaged: (deviceId: string): number => forget.run(deviceId).changes,
    /** Rows (`deviceId\0bundleId`) waiting on a command that will not be answered (expired, cancelled): of these devices, or all. */
    stale,
    /** Failed and unfinished installs forgotten (sent again), failed removals back to installed (removed again); how many. */
    forgetManagedFailures: (deviceId: string): number => sqlite.transaction(() => forgetFailed.run(deviceId).changes + reopenRemovals.run(deviceId).changes)(),
  };
}

export type AppRepo = ReturnType<typeof createAppRepo>;

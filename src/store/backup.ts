import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { AppError } from '../errors.ts';
import { createSealer } from '../secrets/seal.ts';
import { defaultMigrations, type Store } from './db.ts';
import { runningServer } from './server-lock.ts';
import { sqliteOptions } from '../runtime/files.ts';

export interface BackupInfo {
  file: string;
  bytes: number;
  /** The newest migration the backup's schema has. */
  migrations: number;
  devices: number;
  certificates: number;
}

/**
 * An online copy through SQLite's backup API: consistent as of one moment while devices keep
 * checking in (the source is read page by page between their writes). Written beside `dest`
 * and renamed, so a crash never leaves half a backup under the name; the copy is turned out of
 * WAL mode to be one self-contained file. It holds sealed keys, never the master key.
 */
export async function backupTo(store: Store, dest: string): Promise<BackupInfo> {
  const target = path.resolve(dest);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.partial-${process.pid}`;
  try {
    await store.sqlite.backup(tmp);
    const copy = new Database(tmp, sqliteOptions());
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    fs.chmodSync(tmp, 0o600);
    const info = inspect(tmp);
    fs.renameSync(tmp, target);
    return { ...info, file: target };
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function inspect(file: string): BackupInfo {
  const db = new Database(file, { readonly: true, fileMustExist: true, ...sqliteOptions() });
  try {
    const exists = (table: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
    const count = (table: string) => (exists(table) ? (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n : 0);
    return {
      file,
      bytes: fs.statSync(file).size,
      migrations: count('__drizzle_migrations'),
      devices: count('apple_devices') + count('android_devices'),
      certificates: count('certificates'),
    };
  } finally {
    db.close();
  }
}

/**
 * Checks that `file` is a backup this version can restore with this master key: a sound SQLite
 * file (integrity_check), made by this schema's history (its migrations a prefix of ours), whose
 * CA key opens with the master key in place. Throws AppError backup_invalid otherwise.
 */
export function verifyBackup(file: string, masterKey: Buffer, migrationsDir = defaultMigrations()): BackupInfo {
  const invalid = (why: string) => new AppError('backup_invalid', `${file}: ${why}`, 422);
  if (!fs.existsSync(file)) throw invalid('no such file');
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, ...sqliteOptions() });
    db.pragma('schema_version');
  } catch {
    throw invalid('not an SQLite database');
  }
  try {
    const check = db.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw invalid(`damaged (integrity_check: ${String(check)})`);
    const hasTable = (name: string) => db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !== undefined;
    if (!hasTable('__drizzle_migrations') || !hasTable('pki_authorities')) throw invalid('not an appliance database');
    const applied = (db.prepare('SELECT hash FROM "__drizzle_migrations" ORDER BY created_at').all() as Array<{ hash: string }>).map((r) => r.hash);
    const ours = readMigrationFiles({ migrationsFolder: migrationsDir }).map((m) => m.hash);
    if (applied.length > ours.length) throw invalid(`made by a newer version (${applied.length} migrations, this one knows ${ours.length})`);
    applied.forEach((hash, i) => {
      if (hash !== ours[i]) throw invalid(`its migration ${i} differs from this version's: not made by this appliance`);
    });
    const ca = db.prepare("SELECT key_sealed AS sealed FROM pki_authorities WHERE name = 'ca'").get() as { sealed: Buffer } | undefined;
    if (!ca) throw invalid('it has no CA');
    try {
      createSealer(masterKey).unseal('pki:ca', ca.sealed);
    } catch {
      throw invalid(
        'its keys were sealed with another master key. Put the master key of the appliance that made it in place (master.key in the data dir, or MDM_MASTER_KEY) and restore again',
      );
    }
  } finally {
    db.close();
  }
  return inspect(file);
}

/**
 * Replaces the data dir's database with a verified backup. Refused while a server uses the data
 * dir. The database it replaces is kept beside it (mdm.sqlite.before-restore-<time>); the
 * backup's schema is brought up to date when the appliance next opens it.
 */
export function restoreFrom(dataDir: string, file: string, masterKey: Buffer, now = Date.now()): BackupInfo & { previous: string | null } {
  const pid = runningServer(dataDir);
  if (pid !== null) throw new AppError('data_dir_in_use', `a server (pid ${pid}) is using ${dataDir}: stop it before restoring`, 409);
  const info = verifyBackup(path.resolve(file), masterKey);
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const live = path.join(dataDir, 'mdm.sqlite');
  const tmp = `${live}.restoring`;
  fs.copyFileSync(info.file, tmp);
  fs.chmodSync(tmp, 0o600);
  let previous: string | null = null;
  if (fs.existsSync(live)) {
    // Folds the WAL in first, so the kept copy is complete on its own.
    const old = new Database(live, sqliteOptions());
    old.pragma('wal_checkpoint(TRUNCATE)');
    old.close();
    previous = `${live}.before-restore-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
    fs.renameSync(live, previous);
  }
  for (const f of [`${live}-wal`, `${live}-shm`]) fs.rmSync(f, { force: true });
  fs.renameSync(tmp, live);
  return { ...info, file: live, previous };
}

import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import * as schema from './schema.ts';
import { appFile, sqliteOptions } from '../runtime/files.ts';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };
export interface Store {
  db: Db;
  sqlite: Database.Database;
  file: string;
  close(): void;
}

export const defaultMigrations = (): string => appFile('migrations');

/** Opens (creating if needed) `$dataDir/mdm.sqlite`, sets the pragmas and applies pending migrations. */
export function openStore(dataDir: string, migrationsDir = defaultMigrations()): Store {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const file = path.join(dataDir, 'mdm.sqlite');
  const sqlite = new Database(file, sqliteOptions());
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  migrate(sqlite, migrationsDir);
  // The database holds sealed keys and device data: readable by the service account only.
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
  const db = drizzle(sqlite, { schema });
  return { db, sqlite, file, close: () => sqlite.close() };
}

/**
 * Applies drizzle-kit's migrations with drizzle's own bookkeeping table, but reads what is
 * applied inside a BEGIN IMMEDIATE transaction: drizzle's migrator reads it before taking the
 * lock, so the server and a CLI command starting together could both apply one migration.
 */
function migrate(sqlite: Database.Database, migrationsFolder: string): void {
  const migrations = readMigrationFiles({ migrationsFolder });
  sqlite.exec('CREATE TABLE IF NOT EXISTS "__drizzle_migrations" (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
  const apply = sqlite.transaction(() => {
    const last = sqlite.prepare('SELECT created_at FROM "__drizzle_migrations" ORDER BY created_at DESC LIMIT 1').get() as
      | { created_at: number }
      | undefined;
    const insert = sqlite.prepare('INSERT INTO "__drizzle_migrations" ("hash", "created_at") VALUES (?, ?)');
    for (const m of migrations) {
      if (last && Number(last.created_at) >= m.folderMillis) continue;
      for (const stmt of m.sql) if (stmt.trim()) sqlite.exec(stmt);
      insert.run(m.hash, m.folderMillis);
    }
  });
  apply.immediate();
}

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, startServer, tempDir } from './support/server.ts';

const count = (file: string, sql: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
};

test('backup while the server runs, restore refused while it runs, then restored into a fresh data dir with its master key', async () => {
  const server = await startServer();
  const out = tempDir();
  const backup = path.join(out, 'nested', 'mdm-backup.sqlite');
  let linksAtBackup: number;
  try {
    // State worth keeping: an enrollment link and an API token.
    assert.equal(server.cli(['enroll', 'create', '--user', 'ann@example.com']).status, 0);
    assert.equal(server.cli(['api-token', 'create', '--name', 'ci']).status, 0);
    linksAtBackup = count(path.join(server.dataDir, 'mdm.sqlite'), 'SELECT count(*) AS n FROM enrollment_tokens');

    const r = server.cli(['backup', backup]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /backup written: .*mdm-backup\.sqlite/);
    assert.match(r.stdout, /does not contain the master key: restoring it needs .*master\.key/);
    assert.equal(fs.statSync(backup).mode & 0o777, 0o600);
    // One self-contained file, out of WAL mode; nothing half-written left beside it.
    assert.equal(count(backup, "SELECT count(*) AS n FROM pragma_journal_mode WHERE journal_mode = 'delete'"), 1);
    assert.deepEqual(fs.readdirSync(path.dirname(backup)), ['mdm-backup.sqlite']);
    assert.equal(count(backup, 'SELECT count(*) AS n FROM enrollment_tokens'), linksAtBackup);

    // Changed after the backup; a restore now is refused and changes nothing.
    assert.equal(server.cli(['enroll', 'create']).status, 0);
    const refused = server.cli(['restore', backup]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /a server \(pid \d+\) is using .*stop it before restoring \(data_dir_in_use\)/);
    assert.equal(count(path.join(server.dataDir, 'mdm.sqlite'), 'SELECT count(*) AS n FROM enrollment_tokens'), linksAtBackup + 1);
  } finally {
    await server.stop();
  }

  // A second server on the same data dir would be refused while the first runs; stopped, the pid file is gone.
  assert.equal(fs.existsSync(path.join(server.dataDir, 'server.pid')), false);

  // A fresh machine: no master key there yet.
  const fresh = tempDir();
  const noKey = runCli(['restore', backup], { MDM_DATA_DIR: fresh });
  assert.equal(noKey.status, 1);
  assert.match(noKey.stderr, /no master key in .*copy master\.key from the appliance that made the backup/);
  assert.equal(fs.existsSync(path.join(fresh, 'master.key')), false, 'restore does not invent a key');

  // Another appliance's key: the backup's sealed keys do not open.
  const other = tempDir();
  assert.equal(runCli(['ca', 'show'], { MDM_DATA_DIR: other }).status, 0);
  const wrongKey = runCli(['restore', backup], { MDM_DATA_DIR: other });
  assert.equal(wrongKey.status, 1);
  assert.match(wrongKey.stderr, /sealed with another master key.*\(backup_invalid\)/);

  fs.copyFileSync(path.join(server.dataDir, 'master.key'), path.join(fresh, 'master.key'));
  const ok = runCli(['restore', backup], { MDM_DATA_DIR: fresh });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /restored .*mdm-backup\.sqlite into .*mdm\.sqlite/);

  const restored = await startServer({ dataDir: fresh });
  try {
    assert.equal(count(path.join(fresh, 'mdm.sqlite'), 'SELECT count(*) AS n FROM enrollment_tokens'), linksAtBackup);
    // The same CA: devices enrolled before still chain to it.
    const caBefore = runCli(['ca', 'show'], { MDM_DATA_DIR: server.dataDir }).stdout;
    assert.equal(restored.cli(['ca', 'show']).stdout, caBefore);
    const tokens = restored.cli(['api-token', 'list']);
    assert.match(tokens.stdout, /\bci\b/);
  } finally {
    await restored.stop();
  }

  // Restoring over an existing database keeps the replaced one beside it.
  const again = runCli(['restore', backup], { MDM_DATA_DIR: fresh });
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /the database it replaced: .*mdm\.sqlite\.before-restore-/);
});

test('restore refuses what is not a sound backup of this appliance, and changes nothing', () => {
  const dataDir = tempDir();
  assert.equal(runCli(['ca', 'show'], { MDM_DATA_DIR: dataDir }).status, 0);
  const live = path.join(dataDir, 'mdm.sqlite');
  const before = fs.readFileSync(live);
  const dir = tempDir();

  const text = path.join(dir, 'notes.txt');
  fs.writeFileSync(text, 'not a database at all, just some text that is long enough to have a header '.repeat(20));
  const other = path.join(dir, 'other.sqlite');
  const o = new Database(other);
  o.exec('CREATE TABLE t (x)');
  o.close();
  const damaged = path.join(dir, 'damaged.sqlite');
  assert.equal(runCli(['backup', damaged], { MDM_DATA_DIR: dataDir }).status, 0);
  const bytes = fs.readFileSync(damaged);
  // Scribble over the middle of the file's pages, past the header.
  bytes.fill(0x5a, 4096 + 100, 4096 * 3);
  fs.writeFileSync(damaged, bytes);

  for (const [file, why] of [
    [path.join(dir, 'missing.sqlite'), /no such file/],
    [text, /not an SQLite database/],
    [other, /not an appliance database/],
    [damaged, /damaged|not an SQLite database/],
  ] as const) {
    const r = runCli(['restore', file], { MDM_DATA_DIR: dataDir });
    assert.equal(r.status, 1, `${file}: ${r.stdout}`);
    assert.match(r.stderr, why);
    assert.match(r.stderr, /\(backup_invalid\)/);
  }
  assert.ok(fs.readFileSync(live).equals(before), 'the live database is untouched');
  assert.deepEqual(
    fs.readdirSync(dataDir).filter((f) => f.includes('restor')),
    [],
  );
});

test('a second server on a data dir in use is refused', async () => {
  const server = await startServer();
  try {
    const second = await startServer({ dataDir: server.dataDir }).then(
      async (s) => {
        await s.stop();
        return 'started';
      },
      (e: Error) => e.message,
    );
    assert.match(second, /another server \(pid \d+\) is using/);
  } finally {
    await server.stop();
  }
});

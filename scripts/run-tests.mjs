#!/usr/bin/env node
// Runs every *.test.ts under test/ and src/ with node:test through tsx (with --slow, the
// *.slow.test.ts instead). Node 20's --test takes no globs, so the files are listed here.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const files = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== 'fixtures') walk(p);
    else if (e.isFile() && e.name.endsWith('.test.ts')) files.push(path.relative(root, p));
  }
};
for (const d of ['src', 'test']) walk(path.join(root, d));
// *.slow.test.ts (the container image) run only with --slow (.ci/run), or when named.
const slow = process.argv.includes('--slow');
const only = process.argv.slice(2).filter((a) => a !== '--slow');
const isSlow = (f) => f.endsWith('.slow.test.ts');
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files.filter((f) => isSlow(f) === slow);
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...selected.sort()], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(r.status ?? 1);

// `npm run build:sea [-- --outdir DIR]`: one executable (Node's single-executable applications):
// this Node binary with the bundle as its main script and the files the bundle reads (migrations,
// console assets, SQLite's addon, the bundle itself for SCEP workers) as node:sea assets, which
// the bundle writes under $MDM_DATA_DIR/.runtime at its first start.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { inject } from 'postject';
import { MANIFEST, type Manifest } from '../src/runtime/manifest.ts';
import { build } from './build.ts';

// The fuse Node's SEA loader looks for (Node's docs, "Single executable applications").
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export async function buildSea(outdir: string): Promise<{ executable: string; bytes: number }> {
  const bundleDir = path.join(outdir, 'bundle');
  await build(bundleDir);
  const manifest = JSON.parse(fs.readFileSync(path.join(bundleDir, MANIFEST), 'utf8')) as Manifest;
  const assets = Object.fromEntries([MANIFEST, ...manifest.files.map((f) => f.path)].map((rel) => [rel, path.join(bundleDir, rel)]));
  const blob = path.join(outdir, 'sea-prep.blob');
  const seaConfig = path.join(outdir, 'sea-config.json');
  fs.writeFileSync(
    seaConfig,
    JSON.stringify({ main: path.join(bundleDir, 'mdm.cjs'), output: blob, disableExperimentalSEAWarning: true, assets }, null, 2),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: ['ignore', 'ignore', 'inherit'] });
  const executable = path.join(outdir, 'mdm');
  fs.copyFileSync(process.execPath, executable);
  fs.chmodSync(executable, 0o755);
  await inject(executable, 'NODE_SEA_BLOB', fs.readFileSync(blob), { sentinelFuse: SEA_FUSE });
  fs.rmSync(blob);
  return { executable, bytes: fs.statSync(executable).size };
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const root = path.resolve(import.meta.dirname, '..');
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist', 'sea') } } });
  const r = await buildSea(path.resolve(values.outdir!));
  console.log(`built ${r.executable} (${(r.bytes / 1e6).toFixed(1)} MB)`);
}

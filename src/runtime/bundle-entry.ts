// The entry of the bundle (`npm run build`: dist/mdm.cjs) and of the single executable made from
// it (`npm run build:sea`). It finds the appliance's files and SQLite's addon before any other
// module runs, then starts the CLI, or a SCEP worker when run as one.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as sea from 'node:sea';
import { isMainThread } from 'node:worker_threads';
import { setBundledRuntime } from './files.ts';
import { ADDON, BUNDLE, MANIFEST, type Manifest } from './manifest.ts';

function loadAddon(file: string): object {
  const module = { exports: {} as object };
  process.dlopen(module, file);
  return module.exports;
}

/** The data dir the command will use: the flag, then MDM_DATA_DIR, then ./data (as config.ts decides). */
function dataDirOf(argv: string[]): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-dir' && argv[i + 1]) return path.resolve(argv[i + 1]!);
    if (a.startsWith('--data-dir=')) return path.resolve(a.slice('--data-dir='.length));
  }
  return path.resolve(process.env.MDM_DATA_DIR || './data');
}

/**
 * The executable's files written out under `$MDM_DATA_DIR/.runtime/<manifest hash>`: migrations
 * and assets are read as files, the addon must be a file for dlopen, and SCEP worker threads run
 * the bundle from disk. Written to a temporary directory and renamed, so a server and a CLI
 * command starting together never see half of it; a new build gets a new directory.
 */
function extractAssets(): string {
  const manifestText = Buffer.from(sea.getAsset(MANIFEST));
  const manifest = JSON.parse(manifestText.toString('utf8')) as Manifest;
  const hash = crypto.createHash('sha256').update(manifestText).digest('hex').slice(0, 16);
  const base = path.join(dataDirOf(process.argv.slice(2)), '.runtime');
  const dir = path.join(base, `${manifest.version}-${hash}`);
  if (fs.existsSync(path.join(dir, MANIFEST))) return dir;
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  const tmp = fs.mkdtempSync(path.join(base, '.extract-'));
  try {
    for (const { path: f } of manifest.files) {
      const target = path.join(tmp, f);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, Buffer.from(sea.getAsset(f)));
    }
    // Last: its presence says the directory is complete.
    fs.writeFileSync(path.join(tmp, MANIFEST), manifestText);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another process finished first: its copy is the same files.
      if (!fs.existsSync(path.join(dir, MANIFEST))) throw e;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}

const root = isMainThread && sea.isSea() ? extractAssets() : path.dirname(__filename);
setBundledRuntime({ root, sqliteAddon: loadAddon(path.join(root, ADDON)), bundle: path.join(root, BUNDLE) });

if (isMainThread) void import('../cli.ts');
else void import('../pki/scep/worker.ts');

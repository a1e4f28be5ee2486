// `npm run build [-- --outdir DIR]`: the server as one CommonJS file (esbuild) with the files it
// reads beside it, laid out as in the repository: `node DIR/mdm.cjs serve` runs the appliance
// without node_modules or tsx. `scripts/build-sea.ts` turns it into one executable.
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { ADDON, BUNDLE, MANIFEST, type Manifest } from '../src/runtime/manifest.ts';
import { VERSION } from '../src/version.ts';

const root = path.resolve(import.meta.dirname, '..');

/** What the appliance reads at run time, besides its code. */
const FILES = ['migrations', 'src/console/assets', 'src/apple/commands/catalog.generated.json', 'LICENSE'];

function listFiles(rel: string): string[] {
  const abs = path.join(root, rel);
  if (!fs.statSync(abs).isDirectory()) return [rel];
  return fs.readdirSync(abs, { recursive: true, encoding: 'utf8' }).map((f) => path.join(rel, f)).filter((f) => fs.statSync(path.join(root, f)).isFile()).sort();
}

export async function build(outdir: string): Promise<{ outdir: string; bundleBytes: number; files: number }> {
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  await esbuild.build({
    entryPoints: [path.join(root, 'src/runtime/bundle-entry.ts')],
    outfile: path.join(outdir, BUNDLE),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Licence texts of everything bundled, gathered at the end of the file.
    legalComments: 'eof',
    // Modules that read import.meta.url run only from the sources; the bundle sets its own paths.
    logOverride: { 'empty-import-meta': 'silent' },
    logLevel: 'warning',
  });
  for (const rel of FILES.flatMap(listFiles)) {
    fs.mkdirSync(path.dirname(path.join(outdir, rel)), { recursive: true });
    fs.copyFileSync(path.join(root, rel), path.join(outdir, rel));
  }
  // better-sqlite3's compiled addon, as npm ci built it for this Node.
  fs.copyFileSync(createRequire(import.meta.url).resolve('better-sqlite3/build/Release/better_sqlite3.node'), path.join(outdir, ADDON));
  const sha256 = (rel: string) => crypto.createHash('sha256').update(fs.readFileSync(path.join(outdir, rel))).digest('hex');
  const manifest: Manifest = { version: VERSION, files: [...FILES.flatMap(listFiles), ADDON, BUNDLE].map((rel) => ({ path: rel, sha256: sha256(rel) })) };
  fs.writeFileSync(path.join(outdir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return { outdir, bundleBytes: fs.statSync(path.join(outdir, BUNDLE)).size, files: manifest.files.length };
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: path.join(root, 'dist') } } });
  const r = await build(path.resolve(values.outdir!));
  console.log(`built ${path.join(r.outdir, BUNDLE)} (${(r.bundleBytes / 1e6).toFixed(1)} MB) and ${r.files} files beside it`);
}

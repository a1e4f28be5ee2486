import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the appliance's own files are (migrations, console assets, generated catalogs) and how
 * SQLite's native addon is found. From the sources (tsx): the repository. From the bundle or the
 * single executable: what `src/runtime/bundle-entry.ts` found at start, before anything else ran.
 * A process-wide fact set once, so it is read from globalThis rather than threaded through
 * every factory that reads a file.
 */
export interface BundledRuntime {
  /** The directory holding the files, laid out as in the repository. */
  root: string;
  /** better-sqlite3's addon, loaded with process.dlopen: a bundle cannot find it by itself. */
  sqliteAddon: object;
  /** The bundle file on disk: SCEP worker threads run it. */
  bundle: string;
}

const KEY = '__mdmBundledRuntime';
type WithRuntime = typeof globalThis & { [KEY]?: BundledRuntime };

export function setBundledRuntime(runtime: BundledRuntime): void {
  (globalThis as WithRuntime)[KEY] = runtime;
}

const bundled = (): BundledRuntime | undefined => (globalThis as WithRuntime)[KEY];

/** A file or directory of the appliance, by its path in the repository (`migrations`, `src/console/assets/app.css`). */
export function appFile(relative: string): string {
  const b = bundled();
  return path.join(b ? b.root : fileURLToPath(new URL('../../', import.meta.url)), relative);
}

/**
 * Options for every `new Database(...)`: the addon to use when bundled. better-sqlite3 takes the
 * loaded addon object as nativeBinding (lib/database.js); its type declarations admit only a
 * path, which a single executable cannot require.
 */
export function sqliteOptions(): { nativeBinding?: string } {
  const b = bundled();
  return b ? { nativeBinding: b.sqliteAddon as unknown as string } : {};
}

/** What a SCEP worker thread runs: the bundle itself, or the TypeScript entry beside the sources. */
export function scepWorkerEntry(): string | URL {
  return bundled()?.bundle ?? new URL('../pki/scep/worker-entry.mjs', import.meta.url);
}

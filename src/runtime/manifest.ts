/** What the build writes beside the bundle, and the single executable carries as assets. */
export interface Manifest {
  version: string;
  /** Relative paths as in the repository (`migrations/0000_pki.sql`), the bundle and the addon, with their SHA-256. */
  files: Array<{ path: string; sha256: string }>;
}

export const MANIFEST = 'manifest.json';
export const ADDON = 'better_sqlite3.node';
export const BUNDLE = 'mdm.cjs';

import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Context } from 'hono';
import { appFile } from '../runtime/files.ts';

/**
 * The console's static files, read once at start and served under a content hash, so a browser
 * may keep them for a year and a new release is fetched at once. htmx is vendored (its 0BSD
 * licence beside it), never loaded from a CDN: the appliance must work without the internet.
 */
const FILES = {
  'console.css': 'text/css; charset=utf-8',
  'htmx.min.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
} as const;
const SOURCES: Record<keyof typeof FILES, string> = { 'console.css': 'console.css', 'htmx.min.js': 'htmx-2.0.11.min.js', 'favicon.svg': 'favicon.svg' };

export type AssetName = keyof typeof FILES;

const loaded = Object.fromEntries(
  (Object.keys(FILES) as AssetName[]).map((name) => {
    const body = fs.readFileSync(appFile(`src/console/assets/${SOURCES[name]}`));
    const tag = crypto.createHash('sha256').update(body).digest('hex').slice(0, 12);
    const [base, ext] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.'))];
    return [name, { body, url: `/assets/${base}-${tag}${ext}`, type: FILES[name] }];
  }),
) as Record<AssetName, { body: Buffer; url: string; type: string }>;
const byUrl = new Map(Object.values(loaded).map((a) => [a.url, a]));

export const assetUrl = (name: AssetName): string => loaded[name].url;

/** `GET /assets/:file`: only the current hashed names; anything else is not found. */
export function serveAsset(c: Context): Response | null {
  const a = byUrl.get(c.req.path);
  if (!a) return null;
  return c.body(new Uint8Array(a.body), 200, { 'content-type': a.type, 'cache-control': 'public, max-age=31536000, immutable', 'x-content-type-options': 'nosniff' });
}

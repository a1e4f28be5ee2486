import crypto from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { appId } from '../policy/model.ts';
import type { AppRepo, AppRow } from './repo.ts';

const name = z.string().trim().min(1).max(100);
/** Apple fetches the manifest (and the app) over HTTPS only. */
const manifestUrl = z.url({ protocol: /^https$/, error: 'must be an https:// URL (Apple fetches manifests over HTTPS only)' }).max(2000);
const itunesStoreId = z.number().int().positive().max(2 ** 53 - 1);

export const AppBody = z.discriminatedUnion('source', [
  z.strictObject({ source: z.literal('app_store'), name, bundle_id: appId, itunes_store_id: itunesStoreId.optional() }),
  z.strictObject({ source: z.literal('enterprise'), name, bundle_id: appId, manifest_url: manifestUrl }),
  z.strictObject({ source: z.literal('play'), name, package_name: appId }),
]);
export type AppBody = z.output<typeof AppBody>;
export const AppPatch = z.strictObject({ name: name.optional(), itunes_store_id: itunesStoreId.nullable().optional(), manifest_url: manifestUrl.optional() });

/** The catalog: what the company's apps are and where each is installed from. */
export function createAppCatalog(deps: { repo: AppRepo; now?: () => number }) {
  const { repo } = deps;
  const now = deps.now ?? Date.now;
  const require = (id: string): AppRow => {
    const a = repo.app(id);
    if (!a) throw new AppError('app_not_found', `no app ${id} in the catalog`, 404);
    return a;
  };
  return {
    list: () => repo.apps(),
    get: require,
    create(b: AppBody): AppRow {
      const t = now();
      const row: AppRow = {
        id: crypto.randomUUID(),
        name: b.name,
        platform: b.source === 'play' ? 'android' : 'apple',
        source: b.source,
        identifier: b.source === 'play' ? b.package_name : b.bundle_id,
        itunesStoreId: b.source === 'app_store' ? (b.itunes_store_id ?? null) : null,
        manifestUrl: b.source === 'enterprise' ? b.manifest_url : null,
        createdAt: t,
        updatedAt: t,
      };
      if (!repo.insertApp(row)) throw new AppError('app_exists', `${row.identifier} is in the catalog already`, 409);
      return row;
    },
    update(id: string, p: z.output<typeof AppPatch>): AppRow {
      const a = require(id);
      if (p.itunes_store_id !== undefined && a.source !== 'app_store') throw new AppError('invalid_request', 'itunes_store_id: only for App Store apps');
      if (p.manifest_url !== undefined && a.source !== 'enterprise') throw new AppError('invalid_request', 'manifest_url: only for enterprise apps');
      const set = {
        ...(p.name !== undefined ? { name: p.name } : {}),
        ...(p.itunes_store_id !== undefined ? { itunesStoreId: p.itunes_store_id } : {}),
        ...(p.manifest_url !== undefined ? { manifestUrl: p.manifest_url } : {}),
        updatedAt: now(),
      };
      repo.updateApp(id, set);
      return { ...a, ...set };
    },
    remove(id: string): AppRow {
      const a = require(id);
      repo.deleteApp(id);
      return a;
    },
  };
}

export type AppCatalog = ReturnType<typeof createAppCatalog>;

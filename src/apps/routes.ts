import { Hono } from 'hono';
import type { ApiEnv } from '../api/auth.ts';
import { iso, readJson } from '../api/http.ts';
import type { AppleRepo } from '../apple/repo.ts';
import type { Audit } from '../audit/service.ts';
import { AppBody, AppPatch, type AppCatalog } from './catalog.ts';
import { appleDevice } from '../policy/profile-routes.ts';
import { managedAppJson } from './enforce-apple-apps.ts';
import type { AppRepo, AppRow } from './repo.ts';

export const appJson = (a: AppRow) => ({
  id: a.id,
  name: a.name,
  platform: a.platform,
  source: a.source,
  ...(a.platform === 'apple' ? { bundle_id: a.identifier } : { package_name: a.identifier }),
  itunes_store_id: a.itunesStoreId,
  manifest_url: a.manifestUrl,
  created_at: iso(a.createdAt),
  updated_at: iso(a.updatedAt),
});

/**
 * `/api/v1/apps` (the catalog) and `/api/v1/devices/:id/apps` (an Apple device's managed apps and
 * what it last listed). A catalog change can make a required app installable: enforcement runs after it.
 */
export function appRoutes(deps: { catalog: AppCatalog; repo: AppRepo; apple: AppleRepo; audit: Audit; enforce: () => Promise<unknown> }) {
  const { catalog, audit } = deps;
  const app = new Hono<ApiEnv>();
  const target = (a: AppRow) => ({ type: 'app', id: a.id, label: a.name });

  app.get('/apps', (c) => c.json({ apps: catalog.list().map(appJson) }));
  app.post('/apps', async (c) => {
    const body = await readJson(c, AppBody);
    const a = audit.within(c.get('actor'), () => catalog.create(body), (x) => ({ action: 'app.create', target: target(x), details: { source: x.source, identifier: x.identifier } }));
    await deps.enforce();
    return c.json(appJson(a), 201);
  });
  app.get('/apps/:id', (c) => c.json(appJson(catalog.get(c.req.param('id')))));
  app.patch('/apps/:id', async (c) => {
    const body = await readJson(c, AppPatch);
    const a = audit.within(c.get('actor'), () => catalog.update(c.req.param('id'), body), (x) => ({ action: 'app.update', target: target(x), details: body }));
    await deps.enforce();
    return c.json(appJson(a));
  });
  app.delete('/apps/:id', async (c) => {
    audit.within(c.get('actor'), () => catalog.remove(c.req.param('id')), (x) => ({ action: 'app.delete', target: target(x) }));
    await deps.enforce();
    return c.body(null, 204);
  });

  app.get('/devices/:id/apps', (c) => {
    const id = c.req.param('id');
    const device = appleDevice(deps.apple, id);
    const managed = deps.repo.managedOf(id);
    const ours = new Set(managed.map((r) => r.bundleId));
    const listed = Array.isArray(device.installedApps) ? (device.installedApps as Array<Record<string, unknown>>) : null;
    return c.json({
      device_id: id,
      managed_apps: managed.map(managedAppJson),
      // Null until the device has answered an InstalledApplicationList.
      installed: listed?.map((a) => ({
        bundle_id: a.Identifier ?? null,
        name: a.Name ?? null,
        version: a.ShortVersion ?? null,
        managed_by_us: ours.has(String(a.Identifier)),
      })) ?? null,
      inventory_updated_at: iso(device.inventoryUpdatedAt),
    });
  });
  return app;
}

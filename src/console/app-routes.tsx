import { Hono, type Context } from 'hono';
import type { z } from 'zod';
import { AppBody, AppPatch, type AppCatalog } from '../apps/catalog.ts';
import type { AppRow } from '../apps/repo.ts';
import type { Audit } from '../audit/service.ts';
import { AppError, isAppError } from '../errors.ts';
import { AppPage, AppsPage, type AppTyped } from './pages/apps.tsx';
import { field, render } from './render.ts';
import type { Guards } from './settings-routes.tsx';
import type { ConsoleEnv } from './session.ts';

const NOTICES: Record<string, string> = {
  added: 'App added to the catalog: devices whose policy requires it get it now.',
  saved: 'App changed.',
  deleted: 'App removed from the catalog.',
};

const FIELDS = ['source', 'name', 'bundle_id', 'package_name', 'itunes_store_id', 'manifest_url'] as const;

/** Digits as a number; anything else typed stays a string for the schema to refuse by name. */
const storeId = (s: string) => (/^\d{1,16}$/.test(s) ? Number(s) : s);

const refusal = (e: z.ZodError) => {
  const i = e.issues[0]!;
  return i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message;
};

/** The add forms' fields as the API's body: only those of the chosen source. */
function addBody(t: AppTyped): unknown {
  const base = { source: t.source, name: t.name?.trim() };
  if (t.source === 'play') return { ...base, package_name: t.package_name?.trim() };
  if (t.source === 'enterprise') return { ...base, bundle_id: t.bundle_id?.trim(), manifest_url: t.manifest_url?.trim() };
  const id = t.itunes_store_id?.trim();
  return { ...base, bundle_id: t.bundle_id?.trim(), ...(id ? { itunes_store_id: storeId(id) } : {}) };
}

/**
 * `/apps`: the app catalog, added to, changed and emptied as with /api/v1/apps. A catalog change
 * can make a required app installable (a Mac's App Store app needs its iTunes id): enforcement
 * runs after each, as the API's does.
 */
export function appConsoleRoutes(deps: { catalog: AppCatalog; audit: Audit; enforce: () => Promise<unknown> }, g: Guards) {
  const { catalog, audit } = deps;
  const app = new Hono<ConsoleEnv>();
  const change = [g.signedIn, g.csrf, g.adminOnly] as const;
  const target = (a: AppRow) => ({ type: 'app', id: a.id, label: a.name });

  const listPage = (c: Context<ConsoleEnv>, o: { notice?: string; error?: string; status?: number; typed?: AppTyped } = {}) =>
    render(c, <AppsPage session={c.get('session')} apps={catalog.list()} notice={o.notice} error={o.error} typed={o.typed} />, o.status);
  const appPage = (c: Context<ConsoleEnv>, id: string, o: { notice?: string; error?: string; status?: number; typed?: AppTyped } = {}) =>
    render(c, <AppPage session={c.get('session')} app={catalog.get(id)} notice={o.notice} error={o.error} typed={o.typed} />, o.status);

  app.get('/apps', g.signedIn, (c) => listPage(c, { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post('/apps', ...change, async (c) => {
    const body = await c.req.parseBody();
    const typed = Object.fromEntries(FIELDS.map((f) => [f, field(body, f)]));
    try {
      const r = AppBody.safeParse(addBody(typed));
      if (!r.success) throw new AppError('invalid_request', refusal(r.error));
      audit.within(g.actor(c), () => catalog.create(r.data), (x) => ({ action: 'app.create', target: target(x), details: { source: x.source, identifier: x.identifier } }));
    } catch (e) {
      if (!isAppError(e)) throw e;
      return listPage(c, { error: e.message, status: e.status, typed });
    }
    await deps.enforce();
    return c.redirect('/apps?done=added', 303);
  });

  app.get('/apps/:id', g.signedIn, (c) => appPage(c, c.req.param('id'), { notice: NOTICES[c.req.query('done') ?? ''] }));

  app.post('/apps/:id/edit', ...change, async (c) => {
    const a = catalog.get(c.req.param('id'));
    const body = await c.req.parseBody();
    const typed = { name: field(body, 'name'), itunes_store_id: field(body, 'itunes_store_id'), manifest_url: field(body, 'manifest_url') };
    // Only what this source has: an App Store app's empty store id clears it.
    const id = typed.itunes_store_id.trim();
    const patch = {
      name: typed.name.trim(),
      ...(a.source === 'app_store' ? { itunes_store_id: id ? storeId(id) : null } : {}),
      ...(a.source === 'enterprise' ? { manifest_url: typed.manifest_url.trim() } : {}),
    };
    try {
      const r = AppPatch.safeParse(patch);
      if (!r.success) throw new AppError('invalid_request', refusal(r.error));
      audit.within(g.actor(c), () => catalog.update(a.id, r.data), (x) => ({ action: 'app.update', target: target(x), details: r.data }));
    } catch (e) {
      if (!isAppError(e)) throw e;
      return appPage(c, a.id, { error: e.message, status: e.status, typed });
    }
    await deps.enforce();
    return c.redirect(`/apps/${a.id}?done=saved`, 303);
  });

  app.post('/apps/:id/delete', ...change, async (c) => {
    audit.within(g.actor(c), () => catalog.remove(c.req.param('id')), (x) => ({ action: 'app.delete', target: target(x) }));
    await deps.enforce();
    return c.redirect('/apps?done=deleted', 303);
  });

  return app;
}

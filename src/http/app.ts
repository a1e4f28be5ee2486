import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { routePath } from 'hono/route';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { VERSION } from '../version.ts';

export const MAX_BODY = 1024 * 1024;

export interface AppParts {
  log: Logger;
  /** Cheap liveness probe of the database; throws when it cannot answer. */
  checkDatabase: () => void;
  /** Sub-apps mounted at their path prefix; `ownBodyLimit` mounts enforce their own limit instead of MAX_BODY. */
  mounts: Array<[path: string, app: Hono<any>, ownBodyLimit?: boolean]>;
  /** The 404 for browsers (they ask for text/html) outside `/api/`: the console's page rather than JSON. */
  htmlNotFound?: (c: Context) => Response | Promise<Response>;
  /** Told every request's matched route pattern ('unmatched' for a 404), method, status and duration (metrics). */
  onRequest?: (route: string, method: string, status: number, seconds: number) => void;
}

export function buildApp({ log, checkDatabase, mounts, htmlNotFound, onRequest }: AppParts): Hono {
  const app = new Hono();

  app.use(async (c, next) => {
    const start = performance.now();
    await next();
    if (onRequest) {
      // The pattern, not the path: one series per route however many device ids pass through it.
      const route = routePath(c);
      onRequest(route === '/*' ? 'unmatched' : route, c.req.method, c.res.status, (performance.now() - start) / 1000);
    }
    log.info(
      { method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - start) * 10) / 10 },
      'request',
    );
  });
  const limit = bodyLimit({
    maxSize: MAX_BODY,
    onError: (c) => c.json({ error: { code: 'body_too_large', message: `request bodies are limited to ${MAX_BODY} bytes` } }, 413),
  });
  const ownLimits = mounts.filter((m) => m[2]).map((m) => m[0]);
  app.use((c, next) => (ownLimits.some((p) => c.req.path === p || c.req.path.startsWith(p + '/')) ? next() : limit(c, next)));

  app.get('/healthz', (c) => {
    try {
      checkDatabase();
      return c.json({ status: 'ok', version: VERSION, database: 'ok' });
    } catch (e) {
      log.error({ err: e }, 'health check: database unavailable');
      return c.json({ status: 'error', version: VERSION, database: 'error' }, 503);
    }
  });

  for (const [path, sub] of mounts) app.route(path, sub);

  app.notFound((c) =>
    htmlNotFound && !c.req.path.startsWith('/api/') && (c.req.header('accept') ?? '').includes('text/html')
      ? htmlNotFound(c)
      : c.json({ error: { code: 'not_found', message: `no route for ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    if (isAppError(err)) return c.json({ error: { code: err.code, message: err.message } }, err.status);
    log.error({ err, method: c.req.method, path: c.req.path }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: 'internal error' } }, 500);
  });
  return app;
}

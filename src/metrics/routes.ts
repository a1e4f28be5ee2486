import { Hono } from 'hono';
import { bearerAuth, type ApiEnv } from '../api/auth.ts';
import type { ApiTokens } from '../auth/api-tokens.ts';
import type { Metrics } from './metrics.ts';

/**
 * `/metrics` in Prometheus's text format, behind an API token like `/api/v1` (Prometheus sends
 * it with `authorization: { credentials: ... }`): the counts describe the fleet and its traffic.
 */
export function metricsRoutes(metrics: Pick<Metrics, 'text' | 'contentType'>, tokens: ApiTokens) {
  const app = new Hono<ApiEnv>();
  app.use('*', bearerAuth(tokens));
  app.get('/', async (c) => c.body(await metrics.text(), 200, { 'content-type': metrics.contentType }));
  return app;
}

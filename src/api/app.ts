import { Hono } from 'hono';
import type { CommandQueue } from '../apple/queue.ts';
import type { AppleRepo } from '../apple/repo.ts';
import type { ApiTokens } from '../auth/api-tokens.ts';
import { bearerAuth, type ApiEnv } from './auth.ts';
import { createCommandService } from './command-service.ts';
import { commandRoutes } from './commands.ts';
import { createDeviceViews } from './device-service.ts';
import { deviceRoutes } from './devices.ts';
import { pushRoutes } from './push.ts';
import type { PushCertificates } from '../push/service.ts';
import type { DevicePushes } from '../apple/device-pushes.ts';
import { androidApiRoutes } from '../android/api-routes.ts';
import { auditApiRoutes } from '../audit/routes.ts';
import type { Audit } from '../audit/service.ts';
import type { AndroidEnterprise } from '../android/service.ts';
import type { AndroidDeviceRepo } from '../android/device-repo.ts';
import type { AndroidSync } from '../android/sync.ts';
import type { AndroidCommands } from '../android/commands.ts';
import type { AndroidWipe } from '../android/wipe.ts';
import type { FleetQueries } from '../devices/fleet-queries.ts';
import { webhookRoutes } from '../webhooks/routes.ts';
import { openApiDocument } from './openapi.ts';
import type { Webhooks } from '../webhooks/service.ts';
import { policyRoutes } from '../policy/routes.ts';
import type { Policies } from '../policy/service.ts';

/** The JSON API, mounted at `/api/v1`: every route behind a bearer token, every error `{ error: { code, message } }`. */
export function apiRoutes(deps: {
  tokens: ApiTokens;
  repo: AppleRepo;
  androidDevices: AndroidDeviceRepo;
  queue: CommandQueue;
  push: PushCertificates;
  pushes: DevicePushes;
  android: AndroidEnterprise;
  androidSync: AndroidSync;
  androidCommands: AndroidCommands;
  androidWipe: AndroidWipe;
  fleet: FleetQueries;
  audit: Audit;
  trustedProxies: string[];
  webhooks: Webhooks;
  policies: Policies;
}) {
  const app = new Hono<ApiEnv>();
  app.use('*', bearerAuth(deps.tokens, deps.trustedProxies));
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.route('/', deviceRoutes(createDeviceViews(deps.repo, deps.androidDevices), deps.pushes, deps.fleet, deps.androidWipe, deps.audit));
  app.route('/', commandRoutes(createCommandService({ repo: deps.repo, queue: deps.queue }), deps.androidCommands, deps.audit));
  app.route('/', pushRoutes(deps.push, deps.audit));
  app.route('/', androidApiRoutes(deps.android, deps.androidSync, deps.audit));
  app.route('/', auditApiRoutes(deps.audit));
  app.route('/', webhookRoutes(deps.webhooks, deps.audit));
  app.route('/', policyRoutes(deps.policies, deps.audit));
  return app;
}

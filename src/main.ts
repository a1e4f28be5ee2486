import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { Hono } from 'hono';
import { createAdminRepo } from './admins/repo.ts';
import { createAdmins } from './admins/service.ts';
import { apiRoutes } from './api/app.ts';
import { createCommandService } from './api/command-service.ts';
import { createDeviceViews } from './api/device-service.ts';
import { createFleetQueries } from './devices/fleet-queries.ts';
import { consoleRoutes, notFoundPage } from './console/routes.tsx';
import { createApiTokens } from './auth/api-tokens.ts';
import { createAuthRepo } from './auth/repo.ts';
import type { Config } from './config.ts';
import { buildApp } from './http/app.ts';
import { createServerIdentity } from './http/server-identity.ts';
import { createWebhookRepo } from './webhooks/repo.ts';
import { createWebhooks } from './webhooks/service.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { metricsRoutes } from './metrics/routes.ts';
import { countedScep } from './metrics/scep.ts';
import { claimDataDir } from './store/server-lock.ts';
import type { Logger } from './log.ts';
import { createCa } from './pki/ca.ts';
import { createChallenges } from './pki/challenges.ts';
import { createPkiRepo } from './pki/repo.ts';
import { pkiRoutes } from './pki/routes.ts';
import { scepRoutes } from './pki/scep/routes.ts';
import { createScepService } from './pki/scep/service.ts';
import { inProcess, workerPool } from './pki/scep/worker-pool.ts';
import { enrollRoutes } from './apple/enroll-routes.tsx';
import { createEnrollmentLinks } from './apple/enrollment-links.ts';
import { inventoryCommands } from './apple/inventory-commands.ts';
import { createAppleMaintenance } from './apple/maintenance.ts';
import { enrollmentProfile, signProfile } from './apple/profile.ts';
import { toPem } from './pki/x509.ts';
import { createCommandQueue } from './apple/queue.ts';
import { createAppleRepo } from './apple/repo.ts';
import { appleMdmRoutes } from './apple/routes.ts';
import { createAppleMdm } from './apple/service.ts';
import { createDevicePushes } from './apple/device-pushes.ts';
import { createDeviceActions } from './apple/device-actions.ts';
import { createApnsClient } from './push/apns/client.ts';
import { apnsEndpoint } from './push/apns/endpoint.ts';
import { createPushRepo } from './push/repo.ts';
import { createPushCertificates } from './push/service.ts';
import { loadMasterKey } from './secrets/master-key.ts';
import { createSealer } from './secrets/seal.ts';
import { openStore } from './store/db.ts';
import { createAndroidRepo } from './android/repo.ts';
import { createAndroidDeviceRepo } from './android/device-repo.ts';
import { createAndroidSync } from './android/sync.ts';
import { createAndroidCommands } from './android/commands.ts';
import { createAndroidWipe } from './android/wipe.ts';
import { androidRoutes } from './android/routes.ts';
import { createAndroidEnterprise } from './android/service.ts';
import { createAuditRepo } from './audit/repo.ts';
import { createAudit } from './audit/service.ts';
import { createPolicyRepo } from './policy/repo.ts';
import { createPolicies } from './policy/service.ts';
import { createAndroidEnforcer } from './policy/enforce-android.ts';
import { createPolicyTargetRepo } from './android/policy-target-repo.ts';
import { createComplianceRepo } from './compliance/repo.ts';
import { createPolicyProfileRepo } from './apple/policy-profile-repo.ts';
import { createAppleEnforcer } from './policy/enforce-apple.ts';
import { createAppleWipe } from './apple/retire.ts';
import { createAppRepo } from './apps/repo.ts';
import { createAppCatalog } from './apps/catalog.ts';
import { createAppleAppEnforcer } from './apps/enforce-apple-apps.ts';
import { createCompliance } from './compliance/service.ts';

/** Composition root: config → store → services. Shared by the server and every CLI command. */
export function compose(config: Config, log: Logger, hooks: { metrics?: Metrics } = {}) {
  const store = openStore(config.dataDir);
  const sealer = createSealer(loadMasterKey(config.dataDir, config.masterKey));
  const pkiRepo = createPkiRepo(store.db);
  const ca = createCa({ repo: pkiRepo, sealer, log: log.child({ mod: 'ca' }), publicUrl: config.publicUrl, deviceCertDays: config.deviceCertDays });
  const challenges = createChallenges(pkiRepo);
  const webhooks = createWebhooks({ repo: createWebhookRepo(store.db), sealer, log: log.child({ mod: 'webhooks' }), retryBaseMs: config.webhookRetryBase });
  const push = createPushCertificates({
    repo: createPushRepo(store.db),
    sealer,
    log: log.child({ mod: 'push' }),
    organization: config.organization,
    onExpiring: (s) =>
      webhooks.emit('push_certificate.expiring', { state: s.state, days_left: s.daysLeft, topic: s.topic, not_after: new Date(s.notAfter).toISOString() }),
  });
  const appleRepo = createAppleRepo(store.db);
  const queue = createCommandQueue({ repo: appleRepo, log: log.child({ mod: 'queue' }), defaultTtlMs: config.commandTtl });
  const links = createEnrollmentLinks({ repo: appleRepo, challenges, publicUrl: config.publicUrl, log: log.child({ mod: 'enroll' }) });
  const apiTokens = createApiTokens({ repo: createAuthRepo(store.db), log: log.child({ mod: 'api' }) });
  const admins = createAdmins({ repo: createAdminRepo(store.db), sealer, log: log.child({ mod: 'admins' }), publicUrl: config.publicUrl, organization: config.organization });
  // No connection is opened until a call is made: CLI commands compose this too.
  const android = createAndroidEnterprise({
    repo: createAndroidRepo(store.db),
    sealer,
    log: log.child({ mod: 'android' }),
    publicUrl: config.publicUrl,
    amapiUrl: config.android.amapiUrl,
    pubsubUrl: config.android.pubsubUrl,
    pubsubTopic: config.android.pubsubTopic,
    ...(hooks.metrics ? { observe: hooks.metrics.android } : {}),
  });
  const androidRepo = createAndroidRepo(store.db);
  const androidDevices = createAndroidDeviceRepo(store.db);
  const androidCommands = createAndroidCommands({ client: android.client, devices: androidDevices, log: log.child({ mod: 'android-commands' }) });
  const androidSync = createAndroidSync({
    client: android.client,
    devices: androidDevices,
    enterprise: () => androidRepo.enterprise(),
    log: log.child({ mod: 'android-sync' }),
    emit: webhooks.emit,
    onOperation: (op) => void androidCommands.complete(op),
    pollOperations: () => androidCommands.poll(),
    onStored: ({ ids, inserted }) => {
      // A device new to us gets its effective policy at once; enforcing evaluates its compliance too
      // (compliance is an enforcer), so only the others are re-evaluated here.
      const fresh = new Set(inserted);
      compliance.reported(fresh.size ? ids.filter((id) => !fresh.has(id)) : ids);
      if (inserted.length) policies.enforce({ devices: inserted }).catch((err: unknown) => log.error({ err }, 'enforcing policies on new Android devices failed'));
    },
    afterReconcile: async () => {
      const failing = androidEnforcer.failing();
      if (failing.length) await policies.enforce({ devices: failing });
    },
  });
  const androidEnforcer = createAndroidEnforcer({ client: android.client, repo: createPolicyTargetRepo(store.db), enterprise: () => androidRepo.enterprise(), log: log.child({ mod: 'android-policy' }) });
  const compliance = createCompliance({ repo: createComplianceRepo(store.db), targets: (scope) => policies.targets(scope), emit: webhooks.emit, log: log.child({ mod: 'compliance' }) });
  const androidWipe = createAndroidWipe({ client: android.client, devices: androidDevices, log: log.child({ mod: 'android-commands' }) });
  const audit = createAudit({ repo: createAuditRepo(store.db), sqlite: store.sqlite, log: log.child({ mod: 'audit' }) });
  // Compliance first: it only reads and writes the database, so it is current before Google is called.
  const policyProfiles = createPolicyProfileRepo(store.db);
  const appRepo = createAppRepo(store.db);
  const appleApps = createAppleAppEnforcer({ repo: appRepo, queue, enrolled: (ids) => policyProfiles.enrolled(ids), log: log.child({ mod: 'apple-apps' }) });
  const appleEnforcer = createAppleEnforcer({ repo: policyProfiles, queue, log: log.child({ mod: 'apple-policy' }) });
  const policies = createPolicies({ repo: createPolicyRepo(store.db), enforcers: [compliance.enforcer, appleEnforcer, appleApps, androidEnforcer] });
  const appleWipe = createAppleWipe({ repo: appleRepo, profiles: policyProfiles, apps: appRepo, queue, log: log.child({ mod: 'apple-wipe' }) });
  const catalog = createAppCatalog({ repo: appRepo });
  return { config, log, store, sealer, pkiRepo, ca, challenges, push, appleRepo, queue, links, apiTokens, admins, android, androidDevices, androidSync, androidCommands, androidWipe, audit, webhooks, policies, compliance, appleEnforcer, policyProfiles, appleWipe, appRepo, appleApps, catalog };
}
export type Appliance = ReturnType<typeof compose>;

export interface RunningServer {
  /** The routes as mounted: tests enumerate them to prove none is left unguarded. */
  app: Hono;
  http: AddressInfo | null;
  https: AddressInfo | null;
  close(): Promise<void>;
}

/** Starts the HTTP(S) listeners over a composed appliance. */
export async function serve(config: Config, log: Logger): Promise<RunningServer> {
  const releaseDataDir = claimDataDir(config.dataDir);
  let appliance: Appliance;
  // Read at scrape time, once the appliance exists.
  const metrics = createMetrics({
    dbFile: path.join(config.dataDir, 'mdm.sqlite'),
    devicesByState: () => fleet.summary(0).rows.map((r) => ({ platform: r.platform ?? 'unknown', status: r.status ?? 'none', n: r.n })),
    pushCertificateSecondsLeft: () => {
      const active = appliance.push.active();
      return active ? Math.round((active.notAfter - Date.now()) / 1000) : null;
    },
  });
  try {
    appliance = compose(config, log, { metrics });
  } catch (e) {
    releaseDataDir();
    throw e;
  }
  const { store, ca, challenges } = appliance;
  const fleet = createFleetQueries(store.db);
  if (new URL(config.publicUrl).protocol === 'http:') {
    log.warn({ publicUrl: config.publicUrl }, 'MDM_PUBLIC_URL is plain http://: real Apple devices need https://; fine for labs, simulators and tests');
  }
  const scep = createScepService({
    ca,
    repo: appliance.pkiRepo,
    log: log.child({ mod: 'scep' }),
    staticChallenge: config.scepChallenge,
    allowDes: config.scepAllowDes,
  });
  const operations =
    config.scepWorkers > 0 ? workerPool({ size: config.scepWorkers, config, log: log.child({ mod: 'scep' }), fallback: inProcess(scep) }) : inProcess(scep);
  const scepApp = scepRoutes(scep, countedScep(operations, metrics));
  // APNs: connections open on the first push; a push certificate imported or renewed (here or by
  // `mdm push import` beside the server) is used from the next push on.
  const apns = createApnsClient({ log: log.child({ mod: 'apns' }), identity: () => appliance.push.activeIdentity(), ...apnsEndpoint(config) });
  const stopWatchingPush = appliance.push.onChange((id) => apns.setIdentity(id));
  const pushes = createDevicePushes({
    repo: appliance.appleRepo,
    apns,
    log: log.child({ mod: 'push' }),
    retryAfterMs: config.pushRetryAfter,
    onResult: (r) => metrics.push(r.ok ? 'ok' : r.reason),
  });
  appliance.queue.onEnqueued((ids) => {
    metrics.commandsQueued(ids.length);
    pushes.wake(ids);
  });
  const mdm = createAppleMdm({
    repo: appliance.appleRepo,
    pkiRepo: appliance.pkiRepo,
    queue: appliance.queue,
    sealer: appliance.sealer,
    log: log.child({ mod: 'mdm' }),
    inventoryCommands,
    wake: (ids) => pushes.wake(ids),
    observe: { checkin: metrics.checkin, report: metrics.commandReport },
    emit: appliance.webhooks.emit,
    onInventory: (deviceId, requestType) => appliance.compliance.appleInventory(deviceId, requestType),
    onCommandResult: (r) => {
      appliance.appleEnforcer.result(r);
      appliance.appleApps.result(r);
    },
    onEnrolled: (deviceId) => {
      // A device enrolling (again) has none of our profiles: it gets its effective policy from nothing.
      appliance.appleEnforcer.forget(deviceId);
      appliance.appleApps.forget(deviceId);
      appliance.policies.enforce({ devices: [deviceId] }).catch((err: unknown) => log.error({ err, deviceId }, 'enforcing policies on a new Apple device failed'));
    },
    onCheckedOut: (deviceId) => {
      appliance.appleEnforcer.forget(deviceId);
      appliance.appleApps.forget(deviceId);
    },
  });
  const identity = createServerIdentity(config, ca);
  const enroll = enrollRoutes({
    links: appliance.links,
    log: log.child({ mod: 'enroll' }),
    organization: config.organization,
    topic: () => appliance.push.active()?.topic ?? null,
    profile: (spent, topic) => {
      const id = identity.get();
      const input = { publicUrl: config.publicUrl, topic, challenge: spent.challenge, ownership: spent.ownership, organization: config.organization };
      return signProfile(enrollmentProfile({ ...input, caDer: ca.ca.der, includeRoot: id.ownCa }), id.signer, id.chain);
    },
  });
  const consoleViews = createDeviceViews(appliance.appleRepo, appliance.androidDevices);
  const consoleCommands = createCommandService({ repo: appliance.appleRepo, queue: appliance.queue });
  const app = buildApp({
    log: log.child({ mod: 'http' }),
    checkDatabase: () => void store.sqlite.prepare('SELECT 1').get(),
    onRequest: metrics.http,
    mounts: [
      ['/mdm', appleMdmRoutes({ mdm, ca, log: log.child({ mod: 'mdm' }), trustedProxies: config.trustedProxies }), true],
      ['/scep', scepApp],
      ['/cgi-bin/pkiclient.exe', scepApp],
      ['/pki', pkiRoutes(ca)],
      ['/metrics', metricsRoutes(metrics, appliance.apiTokens)],
      ['/enroll', enroll],
      ['/android', androidRoutes({ android: appliance.android, log: log.child({ mod: 'android' }), audit: appliance.audit, trustedProxies: config.trustedProxies })],
      [
        '/api/v1',
        apiRoutes({
          tokens: appliance.apiTokens,
          repo: appliance.appleRepo,
          androidDevices: appliance.androidDevices,
          queue: appliance.queue,
          push: appliance.push,
          pushes,
          android: appliance.android,
          androidSync: appliance.androidSync,
          androidCommands: appliance.androidCommands,
          androidWipe: appliance.androidWipe,
          fleet,
          audit: appliance.audit,
          trustedProxies: config.trustedProxies,
          webhooks: appliance.webhooks,
          policies: appliance.policies,
          compliance: appliance.compliance,
          policyProfiles: appliance.policyProfiles,
          appleWipe: appliance.appleWipe,
          catalog: appliance.catalog,
          appRepo: appliance.appRepo,
        }),
      ],
      [
        '/',
        consoleRoutes({
          compliance: appliance.compliance,
          policies: appliance.policies,
          catalog: appliance.catalog,
          actions: createDeviceActions({ repo: appliance.appleRepo, commands: consoleCommands, views: consoleViews, sealer: appliance.sealer, appleWipe: appliance.appleWipe }),
          tellRemoved: (channels) => void pushes.tellRemoved(channels),
          admins: appliance.admins,
          views: consoleViews,
          fleet,
          commands: consoleCommands,
          androidCommands: appliance.androidCommands,
          androidWipe: appliance.androidWipe,
          android: appliance.android,
          push: appliance.push,
          links: appliance.links,
          audit: appliance.audit,
          apiTokens: appliance.apiTokens,
          caNotAfter: () => ca.ca.info.notAfter,
          caFingerprint: () => ca.caFingerprint(),
          tls: () => (config.httpsPort === null ? null : identity.get()),
          publicUrl: config.publicUrl,
          organization: config.organization,
          trustedProxies: config.trustedProxies,
          log: log.child({ mod: 'console' }),
        }),
      ],
    ],
    htmlNotFound: (c) => notFoundPage(c, appliance.admins),
  });

  const servers: Array<ReturnType<typeof createAdaptorServer>> = [];
  const listen = async (server: ReturnType<typeof createAdaptorServer>, port: number, scheme: string): Promise<AddressInfo> => {
    servers.push(server);
    // Longer than clients' and proxies' idle timeouts, so the server is never the side that closes
    // a kept-alive connection just as a client reuses it.
    const s = server as unknown as { keepAliveTimeout: number; headersTimeout: number };
    s.keepAliveTimeout = 65_000;
    s.headersTimeout = 66_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, config.listen, () => resolve());
    });
    const addr = server.address() as AddressInfo;
    log.info({ scheme, address: addr.address, port: addr.port }, 'listening');
    return addr;
  };

  let httpAddr: AddressInfo | null = null;
  let httpsAddr: AddressInfo | null = null;
  let httpsServer: https.Server | null = null;
  // Devices may authenticate with their identity certificate in TLS. Naming our CA as the only
  // acceptable issuer keeps browsers from offering (or prompting for) other certificates.
  const tlsOptions = () => ({ cert: identity.get().certPem, key: identity.get().keyPem, ca: toPem('CERTIFICATE', ca.ca.der) });
  try {
    if (config.httpPort !== null) {
      httpAddr = await listen(createAdaptorServer({ fetch: app.fetch }), config.httpPort, 'http');
    }
    if (config.httpsPort !== null) {
      const serverOptions = { ...tlsOptions(), requestCert: true, rejectUnauthorized: false };
      httpsServer = createAdaptorServer({ fetch: app.fetch, createServer: https.createServer, serverOptions }) as https.Server;
      httpsAddr = await listen(httpsServer, config.httpsPort, 'https');
    }
  } catch (e) {
    for (const s of servers) s.close();
    stopWatchingPush();
    appliance.android.close();
    await apns.close();
    await operations.close();
    store.close();
    throw e;
  }

  const maintenance = createAppleMaintenance({
    repo: appliance.appleRepo,
    queue: appliance.queue,
    log: log.child({ mod: 'mdm' }),
    inventoryIntervalMs: config.inventoryInterval,
    inventoryCommands,
  });
  const stopAndroidSync = appliance.androidSync.start({
    subscription: config.android.pubsubSubscription,
    syncInterval: config.android.syncInterval,
    pullInterval: config.android.pullInterval,
  });
  // No admin yet: whoever can read the log (who installed the appliance) creates the first one.
  const setupUrl = appliance.admins.issueSetupUrl();
  if (setupUrl) {
    log.warn({ setupUrl }, 'no console admin yet: open the setup URL (once, within 24 hours) to create the first one, or run mdm admin create');
  }
  appliance.webhooks.start();
  // Missing or expiring push certificate: said at start, then once a day from housekeeping.
  appliance.push.checkExpiry();

  const housekeep = () => {
    try {
      maintenance.run().catch((e) => log.error({ err: e }, 'Apple queue maintenance failed'));
      appliance.push.checkExpiry();
      challenges.purgeExpired();
      appliance.admins.purge();
      ca.crl();
      if (ca.rotateRaIfDue()) log.info('rotated the SCEP RA certificate');
      // New certificate files, or our own certificate reissued: swap without a restart.
      if (identity.refresh()) {
        httpsServer?.setSecureContext(tlsOptions());
        log.info('reloaded the TLS certificate');
      }
    } catch (e) {
      log.error({ err: e }, 'housekeeping failed');
    }
  };
  // Soon after start (inventories that fell due while the appliance was down), then hourly.
  const firstHousekeeping = setTimeout(housekeep, 10_000);
  firstHousekeeping.unref();
  const housekeeping = setInterval(housekeep, 3_600_000);
  housekeeping.unref();
  // Devices that have not called back for their commands, and silent ones, are woken again: looked
  // for several times per retry period (at least every minute).
  const sweeping = setInterval(
    () => {
      try {
        pushes.sweep();
      } catch (e) {
        log.error({ err: e }, 'push sweep failed');
      }
    },
    Math.min(60_000, Math.max(500, config.pushRetryAfter / 4)),
  );
  sweeping.unref();

  let closing: Promise<void> | null = null;
  return {
    app,
    http: httpAddr,
    https: httpsAddr,
    close() {
      closing ??= (async () => {
        clearInterval(housekeeping);
        clearInterval(sweeping);
        clearTimeout(firstHousekeeping);
        await Promise.all(
          servers.map(
            (s) =>
              new Promise<void>((resolve) => {
                const force = setTimeout(() => (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.(), 10_000);
                force.unref();
                s.close(() => resolve());
                (s as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
              }),
          ),
        );
        stopWatchingPush();
        await stopAndroidSync();
        appliance.android.close();
        await pushes.close();
        await appliance.webhooks.close();
        await apns.close();
        await operations.close();
        store.close();
        releaseDataDir();
      })();
      return closing;
    },
  };
}

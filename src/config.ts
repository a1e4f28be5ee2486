import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import net from 'node:net';
import { z } from 'zod';
import { parseDuration } from './duration.ts';

/**
 * Every setting of the appliance: its env name, the `mdm serve` flag that overrides it, and
 * its validation. One table so that the env, the flags and the error messages cannot drift.
 */
const port = (fallback: string | undefined, offAllowed: boolean) =>
  z
    .string()
    .trim()
    .optional()
    .transform((s) => s ?? fallback)
    .refine(
      (s) => s === undefined || (offAllowed && s === 'off') || (/^\d{1,5}$/.test(s) && Number(s) <= 65535),
      offAllowed ? 'must be a port number (0-65535) or off' : 'must be a port number (0-65535)',
    )
    .transform((s) => (s === undefined || s === 'off' ? null : Number(s)));
const bool = z
  .string()
  .transform((s) => s.trim().toLowerCase())
  .pipe(z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], { message: 'must be true or false' }))
  .transform((s) => ['1', 'true', 'yes', 'on'].includes(s));

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((s) => parseDuration(s) !== null, 'must be a duration such as 30m, 12h or 7d')
    .transform((s) => parseDuration(s)!);

const settings = {
  dataDir: { env: 'MDM_DATA_DIR', flag: 'data-dir', schema: z.string().min(1, 'must not be empty').default('./data') },
  publicUrl: {
    env: 'MDM_PUBLIC_URL',
    flag: 'public-url',
    schema: z
      .string()
      .refine((s) => URL.canParse(s), 'must be an absolute URL such as https://mdm.example.com')
      .refine((s) => ['http:', 'https:'].includes(new URL(s).protocol), 'must start with https:// (or http:// for labs)')
      .refine((s) => !new URL(s).search && !new URL(s).hash, 'must not have a query or fragment')
      .optional(),
  },
  httpsPort: {
    env: 'MDM_HTTPS_PORT',
    flag: 'https-port',
    schema: port('8443', true),
  },
  httpPort: { env: 'MDM_HTTP_PORT', flag: 'http-port', schema: port(undefined, true) },
  listen: { env: 'MDM_LISTEN', flag: 'listen', schema: z.string().refine((s) => net.isIP(s) !== 0, 'must be an IP address such as 0.0.0.0 or 127.0.0.1').default('0.0.0.0') },
  tlsCert: { env: 'MDM_TLS_CERT', flag: 'tls-cert', schema: z.string().refine(readable, 'file not readable').optional() },
  tlsKey: { env: 'MDM_TLS_KEY', flag: 'tls-key', schema: z.string().refine(readable, 'file not readable').optional() },
  logLevel: {
    env: 'MDM_LOG_LEVEL',
    flag: 'log-level',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'must be one of fatal, error, warn, info, debug, trace, silent' }).default('info'),
  },
  masterKey: {
    env: 'MDM_MASTER_KEY',
    // No flag: a key on the command line would show in `ps` to every local user.
    flag: null,
    schema: z
      .string()
      .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes in base64 (openssl rand -base64 32)')
      .optional(),
  },
  scepChallenge: { env: 'MDM_SCEP_CHALLENGE', flag: 'scep-challenge', schema: z.string().min(8, 'must be at least 8 characters').optional() },
  scepAllowDes: { env: 'MDM_SCEP_ALLOW_DES', flag: 'scep-allow-des', schema: bool.default(true) },
  scepWorkers: {
    env: 'MDM_SCEP_WORKERS',
    flag: 'scep-workers',
    schema: z
      .string()
      .regex(/^\d{1,2}$/, 'must be a number of worker threads (0 answers SCEP on the main thread)')
      .transform(Number)
      .optional(),
  },
  trustedProxies: {
    env: 'MDM_TRUSTED_PROXIES',
    flag: 'trusted-proxies',
    schema: z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .refine((list) => list.every((ip) => net.isIP(ip) !== 0), 'must be a comma-separated list of IP addresses')
      .optional(),
  },
  organization: { env: 'MDM_ORGANIZATION', flag: 'organization', schema: z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters').default('Open MDM') },
  inventoryInterval: { env: 'MDM_INVENTORY_INTERVAL', flag: 'inventory-interval', schema: duration('24h') },
  commandTtl: { env: 'MDM_COMMAND_TTL', flag: 'command-ttl', schema: duration('30d') },
  deviceCertDays: { env: 'MDM_DEVICE_CERT_DAYS', flag: 'device-cert-days', schema: z.coerce.number().int('must be an integer').min(1, 'must be at least 1').max(3650, 'must be at most 3650').default(365) },
  apnsUrl: {
    env: 'MDM_APNS_URL',
    flag: 'apns-url',
    schema: z.string().refine(httpsBaseUrl, 'must be an https:// base URL such as https://api.push.apple.com, without a path, query or fragment').optional(),
  },
  pushRetryAfter: { env: 'MDM_PUSH_RETRY_AFTER', flag: 'push-retry-after', schema: duration('15m') },
  apnsSandbox: { env: 'MDM_APNS_SANDBOX', flag: 'apns-sandbox', schema: bool.default(false) },
  apnsCa: { env: 'MDM_APNS_CA', flag: 'apns-ca', schema: z.string().refine(readable, 'file not readable').optional() },
  amapiUrl: {
    env: 'MDM_AMAPI_URL',
    flag: 'amapi-url',
    schema: z.string().refine(apiBaseUrl, 'must be an http(s):// base URL such as https://androidmanagement.googleapis.com/, without a query or fragment').default('https://androidmanagement.googleapis.com/'),
  },
  pubsubUrl: {
    env: 'MDM_PUBSUB_URL',
    flag: 'pubsub-url',
    schema: z.string().refine(apiBaseUrl, 'must be an http(s):// base URL such as https://pubsub.googleapis.com/, without a query or fragment').default('https://pubsub.googleapis.com/'),
  },
  androidPubsubTopic: {
    env: 'MDM_ANDROID_PUBSUB_TOPIC',
    flag: 'android-pubsub-topic',
    schema: z.string().regex(/^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, 'must be a Pub/Sub topic name: projects/PROJECT/topics/TOPIC').optional(),
  },
  androidPubsubSubscription: {
    env: 'MDM_ANDROID_PUBSUB_SUBSCRIPTION',
    flag: 'android-pubsub-subscription',
    schema: z
      .string()
      .regex(/^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/subscriptions\/[A-Za-z][A-Za-z0-9._~%+-]{2,254}$/, 'must be a Pub/Sub subscription name: projects/PROJECT/subscriptions/SUBSCRIPTION')
      .optional(),
  },
  androidSyncInterval: { env: 'MDM_ANDROID_SYNC_INTERVAL', flag: 'android-sync-interval', schema: duration('1h') },
  androidPullInterval: { env: 'MDM_ANDROID_PULL_INTERVAL', flag: 'android-pull-interval', schema: duration('10s') },
} as const;

type Settings = typeof settings;
type Parsed = { [K in keyof Settings]: z.output<Settings[K]['schema']> };

export interface Config {
  dataDir: string;
  publicUrl: string;
  publicHost: string;
  httpsPort: number | null;
  httpPort: number | null;
  listen: string;
  tls: { certFile: string; keyFile: string } | null;
  logLevel: Parsed['logLevel'];
  masterKey: Buffer | null;
  scepChallenge: string | null;
  scepAllowDes: boolean;
  /** Worker threads answering SCEP PKIOperations; 0 keeps them on the main thread. */
  scepWorkers: number;
  /** Reverse proxies whose RFC 9440 Client-Cert header is believed. */
  trustedProxies: string[];
  /** Shown to users on enrollment pages and profiles. */
  organization: string;
  /** How old a device's inventory may get before it is asked again (ms). */
  inventoryInterval: number;
  /** Unanswered commands expire after this (ms). */
  commandTtl: number;
  deviceCertDays: number;
  /** A channel with unanswered commands that has not called back for this long is pushed again (ms). */
  pushRetryAfter: number;
  /** APNs's base URL (production, sandbox or a test server) and a PEM file of extra trust roots for it. */
  apns: { url: string; caFile: string | null };
  /**
   * Google's Android Management API and Pub/Sub base URLs (always ending in /): Google's, an EMM
   * provider's proxy, or a test server. The topic, when set, is given to enterprises at signup.
   */
  android: {
    amapiUrl: string;
    pubsubUrl: string;
    pubsubTopic: string | null;
    /** Where device notifications are pulled from; without it devices come by reconcile only. */
    pubsubSubscription: string | null;
    /** How often devices.list is reconciled, in ms. */
    syncInterval: number;
    /** The pause after a pull that brought nothing, in ms. */
    pullInterval: number;
  };
}

export class ConfigError extends Error {
  constructor(readonly setting: string, detail: string) {
    super(`invalid setting ${setting}: ${detail}`);
  }
}

function readable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

function httpsBaseUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  return u.protocol === 'https:' && u.pathname === '/' && !u.search && !u.hash;
}

/** http: is allowed besides https: for a provider's proxy on loopback and for tests; a path prefix is kept. */
function apiBaseUrl(s: string): boolean {
  if (!URL.canParse(s)) return false;
  const u = new URL(s);
  return (u.protocol === 'https:' || u.protocol === 'http:') && !u.search && !u.hash && !u.username && !u.password;
}

/** The flags `mdm serve` accepts, for util.parseArgs. */
export const serveFlags = Object.fromEntries(
  Object.values(settings).flatMap((s) => (s.flag ? [[s.flag, { type: 'string' as const }]] : [])),
);

export function loadConfig(env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const raw = (s.flag ? flags[s.flag] : undefined) ?? env[s.env];
    const value = raw === '' ? undefined : raw;
    const r = (s.schema as z.ZodType).safeParse(value);
    if (!r.success) {
      const shown = value === undefined ? '' : `, got ${JSON.stringify(s.env === 'MDM_MASTER_KEY' ? '<hidden>' : value)}`;
      throw new ConfigError(s.flag ? `${s.env} (--${s.flag})` : s.env, `${r.error.issues[0]?.message ?? 'invalid'}${shown}`);
    }
    out[key] = r.data;
  }
  const p = out as Parsed;
  if (!!p.tlsCert !== !!p.tlsKey) throw new ConfigError('MDM_TLS_CERT/MDM_TLS_KEY', 'set both or neither');
  if (p.apnsSandbox && p.apnsUrl) throw new ConfigError('MDM_APNS_URL/MDM_APNS_SANDBOX', 'set one or neither: the sandbox switch chooses https://api.sandbox.push.apple.com');
  if (p.httpsPort === null && p.httpPort == null) throw new ConfigError('MDM_HTTPS_PORT (--https-port)', 'is off and MDM_HTTP_PORT is not set: nothing would listen');

  const publicUrl = (p.publicUrl ?? `https://${os.hostname()}:${p.httpsPort ?? 8443}`).replace(/\/+$/, '');
  return {
    dataDir: path.resolve(p.dataDir),
    publicUrl,
    publicHost: new URL(publicUrl).hostname.replace(/^\[|\]$/g, ''),
    httpsPort: p.httpsPort,
    httpPort: p.httpPort,
    listen: p.listen,
    tls: p.tlsCert && p.tlsKey ? { certFile: p.tlsCert, keyFile: p.tlsKey } : null,
    logLevel: p.logLevel,
    masterKey: p.masterKey ? Buffer.from(p.masterKey, 'base64') : null,
    scepChallenge: p.scepChallenge ?? null,
    scepAllowDes: p.scepAllowDes,
    // Enrollment is RSA-bound: one worker per core, capped, since a small appliance shares its cores.
    scepWorkers: p.scepWorkers ?? Math.min(os.availableParallelism(), 4),
    trustedProxies: p.trustedProxies ?? [],
    organization: p.organization,
    inventoryInterval: p.inventoryInterval,
    commandTtl: p.commandTtl,
    deviceCertDays: p.deviceCertDays,
    pushRetryAfter: p.pushRetryAfter,
    apns: {
      url: (p.apnsUrl ?? (p.apnsSandbox ? 'https://api.sandbox.push.apple.com' : 'https://api.push.apple.com')).replace(/\/+$/, ''),
      caFile: p.apnsCa ?? null,
    },
    android: {
      amapiUrl: p.amapiUrl.replace(/\/*$/, '/'),
      pubsubUrl: p.pubsubUrl.replace(/\/*$/, '/'),
      pubsubTopic: p.androidPubsubTopic ?? null,
      pubsubSubscription: p.androidPubsubSubscription ?? null,
      syncInterval: p.androidSyncInterval,
      pullInterval: p.androidPullInterval,
    },
  };
}

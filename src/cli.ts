import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, serveFlags, type Config } from './config.ts';
import { AppError, isAppError } from './errors.ts';
import { createLogger } from './log.ts';
import { compose, serve } from './main.ts';
import { backupTo, restoreFrom } from './store/backup.ts';
import { EVENT_TYPES } from './webhooks/events.ts';
import { webhookEvent } from './audit/targets.ts';
import { existingMasterKey } from './secrets/master-key.ts';
import { parseDuration } from './duration.ts';
import { parseSimulateArgs, SIMULATE_USAGE, SimulateUsageError } from './apple/simulator/options.ts';
import { simulateApple } from './apple/simulator/simulate.ts';
import { REVOCATION_REASONS } from './pki/ca.ts';
import { toPem } from './pki/x509.ts';
import { createDevicePushes } from './apple/device-pushes.ts';
import { createApnsClient } from './push/apns/client.ts';
import { apnsEndpoint } from './push/apns/endpoint.ts';
import { expiryOf } from './push/expiry.ts';
import type { PushCertificate, VendorCertificate } from './push/service.ts';
import { certificatesIn, type VendorSource } from './push/vendor.ts';
import { describeIssue } from './android/amapi/issues.ts';
import { Policy } from './android/amapi/schemas.generated.ts';
import type { EnterpriseView } from './android/service.ts';
import { CLI_ACTOR } from './audit/service.ts';
import { apiTokenEvent, deviceTarget, pushCertificateEvent, pushCsrEvent, pushVendorEvent } from './audit/targets.ts';

const USAGE = `usage: mdm <command> [options]

  serve                          start the appliance (flags: --data-dir --public-url --https-port
                                 --http-port --listen --tls-cert --tls-key --log-level ...)
  scep challenge [--ttl 1h]      print one fresh one-time SCEP challenge
  ca show                        print the CA certificate (PEM) and its SHA-256 fingerprint
  cert list [--kind device] [--limit 50]
                                 list issued certificates, newest first
  cert revoke SERIAL [--reason unspecified|keyCompromise|affiliationChanged|superseded|cessationOfOperation]
                                 revoke a device certificate and publish a new CRL
  push csr [--cn NAME] [--email EMAIL] [--out FILE]
                                 make a push CSR (its RSA-2048 key stays sealed here); PEM on stdout or in FILE
  push csr show [--out FILE]     the pending push CSR again
  push vendor import --cert FILE --key FILE [--key-passphrase-stdin] [--chain FILE ...]
  push vendor import --p12 FILE [--password-stdin] [--chain FILE ...]
                                 install the MDM vendor certificate that signs push CSRs; --chain adds
                                 Apple's WWDR intermediate and root (PEM or DER) when the files lack them
  push vendor show               the vendor certificate: subject, expiry, chain
  push request [--out FILE]      the pending CSR signed with the vendor certificate: the file to upload
                                 at https://identity.apple.com
  push import --cert FILE [--key FILE [--key-passphrase-stdin]] [--force]
                                 make the push certificate Apple issued (PEM) the active one; without
                                 --key, the key of the CSR it was issued for; --force accepts a new topic
  push show                      the active push certificate: topic, expiry, days left, state
  push send ENROLLMENT-ID        push one channel now (device UDID, UDID:user or EnrollmentID) and print APNs's answer
  android key import --file KEY.json
                                 import the Google Cloud service-account key (sealed here; shows its email and project)
  android key show               the service account: email, project
  android signup                 print the Google signup URL that binds an Android enterprise; open it as the admin
  android enterprise show        the bound enterprise
  android enterprise unbind      delete the enterprise at Google (its devices are unenrolled) and here
  android policy list            Android policies: name, version
  android policy show NAME       a policy as Google returned it (JSON)
  android policy put NAME --file POLICY.json
                                 create or replace a policy (Google's Policy JSON) and print its version
  android policy delete NAME     delete a policy at Google and here
  android enroll create --policy NAME [--user EMAIL] [--ownership corporate|personal] [--work-profile]
                        [--ttl 7d] [--one-time] [--qr-png FILE] [--qr-svg FILE]
                                 make an Android enrollment token; prints its value, the BYOD link and
                                 the expiry, and writes the provisioning QR code to the files given.
                                 corporate (default): a factory-reset device scans the QR code and is
                                 fully managed; with --work-profile it stays company-owned but gets a
                                 work profile beside the user's own apps. personal: the user opens the
                                 BYOD link on their own device, which gets a work profile.
  android enroll list            enrollment tokens: id, status, policy, ownership, user, expiry
  android enroll revoke ID       delete a token at Google (no device can enroll with it any more)
  android sync                   reconcile Android devices with Google's devices.list now
  android command DEVICE_ID TYPE [--params JSON]
                                 send LOCK, RESET_PASSWORD, REBOOT, START_LOST_MODE, STOP_LOST_MODE,
                                 CLEAR_APP_DATA or RELINQUISH_OWNERSHIP to an Android device
  android wipe DEVICE_ID [--confirm] [--reason TEXT]
                                 say what a wipe does (factory reset for a company device, the work
                                 profile only for a personal one); do it with --confirm
  enroll create [--user EMAIL] [--ownership corporate|personal] [--ttl 7d]
                                 print a single-use enrollment link for an Apple device
  admin create --username NAME --password-stdin [--role admin|read-only]
                                 create a web console admin (the password is read from stdin)
  admin list                     console admins: username, role, created, two-factor on/off
  admin totp reset --username NAME
                                 turn two-factor off for an admin who lost the phone (they set it up again)
  api-token create --name NAME   create a token for the JSON API (/api/v1); printed once, only its hash is kept
  api-token list                 tokens: id, name, created, last used, status
  api-token revoke ID            revoke a token at once
  webhook create --url URL --events TYPE[,TYPE...] [--description TEXT]
                                 send events to URL as signed JSON POSTs (x-mdm-signature); prints the
                                 signing secret once. Types: device.enrolled, device.checked_out,
                                 command.completed, compliance.changed, push_certificate.expiring
  webhook list                   webhooks: id, enabled, URL, events
  webhook delete ID              stop sending to a webhook (its delivery log goes too)
  webhook ping ID                queue a ping event to test the receiver
  backup FILE                    copy the database to FILE while the server runs (SQLite online backup;
                                 consistent, mode 0600). The master key is NOT in it: keep master.key
                                 (or MDM_MASTER_KEY) safe apart from the backups, or they cannot be used
  restore FILE                   replace the database with a backup, after checking it (integrity, made by
                                 this version, its keys open with the master key in place); refused while
                                 a server uses the data dir. The replaced database is kept beside it
  simulate apple --devices N --server URL [--enroll-url URL ... | --challenge C] [--duration 60s]
                                 simulated Apple devices: enroll, check in, answer commands (--help)

Every command reads the same settings (env MDM_* or flags) and works beside a running server.`;

class UsageError extends Error {}

function parse(argv: string[], extra: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = {}) {
  try {
    return parseArgs({ args: argv, options: { ...serveFlags, ...extra }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function config(values: Record<string, unknown>): Config {
  return loadConfig(process.env, values as Record<string, string | undefined>);
}

/** Opens the appliance for a one-shot command, logging to stderr so stdout is the command's output. */
function withAppliance<T>(values: Record<string, unknown>, fn: (app: ReturnType<typeof compose>) => T): T {
  const cfg = config(values);
  const app = compose(cfg, createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, 2));
  try {
    return fn(app);
  } finally {
    app.store.close();
  }
}

async function main(argv: string[]): Promise<number | null> {
  const [cmd, sub, ...rest] = argv;
  switch (cmd) {
    case 'serve': {
      const { values } = parse(argv.slice(1));
      const cfg = config(values);
      const log = createLogger(cfg.logLevel);
      const server = await serve(cfg, log);
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          (e) => {
            log.error({ err: e }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      return null;
    }
    case 'scep': {
      if (sub !== 'challenge') throw new UsageError(`unknown command: scep ${sub ?? ''}`);
      const { values } = parse(rest, { ttl: { type: 'string' } });
      const ttl = parseDuration((values.ttl as string | undefined) ?? '1h');
      if (ttl === null) throw new UsageError('--ttl must be a duration such as 30m, 1h or 7d');
      withAppliance(values, (app) => {
        const issued = app.audit.within(CLI_ACTOR, () => app.challenges.issue(ttl), () => ({ action: 'scep.challenge.create', details: { ttl_ms: ttl } }));
        process.stdout.write(issued.secret + '\n');
      });
      return 0;
    }
    case 'ca': {
      if (sub !== 'show') throw new UsageError(`unknown command: ca ${sub ?? ''}`);
      const { values } = parse(rest);
      withAppliance(values, (app) => {
        const fp = app.ca.caFingerprint().toUpperCase().match(/../g)!.join(':');
        process.stdout.write(toPem('CERTIFICATE', app.ca.ca.der) + `SHA-256 Fingerprint: ${fp}\n`);
      });
      return 0;
    }
    case 'cert': {
      const { values, positionals } = parse(rest, { kind: { type: 'string' }, limit: { type: 'string' }, reason: { type: 'string' } });
      if (sub === 'list') {
        const kind = values.kind as string | undefined;
        if (kind && !['device', 'ra', 'tls'].includes(kind)) throw new UsageError('--kind must be device, ra or tls');
        const limit = Number((values.limit as string | undefined) ?? 50);
        if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
        withAppliance(values, (app) => {
          for (const c of app.pkiRepo.listCertificates({ kind: kind as 'device' | undefined, limit })) {
            process.stdout.write([c.serial, c.kind, c.status, new Date(c.notAfter).toISOString(), c.subject, c.owner ?? ''].join('\t') + '\n');
          }
        });
        return 0;
      }
      if (sub === 'revoke') {
        const serial = positionals[0];
        if (!serial) throw new UsageError('cert revoke needs a SERIAL');
        const reasonName = (values.reason as string | undefined) ?? 'unspecified';
        const reason = REVOCATION_REASONS[reasonName as keyof typeof REVOCATION_REASONS];
        if (reason === undefined) throw new UsageError(`--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
        withAppliance(values, (app) =>
          app.audit.within(CLI_ACTOR, () => app.ca.revoke(serial, reason), () => ({ action: 'certificate.revoke', target: { type: 'certificate', id: serial }, details: { reason: reasonName } })),
        );
        process.stdout.write(`revoked ${serial}\n`);
        return 0;
      }
      throw new UsageError(`unknown command: cert ${sub ?? ''}`);
    }
    case 'push':
      return sub === 'send' ? await pushSend(rest) : pushCommand(sub, rest);
    case 'android':
      return androidCommand(sub, rest);
    case 'enroll': {
      if (sub !== 'create') throw new UsageError(`unknown command: enroll ${sub ?? ''}`);
      const { values } = parse(rest, { user: { type: 'string' }, ownership: { type: 'string' }, ttl: { type: 'string' } });
      const ttl = parseDuration((values.ttl as string | undefined) ?? '7d');
      if (ttl === null) throw new UsageError('--ttl must be a duration such as 1h or 7d');
      const ownership = (values.ownership as string | undefined) ?? 'corporate';
      if (ownership !== 'corporate' && ownership !== 'personal') throw new UsageError('--ownership must be corporate or personal');
      const user = values.user as string | undefined;
      if (user !== undefined && !/^[^\s@]+@[^\s@]+$/.test(user)) throw new UsageError('--user must be an email address');
      withAppliance(values, (app) => {
        const link = app.audit.within(
          CLI_ACTOR,
          () => app.links.create({ userEmail: user ?? null, ownership, ttlMs: ttl }),
          (l) => ({ action: 'enrollment_link.create', target: { type: 'enrollment_link', id: l.id, label: user ?? null }, details: { ownership, ttl_ms: ttl } }),
        );
        process.stdout.write(link.url + '\n');
      });
      return 0;
    }
    case 'admin': {
      const { values, positionals } = parse(rest, { username: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string' } });
      if (sub === 'totp') {
        if (positionals[0] !== 'reset') throw new UsageError(`unknown command: admin totp ${positionals[0] ?? ''}`);
        if (positionals.length > 1) throw new UsageError(`unexpected argument: ${positionals[1]}`);
        const username = values.username as string | undefined;
        if (!username?.trim()) throw new UsageError('admin totp reset needs --username NAME');
        const wasOn = withAppliance(values, (app) =>
          app.audit.within(CLI_ACTOR, () => app.admins.twoFactor.reset(username), (on) => ({ action: 'admin.totp.reset', target: { type: 'admin', id: username.trim().toLowerCase() }, details: { was_on: on } })),
        );
        process.stdout.write(wasOn ? `two-factor turned off for ${username.trim().toLowerCase()}; they can set it up again after signing in\n` : `two-factor was not on for ${username.trim().toLowerCase()}\n`);
        return 0;
      }
      if (positionals.length) throw new UsageError(`unexpected argument: ${positionals[0]}`);
      if (sub === 'create') {
        const username = values.username as string | undefined;
        if (!username?.trim()) throw new UsageError('admin create needs --username NAME');
        // Never a password flag: it would show in `ps` and the shell history.
        if (!values['password-stdin']) throw new UsageError('admin create needs --password-stdin (the password on standard input)');
        const role = (values.role as string | undefined) ?? 'admin';
        if (role !== 'admin' && role !== 'read-only') throw new UsageError('--role must be admin or read-only');
        const password = stdinSecret();
        const cfg = config(values);
        const app = compose(cfg, createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, 2));
        try {
          const created = await app.admins.create({ username, password, role });
          app.audit.record(CLI_ACTOR, { action: 'admin.create', target: { type: 'admin', id: created.id, label: created.username }, details: { role: created.role } });
          process.stdout.write(`created ${created.role} ${created.username}\n`);
        } finally {
          app.store.close();
        }
        return 0;
      }
      if (sub === 'list') {
        withAppliance(values, (app) => {
          for (const a of app.admins.list()) process.stdout.write([a.username, a.role, new Date(a.createdAt).toISOString(), a.twoFactor ? 'two-factor' : '-'].join('\t') + '\n');
        });
        return 0;
      }
      throw new UsageError(`unknown command: admin ${sub ?? ''}`);
    }
    case 'api-token': {
      const { values, positionals } = parse(rest, { name: { type: 'string' } });
      if (sub === 'create') {
        const name = values.name as string | undefined;
        if (!name?.trim()) throw new UsageError('api-token create needs --name NAME');
        const created = withAppliance(values, (app) => app.audit.within(CLI_ACTOR, () => app.apiTokens.create(name), apiTokenEvent('api_token.create')));
        // stdout is the secret alone, for TOKEN=$(mdm api-token create --name ci).
        process.stdout.write(created.token + '\n');
        process.stderr.write(`created API token ${created.id} (${created.name}); it is shown only this once\n`);
        return 0;
      }
      if (sub === 'list') {
        const when = (t: number | null) => (t === null ? '-' : new Date(t).toISOString());
        withAppliance(values, (app) => {
          for (const t of app.apiTokens.list()) {
            process.stdout.write([t.id, t.name, when(t.createdAt), when(t.lastUsedAt), t.revokedAt === null ? 'active' : `revoked ${when(t.revokedAt)}`].join('\t') + '\n');
          }
        });
        return 0;
      }
      if (sub === 'revoke') {
        const id = positionals[0];
        if (!id) throw new UsageError('api-token revoke needs an ID (see mdm api-token list)');
        const revoked = withAppliance(values, (app) => app.audit.within(CLI_ACTOR, () => app.apiTokens.revoke(id), apiTokenEvent('api_token.revoke')));
        process.stdout.write(`revoked ${revoked.id} (${revoked.name})\n`);
        return 0;
      }
      throw new UsageError(`unknown command: api-token ${sub ?? ''}`);
    }
    case 'webhook': {
      const { values, positionals } = parse(rest, { url: { type: 'string' }, events: { type: 'string' }, description: { type: 'string' } });
      if (sub === 'create') {
        if (!values.url || !values.events) throw new UsageError(`webhook create needs --url URL --events ${EVENT_TYPES.join(',')}`);
        const events = String(values.events).split(',').map((e) => e.trim()).filter(Boolean);
        const w = withAppliance(values, (app) =>
          app.audit.within(
            CLI_ACTOR,
            () => app.webhooks.create({ url: String(values.url), events, description: (values.description as string | undefined) ?? null, createdBy: 'cli' }),
            webhookEvent('webhook.create', (x) => ({ events: x.events })),
          ),
        );
        // stdout is the signing secret alone, like api-token create.
        process.stdout.write(w.secret + '\n');
        process.stderr.write(`created webhook ${w.id} for ${w.events.join(', ')}; its signing secret is shown only this once\n`);
        return 0;
      }
      if (sub === 'list') {
        withAppliance(values, (app) => {
          for (const w of app.webhooks.list()) process.stdout.write([w.id, w.enabled ? 'enabled' : 'disabled', w.url, w.events.join(',')].join('\t') + '\n');
        });
        return 0;
      }
      if (sub === 'delete' || sub === 'ping') {
        const id = positionals[0];
        if (!id) throw new UsageError(`webhook ${sub} needs an ID (see mdm webhook list)`);
        if (sub === 'delete') {
          withAppliance(values, (app) =>
            app.audit.within(
              CLI_ACTOR,
              () => {
                const w = app.webhooks.get(id);
                app.webhooks.remove(id);
                return w;
              },
              webhookEvent('webhook.delete'),
            ),
          );
        }
        else {
          const d = withAppliance(values, (app) => app.webhooks.ping(id));
          process.stdout.write(`queued ping ${d.id}: the server sends it within seconds (see GET /api/v1/webhooks/${id}/deliveries)\n`);
        }
        return 0;
      }
      throw new UsageError(`unknown command: webhook ${sub ?? ''}`);
    }
    case 'backup': {
      const { values, positionals } = parse(argv.slice(1));
      const [file] = positionals;
      if (!file || positionals.length > 1) throw new UsageError('backup takes one FILE');
      const cfg = config(values);
      const app = compose(cfg, createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, 2));
      try {
        const info = await backupTo(app.store, file);
        console.log(`backup written: ${info.file} (${info.bytes.toLocaleString('en')} bytes; ${info.devices} devices, ${info.certificates} certificates)`);
        console.log(`it does not contain the master key: restoring it needs ${cfg.masterKey ? 'MDM_MASTER_KEY' : path.join(cfg.dataDir, 'master.key')}`);
      } finally {
        app.store.close();
      }
      return 0;
    }
    case 'restore': {
      const { values, positionals } = parse(argv.slice(1));
      const [file] = positionals;
      if (!file || positionals.length > 1) throw new UsageError('restore takes one FILE');
      const cfg = config(values);
      const key = existingMasterKey(cfg.dataDir, cfg.masterKey);
      if (!key) {
        throw new AppError(
          'master_key_missing',
          `no master key in ${cfg.dataDir}: copy master.key from the appliance that made the backup there (or set MDM_MASTER_KEY) first`,
          409,
        );
      }
      const info = restoreFrom(cfg.dataDir, file, key);
      console.log(`restored ${path.resolve(file)} into ${info.file} (${info.devices} devices, ${info.certificates} certificates)`);
      if (info.previous) console.log(`the database it replaced: ${info.previous}`);
      return 0;
    }
    case 'simulate': {
      if (sub !== 'apple') throw new UsageError(`unknown command: simulate ${sub ?? ''} (there is simulate apple)`);
      if (rest.includes('--help') || rest.includes('-h')) {
        process.stdout.write(SIMULATE_USAGE + '\n');
        return 0;
      }
      try {
        return await simulateApple(parseSimulateArgs(rest));
      } catch (e) {
        throw e instanceof SimulateUsageError ? new UsageError(e.message) : e;
      }
    }
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE + '\n');
      return 0;
    case undefined:
      process.stderr.write(USAGE + '\n');
      return 2;
    default:
      throw new UsageError(`unknown command: ${cmd}`);
  }
}

/** The same for commands that wait on the network (Google); closed when they finish or fail. */
async function withApplianceAsync<T>(values: Record<string, unknown>, fn: (app: ReturnType<typeof compose>) => Promise<T>): Promise<T> {
  const cfg = config(values);
  const app = compose(cfg, createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, 2));
  try {
    return await fn(app);
  } finally {
    app.android.close();
    app.store.close();
  }
}

/** Reads a file named by a flag; a missing or unreadable file is a usage error. */
function readFlagFile(flag: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read --${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * Checks that --out can be written before the work is done, so a mistyped path fails before
 * anything is stored, and leaves no empty file behind when the work itself fails.
 */
function outFile(file: string | undefined): ((text: string) => void) | null {
  if (file === undefined) return null;
  try {
    fs.accessSync(fs.existsSync(file) ? file : path.dirname(path.resolve(file)), fs.constants.W_OK);
  } catch (e) {
    throw new UsageError(`cannot write --out ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return (text) => fs.writeFileSync(file, text);
}

const stdinSecret = () => fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');

/** `mdm push send ID`: one push now, from this process, with APNs's answer recorded on the channel. Exit 1 when APNs refused it. */
async function pushSend(rest: string[]): Promise<number> {
  const { values, positionals } = parse(rest, {});
  const id = positionals[0];
  if (!id || positionals.length > 1) throw new UsageError('push send needs one ENROLLMENT-ID (a device UDID, UDID:user or an EnrollmentID)');
  const cfg = config(values);
  const log = createLogger(cfg.logLevel === 'info' ? 'warn' : cfg.logLevel, 2);
  const app = compose(cfg, log);
  const apns = createApnsClient({ log: log.child({ mod: 'apns' }), identity: () => app.push.activeIdentity(), ...apnsEndpoint(cfg) });
  try {
    const pushes = createDevicePushes({ repo: app.appleRepo, apns, log: log.child({ mod: 'push' }), retryAfterMs: cfg.pushRetryAfter });
    const r = await pushes.pushNow(id);
    app.audit.record(CLI_ACTOR, { action: 'device.push', target: deviceTarget(id), details: { ok: r.ok } });
    const tries = `${r.attempts} attempt${r.attempts === 1 ? '' : 's'}`;
    if (r.ok) {
      process.stdout.write(`pushed ${id}: 200, apns-id ${r.apnsId} (${tries})\n`);
      return 0;
    }
    const after = r.permanent ? 'permanent: no more pushes to it until the device sends a new TokenUpdate' : 'transient: later pushes will try again';
    process.stdout.write(`push to ${id} failed: ${r.status ?? 'no answer'} ${r.reason}${r.detail ? ` (${r.detail})` : ''}, ${tries}; ${after}\n`);
    return 1;
  } finally {
    await apns.close();
    app.store.close();
  }
}

function pushCommand(sub: string | undefined, rest: string[]): number {
  const describe = (c: PushCertificate) => {
    const { state, daysLeft } = expiryOf(c.notAfter, Date.now());
    const left = daysLeft >= 0 ? `days left: ${daysLeft}` : `expired ${-daysLeft} days ago`;
    return `topic: ${c.topic}\nserial: ${c.serial}\nexpires: ${new Date(c.notAfter).toISOString()}\n${left}\nstate: ${state}\n`;
  };
  const next = (csrFile: string) =>
    `next: mdm push request (with a vendor certificate: mdm push vendor import), or send ${csrFile} to your signing service; ` +
    'then upload the signed request at https://identity.apple.com and import the certificate Apple issues with mdm push import --cert FILE\n';

  if (sub === 'csr') {
    const { values, positionals } = parse(rest, { cn: { type: 'string' }, email: { type: 'string' }, out: { type: 'string' } });
    const show = positionals[0] === 'show';
    if (positionals.length > (show ? 1 : 0)) throw new UsageError(`unknown command: push csr ${positionals.join(' ')}`);
    if (show && (values.cn !== undefined || values.email !== undefined)) throw new UsageError('push csr show takes only --out');
    const write = outFile(values.out as string | undefined);
    const csr = withAppliance(values, (app) => {
      if (!show) return app.audit.within(CLI_ACTOR, () => app.push.createCsr({ commonName: values.cn as string | undefined, email: values.email as string | undefined }), pushCsrEvent);
      const pending = app.push.pendingCsr();
      if (!pending) throw new AppError('push_csr_missing', 'no pending push CSR: make one with mdm push csr', 404);
      return pending;
    });
    if (write) {
      write(csr.csrPem);
      process.stderr.write(`wrote the push CSR (${csr.subject}) to ${values.out as string}\n`);
    } else {
      process.stdout.write(csr.csrPem);
    }
    if (!show) process.stderr.write(next(write ? (values.out as string) : 'the CSR'));
    return 0;
  }

  if (sub === 'vendor') {
    const { values, positionals } = parse(rest, {
      cert: { type: 'string' },
      key: { type: 'string' },
      'key-passphrase-stdin': { type: 'boolean' },
      p12: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      chain: { type: 'string', multiple: true },
    });
    const print = (v: VendorCertificate) =>
      process.stdout.write(
        `subject: ${v.subject}\nserial: ${v.serial}\nexpires: ${new Date(v.notAfter).toISOString()}\n` + v.chain.map((c) => `chain: ${c}\n`).join(''),
      );
    if (positionals[0] === 'show' && positionals.length === 1) {
      const vendor = withAppliance(values, (app) => app.push.vendor());
      if (vendor) print(vendor);
      else process.stdout.write('no vendor certificate\n');
      return 0;
    }
    if (positionals[0] !== 'import' || positionals.length !== 1) throw new UsageError(`unknown command: push vendor ${positionals.join(' ')}`);
    const chain = ((values.chain as string[] | undefined) ?? []).flatMap((file) => certificatesIn(readFlagFile('chain', file), `--chain ${file}`));
    let source: VendorSource;
    if (values.p12 !== undefined) {
      if (values.cert !== undefined || values.key !== undefined || values['key-passphrase-stdin']) {
        throw new UsageError('push vendor import takes --p12 or --cert with --key, not both');
      }
      const pkcs12 = readFlagFile('p12', values.p12 as string);
      source = { kind: 'pkcs12', pkcs12, password: values['password-stdin'] ? stdinSecret() : '', certificates: chain };
    } else {
      if (values.cert === undefined || values.key === undefined) throw new UsageError('push vendor import needs --cert FILE and --key FILE, or --p12 FILE');
      if (values['password-stdin']) throw new UsageError('--password-stdin goes with --p12; a PEM key takes --key-passphrase-stdin');
      const cert = readFlagFile('cert', values.cert as string);
      const keyPem = readFlagFile('key', values.key as string).toString('utf8');
      source = {
        kind: 'pem',
        keyPem,
        passphrase: values['key-passphrase-stdin'] ? stdinSecret() : undefined,
        passphraseHint: 'mdm push vendor import --key-passphrase-stdin',
        certificates: [...certificatesIn(cert, `--cert ${values.cert as string}`), ...chain],
      };
    }
    print(withAppliance(values, (app) => app.audit.within(CLI_ACTOR, () => app.push.importVendor(source), pushVendorEvent)));
    return 0;
  }

  if (sub === 'request') {
    const { values, positionals } = parse(rest, { out: { type: 'string' } });
    if (positionals.length) throw new UsageError(`unknown command: push request ${positionals.join(' ')}`);
    const write = outFile(values.out as string | undefined);
    const { request } = withAppliance(values, (app) => app.push.signedRequest());
    if (write) {
      write(request + '\n');
      process.stderr.write(`wrote the signed push certificate request to ${values.out as string}: upload it at https://identity.apple.com\n`);
    } else {
      process.stdout.write(request + '\n');
    }
    return 0;
  }

  if (sub === 'import') {
    const { values, positionals } = parse(rest, { cert: { type: 'string' }, key: { type: 'string' }, 'key-passphrase-stdin': { type: 'boolean' }, force: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    if (values.cert === undefined) throw new UsageError('push import needs --cert FILE');
    if (values['key-passphrase-stdin'] && values.key === undefined) throw new UsageError('--key-passphrase-stdin goes with --key FILE');
    const certPem = readFlagFile('cert', values.cert as string).toString('utf8');
    const keyPem = values.key === undefined ? undefined : readFlagFile('key', values.key as string).toString('utf8');
    const passphrase = values['key-passphrase-stdin'] ? stdinSecret() : undefined;
    const imported = withAppliance(values, (app) => app.audit.within(CLI_ACTOR, () => app.push.importPem(certPem, keyPem, { passphrase, force: values.force === true }), pushCertificateEvent));
    process.stdout.write(describe(imported));
    return 0;
  }

  if (sub === 'show') {
    const { values, positionals } = parse(rest);
    if (positionals.length) throw new UsageError(`unexpected argument: ${positionals[0]}`);
    const active = withAppliance(values, (app) => app.push.active());
    process.stdout.write(active ? describe(active) : 'no push certificate\n');
    return 0;
  }
  throw new UsageError(`unknown command: push ${sub ?? ''}`);
}

/** `mdm android wipe DEVICE_ID [--confirm] [--reason TEXT]`: says what a wipe does; does it with --confirm. */
async function androidWipeCommand(rest: string[]): Promise<number> {
  const { values, positionals } = parse(rest, { confirm: { type: 'boolean' }, reason: { type: 'string' } });
  const [deviceId, ...extra] = positionals;
  if (!deviceId || extra.length) throw new UsageError('android wipe needs one DEVICE_ID');
  if (values.confirm !== true) {
    const p = withAppliance(values, (app) => app.androidWipe.preview(deviceId));
    process.stdout.write(`${p.effect}: ${p.description}\nnot wiped: run again with --confirm\n`);
    return 1;
  }
  const reasonMessage = values.reason === undefined ? undefined : String(values.reason);
  const done = await withApplianceAsync(values, async (app) => {
    const done = await app.androidWipe.wipe({ deviceId, confirm: true, reasonMessage, createdBy: 'cli' });
    app.audit.record(CLI_ACTOR, { action: 'device.wipe', target: deviceTarget(deviceId), details: { kind: done.effect, command_uuid: done.command_uuid } });
    return done;
  });
  process.stdout.write(`wiped ${done.device_id}: ${done.effect}\n`);
  return 0;
}

/** `mdm android command DEVICE_ID TYPE [--params JSON]`: sent through Google now; the server follows it to done. */
async function androidDeviceCommand(rest: string[]): Promise<number> {
  const { values, positionals } = parse(rest, { params: { type: 'string' } });
  const [deviceId, type, ...extra] = positionals;
  if (!deviceId || !type || extra.length) throw new UsageError('android command needs DEVICE_ID and TYPE (LOCK, RESET_PASSWORD, REBOOT, START_LOST_MODE, STOP_LOST_MODE, CLEAR_APP_DATA, RELINQUISH_OWNERSHIP)');
  let params: Record<string, unknown> | undefined;
  if (values.params !== undefined) {
    try {
      params = JSON.parse(String(values.params)) as Record<string, unknown>;
    } catch {
      throw new UsageError('--params must be a JSON object of the command\'s fields (Google\'s names)');
    }
  }
  const sent = await withApplianceAsync(values, async (app) => {
    const sent = await app.androidCommands.send({ deviceId, requestType: type, params, createdBy: 'cli' });
    // Never the parameters: RESET_PASSWORD carries a password.
    app.audit.record(CLI_ACTOR, { action: 'command.send', target: deviceTarget(deviceId), details: { request_type: sent.request_type, command_uuid: sent.command_uuid } });
    return sent;
  });
  process.stdout.write(`${sent.command_uuid}\t${sent.request_type}\t${sent.status}\t${sent.operation_name ?? '-'}\n`);
  return 0;
}

async function androidCommand(sub: string | undefined, rest: string[]): Promise<number> {
  if (sub === 'enroll') return androidEnrollCommand(rest);
  if (sub === 'command') return androidDeviceCommand(rest);
  if (sub === 'wipe') return androidWipeCommand(rest);
  const { values, positionals } = parse(rest, { file: { type: 'string' } });
  const [action, name, ...extra] = positionals;
  const enterpriseText = (e: EnterpriseView) =>
    `name: ${e.name}\nproject: ${e.projectId}\n${e.displayName ? `display name: ${e.displayName}\n` : ''}` +
    `pubsub topic: ${e.pubsubTopic ?? '-'}\nbound: ${new Date(e.createdAt).toISOString()}\n`;
  const needFile = () => {
    if (values.file === undefined) throw new UsageError(`android ${sub} ${action} needs --file FILE`);
    return readFlagFile('file', values.file as string).toString('utf8');
  };
  const noMore = (n: number) => {
    if (positionals.length > n) throw new UsageError(`unexpected argument: ${positionals[n]}`);
  };

  if (sub === 'key' && action === 'import') {
    noMore(1);
    const text = needFile();
    const account = withAppliance(values, (app) =>
      app.audit.within(CLI_ACTOR, () => app.android.importKey(text), (a) => ({ action: 'android.key.import', target: { type: 'android_service_account', id: a.clientEmail, label: a.projectId } })),
    );
    process.stdout.write(`client_email: ${account.clientEmail}\nproject_id: ${account.projectId}\n`);
    return 0;
  }
  if (sub === 'key' && action === 'show') {
    noMore(1);
    const account = withAppliance(values, (app) => app.android.serviceAccount());
    process.stdout.write(account ? `client_email: ${account.clientEmail}\nproject_id: ${account.projectId}\nimported: ${new Date(account.importedAt).toISOString()}\n` : 'no service-account key\n');
    return 0;
  }
  if (sub === 'signup' && action === undefined) {
    const signup = await withApplianceAsync(values, async (app) => {
      const s = await app.android.createSignupUrl();
      app.audit.record(CLI_ACTOR, { action: 'android.signup.create', target: { type: 'android_signup', id: s.name } });
      return s;
    });
    // stdout is the URL alone; the way on goes to stderr.
    process.stdout.write(signup.url + '\n');
    process.stderr.write('open this URL as the organisation\'s admin; Google sends the browser back to this appliance, which binds the enterprise\n');
    return 0;
  }
  if (sub === 'sync') {
    if (positionals.length) throw new UsageError('android sync takes no arguments');
    const r = await withApplianceAsync(values, (app) => app.androidSync.syncNow());
    process.stdout.write(`${r.devices} devices in ${r.pages} pages from ${r.enterprise}; ${r.removed} removed; ${r.skipped} unreadable; ${r.elapsedMs} ms\n`);
    return 0;
  }
  if (sub === 'enterprise' && (action === 'show' || action === 'unbind')) {
    noMore(1);
    if (action === 'show') {
      const e = withAppliance(values, (app) => app.android.enterprise());
      process.stdout.write(e ? enterpriseText(e) : 'no enterprise is bound\n');
      return 0;
    }
    const e = await withApplianceAsync(values, async (app) => {
      const e = await app.android.unbind();
      app.audit.record(CLI_ACTOR, { action: 'android.enterprise.unbind', target: { type: 'android_enterprise', id: e.name, label: e.displayName } });
      return e;
    });
    process.stdout.write(`unbound ${e.name}\n`);
    return 0;
  }
  if (sub === 'policy') {
    if (action === 'list') {
      noMore(1);
      for (const p of withAppliance(values, (app) => app.android.policies())) process.stdout.write(`${p.id}\t${p.version}\t${new Date(p.updatedAt).toISOString()}\n`);
      return 0;
    }
    if (!name || extra.length) throw new UsageError(`android policy ${action ?? ''} needs one NAME`);
    if (action === 'show') {
      process.stdout.write(JSON.stringify(withAppliance(values, (app) => app.android.policy(name)).policy, null, 2) + '\n');
      return 0;
    }
    if (action === 'put') {
      const text = needFile();
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        throw new UsageError(`--file ${values.file as string} is not JSON`);
      }
      const parsed = Policy.safeParse(raw);
      if (!parsed.success) throw new AppError('android_policy_invalid', describeIssue(parsed.error, 'policy'));
      const p = await withApplianceAsync(values, async (app) => {
        const p = await app.android.putPolicy(name, parsed.data);
        app.audit.record(CLI_ACTOR, { action: 'android.policy.update', target: { type: 'android_policy', id: p.id, label: p.name }, details: { version: p.version } });
        return p;
      });
      process.stdout.write(`${p.name}\tversion ${p.version}\n`);
      return 0;
    }
    if (action === 'delete') {
      const p = await withApplianceAsync(values, async (app) => {
        const p = await app.android.deletePolicy(name);
        app.audit.record(CLI_ACTOR, { action: 'android.policy.delete', target: { type: 'android_policy', id: p.id, label: p.name } });
        return p;
      });
      process.stdout.write(`deleted ${p.name}\n`);
      return 0;
    }
  }
  throw new UsageError(`unknown command: android ${[sub, action].filter(Boolean).join(' ')}`);
}

async function androidEnrollCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    policy: { type: 'string' },
    user: { type: 'string' },
    ownership: { type: 'string' },
    'work-profile': { type: 'boolean' },
    ttl: { type: 'string' },
    'one-time': { type: 'boolean' },
    'qr-png': { type: 'string' },
    'qr-svg': { type: 'string' },
  });
  const [action, id, ...extra] = positionals;
  if (action === 'create') {
    if (id !== undefined) throw new UsageError(`unexpected argument: ${id}`);
    const policyId = values.policy as string | undefined;
    if (!policyId) throw new UsageError('android enroll create needs --policy NAME');
    const ownership = (values.ownership as string | undefined) ?? 'corporate';
    if (ownership !== 'corporate' && ownership !== 'personal') throw new UsageError('--ownership must be corporate or personal');
    const workProfile = values['work-profile'] === true;
    if (workProfile && ownership !== 'corporate') throw new UsageError('--work-profile is for corporate devices: a personal device always gets a work profile');
    const ttlMs = parseDuration((values.ttl as string | undefined) ?? '7d');
    if (ttlMs === null) throw new UsageError('--ttl must be a duration such as 1h or 7d');
    const user = values.user as string | undefined;
    if (user !== undefined && !/^[^\s@]+@[^\s@]+$/.test(user)) throw new UsageError('--user must be an email address');
    const out = { png: values['qr-png'] as string | undefined, svg: values['qr-svg'] as string | undefined };
    const { token, png, svg } = await withApplianceAsync(values, async (app) => {
      const tokens = app.android.enrollmentTokens;
      const token = await tokens.create({ policyId, ownership, workProfile, userEmail: user ?? null, ttlMs, oneTimeOnly: values['one-time'] === true });
      app.audit.record(CLI_ACTOR, { action: 'android.enrollment_token.create', target: { type: 'android_enrollment_token', id: token.id, label: token.userEmail }, details: { policy: token.policyId, ownership } });
      return { token, png: out.png === undefined ? null : await tokens.qrPng(token.id), svg: out.svg === undefined ? null : await tokens.qrSvg(token.id) };
    });
    if (png && out.png) fs.writeFileSync(out.png, png);
    if (svg && out.svg) fs.writeFileSync(out.svg, svg);
    const produces = ownership === 'personal' ? 'personal device, work profile' : workProfile ? 'company-owned device, work profile' : 'company-owned device, fully managed';
    process.stdout.write(
      `id: ${token.id}\ntoken: ${token.value}\nbyod link: ${token.byodLink}\nexpires: ${new Date(token.expiresAt).toISOString()}\n` +
        `policy: ${token.policyId}\nownership: ${token.ownership} (${produces})\n` +
        (out.png ? `qr png: ${out.png}\n` : '') +
        (out.svg ? `qr svg: ${out.svg}\n` : ''),
    );
    return 0;
  }
  if (action === 'list') {
    if (id !== undefined) throw new UsageError(`unexpected argument: ${id}`);
    for (const t of withAppliance(values, (app) => app.android.enrollmentTokens.list())) {
      process.stdout.write([t.id, t.status, t.policyId, t.ownership + (t.workProfile ? '+work-profile' : ''), t.userEmail ?? '-', new Date(t.expiresAt).toISOString()].join('\t') + '\n');
    }
    return 0;
  }
  if (action === 'revoke') {
    if (!id || extra.length) throw new UsageError('android enroll revoke needs one ID');
    const t = await withApplianceAsync(values, async (app) => {
      const t = await app.android.enrollmentTokens.revoke(id);
      app.audit.record(CLI_ACTOR, { action: 'android.enrollment_token.revoke', target: { type: 'android_enrollment_token', id: t.id, label: t.userEmail } });
      return t;
    });
    process.stdout.write(`revoked ${t.id} (${t.name})\n`);
    return 0;
  }
  throw new UsageError(`unknown command: android enroll ${action ?? ''}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (e) => {
    if (e instanceof ConfigError || e instanceof UsageError) {
      process.stderr.write(`mdm: ${e.message}\n`);
      process.exitCode = 2;
    } else if (isAppError(e)) {
      process.stderr.write(`mdm: ${e.message} (${e.code})\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`mdm: ${(e as Error)?.message ?? String(e)}\n`);
      if (process.env.MDM_LOG_LEVEL === 'debug') process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
      process.exitCode = 1;
    }
  },
);

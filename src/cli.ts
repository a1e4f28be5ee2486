import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, serveFlags, type Config } from './config.ts';
import { isAppError } from './errors.ts';
import { createLogger } from './log.ts';
import { compose, serve } from './main.ts';
import { parseDuration } from './duration.ts';
import { parseSimulateArgs, SIMULATE_USAGE, SimulateUsageError } from './apple/simulator/options.ts';
import { simulateApple } from './apple/simulator/simulate.ts';
import { REVOCATION_REASONS } from './pki/ca.ts';
import { toPem } from './pki/x509.ts';

const USAGE = `usage: mdm <command> [options]

  serve                          start the appliance (flags: --data-dir --public-url --https-port
                                 --http-port --listen --tls-cert --tls-key --log-level ...)
  scep challenge [--ttl 1h]      print one fresh one-time SCEP challenge
  ca show                        print the CA certificate (PEM) and its SHA-256 fingerprint
  cert list [--kind device] [--limit 50]
                                 list issued certificates, newest first
  cert revoke SERIAL [--reason unspecified|keyCompromise|affiliationChanged|superseded|cessationOfOperation]
                                 revoke a device certificate and publish a new CRL
  push import --cert FILE --key FILE [--key-passphrase-stdin]
                                 make an Apple MDM push certificate (PEM) and its key the active ones
  push show                      the active push certificate: topic, expiry, days left
  enroll create [--user EMAIL] [--ownership corporate|personal] [--ttl 7d]
                                 print a single-use enrollment link for an Apple device
  api-token create --name NAME   create a token for the JSON API (/api/v1); printed once, only its hash is kept
  api-token list                 tokens: id, name, created, last used, status
  api-token revoke ID            revoke a token at once
  simulate apple --devices N --server URL [--enroll-url URL ... | --challenge C] [--duration 60s]
                                 simulated Apple devices: enroll, check in, answer commands (--help)

Every command reads the same settings (env MDM_* or flags) and works beside a running server.`;

class UsageError extends Error {}

function parse(argv: string[], extra: Record<string, { type: 'string' | 'boolean' }> = {}) {
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
      withAppliance(values, (app) => process.stdout.write(app.challenges.issue(ttl).secret + '\n'));
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
        withAppliance(values, (app) => app.ca.revoke(serial, reason));
        process.stdout.write(`revoked ${serial}\n`);
        return 0;
      }
      throw new UsageError(`unknown command: cert ${sub ?? ''}`);
    }
    case 'push': {
      const { values } = parse(rest, { cert: { type: 'string' }, key: { type: 'string' }, 'key-passphrase-stdin': { type: 'boolean' } });
      const describe = (c: { topic: string; serial: string; notAfter: number }) => {
        const days = Math.floor((c.notAfter - Date.now()) / 86_400_000);
        const left = days >= 0 ? `days left: ${days}` : `expired ${-days} days ago`;
        return `topic: ${c.topic}\nserial: ${c.serial}\nexpires: ${new Date(c.notAfter).toISOString()}\n${left}\n`;
      };
      if (sub === 'import') {
        const read = (flag: 'cert' | 'key') => {
          const file = values[flag] as string | undefined;
          if (!file) throw new UsageError(`push import needs --${flag} FILE`);
          try {
            return fs.readFileSync(file, 'utf8');
          } catch (e) {
            throw new UsageError(`cannot read --${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
          }
        };
        const [certPem, keyPem] = [read('cert'), read('key')];
        const passphrase = values['key-passphrase-stdin'] ? fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
        const imported = withAppliance(values, (app) => app.push.importPem(certPem, keyPem, { passphrase }));
        process.stdout.write(describe(imported));
        return 0;
      }
      if (sub === 'show') {
        const active = withAppliance(values, (app) => app.push.active());
        process.stdout.write(active ? describe(active) : 'no push certificate\n');
        return 0;
      }
      throw new UsageError(`unknown command: push ${sub ?? ''}`);
    }
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
        const link = app.links.create({ userEmail: user ?? null, ownership, ttlMs: ttl });
        process.stdout.write(link.url + '\n');
      });
      return 0;
    }
    case 'api-token': {
      const { values, positionals } = parse(rest, { name: { type: 'string' } });
      if (sub === 'create') {
        const name = values.name as string | undefined;
        if (!name?.trim()) throw new UsageError('api-token create needs --name NAME');
        const created = withAppliance(values, (app) => app.apiTokens.create(name));
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
        const revoked = withAppliance(values, (app) => app.apiTokens.revoke(id));
        process.stdout.write(`revoked ${revoked.id} (${revoked.name})\n`);
        return 0;
      }
      throw new UsageError(`unknown command: api-token ${sub ?? ''}`);
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

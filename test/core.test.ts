import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { ConsoleClient } from './support/console.ts';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, startServer, tempDir, type TestServer } from './support/server.ts';

describe('appliance core over the wire', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  test('/healthz reports status, version and database', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(body, { status: 'ok', version: JSON.parse(fs.readFileSync('package.json', 'utf8')).version, database: 'ok' });
  });

  test('logs each request as a JSON line with method, path, status and duration', async () => {
    await fetch(`${server.url}/healthz?probe=1`);
    const entry = await server.waitForLog((l) => l.msg === 'request' && l.path === '/healthz');
    assert.equal(entry.method, 'GET');
    assert.equal(entry.status, 200);
    assert.equal(typeof entry.ms, 'number');
  });

  test('unknown routes answer a JSON 404 with a stable code', async () => {
    const res = await fetch(`${server.url}/nope`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'not_found');
  });

  test('bodies over the limit get 413 and the server keeps serving', async () => {
    // connection: close, so the client does not reuse a socket the server hung up on mid-upload.
    const headers = { connection: 'close' };
    const res = await fetch(`${server.url}/scep?operation=PKIOperation`, { method: 'POST', headers, body: crypto.randomBytes(200_000) });
    assert.equal(res.status, 413);
    const big = await fetch(`${server.url}/healthz`, { method: 'POST', headers, body: crypto.randomBytes(2 * 1024 * 1024) });
    assert.equal(big.status, 413);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  });

  test('master key is created 0600 and private keys in the database are sealed', () => {
    const st = fs.statSync(path.join(server.dataDir, 'master.key'));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(server.dataDir, 'mdm.sqlite')).mode & 0o077, 0);
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      const rows = db.prepare('SELECT name, key_sealed FROM pki_authorities').all() as Array<{ name: string; key_sealed: Buffer }>;
      assert.deepEqual(rows.map((r) => r.name).sort(), ['ca', 'ra']);
      for (const r of rows) {
        assert.equal(r.key_sealed[0], 1, 'sealed format version');
        assert.throws(() => crypto.createPrivateKey({ key: r.key_sealed, format: 'der', type: 'pkcs8' }));
      }
    } finally {
      db.close();
    }
  });

  test('mdm ca show prints the CA PEM and its SHA-256 fingerprint, same as /pki/ca', async () => {
    const r = server.cli(['ca', 'show']);
    assert.equal(r.status, 0, r.stderr);
    const der = Buffer.from(await (await fetch(`${server.url}/pki/ca`)).arrayBuffer());
    const fp = crypto.createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.match(r.stdout, /^-----BEGIN CERTIFICATE-----\n/);
    assert.ok(r.stdout.includes(`SHA-256 Fingerprint: ${fp}`));
    assert.equal(new crypto.X509Certificate(der).ca, true);
  });

  test('mdm scep challenge prints one fresh challenge and nothing else', () => {
    const a = server.cli(['scep', 'challenge']);
    const b = server.cli(['scep', 'challenge', '--ttl', '30m']);
    assert.equal(a.status, 0, a.stderr);
    assert.match(a.stdout, /^[0-9a-f]{32}\n$/);
    assert.match(b.stdout, /^[0-9a-f]{32}\n$/);
    assert.notEqual(a.stdout, b.stdout);
    const bad = server.cli(['scep', 'challenge', '--ttl', 'soon']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--ttl/);
  });
});

describe('configuration and lifecycle', () => {
  test('an invalid setting exits 2 with one line naming it, and no stack trace', () => {
    const dataDir = tempDir();
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [['serve', '--https-port', 'abc'], {}, /MDM_HTTPS_PORT \(--https-port\): must be a port number/],
      [['serve'], { MDM_HTTP_PORT: '99999' }, /MDM_HTTP_PORT \(--http-port\)/],
      [['serve', '--public-url', 'ftp://x'], {}, /MDM_PUBLIC_URL/],
      [['serve', '--listen', 'everywhere'], {}, /MDM_LISTEN/],
      [['serve'], { MDM_LOG_LEVEL: 'loud' }, /MDM_LOG_LEVEL/],
      [['serve'], { MDM_TLS_CERT: '/nonexistent.pem' }, /MDM_TLS_CERT/],
      [['serve'], { MDM_MASTER_KEY: 'short' }, /MDM_MASTER_KEY: must be 32 bytes/],
      [['serve'], { MDM_AMAPI_URL: 'ftp://androidmanagement.googleapis.com/' }, /MDM_AMAPI_URL \(--amapi-url\): must be an http\(s\):\/\/ base URL/],
      [['serve', '--pubsub-url', 'https://pubsub.googleapis.com/?x=1'], {}, /MDM_PUBSUB_URL \(--pubsub-url\)/],
      [['serve'], { MDM_ANDROID_PUBSUB_TOPIC: 'android-events' }, /MDM_ANDROID_PUBSUB_TOPIC \(--android-pubsub-topic\): must be a Pub\/Sub topic name/],
    ];
    for (const [args, env, re] of cases) {
      const r = runCli(args, { MDM_DATA_DIR: dataDir, ...env });
      assert.equal(r.status, 2, `${args.join(' ')} ${JSON.stringify(env)}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
    }
  });

  test('flags win over the environment', async () => {
    const server = await startServer({ env: { MDM_HTTP_PORT: '1' } });
    try {
      assert.notEqual(server.port, 1);
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });

  test('MDM_MASTER_KEY replaces the key file; a wrong key is refused clearly', async () => {
    const dataDir = tempDir();
    const key = crypto.randomBytes(32).toString('base64');
    const first = runCli(['ca', 'show'], { MDM_DATA_DIR: dataDir, MDM_MASTER_KEY: key });
    assert.equal(first.status, 0, first.stderr);
    assert.equal(fs.existsSync(path.join(dataDir, 'master.key')), false);
    const again = runCli(['scep', 'challenge'], { MDM_DATA_DIR: dataDir, MDM_MASTER_KEY: key });
    assert.equal(again.status, 0, again.stderr);
    const wrong = runCli(['ca', 'show'], { MDM_DATA_DIR: dataDir, MDM_MASTER_KEY: crypto.randomBytes(32).toString('base64') });
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /wrong master key/);
  });

  test('SIGTERM shuts down gracefully with status 0', async () => {
    const server = await startServer();
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
    assert.equal(await server.stop('SIGTERM'), 0);
    assert.ok(server.logs.some((l) => l.msg === 'shutting down'));
  });

  test('HTTPS with the appliance-issued server certificate, trusted through the CA', async () => {
    const dataDir = tempDir();
    const server = await startServer({ dataDir, args: ['--https-port', '0', '--public-url', 'https://mdm.example.test'] });
    try {
      const listener = server.logs.find((l) => l.msg === 'listening' && l.scheme === 'https')!;
      const caPem = await (await fetch(`${server.url}/pki/ca.pem`)).text();
      const body = await new Promise<string>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: listener.port as number, path: '/healthz', ca: caPem, servername: 'mdm.example.test' }, (res) => {
            let s = '';
            res.on('data', (d) => (s += d));
            res.on('end', () => resolve(s));
          })
          .on('error', reject);
      });
      assert.equal(JSON.parse(body).status, 'ok');
      const cert = new crypto.X509Certificate(
        (await new Promise<Buffer>((resolve, reject) => {
          const sock = tls.connect({ host: '127.0.0.1', port: listener.port as number, servername: 'mdm.example.test', ca: caPem }, () => {
            resolve(sock.getPeerX509Certificate()!.raw);
            sock.end();
          });
          sock.on('error', reject);
        })),
      );
      assert.match(cert.subjectAltName ?? '', /DNS:mdm\.example\.test/);
      assert.match(cert.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
      const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
      assert.ok(days <= 398 && days > 390, `validity ${days} days`);
      // The console's settings show the same certificate: its names, issuer and expiry.
      assert.equal(server.cli(['admin', 'create', '--username', 'root', '--password-stdin'], {}, 'a long enough password 12\n').status, 0);
      const admin = new ConsoleClient(server.url);
      assert.equal((await admin.login('root', 'a long enough password 12')).status, 303);
      const settings = (await admin.get('/settings')).text;
      assert.match(settings, /data-testid="tls"><dt>Names<\/dt><dd>mdm\.example\.test, [^<]*127\.0\.0\.1/);
      assert.match(settings, /this appliance(&#39;|')s CA/);
      assert.doesNotMatch(settings, /does not name the public URL/);
    } finally {
      await server.stop();
    }
  });
});

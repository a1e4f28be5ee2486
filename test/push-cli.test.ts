import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { OID, buildCertificate, makeName, randomSerial, toPem } from '../src/pki/x509.ts';
import { peer } from './support/peers.ts';
import { MDM_BIN, runCli, tempDir } from './support/server.ts';

const DAY = 86_400_000;
const UID = '0.9.2342.19200300.100.1.1';
const fixture = (name: string) => path.resolve(import.meta.dirname, 'fixtures/apple-pushcerts', name);

interface PushRow {
  id: string;
  topic: string;
  serial: string;
  status: string;
  cert_der: Buffer;
  key_sealed: Buffer;
}

function rows(dataDir: string): PushRow[] {
  const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
  try {
    return db.prepare('SELECT id, topic, serial, status, cert_der, key_sealed FROM push_certificates ORDER BY created_at, rowid').all() as PushRow[];
  } finally {
    db.close();
  }
}

function openssl(args: string[], input?: string): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input });
  assert.equal(r.status, 0, `openssl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A push certificate as `openssl req -x509` makes it: self-signed, UID first in the subject like Apple's. */
function opensslPair(dir: string, name: string, days = 365) {
  const topic = `com.apple.mgmt.External.${crypto.randomUUID()}`;
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', `/UID=${topic}/CN=APSP:${name}`, '-days', String(days)]);
  return { topic, cert, key };
}

/** The same with the project's certificate builder, for validity windows openssl 3.0 cannot set. */
function builtPair(dir: string, name: string, notBefore: number, notAfter: number) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = makeName([
    [UID, `com.apple.mgmt.External.${name}`],
    [OID.commonName, `APSP:${name}`],
  ]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [],
    signingKey: privateKey,
  });
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}.key`);
  fs.writeFileSync(cert, toPem('CERTIFICATE', der));
  fs.writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  return { cert, key };
}

function mdm(dataDir: string, args: string[], input?: string) {
  if (input === undefined) return runCli(args, { MDM_DATA_DIR: dataDir });
  const r = spawnSync(process.execPath, [MDM_BIN, ...args], { env: { ...process.env, MDM_DATA_DIR: dataDir }, encoding: 'utf8', input });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

describe('mdm push over the command line', () => {
  const files = tempDir('mdm-push-files-');
  const ossl = peer('openssl', ['version']);
  const needsOpenssl = ossl.ok ? {} : { skip: ossl.reason };

  test('push show without a certificate says so', () => {
    const r = mdm(tempDir(), ['push', 'show']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'no push certificate\n');
  });

  describe('import', needsOpenssl, () => {
    const dataDir = tempDir();
    let first: ReturnType<typeof opensslPair>;
    before(() => {
      first = opensslPair(files, 'first');
    });

    test('stores the certificate, prints topic, serial and expiry; push show prints topic, expiry and days left', () => {
      const r = mdm(dataDir, ['push', 'import', '--cert', first.cert, '--key', first.key]);
      assert.equal(r.status, 0, r.stderr);
      const x509 = new crypto.X509Certificate(fs.readFileSync(first.cert));
      const serial = x509.serialNumber.toLowerCase().replace(/^(00)+(?=.)/, '');
      const expires = new Date(x509.validTo).toISOString();
      assert.match(r.stdout, new RegExp(`^topic: ${first.topic.replaceAll('.', '\\.')}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^serial: ${serial}$`, 'm'));
      assert.match(r.stdout, new RegExp(`^expires: ${expires}$`, 'm'));

      const show = mdm(dataDir, ['push', 'show']);
      assert.equal(show.status, 0, show.stderr);
      assert.match(show.stdout, new RegExp(`^topic: ${first.topic.replaceAll('.', '\\.')}$`, 'm'));
      assert.match(show.stdout, new RegExp(`^expires: ${expires}$`, 'm'));
      assert.match(show.stdout, /^days left: 36[45]$/m);

      const stored = rows(dataDir);
      assert.equal(stored.length, 1);
      assert.equal(stored[0]!.status, 'active');
      assert.equal(stored[0]!.topic, first.topic);
      assert.ok(stored[0]!.cert_der.equals(x509.raw));
    });

    test('the key is sealed in the database, not a parseable key', () => {
      const [row] = rows(dataDir);
      const pkcs8 = crypto.createPrivateKey(fs.readFileSync(first.key)).export({ type: 'pkcs8', format: 'der' });
      assert.equal(row!.key_sealed[0], 1, 'sealed format version');
      assert.throws(() => crypto.createPrivateKey({ key: row!.key_sealed, format: 'der', type: 'pkcs8' }));
      assert.throws(() => crypto.createPrivateKey({ key: row!.key_sealed, format: 'der', type: 'pkcs1' }));
      assert.equal(row!.key_sealed.indexOf(pkcs8.subarray(-64)), -1);
    });

    test('a re-import replaces the active certificate and retires the previous one', () => {
      const second = opensslPair(files, 'second');
      const r = mdm(dataDir, ['push', 'import', '--cert', second.cert, '--key', second.key]);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(
        rows(dataDir).map((row) => [row.topic, row.status]),
        [
          [first.topic, 'retired'],
          [second.topic, 'active'],
        ],
      );
      assert.match(mdm(dataDir, ['push', 'show']).stdout, new RegExp(`^topic: ${second.topic.replaceAll('.', '\\.')}$`, 'm'));
    });

    test('accepts a PKCS#1 key, and an encrypted key with --key-passphrase-stdin', () => {
      const pkcs1 = path.join(files, 'first.pkcs1.key');
      openssl(['rsa', '-in', first.key, '-traditional', '-out', pkcs1]);
      assert.match(fs.readFileSync(pkcs1, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
      const a = mdm(dataDir, ['push', 'import', '--cert', first.cert, '--key', pkcs1]);
      assert.equal(a.status, 0, a.stderr);

      const encrypted = path.join(files, 'first.enc.key');
      openssl(['pkcs8', '-topk8', '-in', first.key, '-out', encrypted, '-v2', 'aes-256-cbc', '-passout', 'pass:correct horse']);
      const b = mdm(dataDir, ['push', 'import', '--cert', first.cert, '--key', encrypted, '--key-passphrase-stdin'], 'correct horse\n');
      assert.equal(b.status, 0, b.stderr);
      assert.deepEqual(
        rows(dataDir).filter((row) => row.status === 'active').map((row) => row.topic),
        [first.topic],
      );
    });
  });

  describe('refusals: exit status 1, one line naming the problem, nothing stored', needsOpenssl, () => {
    const dataDir = tempDir();
    let good: ReturnType<typeof opensslPair>;
    const encrypted = path.join(files, 'good.enc.key');
    before(() => {
      good = opensslPair(files, 'good');
      openssl(['pkcs8', '-topk8', '-in', good.key, '-out', encrypted, '-v2', 'aes-256-cbc', '-passout', 'pass:secret']);
    });
    const refuse = (name: string, args: () => string[], re: RegExp, input?: string) =>
      test(name, () => {
        const r = mdm(dataDir, ['push', 'import', ...args()], input);
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
        assert.match(r.stderr.trimEnd(), re);
        assert.doesNotMatch(r.stderr, /\bat .*\.ts:\d+/);
        assert.deepEqual(rows(dataDir), []);
      });

    refuse('a certificate without a UID', () => ['--cert', fixture('mock_push_cert_no_uid.pem'), '--key', good.key], /^mdm: .*no UID.*\(push_cert_no_topic\)$/);
    refuse(
      'a UID outside com.apple.mgmt.',
      () => ['--cert', fixture('mock_push_cert_wrong_uid_prefix.pem'), '--key', good.key],
      /^mdm: .*"wrong\.prefix\..*" does not start with com\.apple\.mgmt\..*\(push_cert_bad_topic\)$/,
    );
    refuse('a key of another certificate', () => ['--cert', fixture('mock_push_cert.pem'), '--key', good.key], /^mdm: .*does not belong.*\(push_key_mismatch\)$/);
    refuse(
      'an expired certificate',
      () => {
        const expired = path.join(files, 'expired.pem');
        openssl(['x509', '-in', good.cert, '-signkey', good.key, '-days', '-1', '-out', expired]);
        return ['--cert', expired, '--key', good.key];
      },
      /^mdm: the push certificate expired on \d{4}-\d\d-\d\d.*\(push_cert_expired\)$/,
    );
    refuse(
      'a certificate not valid yet',
      () => {
        const early = builtPair(files, 'early', Date.now() + 2 * DAY, Date.now() + 400 * DAY);
        return ['--cert', early.cert, '--key', early.key];
      },
      /^mdm: the push certificate is not valid before .*\(push_cert_expired\)$/,
    );
    refuse(
      'a certificate file that is not PEM',
      () => {
        const der = path.join(files, 'cert.der');
        fs.writeFileSync(der, new crypto.X509Certificate(fs.readFileSync(good.cert)).raw);
        return ['--cert', der, '--key', good.key];
      },
      /^mdm: .*not PEM.*\(push_cert_unreadable\)$/,
    );
    refuse(
      'a damaged certificate PEM',
      () => {
        const damaged = path.join(files, 'damaged.pem');
        fs.writeFileSync(damaged, fs.readFileSync(good.cert, 'utf8').replace(/\n[A-Za-z0-9+/]{64}\n/, '\n!!!!\n'));
        return ['--cert', damaged, '--key', good.key];
      },
      /^mdm: .*damaged.*\(push_cert_unreadable\)$/,
    );
    refuse('a key file without a private key', () => ['--cert', good.cert, '--key', good.cert], /^mdm: .*\(push_key_unreadable\)$/);
    refuse(
      'an encrypted key without its passphrase',
      () => ['--cert', good.cert, '--key', encrypted],
      /^mdm: the private key is encrypted: .*--key-passphrase-stdin.*\(push_key_encrypted\)$/,
    );
    refuse(
      'an encrypted key with a wrong passphrase',
      () => ['--cert', good.cert, '--key', encrypted, '--key-passphrase-stdin'],
      /^mdm: .*wrong passphrase \(push_key_bad_passphrase\)$/,
      'not the secret\n',
    );
  });

  test('usage mistakes exit 2', () => {
    const dataDir = tempDir();
    for (const [args, re] of [
      [['push', 'import', '--cert', fixture('mock_push_cert.pem')], /needs --key FILE/],
      [['push', 'import', '--cert', path.join(dataDir, 'missing.pem'), '--key', fixture('mock_push_cert.pem')], /cannot read --cert .*ENOENT/],
      [['push', 'export'], /unknown command: push export/],
    ] as Array<[string[], RegExp]>) {
      const r = mdm(dataDir, args);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, re);
    }
  });
});

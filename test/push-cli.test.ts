import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { decodePlist } from '../src/apple/plist.ts';
import { OID, buildCertificate, makeName, pemBlocks, randomSerial, toPem } from '../src/pki/x509.ts';
import { peer } from './support/peers.ts';
import { vendorChain } from './support/push-cert.ts';
import { MDM_BIN, runCli, tempDir } from './support/server.ts';

const DAY = 86_400_000;
const UID = '0.9.2342.19200300.100.1.1';
const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
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
      assert.match(show.stdout, /^state: ok$/m);

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

    test('another topic is refused, one line naming both topics and --force; with --force it replaces the active certificate', () => {
      const second = opensslPair(files, 'second');
      const refused = mdm(dataDir, ['push', 'import', '--cert', second.cert, '--key', second.key]);
      assert.equal(refused.status, 1, refused.stdout + refused.stderr);
      assert.equal(refused.stdout, '');
      assert.equal(refused.stderr.trim().split('\n').length, 1, refused.stderr);
      assert.match(refused.stderr, new RegExp(`^mdm: the certificate's topic ${esc(second.topic)} differs from the active certificate's ${esc(first.topic)}: .*re-enrolls.*--force.*\\(push_topic_changed\\)$`, 'm'));
      assert.deepEqual(
        rows(dataDir).map((row) => [row.topic, row.status]),
        [[first.topic, 'active']],
      );

      const r = mdm(dataDir, ['push', 'import', '--cert', second.cert, '--key', second.key, '--force']);
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(
        rows(dataDir).map((row) => [row.topic, row.status]),
        [
          [first.topic, 'retired'],
          [second.topic, 'active'],
        ],
      );
      assert.match(mdm(dataDir, ['push', 'show']).stdout, new RegExp(`^topic: ${esc(second.topic)}$`, 'm'));
    });

    test('accepts a PKCS#1 key, and an encrypted key with --key-passphrase-stdin', () => {
      const pkcs1 = path.join(files, 'first.pkcs1.key');
      openssl(['rsa', '-in', first.key, '-traditional', '-out', pkcs1]);
      assert.match(fs.readFileSync(pkcs1, 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
      const a = mdm(dataDir, ['push', 'import', '--cert', first.cert, '--key', pkcs1, '--force']);
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
    const cert = fixture('mock_push_cert.pem');
    for (const [args, re] of [
      [['push', 'import', '--key', cert], /push import needs --cert FILE/],
      [['push', 'import', '--cert', cert, '--key-passphrase-stdin'], /--key-passphrase-stdin goes with --key FILE/],
      [['push', 'import', '--cert', path.join(dataDir, 'missing.pem'), '--key', cert], /cannot read --cert .*ENOENT/],
      [['push', 'import', '--cert', cert, '--frob'], /Unknown option '--frob'/],
      [['push', 'export'], /unknown command: push export/],
      [['push', 'csr', 'frob'], /unknown command: push csr frob/],
      [['push', 'csr', 'show', '--cn', 'x'], /push csr show takes only --out/],
      [['push', 'csr', '--out', path.join(dataDir, 'no', 'such', 'dir', 'csr.pem')], /cannot write --out .*ENOENT/],
      [['push', 'vendor', 'frob'], /unknown command: push vendor frob/],
      [['push', 'vendor', 'import', '--cert', cert], /needs --cert FILE and --key FILE, or --p12 FILE/],
      [['push', 'vendor', 'import', '--p12', cert, '--cert', cert], /--p12 or --cert with --key, not both/],
      [['push', 'vendor', 'import', '--cert', cert, '--key', cert, '--password-stdin'], /--password-stdin goes with --p12/],
      [['push', 'vendor', 'import', '--p12', path.join(dataDir, 'missing.p12')], /cannot read --p12 .*ENOENT/],
      [['push', 'request', 'now'], /unknown command: push request now/],
    ] as Array<[string[], RegExp]>) {
      const r = mdm(dataDir, args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
    }
    assert.equal(fs.existsSync(path.join(dataDir, 'mdm.sqlite')) ? rows(dataDir).length : 0, 0);
  });
});

describe('the push certificate lifecycle over the command line', () => {
  const ossl = peer('openssl', ['version']);
  const plistutil = peer('plistutil', ['--version']);
  const needs = ossl.ok && plistutil.ok ? {} : { skip: ossl.ok ? (plistutil as { reason: string }).reason : (ossl as { reason: string }).reason };

  describe('CSR, vendor signing, the certificate Apple issues, renewal', needs, () => {
    const dir = tempDir('mdm-push-lifecycle-');
    const dataDir = tempDir();
    const at = (name: string) => path.join(dir, name);
    const cli = (args: string[], input?: string) => {
      if (input === undefined) return runCli(args, { MDM_DATA_DIR: dataDir, MDM_ORGANIZATION: 'Example School' });
      const r = spawnSync(process.execPath, [MDM_BIN, ...args], { env: { ...process.env, MDM_DATA_DIR: dataDir, MDM_ORGANIZATION: 'Example School' }, encoding: 'utf8', input });
      return { stdout: r.stdout, stderr: r.stderr, status: r.status };
    };
    const ok = (r: { status: number | null; stdout: string; stderr: string }) => {
      assert.equal(r.status, 0, r.stdout + r.stderr);
      return r;
    };
    const refused = (r: { status: number | null; stdout: string; stderr: string }, code: string) => {
      assert.equal(r.status, 1, r.stdout + r.stderr);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trimEnd(), new RegExp(`^mdm: .*\\(${code}\\)$`));
      return r.stderr;
    };
    const count = (table: string) => {
      const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
      try {
        return (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const csrRows = () => {
      const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
      try {
        return db.prepare('SELECT id, status, certificate_id FROM push_csrs ORDER BY created_at, rowid').all() as Array<{ id: string; status: string; certificate_id: string | null }>;
      } finally {
        db.close();
      }
    };
    /** Apple's side, played by openssl: a push certificate for the CSR, its subject carrying the topic. */
    const issue = (csr: string, topic: string, out: string) => {
      openssl(['x509', '-req', '-in', csr, '-CA', at('apple.pem'), '-CAkey', at('apple.key'), '-set_serial', `0x${crypto.randomBytes(8).toString('hex')}`, '-days', '365', '-subj', `/UID=${topic}/CN=APSP:${topic.split('.').pop()}/C=US`, '-out', out]);
      return out;
    };
    const chain = vendorChain();
    const topic = `com.apple.mgmt.External.${crypto.randomUUID()}`;

    before(() => {
      openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('apple.key'), '-out', at('apple.pem'), '-subj', '/CN=Apple Application Integration 2 (test)/O=Apple Inc./C=US', '-days', '3650']);
      fs.writeFileSync(at('vendor.pem'), chain.vendor.pem);
      fs.writeFileSync(at('vendor.key'), chain.vendor.keyPem, { mode: 0o600 });
      fs.writeFileSync(at('vendor.pub'), chain.vendor.publicKey.export({ type: 'spki', format: 'pem' }));
      // Apple publishes its intermediates and root as DER .cer files.
      fs.writeFileSync(at('AppleWWDRCA.cer'), chain.wwdr.der);
      fs.writeFileSync(at('AppleRoot.cer'), chain.root.der);
      fs.writeFileSync(at('chain.pem'), chain.wwdr.pem + chain.root.pem);
      fs.writeFileSync(at('root.pem'), chain.root.pem);
      fs.writeFileSync(at('wwdr.pem'), chain.wwdr.pem);
    });

    test('push csr: an RSA-2048 request openssl verifies, CN from the organisation or --cn, email optional; written with --out', () => {
      const r = ok(cli(['push', 'csr']));
      assert.match(r.stdout, /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/);
      assert.match(r.stderr, /next: mdm push request/);
      fs.writeFileSync(at('first.csr'), r.stdout);
      const verify = spawnSync('openssl', ['req', '-in', at('first.csr'), '-verify', '-noout'], { encoding: 'utf8' });
      assert.equal(verify.status, 0, verify.stderr);
      assert.match(verify.stderr + verify.stdout, /verify OK/);
      assert.match(openssl(['req', '-in', at('first.csr'), '-noout', '-subject']), /^subject=CN ?= ?Example School$/m);
      assert.match(openssl(['req', '-in', at('first.csr'), '-noout', '-text']), /Public-Key: \(2048 bit\)/);

      const named = ok(cli(['push', 'csr', '--cn', 'IT Department', '--email', 'it@example.org', '--out', at('push.csr')]));
      assert.equal(named.stdout, '');
      assert.match(named.stderr, /^wrote the push CSR \(CN=IT Department, emailAddress=it@example\.org\) to .*push\.csr$/m);
      assert.match(openssl(['req', '-in', at('push.csr'), '-noout', '-subject']), /^subject=CN ?= ?IT Department, emailAddress ?= ?it@example\.org$/m);
      assert.equal(spawnSync('openssl', ['req', '-in', at('push.csr'), '-verify', '-noout']).status, 0);

      const again = ok(cli(['push', 'csr', 'show']));
      assert.equal(again.stdout, fs.readFileSync(at('push.csr'), 'utf8'), 'show gives the pending (newest) CSR');
      assert.deepEqual(
        csrRows().map((c) => c.status),
        ['superseded', 'pending'],
      );
      refused(cli(['push', 'csr', '--email', 'not an email']), 'push_csr_bad_subject');
      assert.equal(count('push_csrs'), 2);
    });

    test('push request without a vendor certificate says what to do instead', () => {
      assert.match(refused(cli(['push', 'request']), 'push_vendor_missing'), /signing service/);
    });

    test('push vendor import: an incomplete chain is refused naming the missing issuer; nothing stored', () => {
      const msg = refused(cli(['push', 'vendor', 'import', '--cert', at('vendor.pem'), '--key', at('vendor.key')]), 'push_vendor_chain_incomplete');
      assert.match(msg, /issuer "CN=Apple Worldwide Developer Relations Certification Authority \(test\), O=Apple Inc\. \(test\)" is missing.*--chain/);
      refused(cli(['push', 'vendor', 'import', '--cert', at('vendor.pem'), '--key', at('vendor.key'), '--chain', at('AppleWWDRCA.cer')]), 'push_vendor_chain_incomplete');
      openssl(['pkcs12', '-export', '-nokeys', '-in', at('vendor.pem'), '-certfile', at('chain.pem'), '-out', at('certs-only.p12'), '-passout', 'pass:']);
      assert.match(refused(cli(['push', 'vendor', 'import', '--p12', at('certs-only.p12')]), 'push_vendor_key_missing'), /not the certificate alone/);
      assert.equal(count('push_vendor_certificates'), 0);
      assert.equal(ok(cli(['push', 'vendor', 'show'])).stdout, 'no vendor certificate\n');
    });

    test('push vendor import --p12 (openssl pkcs12 -export, default and -legacy), password on stdin; a wrong one is refused', (t) => {
      openssl(['pkcs12', '-export', '-inkey', at('vendor.key'), '-in', at('vendor.pem'), '-certfile', at('chain.pem'), '-out', at('vendor.p12'), '-passout', 'pass:s3cret pass']);
      refused(cli(['push', 'vendor', 'import', '--p12', at('vendor.p12'), '--password-stdin'], 'wrong\n'), 'pkcs12_bad_password');
      refused(cli(['push', 'vendor', 'import', '--p12', at('vendor.p12')]), 'pkcs12_bad_password');
      assert.equal(count('push_vendor_certificates'), 0);

      const r = ok(cli(['push', 'vendor', 'import', '--p12', at('vendor.p12'), '--password-stdin'], 's3cret pass\n'));
      assert.match(r.stdout, /^subject: CN=MDM Vendor: Example Corp \(test\), O=Example Corp$/m);
      assert.match(r.stdout, /^chain: CN=Apple Worldwide Developer Relations Certification Authority \(test\), O=Apple Inc\. \(test\)\nchain: CN=Apple Root CA \(test\), O=Apple Inc\. \(test\)$/m);
      assert.equal(count('push_vendor_certificates'), 1);

      // Keychain Access exports the identity alone: the chain comes from Apple's DER files.
      const legacy = spawnSync('openssl', ['pkcs12', '-export', '-legacy', '-inkey', at('vendor.key'), '-in', at('vendor.pem'), '-out', at('legacy.p12'), '-passout', 'pass:pw'], { encoding: 'utf8' });
      if (legacy.status !== 0) {
        t.diagnostic(`openssl pkcs12 -legacy is not available here: ${legacy.stderr.split('\n')[0]}`);
      } else {
        ok(cli(['push', 'vendor', 'import', '--p12', at('legacy.p12'), '--password-stdin', '--chain', at('AppleWWDRCA.cer'), '--chain', at('AppleRoot.cer')], 'pw\n'));
        assert.equal(count('push_vendor_certificates'), 2);
      }
      const show = ok(cli(['push', 'vendor', 'show']));
      assert.match(show.stdout, /^subject: CN=MDM Vendor: Example Corp \(test\)/m);
      assert.match(show.stdout, /^expires: \d{4}-\d\d-\d\dT/m);
    });

    test('push vendor import --cert --key --chain (PEM)', () => {
      const r = ok(cli(['push', 'vendor', 'import', '--cert', at('vendor.pem'), '--key', at('vendor.key'), '--chain', at('chain.pem')]));
      assert.match(r.stdout, /^chain: CN=Apple Root CA \(test\)/m);
    });

    test('push request: base64 of an XML plist (plistutil reads it) with the CSR, the chain openssl verifies, and a signature openssl verifies', () => {
      const r = ok(cli(['push', 'request', '--out', at('request.b64')]));
      assert.match(r.stderr, /upload it at https:\/\/identity\.apple\.com/);
      const b64 = fs.readFileSync(at('request.b64'), 'utf8').trim();
      assert.match(b64, /^[A-Za-z0-9+/]+=*$/);
      assert.equal(ok(cli(['push', 'request'])).stdout.trim().length, b64.length, 'stdout without --out');
      fs.writeFileSync(at('request.plist'), Buffer.from(b64, 'base64'));
      const bin = spawnSync('plistutil', ['-i', at('request.plist'), '-o', at('request.bplist'), '-f', 'bin'], { encoding: 'utf8' });
      assert.equal(bin.status, 0, bin.stderr);
      const plist = decodePlist(fs.readFileSync(at('request.bplist')));
      assert.deepEqual(Object.keys(plist).sort(), ['PushCertCertificateChain', 'PushCertRequestCSR', 'PushCertSignature']);

      fs.writeFileSync(at('request.csr.der'), Buffer.from(plist.PushCertRequestCSR as string, 'base64'));
      const pending = pemBlocks(fs.readFileSync(at('push.csr'), 'utf8'), 'CERTIFICATE REQUEST')[0]!;
      assert.ok(fs.readFileSync(at('request.csr.der')).equals(pending), 'the pending CSR, as DER');
      assert.equal(spawnSync('openssl', ['req', '-inform', 'DER', '-in', at('request.csr.der'), '-verify', '-noout']).status, 0);

      fs.writeFileSync(at('request.sig'), Buffer.from(plist.PushCertSignature as string, 'base64'));
      assert.match(openssl(['dgst', '-sha256', '-verify', at('vendor.pub'), '-signature', at('request.sig'), at('request.csr.der')]), /Verified OK/);

      const blocks = pemBlocks(plist.PushCertCertificateChain as string, 'CERTIFICATE');
      assert.deepEqual(blocks, [chain.vendor.der, chain.wwdr.der, chain.root.der]);
      fs.writeFileSync(at('request.chain.vendor.pem'), (plist.PushCertCertificateChain as string).split('-----END CERTIFICATE-----')[0] + '-----END CERTIFICATE-----\n');
      assert.match(openssl(['verify', '-CAfile', at('root.pem'), '-untrusted', at('wwdr.pem'), at('request.chain.vendor.pem')]), /: OK/);
    });

    test('push import --cert alone: the certificate Apple issued is matched to the pending CSR key', () => {
      issue(at('push.csr'), topic, at('issued.pem'));
      const r = ok(cli(['push', 'import', '--cert', at('issued.pem')]));
      assert.match(r.stdout, new RegExp(`^topic: ${esc(topic)}$`, 'm'));
      assert.match(r.stdout, /^state: ok$/m);
      const [row] = rows(dataDir);
      assert.equal(row?.status, 'active');
      const csr = csrRows().at(-1)!;
      assert.equal(csr.status, 'issued');
      assert.equal(csr.certificate_id, row?.id);
      refused(cli(['push', 'csr', 'show']), 'push_csr_missing');
      refused(cli(['push', 'request']), 'push_csr_missing');
    });

    test('renewal with the same topic: a new CSR, the renewed certificate replaces the active one at once', () => {
      ok(cli(['push', 'csr', '--out', at('renew.csr')]));
      issue(at('renew.csr'), topic, at('renewed.pem'));
      const before = rows(dataDir);
      ok(cli(['push', 'import', '--cert', at('renewed.pem')]));
      const after = rows(dataDir);
      assert.equal(after.length, before.length + 1);
      assert.deepEqual(
        after.map((row) => [row.topic, row.status]),
        [
          [topic, 'retired'],
          [topic, 'active'],
        ],
      );
      assert.ok(after[1]!.cert_der.equals(new crypto.X509Certificate(fs.readFileSync(at('renewed.pem'))).raw));
    });

    test('a certificate with another topic is refused with the explanation, then accepted with --force', () => {
      ok(cli(['push', 'csr', '--out', at('other.csr')]));
      const otherTopic = `com.apple.mgmt.External.${crypto.randomUUID()}`;
      issue(at('other.csr'), otherTopic, at('other.pem'));
      const msg = refused(cli(['push', 'import', '--cert', at('other.pem')]), 'push_topic_changed');
      assert.match(msg, new RegExp(`topic ${esc(otherTopic)} differs from the active certificate's ${esc(topic)}: every device enrolled under ${esc(topic)} would stop getting pushes`));
      assert.equal(rows(dataDir).filter((row) => row.status === 'active')[0]?.topic, topic);
      const r = ok(cli(['push', 'import', '--cert', at('other.pem'), '--force']));
      assert.match(r.stdout, new RegExp(`^topic: ${esc(otherTopic)}$`, 'm'));
      assert.match(ok(cli(['push', 'show'])).stdout, new RegExp(`^topic: ${esc(otherTopic)}$`, 'm'));
    });

    test('a certificate for no CSR made here, without --key, is refused', () => {
      const stranger = opensslPair(dir, 'stranger');
      refused(cli(['push', 'import', '--cert', stranger.cert, '--force']), 'push_csr_no_match');
    });

    test('push show prints the expiry state: expiring within 30 days, critical within 7', () => {
      for (const [days, state] of [
        [20, 'expiring'],
        [5, 'critical'],
      ] as const) {
        const short = opensslPair(dir, `short-${days}`, days);
        const r = ok(cli(['push', 'import', '--cert', short.cert, '--key', short.key, '--force']));
        assert.match(r.stdout, new RegExp(`^days left: ${days - 1}$`, 'm'));
        assert.match(r.stdout, new RegExp(`^state: ${state}$`, 'm'));
        assert.match(ok(cli(['push', 'show'])).stdout, new RegExp(`^state: ${state}$`, 'm'));
      }
    });
  });
});

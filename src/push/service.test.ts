import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { csrSpki, issueForCsr, vendorChain } from '../../test/support/push-cert.ts';
import { decodePlist } from '../apple/plist.ts';
import { AppError } from '../errors.ts';
import { nameToString } from '../pki/cert-info.ts';
import { parseCsr } from '../pki/scep/csr.ts';
import { OID, buildCertificate, makeName, pemBlocks, randomSerial, toPem } from '../pki/x509.ts';
import { createSealer } from '../secrets/seal.ts';
import { openStore } from '../store/db.ts';
import { readPushCertificate, UID_OID } from './pem.ts';
import { createPushRepo } from './repo.ts';
import { createPushCertificates, type PushIdentity } from './service.ts';

const DAY = 86_400_000;
const NOW = Date.UTC(2030, 5, 1);
const fixtures = path.resolve(import.meta.dirname, '../../test/fixtures/apple-pushcerts');

/** A self-signed stand-in for an Apple push certificate, with its key. */
function pushPair(opts: { uid?: string | null; notBefore?: number; notAfter?: number } = {}) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const uid = opts.uid === undefined ? `com.apple.mgmt.External.${crypto.randomUUID()}` : opts.uid;
  const name = makeName([...(uid === null ? [] : [[UID_OID, uid] as [string, string]]), [OID.commonName, 'APSP:test']]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(opts.notBefore ?? NOW - DAY),
    notAfter: new Date(opts.notAfter ?? NOW + 365 * DAY),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [],
    signingKey: privateKey,
  });
  return { uid, der, certPem: toPem('CERTIFICATE', der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, privateKey };
}

type LogLine = Record<string, unknown> & { level: number; msg?: string };

function setup(opts: { dir?: string; pollMs?: number } = {}) {
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-push-'));
  const store = openStore(dir);
  const sealer = createSealer(crypto.randomBytes(32));
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)) as LogLine);
      done();
    },
  });
  const clock = { now: NOW };
  const push = createPushCertificates({
    repo: createPushRepo(store.db),
    sealer,
    log: pino({ level: 'info' }, sink),
    organization: 'Example School',
    now: () => clock.now,
    pollMs: opts.pollMs,
  });
  const rows = () =>
    store.sqlite.prepare('SELECT id, topic, status, key_sealed FROM push_certificates ORDER BY created_at, rowid').all() as Array<{
      id: string;
      topic: string;
      status: string;
      key_sealed: Buffer;
    }>;
  const csrRows = () =>
    store.sqlite.prepare('SELECT id, status, certificate_id, key_sealed FROM push_csrs ORDER BY created_at, rowid').all() as Array<{
      id: string;
      status: string;
      certificate_id: string | null;
      key_sealed: Buffer;
    }>;
  const count = (table: string) => (store.sqlite.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  return { dir, store, sealer, push, logs, rows, csrRows, count, clock };
}

const refusal = (code: string) => (e: unknown) => e instanceof AppError && e.code === code && !e.message.includes('\n');

describe('push certificates service', () => {
  const env = setup();
  after(() => env.store.close());

  test('reads the topic of the micromdm mock certificate from its subject UID', () => {
    const cert = readPushCertificate(fs.readFileSync(path.join(fixtures, 'mock_push_cert.pem'), 'utf8'));
    assert.equal(cert.topic, 'com.apple.mgmt.External.18a16429-886b-41f1-9c30-2bd04ae4fc37');
    assert.equal(cert.info.serialHex, 'c7f665773b59fb4b');
  });

  test('nothing active before the first import', () => {
    assert.equal(env.push.active(), null);
    assert.equal(env.push.activeIdentity(), null);
    assert.equal(env.push.activeKeyPem(), null);
    assert.equal(env.push.status(), null);
  });

  test('imports a certificate and its key; the key is sealed under push:<id> and comes back intact', () => {
    const pair = pushPair();
    const imported = env.push.importPem(pair.certPem, pair.keyPem);
    assert.equal(imported.topic, pair.uid);
    assert.equal(imported.serial, new crypto.X509Certificate(pair.der).serialNumber.toLowerCase().replace(/^(00)+/, ''));
    assert.equal(imported.notAfter, NOW + 365 * DAY);
    assert.equal(imported.createdAt, NOW);
    assert.deepEqual(env.push.active(), imported);
    assert.ok(env.push.active()!.certDer.equals(pair.der));

    const identity = env.push.activeIdentity()!;
    assert.equal(identity.certPem, new crypto.X509Certificate(pair.der).toString());
    assert.equal(env.push.activeKeyPem(), identity.keyPem);
    const key = crypto.createPrivateKey(identity.keyPem);
    assert.ok(new crypto.X509Certificate(identity.certPem).checkPrivateKey(key));

    const [row] = env.rows().filter((r) => r.status === 'active');
    assert.ok(row);
    const pkcs8 = pair.privateKey.export({ type: 'pkcs8', format: 'der' });
    assert.ok(env.sealer.unseal(`push:${row.id}`, row.key_sealed).equals(pkcs8));
    assert.throws(() => env.sealer.unseal('push:another', row.key_sealed), /cannot be opened/);
    assert.equal(row.key_sealed.indexOf(pkcs8.subarray(0, 64)), -1);
  });

  test('another topic is refused with an explanation and nothing changes; with force it replaces the active one and warns', () => {
    const before = env.push.active()!;
    const count = env.rows().length;
    const next = pushPair();
    assert.throws(
      () => env.push.importPem(next.certPem, next.keyPem),
      (e: unknown) =>
        refusal('push_topic_changed')(e) &&
        (e as AppError).status === 409 &&
        (e as AppError).message.includes(before.topic) &&
        (e as AppError).message.includes(next.uid!) &&
        /re-enroll/.test((e as AppError).message) &&
        /--force/.test((e as AppError).message),
    );
    assert.equal(env.rows().length, count);
    assert.deepEqual(env.push.active(), before);

    const imported = env.push.importPem(next.certPem, next.keyPem, { force: true });
    assert.equal(env.push.active()!.id, imported.id);
    const rows = env.rows();
    assert.deepEqual(
      rows.filter((r) => r.status === 'active').map((r) => r.id),
      [imported.id],
    );
    assert.equal(rows.find((r) => r.id === before.id)?.status, 'retired');
    const warning = env.logs.find((l) => l.msg?.startsWith('the push topic changed'));
    assert.equal(warning?.previous, before.topic);
    assert.equal(warning?.topic, next.uid);
  });

  test('accepts the key as PKCS#1, and as encrypted PKCS#8 or PKCS#1 given the passphrase', () => {
    const pair = pushPair();
    const pkcs1 = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    assert.equal(env.push.importPem(pair.certPem, pkcs1, { force: true }).topic, pair.uid);
    const enc8 = pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'hunter2' }) as string;
    assert.equal(env.push.importPem(pair.certPem, enc8, { passphrase: 'hunter2' }).topic, pair.uid);
    const enc1 = pair.privateKey.export({ type: 'pkcs1', format: 'pem', cipher: 'aes-128-cbc', passphrase: 'hunter2' }) as string;
    assert.match(enc1, /Proc-Type: 4,ENCRYPTED/);
    assert.equal(env.push.importPem(pair.certPem, enc1, { passphrase: 'hunter2' }).topic, pair.uid);
  });

  test('takes the first certificate and the key out of bundles', () => {
    const pair = pushPair();
    const other = pushPair();
    const bundle = `Bag Attributes\n${pair.keyPem}${pair.certPem}${other.certPem}`;
    assert.equal(env.push.importPem(bundle, bundle, { force: true }).topic, pair.uid);
  });

  test('refuses, each with its code, and stores nothing', () => {
    const count = env.rows().length;
    const active = env.push.active();
    const good = pushPair();
    const enc = good.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }) as string;
    const damaged = good.certPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    const cases: Array<[string, string, string | undefined, { passphrase?: string; force?: boolean }?]> = [
      ['push_cert_no_topic', pushPair({ uid: null }).certPem, good.keyPem],
      ['push_cert_bad_topic', pushPair({ uid: 'com.apple.pusher.abc' }).certPem, good.keyPem],
      ['push_cert_no_topic', fs.readFileSync(path.join(fixtures, 'mock_push_cert_no_uid.pem'), 'utf8'), good.keyPem],
      ['push_cert_bad_topic', fs.readFileSync(path.join(fixtures, 'mock_push_cert_wrong_uid_prefix.pem'), 'utf8'), good.keyPem],
      ['push_key_mismatch', fs.readFileSync(path.join(fixtures, 'mock_push_cert.pem'), 'utf8'), good.keyPem, { force: true }],
      ['push_key_mismatch', good.certPem, pushPair().keyPem, { force: true }],
      ['push_cert_expired', pushPair({ notBefore: NOW - 400 * DAY, notAfter: NOW - DAY }).certPem, good.keyPem],
      ['push_cert_expired', pushPair({ notBefore: NOW + DAY, notAfter: NOW + 400 * DAY }).certPem, good.keyPem],
      ['push_cert_unreadable', 'not a certificate', good.keyPem],
      ['push_cert_unreadable', damaged, good.keyPem],
      ['push_cert_unreadable', good.der.toString('latin1'), good.keyPem],
      ['push_key_unreadable', good.certPem, good.certPem],
      ['push_key_unreadable', good.certPem, good.keyPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n')],
      ['push_key_encrypted', good.certPem, enc],
      ['push_key_bad_passphrase', good.certPem, enc, { passphrase: 'wrong' }],
      // No key and no CSR made here: nothing to match the certificate to.
      ['push_key_missing', good.certPem, undefined, { force: true }],
    ];
    for (const [code, cert, key, options] of cases) {
      assert.throws(() => env.push.importPem(cert, key, options), refusal(code), code);
    }
    assert.equal(env.rows().length, count);
    assert.deepEqual(env.push.active(), active);
  });

  test('a certificate is accepted up to the last second of its validity', () => {
    const pair = pushPair({ notAfter: NOW });
    assert.equal(env.push.importPem(pair.certPem, pair.keyPem, { force: true }).notAfter, NOW);
  });
});

describe('push CSRs and certificates issued for them', () => {
  const env = setup();
  after(() => env.store.close());

  test('a CSR: RSA-2048, signed, subject from the organisation or the caller, its key sealed under push-csr:<id>', () => {
    const csr = env.push.createCsr();
    assert.equal(csr.subject, 'CN=Example School');
    assert.deepEqual(pemBlocks(csr.csrPem, 'CERTIFICATE REQUEST'), [csr.csrDer]);
    const parsed = parseCsr(csr.csrDer); // checks the signature
    assert.equal(nameToString(parsed.subject), 'CN=Example School');
    const key = crypto.createPublicKey({ key: parsed.spki, format: 'der', type: 'spki' });
    assert.equal(key.asymmetricKeyType, 'rsa');
    assert.equal(key.asymmetricKeyDetails?.modulusLength, 2048);

    const [row] = env.csrRows();
    assert.equal(row?.id, csr.id);
    assert.equal(row?.status, 'pending');
    const pkcs8 = crypto.createPrivateKey({ key: env.sealer.unseal(`push-csr:${csr.id}`, row!.key_sealed), format: 'der', type: 'pkcs8' });
    assert.ok(crypto.createPublicKey(pkcs8).equals(key));
    assert.deepEqual(env.push.pendingCsr(), csr);

    const named = env.push.createCsr({ commonName: '  Ops Team ', email: 'ops@example.org' });
    assert.equal(named.subject, 'CN=Ops Team, emailAddress=ops@example.org');
    assert.equal(nameToString(parseCsr(named.csrDer).subject), 'CN=Ops Team, emailAddress=ops@example.org');
    assert.equal(env.push.pendingCsr()?.id, named.id, 'the newest is the pending one');
    assert.deepEqual(
      env.csrRows().map((r) => r.status),
      ['superseded', 'pending'],
    );
  });

  test('a bad subject is refused before anything is made', () => {
    const count = env.count('push_csrs');
    for (const subject of [{ commonName: ' ' }, { commonName: 'x'.repeat(65) }, { commonName: 'ok', email: 'not an email' }, { commonName: 'ok', email: 'é@example.org' }]) {
      assert.throws(() => env.push.createCsr(subject), refusal('push_csr_bad_subject'), JSON.stringify(subject));
    }
    assert.equal(env.count('push_csrs'), count);
  });

  const changes: Array<PushIdentity | null> = [];
  let unsubscribe: () => void = () => undefined;

  test('the certificate Apple issues for the pending CSR imports without a key; the CSR is marked issued; subscribers hear of it', () => {
    unsubscribe = env.push.onChange((identity) => changes.push(identity));
    const pending = env.push.pendingCsr()!;
    const issued = issueForCsr(pending.csrDer, { notBefore: NOW - DAY, notAfter: NOW + 365 * DAY });
    const imported = env.push.importPem(issued.pem, undefined);
    assert.equal(imported.topic, issued.topic);
    const identity = env.push.activeIdentity()!;
    assert.ok(new crypto.X509Certificate(identity.certPem).checkPrivateKey(crypto.createPrivateKey(identity.keyPem)));
    assert.ok(crypto.createPublicKey(identity.keyPem).export({ type: 'spki', format: 'der' }).equals(csrSpki(pending.csrDer)));
    const row = env.csrRows().find((r) => r.id === pending.id)!;
    assert.equal(row.status, 'issued');
    assert.equal(row.certificate_id, imported.id);
    assert.equal(env.push.pendingCsr(), null);

    assert.equal(changes.length, 1);
    assert.equal(changes[0]?.id, imported.id);
    assert.equal(changes[0]?.keyPem, identity.keyPem);
  });

  test('renewal with the same topic swaps at once: the previous certificate retired, subscribers told', () => {
    const previous = env.push.active()!;
    const csr = env.push.createCsr();
    const renewed = issueForCsr(csr.csrDer, { topic: previous.topic, notBefore: NOW - DAY, notAfter: NOW + 400 * DAY });
    const imported = env.push.importPem(renewed.pem, undefined);
    assert.equal(imported.topic, previous.topic);
    assert.equal(env.push.active()?.id, imported.id);
    assert.equal(env.rows().find((r) => r.id === previous.id)?.status, 'retired');
    assert.equal(changes.length, 2);
    assert.equal(changes[1]?.id, imported.id);
    assert.ok(new crypto.X509Certificate(changes[1]!.certPem).checkPrivateKey(crypto.createPrivateKey(changes[1]!.keyPem)));
    assert.equal(env.logs.find((l) => l.msg?.startsWith('the push topic changed')), undefined);
  });

  test('a certificate for a superseded CSR still finds its key', () => {
    const older = env.push.createCsr();
    env.push.createCsr();
    const issued = issueForCsr(older.csrDer, { topic: env.push.active()!.topic, notBefore: NOW - DAY });
    assert.equal(env.push.importPem(issued.pem, undefined).topic, env.push.active()!.topic);
    assert.equal(env.csrRows().find((r) => r.id === older.id)?.status, 'issued');
    assert.equal(changes.length, 3);
  });

  test('a new topic for a CSR made here is refused without force, accepted with it', () => {
    const active = env.push.active()!;
    const csr = env.push.createCsr();
    const other = issueForCsr(csr.csrDer, { notBefore: NOW - DAY });
    assert.throws(() => env.push.importPem(other.pem, undefined), refusal('push_topic_changed'));
    assert.equal(env.push.active()?.id, active.id);
    assert.equal(env.push.pendingCsr()?.id, csr.id, 'the CSR stays pending');
    assert.equal(changes.length, 3, 'nobody told of a refused import');
    assert.equal(env.push.importPem(other.pem, undefined, { force: true }).topic, other.topic);
    assert.equal(changes.length, 4);
  });

  test('a certificate whose key matches no CSR made here is refused', () => {
    const stranger = pushPair();
    assert.throws(() => env.push.importPem(stranger.certPem, undefined, { force: true }), refusal('push_csr_no_match'));
  });

  test('an import by another process reaches subscribers through the poll; unsubscribing stops it', async () => {
    unsubscribe();
    // Two connections to one database and master key, as the server and a CLI command have them.
    const serverStore = openStore(env.dir);
    const cliStore = openStore(env.dir);
    try {
      const quiet = pino({ level: 'silent' });
      const server = createPushCertificates({ repo: createPushRepo(serverStore.db), sealer: env.sealer, log: quiet, organization: 'x', now: () => NOW, pollMs: 20 });
      const cli = createPushCertificates({ repo: createPushRepo(cliStore.db), sealer: env.sealer, log: quiet, organization: 'x', now: () => NOW });
      const seen: Array<PushIdentity | null> = [];
      const stop = server.onChange((identity) => seen.push(identity));
      assert.equal(server.refresh(), false, 'nothing changed since subscribing');

      const renew = () => {
        const csr = cli.createCsr();
        return cli.importPem(issueForCsr(csr.csrDer, { topic: cli.active()!.topic, notBefore: NOW - DAY }).pem, undefined);
      };
      const imported = renew();
      const deadline = Date.now() + 5000;
      while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.id, imported.id);
      assert.ok(new crypto.X509Certificate(seen[0]!.certPem).checkPrivateKey(crypto.createPrivateKey(seen[0]!.keyPem)));
      assert.equal(server.refresh(), false, 'told once');

      stop();
      renew();
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(seen.length, 1, 'no poll after unsubscribing');
      assert.equal(server.refresh(), true, 'a direct refresh still sees it');
    } finally {
      serverStore.close();
      cliStore.close();
    }
  });
});

describe('the vendor certificate and the signed push request', () => {
  const env = setup();
  after(() => env.store.close());
  const chain = vendorChain({ now: NOW });

  test('without a vendor certificate or a pending CSR there is no signed request', () => {
    assert.throws(() => env.push.signedRequest(), refusal('push_vendor_missing'));
    env.push.importVendor({ kind: 'pem', keyPem: chain.vendor.keyPem, passphraseHint: 'x', certificates: [chain.vendor.der, chain.wwdr.der, chain.root.der] });
    assert.throws(() => env.push.signedRequest(), refusal('push_csr_missing'));
  });

  test('imports the vendor certificate with its chain in any order; the key sealed under push-vendor:<id>', () => {
    const imported = env.push.importVendor({
      kind: 'pem',
      keyPem: chain.vendor.keyPem,
      passphraseHint: 'x',
      certificates: [chain.root.der, chain.vendor.der, chain.wwdr.der],
    });
    assert.equal(imported.subject, 'CN=MDM Vendor: Example Corp (test), O=Example Corp');
    assert.deepEqual(imported.chain, [
      'CN=Apple Worldwide Developer Relations Certification Authority (test), O=Apple Inc. (test)',
      'CN=Apple Root CA (test), O=Apple Inc. (test)',
    ]);
    assert.deepEqual(env.push.vendor(), imported);
    const rows = env.store.sqlite.prepare('SELECT id, status, key_sealed FROM push_vendor_certificates ORDER BY created_at, rowid').all() as Array<{
      id: string;
      status: string;
      key_sealed: Buffer;
    }>;
    assert.deepEqual(
      rows.map((r) => r.status),
      ['retired', 'active'],
    );
    const key = env.sealer.unseal(`push-vendor:${imported.id}`, rows[1]!.key_sealed);
    assert.ok(crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'der' }).equals(key));
    assert.ok(crypto.createPublicKey(crypto.createPrivateKey({ key, format: 'der', type: 'pkcs8' })).equals(chain.vendor.publicKey));
  });

  test('the signed request: base64 of a plist with the CSR, the chain and a SHA-256 RSA signature over the CSR', () => {
    const csr = env.push.createCsr();
    const { request, csrId } = env.push.signedRequest();
    assert.equal(csrId, csr.id);
    assert.match(request, /^[A-Za-z0-9+/]+=*$/);
    const xml = Buffer.from(request, 'base64');
    assert.match(xml.toString('utf8'), /^<\?xml[^>]*>\s*<!DOCTYPE plist/);
    const plist = decodePlist(xml);
    assert.deepEqual(Object.keys(plist).sort(), ['PushCertCertificateChain', 'PushCertRequestCSR', 'PushCertSignature']);
    const csrDer = Buffer.from(plist.PushCertRequestCSR as string, 'base64');
    assert.ok(csrDer.equals(csr.csrDer));
    assert.deepEqual(pemBlocks(plist.PushCertCertificateChain as string, 'CERTIFICATE'), [chain.vendor.der, chain.wwdr.der, chain.root.der]);
    const signature = Buffer.from(plist.PushCertSignature as string, 'base64');
    assert.ok(crypto.verify('sha256', csrDer, chain.vendor.publicKey, signature));
    assert.ok(!crypto.verify('sha256', env.push.createCsr().csrDer, chain.vendor.publicKey, signature), 'the signature covers this CSR only');
  });

  test('refusals, each with its code, store nothing', () => {
    const before = env.push.vendor();
    const count = env.count('push_vendor_certificates');
    const other = vendorChain({ now: NOW });
    const expired = vendorChain({ now: NOW, vendorNotAfter: NOW - DAY });
    const expiredWwdr = vendorChain({ now: NOW, wwdrNotAfter: NOW - DAY });
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const encrypted = chain.vendor.key.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
    const full = [chain.vendor.der, chain.wwdr.der, chain.root.der];
    const selfSigned = pushPair({ uid: null });
    const cases: Array<[string, Parameters<typeof env.push.importVendor>[0]]> = [
      ['push_vendor_chain_incomplete', { kind: 'pem', keyPem: chain.vendor.keyPem, passphraseHint: 'x', certificates: [chain.vendor.der] }],
      ['push_vendor_chain_incomplete', { kind: 'pem', keyPem: chain.vendor.keyPem, passphraseHint: 'x', certificates: [chain.vendor.der, chain.wwdr.der] }],
      ['push_vendor_chain_incomplete', { kind: 'pem', keyPem: chain.vendor.keyPem, passphraseHint: 'x', certificates: [chain.vendor.der, other.wwdr.der, other.root.der] }],
      ['push_vendor_key_mismatch', { kind: 'pem', keyPem: other.vendor.keyPem, passphraseHint: 'x', certificates: full }],
      ['push_vendor_expired', { kind: 'pem', keyPem: expired.vendor.keyPem, passphraseHint: 'x', certificates: [expired.vendor.der, expired.wwdr.der, expired.root.der] }],
      [
        'push_vendor_expired',
        { kind: 'pem', keyPem: expiredWwdr.vendor.keyPem, passphraseHint: 'x', certificates: [expiredWwdr.vendor.der, expiredWwdr.wwdr.der, expiredWwdr.root.der] },
      ],
      ['push_vendor_self_signed', { kind: 'pem', keyPem: selfSigned.keyPem, passphraseHint: 'x', certificates: [selfSigned.der] }],
      ['push_vendor_key_mismatch', { kind: 'pem', keyPem: ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, passphraseHint: 'x', certificates: full }],
      ['push_vendor_key_encrypted', { kind: 'pem', keyPem: encrypted, passphraseHint: 'x', certificates: full }],
      ['push_vendor_key_bad_passphrase', { kind: 'pem', keyPem: encrypted, passphrase: 'nope', passphraseHint: 'x', certificates: full }],
      ['push_vendor_key_unreadable', { kind: 'pem', keyPem: chain.vendor.pem, passphraseHint: 'x', certificates: full }],
      ['pkcs12_unreadable', { kind: 'pkcs12', pkcs12: Buffer.from('not a pkcs12 file'), password: '', certificates: [] }],
    ];
    for (const [code, source] of cases) assert.throws(() => env.push.importVendor(source), refusal(code), code);
    assert.equal(env.count('push_vendor_certificates'), count);
    assert.deepEqual(env.push.vendor(), before);

    const missing = (() => {
      try {
        env.push.importVendor(cases[0]![1]);
      } catch (e) {
        return (e as AppError).message;
      }
      return '';
    })();
    assert.match(missing, /issuer "CN=Apple Worldwide Developer Relations Certification Authority \(test\), O=Apple Inc\. \(test\)" is missing/);
    assert.match(missing, /https:\/\/www\.apple\.com\/certificateauthority\//);
  });

  test('an EC vendor key is refused as unsupported: the request signature is RSA', () => {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const der = buildCertificate({
      serial: randomSerial(),
      subject: makeName([[OID.commonName, 'MDM Vendor: EC']]),
      issuer: chain.wwdr.name,
      notBefore: new Date(NOW - DAY),
      notAfter: new Date(NOW + DAY),
      spki: publicKey.export({ type: 'spki', format: 'der' }),
      extensions: [],
      signingKey: chain.wwdr.key,
    });
    const source = { kind: 'pem' as const, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, passphraseHint: 'x', certificates: [der, chain.wwdr.der, chain.root.der] };
    assert.throws(() => env.push.importVendor(source), refusal('push_vendor_key_unsupported'));
  });

  test('a vendor certificate that expired after its import signs nothing', () => {
    env.clock.now = NOW + 400 * DAY;
    try {
      assert.throws(() => env.push.signedRequest(), refusal('push_vendor_expired'));
    } finally {
      env.clock.now = NOW;
    }
  });
});

describe('expiry', () => {
  const env = setup();
  after(() => env.store.close());
  const notAfter = NOW + 100 * DAY;

  test('state and whole days left at the boundaries: ok above 30 days, expiring to 8, critical to the last second, then expired', () => {
    const pair = pushPair({ notAfter });
    env.push.importPem(pair.certPem, pair.keyPem);
    const at = (t: number) => {
      const s = env.push.status(t)!;
      return [s.state, s.daysLeft];
    };
    assert.deepEqual(at(NOW), ['ok', 100]);
    assert.deepEqual(at(notAfter - 31 * DAY), ['ok', 31]);
    assert.deepEqual(at(notAfter - 31 * DAY + 1), ['expiring', 30]);
    assert.deepEqual(at(notAfter - 30 * DAY), ['expiring', 30]);
    assert.deepEqual(at(notAfter - 8 * DAY), ['expiring', 8]);
    assert.deepEqual(at(notAfter - 8 * DAY + 1), ['critical', 7]);
    assert.deepEqual(at(notAfter - 7 * DAY), ['critical', 7]);
    assert.deepEqual(at(notAfter - 1), ['critical', 0]);
    assert.deepEqual(at(notAfter), ['critical', 0]);
    assert.deepEqual(at(notAfter + 1), ['expired', -1]);
    assert.deepEqual(at(notAfter + 3 * DAY), ['expired', -3]);
    assert.equal(env.push.status(notAfter)?.topic, pair.uid);
    env.clock.now = notAfter - 30 * DAY;
    assert.deepEqual(env.push.status(), { state: 'expiring', daysLeft: 30, topic: pair.uid, notAfter }, 'defaults to the service clock');
  });

  test('checkExpiry logs once per UTC day, at the level of the state', () => {
    const expiryLines = () => env.logs.filter((l) => l.state !== undefined);
    const on = (t: number) => {
      env.clock.now = t;
      return env.push.checkExpiry();
    };
    const midday = (daysBefore: number) => notAfter - daysBefore * DAY;
    assert.equal(on(midday(60))?.state, 'ok');
    assert.equal(on(midday(60) + 3_600_000)?.state, 'ok', 'still answers');
    assert.equal(expiryLines().length, 1, 'one line that day');
    on(midday(30));
    on(midday(7));
    on(midday(7) + 60_000);
    on(notAfter + DAY);
    const lines = expiryLines();
    assert.deepEqual(
      lines.map((l) => [l.state, l.level, l.daysLeft]),
      [
        ['ok', 30, 60],
        ['expiring', 40, 30],
        ['critical', 50, 7],
        ['expired', 50, -1],
      ],
    );
    assert.match(lines[1]!.msg!, /expires in 30 days: renew it at https:\/\/identity\.apple\.com/);
    assert.match(lines[3]!.msg!, /expired on \d{4}-\d\d-\d\d: devices get no pushes/);
  });

  test('without a certificate the daily line says so', () => {
    const empty = setup();
    try {
      assert.equal(empty.push.checkExpiry(), null);
      assert.equal(empty.push.checkExpiry(), null);
      const lines = empty.logs.filter((l) => l.msg?.startsWith('no Apple push certificate yet'));
      assert.equal(lines.length, 1);
      assert.equal(lines[0]!.level, 40);
    } finally {
      empty.store.close();
    }
  });
});

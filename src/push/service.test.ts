import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { pino } from 'pino';
import { AppError } from '../errors.ts';
import { OID, buildCertificate, makeName, randomSerial, toPem } from '../pki/x509.ts';
import { createSealer } from '../secrets/seal.ts';
import { openStore } from '../store/db.ts';
import { readPushCertificate, UID_OID } from './pem.ts';
import { createPushRepo } from './repo.ts';
import { createPushCertificates } from './service.ts';

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

function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-push-'));
  const store = openStore(dir);
  const sealer = createSealer(crypto.randomBytes(32));
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  const push = createPushCertificates({ repo: createPushRepo(store.db), sealer, log: pino({ level: 'info' }, sink), now: () => NOW });
  const rows = () =>
    store.sqlite.prepare('SELECT id, topic, status, key_sealed FROM push_certificates ORDER BY created_at, rowid').all() as Array<{
      id: string;
      topic: string;
      status: string;
      key_sealed: Buffer;
    }>;
  return { store, sealer, push, logs, rows };
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

  test('a re-import retires the previous certificate in the same step and warns when the topic changes', () => {
    const before = env.push.active()!;
    const next = pushPair();
    const imported = env.push.importPem(next.certPem, next.keyPem);
    assert.equal(env.push.active()!.id, imported.id);
    const rows = env.rows();
    assert.deepEqual(
      rows.filter((r) => r.status === 'active').map((r) => r.id),
      [imported.id],
    );
    assert.equal(rows.find((r) => r.id === before.id)?.status, 'retired');
    const warning = env.logs.find((l) => l.msg?.toString().startsWith('the push topic changed'));
    assert.equal(warning?.previous, before.topic);
    assert.equal(warning?.topic, next.uid);
  });

  test('accepts the key as PKCS#1, and as encrypted PKCS#8 or PKCS#1 given the passphrase', () => {
    const pair = pushPair();
    const pkcs1 = pair.privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.match(pkcs1, /BEGIN RSA PRIVATE KEY/);
    assert.equal(env.push.importPem(pair.certPem, pkcs1).topic, pair.uid);
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
    assert.equal(env.push.importPem(bundle, bundle).topic, pair.uid);
  });

  test('refuses, each with its code, and stores nothing', () => {
    const count = env.rows().length;
    const active = env.push.active();
    const good = pushPair();
    const enc = good.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'right' }) as string;
    const damaged = good.certPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n');
    const cases: Array<[string, string, string, { passphrase?: string }?]> = [
      ['push_cert_no_topic', pushPair({ uid: null }).certPem, good.keyPem],
      ['push_cert_bad_topic', pushPair({ uid: 'com.apple.pusher.abc' }).certPem, good.keyPem],
      ['push_cert_no_topic', fs.readFileSync(path.join(fixtures, 'mock_push_cert_no_uid.pem'), 'utf8'), good.keyPem],
      ['push_cert_bad_topic', fs.readFileSync(path.join(fixtures, 'mock_push_cert_wrong_uid_prefix.pem'), 'utf8'), good.keyPem],
      ['push_key_mismatch', fs.readFileSync(path.join(fixtures, 'mock_push_cert.pem'), 'utf8'), good.keyPem],
      ['push_key_mismatch', good.certPem, pushPair().keyPem],
      ['push_cert_expired', pushPair({ notBefore: NOW - 400 * DAY, notAfter: NOW - DAY }).certPem, good.keyPem],
      ['push_cert_expired', pushPair({ notBefore: NOW + DAY, notAfter: NOW + 400 * DAY }).certPem, good.keyPem],
      ['push_cert_unreadable', 'not a certificate', good.keyPem],
      ['push_cert_unreadable', damaged, good.keyPem],
      ['push_cert_unreadable', good.der.toString('latin1'), good.keyPem],
      ['push_key_unreadable', good.certPem, good.certPem],
      ['push_key_unreadable', good.certPem, good.keyPem.replace(/\n[A-Za-z0-9+/]{64}\n/, '\nAAAA\n')],
      ['push_key_encrypted', good.certPem, enc],
      ['push_key_bad_passphrase', good.certPem, enc, { passphrase: 'wrong' }],
    ];
    for (const [code, cert, key, options] of cases) {
      assert.throws(() => env.push.importPem(cert, key, options), refusal(code), code);
    }
    assert.equal(env.rows().length, count);
    assert.deepEqual(env.push.active(), active);
  });

  test('a certificate is accepted up to the last second of its validity', () => {
    const pair = pushPair({ notAfter: NOW });
    assert.equal(env.push.importPem(pair.certPem, pair.keyPem).notAfter, NOW);
  });
});

// The SCEP server over the wire: micromdm's scepclient and openssl as independent peers, and
// our test client for the request types and broken messages scepclient cannot send.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { derSequence, tlv } from '../src/pki/der.ts';
import { MessageType } from '../src/pki/scep/constants.ts';
import { oid } from '../src/pki/x509.ts';
import { scepAttribute, signPkiMessage } from '../src/pki/scep/pki-message.ts';
import { certInfo } from '../src/pki/cert-info.ts';
import { peer } from './support/peers.ts';
import {
  buildCsr,
  getCaCerts,
  issuedSigner,
  issuerAndSerialPayload,
  issuerAndSubjectPayload,
  newDevice,
  pkiRequest,
  postPki,
  readCertRep,
  type Device,
} from './support/scep-client.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';

const STATIC = 'static-lab-challenge';

describe('SCEP server', () => {
  let server: TestServer;
  let ca: Awaited<ReturnType<typeof getCaCerts>>;
  let caPemFile: string;
  // RSA key generation is the slow part of these tests: a small pool, each key used for one enrollment.
  const devices: Device[] = [];
  const device = () => devices.pop() ?? newDevice();

  const countCerts = () => {
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      return (db.prepare("SELECT count(*) AS n FROM certificates WHERE kind = 'device'").get() as { n: number }).n;
    } finally {
      db.close();
    }
  };
  const challenge = () => {
    const r = server.cli(['scep', 'challenge']);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const enroll = async (d: Device, csrOpts: Parameters<typeof buildCsr>[1], extra: Partial<Parameters<typeof pkiRequest>[0]> = {}) => {
    const req = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, csrOpts), ...extra });
    const res = await postPki(server.url, req.der);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-pki-message');
    const rep = readCertRep(Buffer.from(await res.arrayBuffer()), ca.ra, extra.signer ?? d.selfSigned);
    assert.equal(rep.transactionId, req.transactionId);
    assert.ok(rep.recipientNonce.equals(req.senderNonce), 'recipientNonce echoes senderNonce');
    return { rep, req };
  };

  before(async () => {
    // Two workers whatever the machine: the pool is what production runs.
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: STATIC, MDM_SCEP_WORKERS: '2' } });
    ca = await getCaCerts(server.url);
    caPemFile = path.join(server.dataDir, 'ca-test.pem');
    fs.writeFileSync(caPemFile, await (await fetch(`${server.url}/pki/ca.pem`)).text());
    for (let i = 0; i < 6; i++) devices.push(newDevice());
  });
  after(async () => {
    await server.stop();
  });

  test('GetCACaps and GetCACert (RA + CA, certs-only PKCS#7), also at /cgi-bin/pkiclient.exe', async () => {
    for (const base of ['/scep', '/cgi-bin/pkiclient.exe']) {
      const caps = await fetch(`${server.url}${base}?operation=GetCACaps`);
      assert.equal(caps.status, 200);
      assert.deepEqual((await caps.text()).trim().split('\n'), ['POSTPKIOperation', 'SHA-256', 'SHA-512', 'AES', 'SCEPStandard', 'Renewal']);
      const certs = await fetch(`${server.url}${base}?operation=GetCACert`);
      assert.equal(certs.headers.get('content-type'), 'application/x-x509-ca-ra-cert');
      const der = Buffer.from(await certs.arrayBuffer());
      if (peer('openssl', ['version']).ok) {
        const out = spawnSync('openssl', ['pkcs7', '-inform', 'DER', '-print_certs', '-noout'], { input: der, encoding: 'utf8' });
        assert.equal(out.status, 0, out.stderr);
        assert.match(out.stdout, /SCEP RA/);
        assert.match(out.stdout, /MDM Appliance CA/);
      }
    }
  });

  describe('with micromdm scepclient', () => {
    const scepclient = (dir: string, args: string[]) =>
      spawnSync('scepclient', ['-private-key', path.join(dir, 'key.pem'), '-server-url', `${server.url}/scep`, ...args], { cwd: dir, encoding: 'utf8' });

    test('enrolls with a one-time challenge; openssl verify accepts the certificate; the challenge cannot be used twice', (t) => {
      const p = peer('scepclient', ['-version']);
      if (!p.ok) return t.skip(p.reason);
      const c = challenge();
      // scepclient reuses csr.pem from its key's folder: one folder per enrollment.
      const first = tempDir('scepclient-');
      const r = scepclient(first, ['-challenge', c, '-cn', 'iphone-1']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const certFile = path.join(first, 'client.pem');
      const v = spawnSync('openssl', ['verify', '-CAfile', caPemFile, certFile], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stdout + v.stderr);
      const x = new crypto.X509Certificate(fs.readFileSync(certFile));
      assert.match(x.subject, /CN=iphone-1/);
      const listed = server.cli(['cert', 'list', '--kind', 'device']);
      assert.ok(listed.stdout.includes(x.serialNumber.toLowerCase().replace(/^0+/, '')), listed.stdout);

      const before = countCerts();
      const second = tempDir('scepclient-');
      const again = scepclient(second, ['-challenge', c, '-cn', 'iphone-2']);
      assert.notEqual(again.status, 0, 'a used challenge is refused');
      assert.equal(fs.existsSync(path.join(second, 'client.pem')), false);
      assert.equal(countCerts(), before, 'nothing issued');
    });

    test('a wrong challenge is refused and issues nothing', async (t) => {
      const p = peer('scepclient', ['-version']);
      if (!p.ok) return t.skip(p.reason);
      const before = countCerts();
      const dir = tempDir('scepclient-');
      const r = scepclient(dir, ['-challenge', 'not-a-challenge', '-cn', 'mac-1']);
      assert.notEqual(r.status, 0);
      assert.equal(countCerts(), before);
      await server.waitForLog((l) => l.msg === 'SCEP request refused' && l.failInfo === '2');
    });

    test('renews with its certificate (RenewalReq, no challenge) and gets a new certificate', async (t) => {
      const p = peer('scepclient', ['-version']);
      if (!p.ok) return t.skip(p.reason);
      const dir = tempDir('scepclient-');
      assert.equal(scepclient(dir, ['-challenge', challenge(), '-cn', 'ipad-1']).status, 0);
      const certFile = path.join(dir, 'client.pem');
      const old = new crypto.X509Certificate(fs.readFileSync(certFile));
      const r = scepclient(dir, ['-certificate', certFile, '-cn', 'ipad-1']);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      const renewed = new crypto.X509Certificate(fs.readFileSync(certFile));
      assert.notEqual(renewed.serialNumber, old.serialNumber);
      assert.equal(spawnSync('openssl', ['verify', '-CAfile', caPemFile, certFile]).status, 0);
      await server.waitForLog((l) => l.outcome === 'renewed');
    });
  });

  test('the static challenge (MDM_SCEP_CHALLENGE) works more than once; UTF8String challenges are read', async () => {
    const a = await enroll(device(), { cn: 'lab-1', challenge: STATIC });
    const b = await enroll(device(), { cn: 'lab-2', challenge: STATIC, challengeType: 'utf8' });
    assert.equal(a.rep.status, '0');
    assert.equal(b.rep.status, '0');
    const c = await enroll(device(), { cn: 'lab-3', challenge: challenge(), challengeType: 'utf8' });
    assert.equal(c.rep.status, '0');
  });

  test('our CertRep opens with openssl cms using the device key', async (t) => {
    const p = peer('openssl', ['version']);
    if (!p.ok) return t.skip(p.reason);
    const d = device();
    const req = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'ossl', challenge: STATIC }) });
    const rep = Buffer.from(await (await postPki(server.url, req.der)).arrayBuffer());
    const dir = tempDir('ossl-');
    fs.writeFileSync(path.join(dir, 'rep.der'), rep);
    fs.writeFileSync(path.join(dir, 'key.pem'), d.key.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(path.join(dir, 'signer.der'), d.selfSigned.cert.der);
    fs.writeFileSync(path.join(dir, 'ra.der'), ca.raDer);
    const verify = spawnSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', 'rep.der', '-noverify', '-certfile', 'ra.der', '-out', 'env.der', '-binary'], { cwd: dir, encoding: 'utf8' });
    assert.equal(verify.status, 0, verify.stderr);
    spawnSync('openssl', ['x509', '-inform', 'DER', '-in', 'signer.der', '-out', 'signer.pem'], { cwd: dir });
    const dec = spawnSync('openssl', ['cms', '-decrypt', '-inform', 'DER', '-in', 'env.der', '-inkey', 'key.pem', '-recip', 'signer.pem', '-out', 'certs.der', '-binary'], { cwd: dir, encoding: 'utf8' });
    assert.equal(dec.status, 0, dec.stderr);
    const certs = spawnSync('openssl', ['pkcs7', '-inform', 'DER', '-in', 'certs.der', '-print_certs'], { cwd: dir, encoding: 'utf8' });
    assert.match(certs.stdout, /subject=O = Test, CN = ossl/);
  });

  test('PKIOperation over GET: standard, URL-safe and raw-plus base64', async () => {
    for (const encode of [
      (b: Buffer) => encodeURIComponent(b.toString('base64')),
      (b: Buffer) => b.toString('base64url'),
      (b: Buffer) => b.toString('base64'),
    ]) {
      // Retry until the base64 actually contains a '+', so the raw-plus case is exercised.
      let req: ReturnType<typeof pkiRequest>;
      let d: Device;
      do {
        d = device();
        req = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'get', challenge: STATIC }) });
        devices.unshift(d);
      } while (!req.der.toString('base64').includes('+'));
      devices.shift();
      const res = await fetch(`${server.url}/scep?operation=PKIOperation&message=${encode(req.der)}`);
      assert.equal(res.status, 200);
      assert.equal(readCertRep(Buffer.from(await res.arrayBuffer()), ca.ra, d.selfSigned).status, '0');
    }
  });

  test('a retried request (same transactionID and key) returns the same certificate, not a second one', async () => {
    const d = device();
    const csr = buildCsr(d, { cn: 'retry', challenge: challenge() });
    const first = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: csr });
    const rep1 = readCertRep(Buffer.from(await (await postPki(server.url, first.der)).arrayBuffer()), ca.ra, d.selfSigned);
    const count = countCerts();
    const retry = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: csr, transactionId: first.transactionId });
    const rep2 = readCertRep(Buffer.from(await (await postPki(server.url, retry.der)).arrayBuffer()), ca.ra, d.selfSigned);
    assert.equal(rep2.status, '0', 'the consumed challenge does not matter for a retry');
    assert.ok(rep1.certs[0]!.equals(rep2.certs[0]!));
    assert.equal(countCerts(), count);
  });

  test('PKCSReq signed by a still-valid certificate we issued is a renewal and needs no challenge; a revoked one is refused', async () => {
    const d = device();
    const { rep } = await enroll(d, { cn: 'renew-me', challenge: challenge() });
    const signer = issuedSigner(d, rep.certs[0]!);
    const next = newDevice();
    const renewal = await enroll(next, { cn: 'renew-me' }, { signer });
    assert.equal(renewal.rep.status, '0');
    const renewed = new crypto.X509Certificate(renewal.rep.certs[0]!);
    assert.ok(renewed.publicKey.equals(next.publicKey), 'the new key from the CSR');

    const serial = new crypto.X509Certificate(rep.certs[0]!).serialNumber;
    const revoked = server.cli(['cert', 'revoke', serial, '--reason', 'keyCompromise']);
    assert.equal(revoked.status, 0, revoked.stderr);
    const count = countCerts();
    const refused = await enroll(newDevice(), { cn: 'renew-me' }, { signer });
    assert.equal(refused.rep.status, '2');
    assert.equal(refused.rep.failInfo, '2');
    assert.equal(countCerts(), count);
  });

  test('RenewalReq signed by a certificate we did not issue is refused (badRequest)', async () => {
    const d = device();
    const req = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.RenewalReq, payload: buildCsr(d, { cn: 'x', challenge: STATIC }) });
    const rep = readCertRep(Buffer.from(await (await postPki(server.url, req.der)).arrayBuffer()), ca.ra, d.selfSigned);
    assert.equal(rep.status, '2');
    assert.equal(rep.failInfo, '2');
  });

  test('CertPoll returns the certificate of a transaction; an unknown transaction gets badCertId', async () => {
    const d = device();
    const { rep, req } = await enroll(d, { cn: 'poll', challenge: STATIC });
    const subject = certInfo(rep.certs[0]!).subjectDer;
    const poll = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.CertPoll, payload: issuerAndSubjectPayload(ca.ca, subject), transactionId: req.transactionId });
    const polled = readCertRep(Buffer.from(await (await postPki(server.url, poll.der)).arrayBuffer()), ca.ra, d.selfSigned);
    assert.equal(polled.status, '0');
    assert.ok(polled.certs[0]!.equals(rep.certs[0]!));
    const unknown = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.CertPoll, payload: issuerAndSubjectPayload(ca.ca, subject) });
    const none = readCertRep(Buffer.from(await (await postPki(server.url, unknown.der)).arrayBuffer()), ca.ra, d.selfSigned);
    assert.equal(none.status, '2');
    assert.equal(none.failInfo, '4');
  });

  test('GetCert by issuer and serial; GetCRL lists revoked certificates, as does /pki/crl', async () => {
    const d = device();
    const { rep } = await enroll(d, { cn: 'getcert', challenge: STATIC });
    const x = new crypto.X509Certificate(rep.certs[0]!);
    const signer = issuedSigner(d, rep.certs[0]!);
    const get = pkiRequest({ signer, recipient: ca.ra, messageType: MessageType.GetCert, payload: issuerAndSerialPayload(ca.ca, x.serialNumber) });
    const got = readCertRep(Buffer.from(await (await postPki(server.url, get.der)).arrayBuffer()), ca.ra, signer);
    assert.equal(got.status, '0');
    assert.ok(got.certs[0]!.equals(rep.certs[0]!));
    const missing = pkiRequest({ signer, recipient: ca.ra, messageType: MessageType.GetCert, payload: issuerAndSerialPayload(ca.ca, 'abcdef') });
    assert.equal(readCertRep(Buffer.from(await (await postPki(server.url, missing.der)).arrayBuffer()), ca.ra, signer).failInfo, '4');

    assert.equal(server.cli(['cert', 'revoke', x.serialNumber]).status, 0);
    const again = server.cli(['cert', 'revoke', x.serialNumber]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /already revoked/);
    const crlReq = pkiRequest({ signer, recipient: ca.ra, messageType: MessageType.GetCRL, payload: issuerAndSerialPayload(ca.ca, x.serialNumber) });
    const crlRep = readCertRep(Buffer.from(await (await postPki(server.url, crlReq.der)).arrayBuffer()), ca.ra, signer);
    assert.equal(crlRep.status, '0');
    assert.equal(crlRep.crls.length, 1);
    const plain = Buffer.from(await (await fetch(`${server.url}/pki/crl`)).arrayBuffer());
    for (const crl of [crlRep.crls[0]!, plain]) {
      if (!peer('openssl', ['version']).ok) break;
      const out = spawnSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text', '-CAfile', caPemFile], { input: crl, encoding: 'utf8' });
      assert.equal(out.status, 0, out.stderr);
      assert.match(out.stderr + out.stdout, /verify OK/);
      assert.ok(out.stdout.toUpperCase().includes(`SERIAL NUMBER: ${x.serialNumber.toUpperCase()}`), out.stdout);
    }
  });

  describe('bad input: a clear 4xx or a FAILURE CertRep, nothing written, still serving', () => {
    let before: number;
    const stillServing = async () => {
      assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
      assert.equal(countCerts(), before, 'no certificate row written');
    };
    const failure = async (der: Buffer, signer: Parameters<typeof readCertRep>[2], failInfo: string) => {
      const res = await postPki(server.url, der);
      assert.equal(res.status, 200);
      const rep = readCertRep(Buffer.from(await res.arrayBuffer()), ca.ra, signer);
      assert.equal(rep.status, '2');
      assert.equal(rep.failInfo, failInfo);
    };

    test('transport-level garbage gets a bare 400', async () => {
      before = countCerts();
      const d = device();
      const good = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'x', challenge: STATIC }) });
      const bodies = [good.der.subarray(0, good.der.length / 2), crypto.randomBytes(3000), Buffer.from('hello'), Buffer.from(derSequence(oid('1.2.840.113549.1.7.1')))];
      for (const body of bodies) {
        const res = await postPki(server.url, body);
        assert.equal(res.status, 400);
        assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
      }
      devices.push(d);
      const cases: Array<[string, RequestInit | undefined, number]> = [
        ['?operation=Nope', undefined, 400],
        ['', undefined, 400],
        ['?operation=GetCACaps', { method: 'POST', body: 'x' }, 405],
        ['?operation=PKIOperation', { method: 'POST' }, 400],
        ['?operation=PKIOperation&message=%%%', undefined, 400],
        ['?operation=PKIOperation&message=', undefined, 400],
      ];
      for (const [q, init, status] of cases) assert.equal((await fetch(`${server.url}/scep${q}`, init)).status, status, q);
      await stillServing();
    });

    test('bad signature → badMessageCheck', async () => {
      const d = device();
      const req = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'x', challenge: STATIC }) });
      const tampered = Buffer.from(req.der);
      tampered[tampered.length - 5]! ^= 0x55; // inside the signature
      await failure(tampered, d.selfSigned, '1');
      devices.push(d);
      await stillServing();
    });

    test('unknown content-encryption algorithm → badAlg', async () => {
      const d = device();
      const aes128 = oid('2.16.840.1.101.3.4.1.2');
      const wrap = oid('2.16.840.1.101.3.4.1.5'); // id-aes128-wrap: not a content cipher
      const req = pkiRequest({
        signer: d.selfSigned,
        recipient: ca.ra,
        messageType: MessageType.PKCSReq,
        payload: buildCsr(d, { cn: 'x', challenge: STATIC }),
        mutateEnvelope: (env) => {
          const i = env.indexOf(aes128);
          assert.ok(i > 0);
          return Buffer.concat([env.subarray(0, i), wrap, env.subarray(i + wrap.length)]);
        },
      });
      await failure(req.der, d.selfSigned, '0');
      devices.push(d);
      await stillServing();
    });

    test('envelope to someone else, CSR without a key, CSR with a bad signature, no challenge, unknown message type', async () => {
      const d = device();
      const stranger = newDevice();
      const base = { signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq };
      // Encrypted to a certificate that is not ours.
      await failure(pkiRequest({ ...base, recipient: stranger.selfSigned.cert, payload: buildCsr(d, { cn: 'x', challenge: STATIC }) }).der, d.selfSigned, '1');
      // A "CSR" with no SubjectPublicKeyInfo.
      const noKey = derSequence(derSequence(Buffer.of(2, 1, 0), derSequence(), tlv(0xa0)), derSequence(oid('1.2.840.113549.1.1.11')), Buffer.of(3, 1, 0));
      await failure(pkiRequest({ ...base, payload: noKey }).der, d.selfSigned, '2');
      await failure(pkiRequest({ ...base, payload: buildCsr(d, { cn: 'x', challenge: STATIC, corruptSignature: true }) }).der, d.selfSigned, '1');
      await failure(pkiRequest({ ...base, payload: buildCsr(d, { cn: 'x' }) }).der, d.selfSigned, '2');
      await failure(pkiRequest({ ...base, payload: buildCsr(d, { cn: 'x', emptySubject: true, challenge: STATIC }) }).der, d.selfSigned, '2');
      await failure(pkiRequest({ ...base, messageType: '99', payload: buildCsr(d, { cn: 'x', challenge: STATIC }) }).der, d.selfSigned, '2');
      // A small RSA key.
      const weak = newDevice(1024);
      await failure(pkiRequest({ signer: weak.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(weak, { cn: 'x', challenge: STATIC }) }).der, weak.selfSigned, '0');
      // An expired one-time challenge.
      const expiring = server.cli(['scep', 'challenge', '--ttl', '1s']).stdout.trim();
      await new Promise((r) => setTimeout(r, 1100));
      await failure(pkiRequest({ ...base, payload: buildCsr(d, { cn: 'x', challenge: expiring }) }).der, d.selfSigned, '2');
      await stillServing();
    });

    test('a message without SCEP attributes is a bare 400', async () => {
      const d = device();
      const der = signPkiMessage(d.selfSigned, Buffer.from('x'), [scepAttribute.messageType(MessageType.PKCSReq)]);
      assert.equal((await postPki(server.url, der)).status, 400);
      const noNonce = signPkiMessage(d.selfSigned, Buffer.from('x'), [scepAttribute.messageType(MessageType.PKCSReq), scepAttribute.transactionId('t')]);
      assert.equal((await postPki(server.url, noNonce)).status, 400);
      await stillServing();
    });
  });
});

describe('SCEP answered on the main thread (MDM_SCEP_WORKERS=0)', () => {
  test('enrolls and refuses the same way as the worker pool', async () => {
    const server = await startServer({ env: { MDM_SCEP_CHALLENGE: STATIC, MDM_SCEP_WORKERS: '0' } });
    try {
      assert.ok(!server.logs.some((l) => l.msg === 'SCEP worker ready'));
      const ca = await getCaCerts(server.url);
      const d = newDevice();
      const ok = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'main', challenge: STATIC }) });
      assert.equal(readCertRep(Buffer.from(await (await postPki(server.url, ok.der)).arrayBuffer()), ca.ra, d.selfSigned).status, '0');
      const bad = pkiRequest({ signer: d.selfSigned, recipient: ca.ra, messageType: MessageType.PKCSReq, payload: buildCsr(d, { cn: 'main', challenge: 'wrong-challenge' }) });
      const rep = readCertRep(Buffer.from(await (await postPki(server.url, bad.der)).arrayBuffer()), ca.ra, d.selfSigned);
      assert.equal(rep.failInfo, '2');
      assert.equal((await postPki(server.url, Buffer.from('garbage'))).status, 400);
    } finally {
      await server.stop();
    }
  });
});

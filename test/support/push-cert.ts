import crypto, { type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { children, raw, readDer } from '../../src/pki/der-reader.ts';
import { basicConstraints, buildCertificate, extension, keyUsage, makeName, OID, randomSerial, toPem } from '../../src/pki/x509.ts';

const UID = '0.9.2342.19200300.100.1.1';
const DAY = 86_400_000;

/** A stand-in Apple push certificate (UID = topic) and its key, written as PEM files in `dir`. */
export function writePushCertificate(dir: string, topic = `com.apple.mgmt.External.${crypto.randomUUID()}`, opts: { notAfter?: number } = {}) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = makeName([
    [UID, topic],
    [OID.commonName, `APSP:${topic.split('.').pop()}`],
  ]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: subject,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(opts.notAfter ?? Date.now() + 365 * DAY),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [],
    signingKey: privateKey,
  });
  const cert = path.join(dir, 'push.pem');
  const key = path.join(dir, 'push.key');
  fs.writeFileSync(cert, toPem('CERTIFICATE', der));
  fs.writeFileSync(key, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { cert, key, topic };
}

export interface TestCa {
  der: Buffer;
  pem: string;
  key: KeyObject;
  name: Buffer;
}

function ca(name: string, issuer: TestCa | null, notBefore: number, notAfter: number): TestCa {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = makeName([
    [OID.commonName, name],
    [OID.organization, 'Apple Inc. (test)'],
  ]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: issuer?.name ?? subject,
    notBefore: new Date(notBefore),
    notAfter: new Date(notAfter),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [extension(OID.basicConstraints, true, basicConstraints(true)), extension(OID.keyUsage, true, keyUsage({ keyCertSign: true, cRLSign: true }))],
    signingKey: issuer?.key ?? privateKey,
  });
  return { der, pem: toPem('CERTIFICATE', der), key: privateKey, name: subject };
}

/** Apple's chain as it stands behind an MDM vendor certificate: root, WWDR intermediate, vendor certificate and key. */
export function vendorChain(opts: { now?: number; vendorNotAfter?: number; wwdrNotAfter?: number } = {}) {
  const now = opts.now ?? Date.now();
  const root = ca('Apple Root CA (test)', null, now - 1000 * DAY, now + 3000 * DAY);
  const wwdr = ca('Apple Worldwide Developer Relations Certification Authority (test)', root, now - 500 * DAY, opts.wwdrNotAfter ?? now + 2000 * DAY);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = buildCertificate({
    serial: randomSerial(),
    subject: makeName([
      [OID.commonName, 'MDM Vendor: Example Corp (test)'],
      [OID.organization, 'Example Corp'],
    ]),
    issuer: wwdr.name,
    notBefore: new Date(now - DAY),
    notAfter: new Date(opts.vendorNotAfter ?? now + 365 * DAY),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [extension(OID.keyUsage, true, keyUsage({ digitalSignature: true }))],
    signingKey: wwdr.key,
  });
  return {
    root,
    wwdr,
    vendor: { der, pem: toPem('CERTIFICATE', der), key: privateKey, keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey },
  };
}

/** The SubjectPublicKeyInfo of a PKCS#10 request (DER). */
export function csrSpki(csrDer: Buffer): Buffer {
  const [info] = children(readDer(csrDer));
  return raw(children(info!)[2]!);
}

/**
 * What Apple's portal does with a signed request, as far as the appliance can tell: a push
 * certificate for the CSR's key, its subject carrying a fresh topic (or `topic`, on renewal).
 */
export function issueForCsr(csrDer: Buffer, opts: { topic?: string; notBefore?: number; notAfter?: number } = {}) {
  const topic = opts.topic ?? `com.apple.mgmt.External.${crypto.randomUUID()}`;
  const notBefore = opts.notBefore ?? Date.now() - 3_600_000;
  const apple = ca('Apple Application Integration 2 Certification Authority (test)', null, Date.now() - 1000 * DAY, Date.now() + 3000 * DAY);
  const der = buildCertificate({
    serial: randomSerial(),
    subject: makeName([
      [UID, topic],
      [OID.commonName, `APSP:${topic.split('.').pop()}`],
      [OID.country, 'US'],
    ]),
    issuer: apple.name,
    notBefore: new Date(notBefore),
    notAfter: new Date(opts.notAfter ?? notBefore + 365 * DAY),
    spki: csrSpki(csrDer),
    extensions: [],
    signingKey: apple.key,
  });
  return { der, pem: toPem('CERTIFICATE', der), topic };
}

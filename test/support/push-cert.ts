import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { buildCertificate, makeName, randomSerial, toPem } from '../../src/pki/x509.ts';

/** A stand-in Apple push certificate (UID = topic) and its key, written as PEM files in `dir`. */
export function writePushCertificate(dir: string, topic = `com.apple.mgmt.External.${crypto.randomUUID()}`) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = makeName([
    ['0.9.2342.19200300.100.1.1', topic],
    ['2.5.4.3', `APSP:${topic.split('.').pop()}`],
  ]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject,
    issuer: subject,
    notBefore: new Date(Date.now() - 3_600_000),
    notAfter: new Date(Date.now() + 365 * 86_400_000),
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

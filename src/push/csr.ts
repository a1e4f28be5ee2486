import crypto, { type KeyObject } from 'node:crypto';
import { derSequence, tlv } from '../pki/der.ts';
import { AppError } from '../errors.ts';
import { OID, oid, signWrap } from '../pki/x509.ts';

const EMAIL_ADDRESS = '1.2.840.113549.1.9.1';
/** ub-common-name (RFC 5280 appendix A). */
const MAX_CN = 64;

export interface PushCsrSubject {
  commonName: string;
  email?: string | undefined;
}

/** Refuses a subject Apple's portal or a signing service would choke on, before a key is made for it. */
export function checkSubject(subject: PushCsrSubject): PushCsrSubject {
  const commonName = subject.commonName.trim();
  if (!commonName || commonName.length > MAX_CN) {
    throw new AppError('push_csr_bad_subject', `the common name must be 1 to ${MAX_CN} characters (got ${commonName.length})`);
  }
  // emailAddress is an IA5String: ASCII only.
  if (subject.email !== undefined && !/^[\x21-\x3f\x41-\x7e]+@[\x21-\x3f\x41-\x7e]+$/.test(subject.email)) {
    throw new AppError('push_csr_bad_subject', `"${subject.email}" is not an ASCII email address`);
  }
  return { commonName, email: subject.email };
}

function subjectName({ commonName, email }: PushCsrSubject): Buffer {
  const rdn = (type: string, stringTag: number, value: string) =>
    tlv(0x31, derSequence(oid(type), tlv(stringTag, Buffer.from(value, stringTag === 0x16 ? 'ascii' : 'utf8'))));
  return derSequence(rdn(OID.commonName, 0x0c, commonName), ...(email === undefined ? [] : [rdn(EMAIL_ADDRESS, 0x16, email)]));
}

export const subjectText = ({ commonName, email }: PushCsrSubject): string => `CN=${commonName}${email === undefined ? '' : `, emailAddress=${email}`}`;

/** A PKCS#10 request (DER) for `key`, signed sha256WithRSAEncryption, with no attributes: what Keychain Access and mdmctl make. */
export function buildCsr(subject: PushCsrSubject, key: KeyObject): Buffer {
  const spki = crypto.createPublicKey(key).export({ type: 'spki', format: 'der' });
  const info = derSequence(Buffer.of(0x02, 0x01, 0x00), subjectName(subject), spki, tlv(0xa0));
  return signWrap(info, key);
}

/** A fresh RSA-2048 key (what Apple's push certificates carry) and its CSR. */
export function generatePushCsr(subject: PushCsrSubject): { der: Buffer; key: KeyObject; spki: Buffer } {
  const checked = checkSubject(subject);
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { der: buildCsr(checked, privateKey), key: privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
}

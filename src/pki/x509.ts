import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import { sha256Hex } from '../secrets/hash.ts';
import { subjectPublicKeyBits } from './cert-info.ts';
import { derSequence, tlv } from './der.ts';

export { sha256Hex };

export const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  organizationalUnit: '2.5.4.11',
  country: '2.5.4.6',
  rsaEncryption: '1.2.840.113549.1.1.1',
  sha256WithRSA: '1.2.840.113549.1.1.11',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  crlDistributionPoints: '2.5.29.31',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const oidCache = new Map<string, Buffer>();
/** DER of an OBJECT IDENTIFIER, cached: the same dozen OIDs go into every message. */
export function oid(value: string): Buffer {
  let der = oidCache.get(value);
  if (!der) {
    der = Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER());
    oidCache.set(value, der);
  }
  return der;
}

export const NULL = Buffer.of(0x05, 0x00);
export const algorithmId = (algorithm: string, params: Buffer | null = NULL): Buffer =>
  params ? derSequence(oid(algorithm), params) : derSequence(oid(algorithm));
const SHA256_WITH_RSA = algorithmId(OID.sha256WithRSA);

/** A distinguished name, one attribute per RDN, as DER. */
export function makeName(parts: Array<[oid: string, value: string]>): Buffer {
  return derSequence(
    ...parts.map(([type, value]) => tlv(0x31, derSequence(oid(type), tlv(type === OID.country ? 0x13 : 0x0c, Buffer.from(value, 'utf8'))))),
  );
}

export function randomSerial(): Buffer {
  // 128 random bits, top bit cleared so the INTEGER stays positive without a leading zero byte.
  const s = crypto.randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x01;
  return s;
}


export function keyIdentifier(spkiDer: Buffer): Buffer {
  return crypto.createHash('sha1').update(subjectPublicKeyBits(spkiDer)).digest();
}

/** DER of an Extension; `value` is the DER of the extnValue contents. */
export function extension(extnID: string, critical: boolean, value: Buffer): Buffer {
  return derSequence(oid(extnID), ...(critical ? [Buffer.of(0x01, 0x01, 0xff)] : []), tlv(0x04, value));
}

export function keyUsage(bits: { digitalSignature?: boolean; keyEncipherment?: boolean; keyCertSign?: boolean; cRLSign?: boolean }): Buffer {
  // KeyUsage bit 0 is the most significant bit of the first byte.
  let b = 0;
  if (bits.digitalSignature) b |= 0x80;
  if (bits.keyEncipherment) b |= 0x20;
  if (bits.keyCertSign) b |= 0x04;
  if (bits.cRLSign) b |= 0x02;
  let unused = 0;
  while (unused < 7 && !(b & (1 << unused))) unused++;
  return tlv(0x03, Buffer.of(unused, b));
}

export const basicConstraints = (ca: boolean): Buffer => (ca ? derSequence(Buffer.of(0x01, 0x01, 0xff)) : derSequence());
export const extKeyUsage = (...purposes: string[]): Buffer => derSequence(...purposes.map(oid));
export const authorityKeyId = (keyId: Buffer): Buffer => derSequence(tlv(0x80, keyId));
export const subjectKeyId = (keyId: Buffer): Buffer => tlv(0x04, keyId);
/** CRLDistributionPoints with one full-name URI. */
export const crlDistributionPoint = (uri: string): Buffer => derSequence(derSequence(tlv(0xa0, tlv(0xa0, tlv(0x86, Buffer.from(uri, 'ascii'))))));

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5). */
export function timeDer(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14) + 'Z';
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(iso.slice(2), 'ascii')) : tlv(0x18, Buffer.from(iso, 'ascii'));
}

export const integer = (unsigned: Buffer): Buffer => tlv(0x02, unsigned[0]! & 0x80 ? Buffer.concat([Buffer.of(0), unsigned]) : unsigned);

export interface CertificateSpec {
  serial: Buffer;
  subject: Buffer;
  issuer: Buffer;
  notBefore: Date;
  notAfter: Date;
  spki: Buffer;
  extensions: Buffer[];
  signingKey: KeyObject;
}

/**
 * Builds and signs (sha256WithRSAEncryption) an X.509 v3 certificate from DER parts. Written
 * as byte assembly because it runs once per enrollment, where pkijs objects cost milliseconds.
 */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const tbs = derSequence(
    tlv(0xa0, Buffer.of(0x02, 0x01, 0x02)),
    integer(spec.serial),
    SHA256_WITH_RSA,
    spec.issuer,
    derSequence(timeDer(spec.notBefore), timeDer(spec.notAfter)),
    spec.subject,
    spec.spki,
    ...(spec.extensions.length ? [tlv(0xa3, derSequence(...spec.extensions))] : []),
  );
  return signWrap(tbs, spec.signingKey);
}

/** SEQUENCE { tbs, sha256WithRSAEncryption, BIT STRING signature }: the shape of certificates and CRLs alike. */
export function signWrap(tbs: Buffer, key: KeyObject): Buffer {
  const signature = crypto.sign('sha256', tbs, key);
  return derSequence(tbs, SHA256_WITH_RSA, tlv(0x03, Buffer.of(0), signature));
}

/** The DER of every `label` block in a PEM text (a certificate chain file, say). */
export function pemBlocks(text: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, 'g');
  return [...text.matchAll(re)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}

export const toPem = (label: string, der: Uint8Array): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

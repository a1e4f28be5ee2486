import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { derSequence } from './der.ts';

pkijs.setEngine('node', new pkijs.CryptoEngine({ name: 'node', crypto: crypto.webcrypto as unknown as pkijs.CryptoEngineParameters['crypto'] }));

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
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

const shortNames: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organization]: 'O',
  [OID.organizationalUnit]: 'OU',
  [OID.country]: 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '0.9.2342.19200300.100.1.1': 'UID',
};

/** A distinguished name with one attribute per RDN (pkijs would put them all in one multi-valued RDN). */
export function makeName(parts: Array<[oid: string, value: string]>): pkijs.RelativeDistinguishedNames {
  const seq = new asn1js.Sequence({
    value: parts.map(
      ([type, value]) =>
        new asn1js.Set({
          value: [
            new pkijs.AttributeTypeAndValue({
              type,
              value: type === OID.country ? new asn1js.PrintableString({ value }) : new asn1js.Utf8String({ value }),
            }).toSchema(),
          ],
        }),
    ),
  });
  return pkijs.RelativeDistinguishedNames.fromBER(seq.toBER());
}

export function nameToString(name: pkijs.RelativeDistinguishedNames): string {
  return name.typesAndValues
    .map((tv) => `${shortNames[tv.type] ?? tv.type}=${(tv.value.valueBlock as { value?: unknown }).value ?? ''}`)
    .join(', ');
}

export function commonNameOf(name: pkijs.RelativeDistinguishedNames): string | undefined {
  const v = name.typesAndValues.find((tv) => tv.type === OID.commonName)?.value.valueBlock as { value?: unknown } | undefined;
  return typeof v?.value === 'string' ? v.value : undefined;
}

export const algorithm = (algorithmId: string, params: asn1js.AsnType | null = new asn1js.Null()) =>
  new pkijs.AlgorithmIdentifier(params ? { algorithmId, algorithmParams: params } : { algorithmId });

export function randomSerial(): Buffer {
  // 128 random bits, top bit cleared so the INTEGER stays positive without a leading zero byte.
  const s = crypto.randomBytes(16);
  s[0] = (s[0]! & 0x7f) | 0x01;
  return s;
}

export const serialHex = (cert: pkijs.Certificate): string =>
  Buffer.from(cert.serialNumber.valueBlock.valueHexView).toString('hex').replace(/^(00)+(?=.)/, '');

export function parseCertificate(der: Uint8Array): pkijs.Certificate {
  return pkijs.Certificate.fromBER(der);
}

export const spkiDer = (cert: pkijs.Certificate | pkijs.CertificationRequest): Buffer =>
  Buffer.from(
    (cert instanceof pkijs.Certificate ? cert.subjectPublicKeyInfo : cert.subjectPublicKeyInfo).toSchema().toBER(),
  );

export const sha256Hex = (data: Uint8Array): string => crypto.createHash('sha256').update(data).digest('hex');

/** SubjectKeyIdentifier as RFC 5280 method 1: SHA-1 of the subjectPublicKey BIT STRING contents. */
export function keyIdentifier(spki: pkijs.PublicKeyInfo): Buffer {
  return crypto.createHash('sha1').update(spki.subjectPublicKey.valueBlock.valueHexView).digest();
}

export function ext(extnID: string, critical: boolean, value: asn1js.AsnType | pkijs.PkiObject): pkijs.Extension {
  const schema = value instanceof pkijs.PkiObject ? value.toSchema() : value;
  return new pkijs.Extension({ extnID, critical, extnValue: schema.toBER(false) });
}

export function keyUsage(bits: { digitalSignature?: boolean; keyEncipherment?: boolean; keyCertSign?: boolean; cRLSign?: boolean }): asn1js.BitString {
  // KeyUsage bit 0 is the most significant bit of the first byte.
  let b = 0;
  if (bits.digitalSignature) b |= 0x80;
  if (bits.keyEncipherment) b |= 0x20;
  if (bits.keyCertSign) b |= 0x04;
  if (bits.cRLSign) b |= 0x02;
  let unused = 0;
  while (unused < 7 && !(b & (1 << unused))) unused++;
  return new asn1js.BitString({ valueHex: Uint8Array.of(b).buffer, unusedBits: unused });
}

export interface CertificateSpec {
  serial: Buffer;
  subject: pkijs.RelativeDistinguishedNames;
  issuer: pkijs.RelativeDistinguishedNames;
  notBefore: Date;
  notAfter: Date;
  publicKey: pkijs.PublicKeyInfo;
  extensions: pkijs.Extension[];
  signingKey: KeyObject;
}

/** Builds and signs (sha256WithRSAEncryption) an X.509 v3 certificate; returns its DER. */
export function buildCertificate(spec: CertificateSpec): Buffer {
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = new asn1js.Integer({ valueHex: spec.serial });
  cert.signature = algorithm(OID.sha256WithRSA);
  cert.signatureAlgorithm = cert.signature;
  cert.issuer = spec.issuer;
  cert.subject = spec.subject;
  cert.notBefore = new pkijs.Time({ type: 0, value: spec.notBefore });
  cert.notAfter = new pkijs.Time({ type: spec.notAfter.getUTCFullYear() >= 2050 ? 1 : 0, value: spec.notAfter });
  cert.subjectPublicKeyInfo = spec.publicKey;
  cert.extensions = spec.extensions;
  const tbs = Buffer.from(cert.encodeTBS().toBER());
  return signWrap(tbs, spec.signingKey);
}

/** SEQUENCE { tbs, sha256WithRSAEncryption, BIT STRING signature }: the shape of certificates and CRLs alike. */
export function signWrap(tbs: Buffer, key: KeyObject): Buffer {
  const signature = crypto.sign('sha256', tbs, key);
  const alg = Buffer.from(algorithm(OID.sha256WithRSA).toSchema().toBER());
  const bits = Buffer.from(new asn1js.BitString({ valueHex: signature }).toBER());
  return derSequence(tbs, alg, bits);
}

export const toPem = (label: string, der: Uint8Array): string =>
  `-----BEGIN ${label}-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;

export function publicKeyOf(cert: pkijs.Certificate | pkijs.CertificationRequest): KeyObject {
  return crypto.createPublicKey({ key: spkiDer(cert), format: 'der', type: 'spki' });
}

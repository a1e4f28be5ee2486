import crypto, { type KeyObject } from 'node:crypto';
import { certInfo, publicKeyOf, type CertInfo } from './cert-info.ts';
import { derSequence, derSetOf, tlv } from './der.ts';
import { children, content, DerError, expect, octetString, oidString, raw, readDer, type Tlv } from './der-reader.ts';
import { NULL, algorithmId, oid, timeDer } from './x509.ts';

// CMS SignedData, read in place (RFC 5652): SCEP pkiMessages and Apple's Mdm-Signature are both
// this structure, and both sit on hot paths.

export const SIGNED_DATA_OID = '1.2.840.113549.1.7.2';
const DATA_OID = '1.2.840.113549.1.7.1';
const CONTENT_TYPE_OID = '1.2.840.113549.1.9.3';
const MESSAGE_DIGEST_OID = '1.2.840.113549.1.9.4';
const SIGNING_TIME_OID = '1.2.840.113549.1.9.5';
const RSA_ENCRYPTION_OID = '1.2.840.113549.1.1.1';
const SHA256_ALG = algorithmId('2.16.840.1.101.3.4.2.1');
const RSA_ALG = algorithmId(RSA_ENCRYPTION_OID, NULL);

/** Digest OIDs we accept, and the signature OIDs that imply them. */
export const DIGESTS: Record<string, string> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
export const SIGNATURE_DIGESTS: Record<string, string> = {
  '1.2.840.113549.1.1.5': 'sha1',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
};

export interface SignerInfo {
  sid: Tlv;
  digestAlg: string;
  /** The [0] IMPLICIT signed attributes, when present. */
  signedAttrs: Tlv | null;
  /** Signed attributes by type, first value each. */
  attrs: Map<string, Tlv>;
  signatureAlg: string;
  signature: Buffer;
}

export interface SignedData {
  /** The encapsulated content; null when detached. */
  eContent: Buffer | null;
  certs: CertInfo[];
  signerInfo: SignerInfo;
  /** The certificate the signer info names; undefined when it is not in the message. */
  signer: CertInfo | undefined;
}

function attributes(signedAttrs: Tlv): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  for (const a of children(signedAttrs)) {
    const [type, values] = children(expect(a, 0x30, 'Attribute'));
    const first = children(expect(values, 0x31, 'AttributeValues'))[0];
    if (type && first) out.set(oidString(type), first);
  }
  return out;
}

function findSigner(certs: CertInfo[], sid: Tlv): CertInfo | undefined {
  if (sid.tag === 0x30) {
    const [issuer, serial] = children(sid);
    if (!issuer || !serial) return undefined;
    const issuerDer = raw(issuer);
    const serialDer = raw(serial);
    return certs.find((c) => c.issuerDer.equals(issuerDer) && c.serialDer.equals(serialDer));
  }
  if (sid.tag === 0x80) {
    const keyId = content(sid);
    return certs.find((c) => c.extensions.get('2.5.29.14')?.value.subarray(2).equals(keyId));
  }
  return undefined;
}

/** Reads a ContentInfo holding SignedData with (at least) one signer. Throws DerError (or Error) when it is not one. */
export function readSignedData(der: Buffer): SignedData {
  const ci = children(expect(readDer(der), 0x30, 'ContentInfo'));
  if (!ci[0] || oidString(ci[0]) !== SIGNED_DATA_OID) throw new DerError('not SignedData');
  const sd = children(expect(children(expect(ci[1], 0xa0, 'content'))[0], 0x30, 'SignedData'));
  let i = 2; // version, digestAlgorithms
  const encap = children(expect(sd[i++], 0x30, 'EncapsulatedContentInfo'));
  const eContent = encap[1] ? octetString(children(expect(encap[1], 0xa0, 'eContent'))[0]!) : null;
  const certs = sd[i]?.tag === 0xa0 ? children(sd[i++]!).filter((c) => c.tag === 0x30).map((c) => certInfo(raw(c))) : [];
  if (sd[i]?.tag === 0xa1) i++; // crls
  const si = children(expect(children(expect(sd[i], 0x31, 'SignerInfos'))[0], 0x30, 'SignerInfo'));
  let j = 1; // version
  const sid = si[j++]!;
  const digestAlg = oidString(children(expect(si[j++], 0x30, 'digestAlgorithm'))[0]!);
  const signedAttrs = si[j]?.tag === 0xa0 ? si[j++]! : null;
  const signatureAlg = oidString(children(expect(si[j++], 0x30, 'signatureAlgorithm'))[0]!);
  const signature = content(expect(si[j], 0x04, 'signature'));
  const signerInfo = { sid, digestAlg, signedAttrs, attrs: signedAttrs ? attributes(signedAttrs) : new Map(), signatureAlg, signature };
  return { eContent, certs, signerInfo, signer: findSigner(certs, sid) };
}

export type SignatureProblem = { kind: 'badAlg' | 'badSignature'; reason: string };

/**
 * Verifies the signer's signature over `content` (the encapsulated or the detached content):
 * through the messageDigest attribute when there are signed attributes, directly otherwise.
 * RSA signers only, as SCEP and Apple's MDM identities are.
 */
export function verifySignedData(si: SignerInfo, signer: CertInfo, signedContent: Buffer, signerKey?: KeyObject): SignatureProblem | null {
  const digest = DIGESTS[si.digestAlg];
  if (!digest) return { kind: 'badAlg', reason: `unsupported digest ${si.digestAlg}` };
  if (si.signatureAlg !== RSA_ENCRYPTION_OID && SIGNATURE_DIGESTS[si.signatureAlg] !== digest) {
    return { kind: 'badAlg', reason: `unsupported signature algorithm ${si.signatureAlg}` };
  }
  let signed: Buffer;
  if (si.signedAttrs) {
    const md = si.attrs.get(MESSAGE_DIGEST_OID);
    if (!md || md.tag !== 0x04) return { kind: 'badSignature', reason: 'messageDigest attribute missing' };
    if (!crypto.createHash(digest).update(signedContent).digest().equals(content(md))) {
      return { kind: 'badSignature', reason: 'messageDigest does not match the content' };
    }
    // The signature covers the attributes' DER with the SET OF tag, not the [0] IMPLICIT tag.
    signed = Buffer.from(raw(si.signedAttrs));
    signed[0] = 0x31;
  } else {
    signed = signedContent;
  }
  try {
    const key = signerKey ?? publicKeyOf(signer);
    if (key.asymmetricKeyType !== 'rsa') return { kind: 'badAlg', reason: 'only RSA signer keys are supported' };
    return crypto.verify(digest, signed, key, si.signature) ? null : { kind: 'badSignature', reason: 'signature does not verify' };
  } catch {
    return { kind: 'badAlg', reason: 'the signer key is not usable' };
  }
}

export interface Signer {
  cert: CertInfo;
  key: KeyObject;
  /** IssuerAndSerialNumber DER, computed once. */
  sid: Buffer;
}

export function makeSigner(certDer: Buffer, key: KeyObject): Signer {
  const cert = certInfo(certDer);
  return { cert, key, sid: derSequence(cert.issuerDer, cert.serialDer) };
}

export const attribute = (type: string, value: Uint8Array): Buffer => derSequence(oid(type), tlv(0x31, value));

/**
 * SignedData over `content`, signed with SHA-256 by an RSA `signer`, with the standard signed
 * attributes plus `attributes`, DER-sorted as a SET OF must be (Go verifiers insist). `detached`
 * leaves the content out, as Apple's Mdm-Signature does.
 */
export function signSignedData(signer: Signer, content: Buffer, o: { attributes?: Buffer[]; detached?: boolean; chain?: Buffer[] } = {}): Buffer {
  const signedAttrs = derSetOf([
    attribute(CONTENT_TYPE_OID, oid(DATA_OID)),
    attribute(SIGNING_TIME_OID, timeDer(new Date())),
    attribute(MESSAGE_DIGEST_OID, tlv(0x04, crypto.createHash('sha256').update(content).digest())),
    ...(o.attributes ?? []),
  ]);
  const signature = crypto.sign('sha256', signedAttrs, signer.key);
  const signerInfo = derSequence(
    Buffer.of(0x02, 0x01, 0x01),
    signer.sid,
    SHA256_ALG,
    Buffer.concat([Buffer.of(0xa0), signedAttrs.subarray(1)]),
    RSA_ALG,
    tlv(0x04, signature),
  );
  const signedData = derSequence(
    Buffer.of(0x02, 0x01, 0x01),
    tlv(0x31, SHA256_ALG),
    o.detached ? derSequence(oid(DATA_OID)) : derSequence(oid(DATA_OID), tlv(0xa0, tlv(0x04, content))),
    tlv(0xa0, signer.cert.der, ...(o.chain ?? [])),
    tlv(0x31, signerInfo),
  );
  return derSequence(oid(SIGNED_DATA_OID), tlv(0xa0, signedData));
}

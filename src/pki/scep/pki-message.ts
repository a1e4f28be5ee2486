import crypto, { type KeyObject } from 'node:crypto';
import { certInfo, publicKeyOf, type CertInfo } from '../cert-info.ts';
import { derSequence, derSetOf, tlv } from '../der.ts';
import { children, content, DerError, expect, octetString, oidString, raw, readDer, stringValue, type Tlv } from '../der-reader.ts';
import { NULL, algorithmId, oid, timeDer } from '../x509.ts';
import { CMS_OID, DIGESTS, FailInfo, MessageType, PkiStatus, SCEP_OID, SHA256_OID, SIGNATURE_DIGESTS, type FailInfoValue } from './constants.ts';
import { ScepFailure } from './failure.ts';

/** A request we could read enough of to answer with a CertRep. */
export interface PkiRequest {
  messageType: string;
  transactionId: string;
  /** The transactionID attribute value exactly as sent, echoed back byte for byte. */
  transactionIdDer: Buffer;
  senderNonce: Buffer;
  signer: CertInfo;
  /** The pkcsPKIEnvelope (ContentInfo DER); empty when the client sent none. */
  envelope: Buffer;
}

/** Unreadable at the level where a CertRep could be addressed: answered with a bare 400. */
export class MalformedMessage extends Error {}

interface SignerInfo {
  sid: Tlv;
  digestAlg: string;
  signedAttrs: Tlv;
  attrs: Map<string, Tlv>;
  signatureAlg: string;
  signature: Buffer;
}

/** Attributes by type, first value each (SCEP attributes are single-valued). */
function attributes(signedAttrs: Tlv): Map<string, Tlv> {
  const out = new Map<string, Tlv>();
  for (const a of children(signedAttrs)) {
    const [type, values] = children(expect(a, 0x30, 'Attribute'));
    const first = children(expect(values, 0x31, 'AttributeValues'))[0];
    if (type && first) out.set(oidString(type), first);
  }
  return out;
}

function readSignedData(der: Buffer): { eContent: Buffer | null; certs: Tlv[]; signer: SignerInfo } {
  const ci = children(expect(readDer(der), 0x30, 'ContentInfo'));
  if (!ci[0] || oidString(ci[0]) !== CMS_OID.signedData) throw new DerError('not SignedData');
  const sd = children(expect(children(expect(ci[1], 0xa0, 'content'))[0], 0x30, 'SignedData'));
  let i = 2; // version, digestAlgorithms
  const encap = children(expect(sd[i++], 0x30, 'EncapsulatedContentInfo'));
  const eContent = encap[1] ? octetString(children(expect(encap[1], 0xa0, 'eContent'))[0]!) : null;
  const certs = sd[i]?.tag === 0xa0 ? children(sd[i++]!) : [];
  if (sd[i]?.tag === 0xa1) i++; // crls
  const signerInfos = children(expect(sd[i], 0x31, 'SignerInfos'));
  const si = children(expect(signerInfos[0], 0x30, 'SignerInfo'));
  let j = 1; // version
  const sid = si[j++]!;
  const digestAlg = oidString(children(expect(si[j++], 0x30, 'digestAlgorithm'))[0]!);
  const signedAttrs = expect(si[j++], 0xa0, 'signedAttrs');
  const signatureAlg = oidString(children(expect(si[j++], 0x30, 'signatureAlgorithm'))[0]!);
  const signature = content(expect(si[j], 0x04, 'signature'));
  return { eContent, certs, signer: { sid, digestAlg, signedAttrs, attrs: attributes(signedAttrs), signatureAlg, signature } };
}

/** The certificate the SignerInfo names (by issuer and serial, or subject key identifier). */
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

/**
 * Parses and authenticates a pkiMessage: the SignedData structure, its signer certificate, the
 * SCEP attributes and the signature over them. Throws MalformedMessage when there is no
 * transaction to answer; returns a ScepFailure beside the request when there is.
 */
export function parsePkiMessage(body: Uint8Array): { request: PkiRequest; failure?: ScepFailure } {
  let parsed: ReturnType<typeof readSignedData>;
  let certs: CertInfo[];
  try {
    parsed = readSignedData(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
    certs = parsed.certs.filter((c) => c.tag === 0x30).map((c) => certInfo(raw(c)));
  } catch (e) {
    throw new MalformedMessage(`not a SCEP SignedData (${(e as Error).message})`);
  }
  const { signer: si } = parsed;
  const tid = si.attrs.get(SCEP_OID.transactionID);
  const nonce = si.attrs.get(SCEP_OID.senderNonce);
  const type = si.attrs.get(SCEP_OID.messageType);
  const transactionId = tid && stringValue(tid);
  const messageType = type && stringValue(type);
  if (!transactionId || !nonce || nonce.tag !== 0x04 || !messageType) throw new MalformedMessage('transactionID, senderNonce or messageType missing');
  const signer = findSigner(certs, si.sid) ?? (certs.length === 1 ? certs[0] : undefined);
  if (!signer) throw new MalformedMessage('the signer certificate is not in the message');

  const request: PkiRequest = {
    messageType,
    transactionId,
    transactionIdDer: raw(tid),
    senderNonce: content(nonce),
    signer,
    envelope: parsed.eContent ?? Buffer.alloc(0),
  };
  const failure = verifySignature(si, signer, request.envelope);
  return failure ? { request, failure } : { request };
}

function verifySignature(si: SignerInfo, signer: CertInfo, eContent: Buffer): ScepFailure | undefined {
  const digest = DIGESTS[si.digestAlg];
  if (!digest) return new ScepFailure(FailInfo.badAlg, `unsupported digest ${si.digestAlg}`);
  if (si.signatureAlg !== CMS_OID.rsaEncryption && SIGNATURE_DIGESTS[si.signatureAlg] !== digest) {
    return new ScepFailure(FailInfo.badAlg, `unsupported signature algorithm ${si.signatureAlg}`);
  }
  const md = si.attrs.get(CMS_OID.messageDigest);
  if (!md || md.tag !== 0x04) return new ScepFailure(FailInfo.badMessageCheck, 'messageDigest attribute missing');
  if (!crypto.createHash(digest).update(eContent).digest().equals(content(md))) {
    return new ScepFailure(FailInfo.badMessageCheck, 'messageDigest does not match the content');
  }
  // The signature covers the attributes' DER with the SET OF tag, not the [0] IMPLICIT tag.
  const signed = Buffer.from(raw(si.signedAttrs));
  signed[0] = 0x31;
  try {
    const key = publicKeyOf(signer);
    if (key.asymmetricKeyType !== 'rsa') return new ScepFailure(FailInfo.badAlg, 'only RSA signer keys are supported');
    return crypto.verify(digest, signed, key, si.signature) ? undefined : new ScepFailure(FailInfo.badMessageCheck, 'signature does not verify');
  } catch {
    return new ScepFailure(FailInfo.badAlg, 'the signer key is not usable');
  }
}

const attribute = (type: string, value: Uint8Array) => derSequence(oid(type), tlv(0x31, value));
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'ascii'));
const SHA256_ALG = algorithmId(SHA256_OID);
const RSA_ALG = algorithmId(CMS_OID.rsaEncryption, NULL);

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

/**
 * A SCEP pkiMessage: SignedData over `content` (the pkcsPKIEnvelope, or empty), signed with
 * SHA-256 by `signer`, carrying the SCEP attributes; the signed attributes are DER-sorted as a
 * SET OF must be.
 */
export function signPkiMessage(signer: Signer, content: Buffer, scepAttributes: Buffer[]): Buffer {
  const signedAttrs = derSetOf([
    attribute(CMS_OID.contentType, oid(CMS_OID.data)),
    attribute(CMS_OID.signingTime, timeDer(new Date())),
    attribute(CMS_OID.messageDigest, tlv(0x04, crypto.createHash('sha256').update(content).digest())),
    ...scepAttributes,
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
    derSequence(oid(CMS_OID.data), tlv(0xa0, tlv(0x04, content))),
    tlv(0xa0, signer.cert.der),
    tlv(0x31, signerInfo),
  );
  return derSequence(oid(CMS_OID.signedData), tlv(0xa0, signedData));
}

export const scepAttribute = {
  messageType: (t: string) => attribute(SCEP_OID.messageType, printable(t)),
  pkiStatus: (s: string) => attribute(SCEP_OID.pkiStatus, printable(s)),
  failInfo: (f: string) => attribute(SCEP_OID.failInfo, printable(f)),
  transactionId: (id: string | Buffer) => attribute(SCEP_OID.transactionID, typeof id === 'string' ? printable(id) : id),
  senderNonce: (n: Buffer) => attribute(SCEP_OID.senderNonce, tlv(0x04, n)),
  recipientNonce: (n: Buffer) => attribute(SCEP_OID.recipientNonce, tlv(0x04, n)),
};

/** A CertRep answering `request`: SUCCESS with the enveloped reply, or FAILURE with its failInfo. */
export function buildCertRep(
  signer: Signer,
  request: PkiRequest,
  result: { status: 'SUCCESS'; envelope: Buffer } | { status: 'FAILURE'; failInfo: FailInfoValue },
): Buffer {
  const attrs = [
    scepAttribute.messageType(MessageType.CertRep),
    scepAttribute.pkiStatus(PkiStatus[result.status]),
    scepAttribute.transactionId(request.transactionIdDer),
    scepAttribute.senderNonce(crypto.randomBytes(16)),
    scepAttribute.recipientNonce(request.senderNonce),
  ];
  if (result.status === 'FAILURE') attrs.push(scepAttribute.failInfo(result.failInfo));
  return signPkiMessage(signer, result.status === 'SUCCESS' ? result.envelope : Buffer.alloc(0), attrs);
}

/** A certs-only ("degenerate") SignedData carrying certificates and/or CRLs, as GetCACert and CertRep use. */
export function degenerateSignedData(certs: Buffer[], crls: Buffer[] = []): Buffer {
  const parts = [Buffer.of(0x02, 0x01, 0x01), tlv(0x31), derSequence(oid(CMS_OID.data))];
  if (certs.length) parts.push(tlv(0xa0, ...certs));
  if (crls.length) parts.push(tlv(0xa1, ...crls));
  parts.push(tlv(0x31));
  return derSequence(oid(CMS_OID.signedData), tlv(0xa0, derSequence(...parts)));
}

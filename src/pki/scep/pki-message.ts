import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { derSequence, derSetOf, tlv } from '../der.ts';
import { CMS_OID, DIGESTS, FailInfo, MessageType, PkiStatus, SCEP_OID, SHA256_OID, SIGNATURE_DIGESTS, type FailInfoValue } from './constants.ts';
import { issuerAndSerial, octets, oid } from './envelope.ts';
import { ScepFailure } from './failure.ts';

/** A request we could read enough of to answer with a CertRep. */
export interface PkiRequest {
  messageType: string;
  transactionId: string;
  /** The transactionID attribute value exactly as sent, echoed back byte for byte. */
  transactionIdDer: Buffer;
  senderNonce: Buffer;
  signer: pkijs.Certificate;
  /** The pkcsPKIEnvelope (ContentInfo DER); empty when the client sent none. */
  envelope: Buffer;
}

/** Unreadable at the level where a CertRep could be addressed: answered with a bare 400. */
export class MalformedMessage extends Error {}

function attrValue(attrs: pkijs.Attribute[], type: string): asn1js.AsnType | undefined {
  return attrs.find((a) => a.type === type)?.values[0] as asn1js.AsnType | undefined;
}

function stringValue(v: asn1js.AsnType | undefined): string | undefined {
  const s = (v as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
  return typeof s === 'string' ? s : undefined;
}

/**
 * Parses and authenticates a pkiMessage: the SignedData structure, its signer certificate, the
 * SCEP attributes and the signature over them. Throws MalformedMessage when there is no
 * transaction to answer, ScepFailure (with the request attached) when there is.
 */
export function parsePkiMessage(der: Uint8Array): { request: PkiRequest; failure?: ScepFailure } {
  let sd: pkijs.SignedData;
  try {
    const ci = pkijs.ContentInfo.fromBER(der);
    if (ci.contentType !== CMS_OID.signedData) throw new Error();
    sd = new pkijs.SignedData({ schema: ci.content });
  } catch {
    throw new MalformedMessage('body is not a CMS SignedData');
  }
  const si = sd.signerInfos[0];
  if (!si || !si.signedAttrs) throw new MalformedMessage('SignedData has no signer with signed attributes');
  const attrs = si.signedAttrs.attributes;
  const transactionIdValue = attrValue(attrs, SCEP_OID.transactionID);
  const transactionId = stringValue(transactionIdValue);
  const nonceValue = attrValue(attrs, SCEP_OID.senderNonce);
  const messageType = stringValue(attrValue(attrs, SCEP_OID.messageType));
  if (!transactionId || !(nonceValue instanceof asn1js.OctetString) || !messageType) {
    throw new MalformedMessage('transactionID, senderNonce or messageType missing');
  }
  const certs = (sd.certificates ?? []).filter((c): c is pkijs.Certificate => c instanceof pkijs.Certificate);
  const sid = si.sid;
  const signer =
    certs.find((c) => sid instanceof pkijs.IssuerAndSerialNumber && c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber)) ??
    (certs.length === 1 ? certs[0] : undefined);
  if (!signer) throw new MalformedMessage('the signer certificate is not in the message');

  const eContent = sd.encapContentInfo.eContent;
  const request: PkiRequest = {
    messageType,
    transactionId,
    transactionIdDer: Buffer.from(transactionIdValue!.toBER()),
    senderNonce: Buffer.from(nonceValue.valueBlock.valueHexView),
    signer,
    envelope: eContent ? octets(eContent) : Buffer.alloc(0),
  };
  const failure = verifySignature(si, signer, request.envelope);
  return failure ? { request, failure } : { request };
}

function verifySignature(si: pkijs.SignerInfo, signer: pkijs.Certificate, content: Buffer): ScepFailure | undefined {
  const digest = DIGESTS[si.digestAlgorithm.algorithmId];
  const sigAlg = si.signatureAlgorithm.algorithmId;
  if (!digest) return new ScepFailure(FailInfo.badAlg, `unsupported digest ${si.digestAlgorithm.algorithmId}`);
  if (sigAlg !== CMS_OID.rsaEncryption && SIGNATURE_DIGESTS[sigAlg] !== digest) {
    return new ScepFailure(FailInfo.badAlg, `unsupported signature algorithm ${sigAlg}`);
  }
  const md = attrValue(si.signedAttrs!.attributes, CMS_OID.messageDigest);
  if (!(md instanceof asn1js.OctetString)) return new ScepFailure(FailInfo.badMessageCheck, 'messageDigest attribute missing');
  const actual = crypto.createHash(digest).update(content).digest();
  if (!actual.equals(Buffer.from(md.valueBlock.valueHexView))) return new ScepFailure(FailInfo.badMessageCheck, 'messageDigest does not match the content');
  // The signature covers the DER of the attributes with the SET OF tag, not the [0] IMPLICIT tag.
  const signed = Buffer.from(si.signedAttrs!.encodedValue);
  signed[0] = 0x31;
  let ok = false;
  try {
    const key = crypto.createPublicKey({ key: Buffer.from(signer.subjectPublicKeyInfo.toSchema().toBER()), format: 'der', type: 'spki' });
    ok = crypto.verify(digest, signed, key, Buffer.from(si.signature.valueBlock.valueHexView));
  } catch {
    return new ScepFailure(FailInfo.badAlg, 'the signer key is not usable');
  }
  return ok ? undefined : new ScepFailure(FailInfo.badMessageCheck, 'signature does not verify');
}

const attribute = (type: string, value: Uint8Array) => derSequence(oid(type), tlv(0x31, value));
const printable = (s: string) => tlv(0x13, Buffer.from(s, 'ascii'));
const sha256Alg = () => derSequence(oid(SHA256_OID), Buffer.of(0x05, 0x00));

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z';
  return tlv(0x17, Buffer.from(s, 'ascii'));
}

export interface Signer {
  cert: pkijs.Certificate;
  certDer: Buffer;
  key: KeyObject;
  /** issuerAndSerial DER, computed once. */
  sid: Buffer;
}

export function makeSigner(certDer: Buffer, cert: pkijs.Certificate, key: KeyObject): Signer {
  return { cert, certDer, key, sid: issuerAndSerial(cert) };
}

/**
 * A SCEP pkiMessage: SignedData over `content` (the pkcsPKIEnvelope, or empty), signed with
 * SHA-256 by `signer`, carrying the SCEP attributes; the signed attributes are DER-sorted as a
 * SET OF must be.
 */
export function signPkiMessage(signer: Signer, content: Buffer, scepAttributes: Buffer[]): Buffer {
  const signedAttrs = derSetOf([
    attribute(CMS_OID.contentType, oid(CMS_OID.data)),
    attribute(CMS_OID.signingTime, utcTime(new Date())),
    attribute(CMS_OID.messageDigest, tlv(0x04, crypto.createHash('sha256').update(content).digest())),
    ...scepAttributes,
  ]);
  const signature = crypto.sign('sha256', signedAttrs, signer.key);
  const signerInfo = derSequence(
    Buffer.of(0x02, 0x01, 0x01),
    signer.sid,
    sha256Alg(),
    Buffer.concat([Buffer.of(0xa0), signedAttrs.subarray(1)]),
    derSequence(oid(CMS_OID.rsaEncryption), Buffer.of(0x05, 0x00)),
    tlv(0x04, signature),
  );
  const signedData = derSequence(
    Buffer.of(0x02, 0x01, 0x01),
    tlv(0x31, sha256Alg()),
    derSequence(oid(CMS_OID.data), tlv(0xa0, tlv(0x04, content))),
    tlv(0xa0, signer.certDer),
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

export { PkiStatus, FailInfo };

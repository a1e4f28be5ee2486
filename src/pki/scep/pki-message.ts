import crypto from 'node:crypto';
import type { CertInfo } from '../cert-info.ts';
import { attribute, readSignedData, signSignedData, verifySignedData, type SignedData, type Signer } from '../cms.ts';
import { derSequence, tlv } from '../der.ts';
import { content, raw, stringValue } from '../der-reader.ts';
import { oid } from '../x509.ts';
import { CMS_OID, FailInfo, MessageType, PkiStatus, SCEP_OID, type FailInfoValue } from './constants.ts';
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

/**
 * Parses and authenticates a pkiMessage: the SignedData structure, its signer certificate, the
 * SCEP attributes and the signature over them. Throws MalformedMessage when there is no
 * transaction to answer; returns a ScepFailure beside the request when there is.
 */
export function parsePkiMessage(body: Uint8Array): { request: PkiRequest; failure?: ScepFailure } {
  let sd: SignedData;
  try {
    sd = readSignedData(Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  } catch (e) {
    throw new MalformedMessage(`not a SCEP SignedData (${(e as Error).message})`);
  }
  const attrs = sd.signerInfo.attrs;
  const tid = attrs.get(SCEP_OID.transactionID);
  const nonce = attrs.get(SCEP_OID.senderNonce);
  const type = attrs.get(SCEP_OID.messageType);
  const transactionId = tid && stringValue(tid);
  const messageType = type && stringValue(type);
  if (!transactionId || !nonce || nonce.tag !== 0x04 || !messageType) throw new MalformedMessage('transactionID, senderNonce or messageType missing');
  const signer = sd.signer ?? (sd.certs.length === 1 ? sd.certs[0] : undefined);
  if (!signer) throw new MalformedMessage('the signer certificate is not in the message');

  const request: PkiRequest = {
    messageType,
    transactionId,
    transactionIdDer: raw(tid),
    senderNonce: content(nonce),
    signer,
    envelope: sd.eContent ?? Buffer.alloc(0),
  };
  const problem = verifySignedData(sd.signerInfo, signer, request.envelope);
  if (!problem) return { request };
  return { request, failure: new ScepFailure(problem.kind === 'badAlg' ? FailInfo.badAlg : FailInfo.badMessageCheck, problem.reason) };
}

const printable = (s: string) => tlv(0x13, Buffer.from(s, 'ascii'));

/** A SCEP pkiMessage: SignedData over `content` (the pkcsPKIEnvelope, or empty) carrying the SCEP attributes. */
export function signPkiMessage(signer: Signer, content: Buffer, scepAttributes: Buffer[]): Buffer {
  return signSignedData(signer, content, { attributes: scepAttributes });
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


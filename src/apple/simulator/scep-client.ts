// A SCEP client for the device simulator, the tests and the benchmarks: builds every request
// type the server must handle, including the ones scepclient cannot send (CertPoll, GetCert,
// GetCRL, PKCSReq renewals, and hand-broken messages for the tests), and reads CertReps back.
import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { certInfo, type CertInfo } from '../../pki/cert-info.ts';
import { derSequence } from '../../pki/der.ts';
import { CMS_OID, MessageType, SCEP_OID } from '../../pki/scep/constants.ts';
import { makeRecipient, openEnvelope, sealEnvelope } from '../../pki/scep/envelope.ts';
import { makeSigner, type Signer } from '../../pki/cms.ts';
import { parsePkiMessage, scepAttribute, signPkiMessage } from '../../pki/scep/pki-message.ts';
import { OID, buildCertificate, integer, makeName, randomSerial } from '../../pki/x509.ts';

export interface Device {
  key: KeyObject;
  publicKey: KeyObject;
  spki: pkijs.PublicKeyInfo;
  /** The throwaway self-signed certificate an initial request is signed with. */
  selfSigned: Signer;
}

export function newDevice(bits = 2048, keyPair = crypto.generateKeyPairSync('rsa', { modulusLength: bits })): Device {
  const spkiDer = keyPair.publicKey.export({ type: 'spki', format: 'der' });
  const name = makeName([[OID.commonName, 'SCEP SIGNER']]);
  const der = buildCertificate({
    serial: randomSerial(),
    subject: name,
    issuer: name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3_600_000),
    spki: spkiDer,
    extensions: [],
    signingKey: keyPair.privateKey,
  });
  return { key: keyPair.privateKey, publicKey: keyPair.publicKey, spki: pkijs.PublicKeyInfo.fromBER(spkiDer), selfSigned: makeSigner(der, keyPair.privateKey) };
}

/** A signer from a certificate the server issued (for renewals). */
export const issuedSigner = (device: Device, certDer: Buffer): Signer => makeSigner(certDer, device.key);

export function buildCsr(
  device: Device,
  opts: {
    cn: string;
    /** The whole subject (OID, value), as an enrollment profile's SCEP payload gives it; `cn` is then unused. */
    subject?: Array<[oid: string, value: string]>;
    challenge?: string;
    challengeType?: 'printable' | 'utf8';
    sigDigest?: 'sha256' | 'sha1';
    corruptSignature?: boolean;
    emptySubject?: boolean;
  },
): Buffer {
  const csr = new pkijs.CertificationRequest();
  csr.version = 0;
  // pkijs encodes the request: an encoder independent of the server's DER reader.
  csr.subject = opts.emptySubject
    ? new pkijs.RelativeDistinguishedNames()
    : pkijs.RelativeDistinguishedNames.fromBER(makeName(opts.subject ?? [[OID.organization, 'Test'], [OID.commonName, opts.cn]]));
  csr.subjectPublicKeyInfo = device.spki;
  csr.attributes = [];
  if (opts.challenge !== undefined) {
    const value =
      opts.challengeType === 'utf8' ? new asn1js.Utf8String({ value: opts.challenge }) : new asn1js.PrintableString({ value: opts.challenge });
    csr.attributes.push(new pkijs.Attribute({ type: CMS_OID.challengePassword, values: [value] }));
  }
  const digest = opts.sigDigest ?? 'sha256';
  csr.signatureAlgorithm = new pkijs.AlgorithmIdentifier({ algorithmId: digest === 'sha1' ? '1.2.840.113549.1.1.5' : OID.sha256WithRSA, algorithmParams: new asn1js.Null() });
  const tbs = Buffer.from((csr as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS().toBER());
  const sig = crypto.sign(digest, tbs, device.key);
  if (opts.corruptSignature) sig[10]! ^= 0xff;
  return derSequence(tbs, Buffer.from(csr.signatureAlgorithm.toSchema().toBER()), Buffer.from(new asn1js.BitString({ valueHex: sig }).toBER()));
}

export interface RequestOptions {
  signer: Signer;
  recipient: CertInfo;
  messageType: string;
  payload: Buffer;
  transactionId?: string;
  senderNonce?: Buffer;
  /** Changes the sealed envelope before it is signed, to send what a broken client would. */
  mutateEnvelope?: (envelope: Buffer) => Buffer;
}

export function pkiRequest(o: RequestOptions): { der: Buffer; transactionId: string; senderNonce: Buffer } {
  const transactionId = o.transactionId ?? crypto.randomBytes(16).toString('hex');
  const senderNonce = o.senderNonce ?? crypto.randomBytes(16);
  const sealed = sealEnvelope(o.payload, o.recipient);
  const envelope = o.mutateEnvelope ? o.mutateEnvelope(sealed) : sealed;
  const der = signPkiMessage(o.signer, envelope, [
    scepAttribute.messageType(o.messageType),
    scepAttribute.transactionId(transactionId),
    scepAttribute.senderNonce(senderNonce),
  ]);
  return { der, transactionId, senderNonce };
}

export const issuerAndSerialPayload = (issuer: CertInfo, serialHex: string): Buffer =>
  derSequence(issuer.subjectDer, integer(Buffer.from(serialHex.length % 2 ? '0' + serialHex : serialHex, 'hex')));

export const issuerAndSubjectPayload = (issuer: CertInfo, subjectDer: Buffer): Buffer => derSequence(issuer.subjectDer, subjectDer);

export interface CertRep {
  status: string;
  failInfo?: string;
  transactionId: string;
  recipientNonce: Buffer;
  senderNonce: Buffer;
  messageType: string;
  certs: Buffer[];
  crls: Buffer[];
}

function attr(si: pkijs.SignerInfo, type: string): asn1js.AsnType | undefined {
  return si.signedAttrs?.attributes.find((a) => a.type === type)?.values[0] as asn1js.AsnType | undefined;
}
const str = (v: asn1js.AsnType | undefined) => (v as { valueBlock: { value: string } } | undefined)?.valueBlock.value;

/** Verifies a CertRep's signature against `ra`, and opens its envelope with the device key. */
export function readCertRep(der: Buffer, ra: CertInfo, requester: Signer): CertRep {
  const { request, failure } = parsePkiMessage(der);
  if (failure) throw new Error(`CertRep does not verify: ${failure.reason}`);
  if (!request.signer.spkiDer.equals(ra.spkiDer)) throw new Error('CertRep is not signed by the RA');
  const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
  const si = sd.signerInfos[0]!;
  const rep: CertRep = {
    status: str(attr(si, SCEP_OID.pkiStatus))!,
    failInfo: str(attr(si, SCEP_OID.failInfo)),
    transactionId: request.transactionId,
    messageType: request.messageType,
    senderNonce: request.senderNonce,
    recipientNonce: Buffer.from((attr(si, SCEP_OID.recipientNonce) as asn1js.OctetString).valueBlock.valueHexView),
    certs: [],
    crls: [],
  };
  if (rep.status === '0') {
    const { content } = openEnvelope(request.envelope, [makeRecipient(requester.cert, requester.key)], false);
    const inner = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(content).content });
    rep.certs = (inner.certificates ?? []).map((c) => Buffer.from((c as pkijs.Certificate).toSchema().toBER()));
    rep.crls = (inner.crls ?? []).map((c) => Buffer.from((c as pkijs.CertificateRevocationList).toSchema().toBER()));
  }
  return rep;
}

/** A GetCACert reply, read with pkijs; `ra` is the RA, or the CA itself for servers that have no RA. */
export function readCaCerts(der: Buffer): { ra: CertInfo; ca: CertInfo; raDer: Buffer; caDer: Buffer } {
  let ders: Buffer[];
  try {
    const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
    ders = ((sd.certificates ?? []) as pkijs.Certificate[]).map((c) => Buffer.from(c.toSchema().toBER()));
  } catch {
    ders = [der]; // a single DER certificate (application/x-x509-ca-cert)
  }
  const infos = ders.map(certInfo);
  const ca = infos.find((c) => c.issuerDer.equals(c.subjectDer));
  if (!ca) throw new Error('GetCACert holds no self-signed CA certificate');
  const ra = infos.find((c) => c !== ca) ?? ca;
  return { ra, ca, raDer: ra.der, caDer: ca.der };
}

export async function getCaCerts(baseUrl: string): Promise<{ ra: CertInfo; ca: CertInfo; raDer: Buffer; caDer: Buffer }> {
  return readCaCerts(Buffer.from(await (await fetch(`${baseUrl}/scep?operation=GetCACert`)).arrayBuffer()));
}

export async function postPki(baseUrl: string, der: Buffer): Promise<Response> {
  return fetch(`${baseUrl}/scep?operation=PKIOperation`, { method: 'POST', body: der, headers: { 'content-type': 'application/x-pki-message' } });
}

export { MessageType };

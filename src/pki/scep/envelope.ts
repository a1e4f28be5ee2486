import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { derSequence, tlv } from '../der.ts';
import { AES128_CBC_OID, CMS_OID, CONTENT_CIPHERS, FailInfo } from './constants.ts';
import { ScepFailure } from './failure.ts';
import { unwrapPkcs1 } from './rsa-pkcs1.ts';

export interface Recipient {
  cert: pkijs.Certificate;
  key: KeyObject;
  /** Secret for implicit rejection; stable per key so a repeated ciphertext gets the same fake key. */
  rejectionSecret: Buffer;
}

export function makeRecipient(cert: pkijs.Certificate, key: KeyObject): Recipient {
  const rejectionSecret = crypto.createHash('sha256').update('scep-implicit-rejection').update(key.export({ type: 'pkcs8', format: 'der' })).digest();
  return { cert, key, rejectionSecret };
}

function matches(rid: pkijs.KeyTransRecipientInfo['rid'], cert: pkijs.Certificate): boolean {
  if (rid instanceof pkijs.IssuerAndSerialNumber) {
    return rid.issuer.isEqual(cert.issuer) && rid.serialNumber.isEqual(cert.serialNumber);
  }
  const ski = cert.extensions?.find((e) => e.extnID === '2.5.29.14');
  return !!ski && Buffer.from(ski.extnValue.valueBlock.valueHexView).subarray(2).equals(Buffer.from(rid.valueBlock.valueHexView));
}

/** Opens a CMS EnvelopedData (ContentInfo DER) addressed to one of `recipients`. */
export function openEnvelope(der: Uint8Array, recipients: Recipient[], allowDes: boolean): { content: Buffer; des: boolean } {
  let env: pkijs.EnvelopedData;
  try {
    const ci = pkijs.ContentInfo.fromBER(der);
    if (ci.contentType !== CMS_OID.envelopedData) throw new Error('not EnvelopedData');
    env = new pkijs.EnvelopedData({ schema: ci.content });
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'pkcsPKIEnvelope is not a CMS EnvelopedData');
  }
  const alg = env.encryptedContentInfo.contentEncryptionAlgorithm;
  const cipher = CONTENT_CIPHERS[alg.algorithmId];
  if (!cipher) throw new ScepFailure(FailInfo.badAlg, `unsupported content encryption algorithm ${alg.algorithmId}`);
  if (cipher.des && !allowDes) throw new ScepFailure(FailInfo.badAlg, 'single DES is disabled (MDM_SCEP_ALLOW_DES=false)');
  const iv = alg.algorithmParams instanceof asn1js.OctetString ? Buffer.from(alg.algorithmParams.valueBlock.valueHexView) : null;
  const ivLength = cipher.cipher.startsWith('aes') ? 16 : 8;
  if (!iv || iv.length !== ivLength) throw new ScepFailure(FailInfo.badRequest, 'content encryption IV is missing or has the wrong length');

  let chosen: { ri: pkijs.KeyTransRecipientInfo; r: Recipient } | undefined;
  for (const info of env.recipientInfos) {
    if (info.variant !== 1) continue;
    const ri = info.value as pkijs.KeyTransRecipientInfo;
    const r = recipients.find((x) => matches(ri.rid, x.cert));
    if (r) {
      chosen = { ri, r };
      break;
    }
  }
  if (!chosen) throw new ScepFailure(FailInfo.badMessageCheck, 'the request is not encrypted to this server\'s RA or CA certificate');
  const { ri, r } = chosen;
  const wrapped = Buffer.from(ri.encryptedKey.valueBlock.valueHexView);
  let cek: Buffer;
  if (ri.keyEncryptionAlgorithm.algorithmId === CMS_OID.rsaEncryption) {
    cek = unwrapPkcs1(r.key, wrapped, cipher.keyLength, r.rejectionSecret);
  } else if (ri.keyEncryptionAlgorithm.algorithmId === CMS_OID.rsaOaep) {
    try {
      // Only OAEP with its default parameters (SHA-1, MGF1-SHA-1) is accepted here.
      cek = crypto.privateDecrypt({ key: r.key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, wrapped);
    } catch {
      throw new ScepFailure(FailInfo.badMessageCheck, 'cannot decrypt the content-encryption key');
    }
    if (cek.length !== cipher.keyLength) throw new ScepFailure(FailInfo.badMessageCheck, 'content-encryption key has the wrong length');
  } else {
    throw new ScepFailure(FailInfo.badAlg, `unsupported key encryption algorithm ${ri.keyEncryptionAlgorithm.algorithmId}`);
  }
  const key = cipher.des ? Buffer.concat([cek, cek, cek]) : cek;
  const encrypted = env.encryptedContentInfo.encryptedContent;
  if (!encrypted) throw new ScepFailure(FailInfo.badRequest, 'the envelope has no encrypted content');
  try {
    const d = crypto.createDecipheriv(cipher.cipher, key, iv);
    const content = Buffer.concat([d.update(octets(encrypted)), d.final()]);
    return { content, des: !!cipher.des };
  } catch {
    throw new ScepFailure(FailInfo.badMessageCheck, 'cannot decrypt the envelope');
  }
}

/** The bytes of an OCTET STRING, primitive or (BER) constructed. */
export function octets(os: asn1js.OctetString): Buffer {
  if (!os.idBlock.isConstructed) return Buffer.from(os.valueBlock.valueHexView);
  return Buffer.concat((os.valueBlock.value as asn1js.OctetString[]).map(octets));
}

/** The DER of IssuerAndSerialNumber for a certificate, from its original encoding. */
export function issuerAndSerial(cert: pkijs.Certificate): Buffer {
  return derSequence(Buffer.from(cert.issuer.toSchema().toBER()), Buffer.from(cert.serialNumber.toBER()));
}

/**
 * Seals `content` for the holder of `recipient`'s key: AES-128-CBC content encryption, RSA
 * PKCS#1 v1.5 key transport (what every SCEP client opens), as a ContentInfo DER.
 */
export function sealEnvelope(content: Uint8Array, recipient: pkijs.Certificate): Buffer {
  const cek = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-128-cbc', cek, iv);
  const ciphertext = Buffer.concat([c.update(content), c.final()]);
  const publicKey = crypto.createPublicKey({ key: Buffer.from(recipient.subjectPublicKeyInfo.toSchema().toBER()), format: 'der', type: 'spki' });
  const wrapped = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, cek);
  const ktri = derSequence(
    Buffer.of(0x02, 0x01, 0x00),
    issuerAndSerial(recipient),
    derSequence(oid(CMS_OID.rsaEncryption), Buffer.of(0x05, 0x00)),
    tlv(0x04, wrapped),
  );
  const eci = derSequence(oid(CMS_OID.data), derSequence(oid(AES128_CBC_OID), tlv(0x04, iv)), tlv(0x80, ciphertext));
  const env = derSequence(Buffer.of(0x02, 0x01, 0x00), tlv(0x31, ktri), eci);
  return derSequence(oid(CMS_OID.envelopedData), tlv(0xa0, env));
}

const oidCache = new Map<string, Buffer>();
export function oid(value: string): Buffer {
  let der = oidCache.get(value);
  if (!der) {
    der = Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER());
    oidCache.set(value, der);
  }
  return der;
}

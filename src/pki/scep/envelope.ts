import crypto, { type KeyObject } from 'node:crypto';
import { publicKeyOf, type CertInfo } from '../cert-info.ts';
import { derSequence, tlv } from '../der.ts';
import { children, content, expect, octetString, oidString, raw, readDer, type Tlv } from '../der-reader.ts';
import { NULL, algorithmId, oid } from '../x509.ts';
import { AES128_CBC_OID, CMS_OID, CONTENT_CIPHERS, FailInfo } from './constants.ts';
import { ScepFailure } from './failure.ts';
import { unwrapPkcs1 } from './rsa-pkcs1.ts';

export interface Recipient {
  cert: CertInfo;
  key: KeyObject;
  /** Secret for implicit rejection; stable per key so a repeated ciphertext gets the same fake key. */
  rejectionSecret: Buffer;
}

export function makeRecipient(cert: CertInfo, key: KeyObject): Recipient {
  const rejectionSecret = crypto.createHash('sha256').update('scep-implicit-rejection').update(key.export({ type: 'pkcs8', format: 'der' })).digest();
  return { cert, key, rejectionSecret };
}

function matches(rid: Tlv, cert: CertInfo): boolean {
  if (rid.tag === 0x30) {
    const [issuer, serial] = children(rid);
    return !!issuer && !!serial && raw(issuer).equals(cert.issuerDer) && raw(serial).equals(cert.serialDer);
  }
  // [0] SubjectKeyIdentifier; the extension value is an OCTET STRING around the key id.
  return rid.tag === 0x80 && !!cert.extensions.get('2.5.29.14')?.value.subarray(2).equals(content(rid));
}

interface Envelope {
  ktris: Array<{ rid: Tlv; keyAlg: string; encryptedKey: Buffer }>;
  contentAlg: string;
  iv: Buffer | null;
  encrypted: Buffer | null;
}

function readEnvelope(der: Buffer): Envelope {
  const ci = children(expect(readDer(der), 0x30, 'ContentInfo'));
  if (!ci[0] || oidString(ci[0]) !== CMS_OID.envelopedData) throw new Error('not EnvelopedData');
  const env = children(expect(children(expect(ci[1], 0xa0, 'content'))[0], 0x30, 'EnvelopedData'));
  let i = 1; // version
  if (env[i]?.tag === 0xa0) i++; // originatorInfo
  const ktris: Envelope['ktris'] = [];
  for (const ri of children(expect(env[i++], 0x31, 'RecipientInfos'))) {
    if (ri.tag !== 0x30) continue; // kari, kekri, pwri, ori are tagged; only KeyTransRecipientInfo is a bare SEQUENCE
    const [, rid, alg, key] = children(ri);
    ktris.push({ rid: rid!, keyAlg: oidString(children(expect(alg, 0x30, 'keyEncryptionAlgorithm'))[0]!), encryptedKey: content(expect(key, 0x04, 'encryptedKey')) });
  }
  const eci = children(expect(env[i], 0x30, 'EncryptedContentInfo'));
  const alg = children(expect(eci[1], 0x30, 'contentEncryptionAlgorithm'));
  return {
    ktris,
    contentAlg: oidString(alg[0]!),
    iv: alg[1]?.tag === 0x04 ? content(alg[1]) : null,
    encrypted: eci[2] ? octetString(eci[2]) : null,
  };
}

/** Opens a CMS EnvelopedData (ContentInfo DER) addressed to one of `recipients`. */
export function openEnvelope(der: Buffer, recipients: Recipient[], allowDes: boolean): { content: Buffer; des: boolean } {
  let env: Envelope;
  try {
    env = readEnvelope(der);
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'pkcsPKIEnvelope is not a CMS EnvelopedData');
  }
  const cipher = CONTENT_CIPHERS[env.contentAlg];
  if (!cipher) throw new ScepFailure(FailInfo.badAlg, `unsupported content encryption algorithm ${env.contentAlg}`);
  if (cipher.des && !allowDes) throw new ScepFailure(FailInfo.badAlg, 'single DES is disabled (MDM_SCEP_ALLOW_DES=false)');
  const ivLength = cipher.cipher.startsWith('aes') ? 16 : 8;
  if (!env.iv || env.iv.length !== ivLength) throw new ScepFailure(FailInfo.badRequest, 'content encryption IV is missing or has the wrong length');

  let chosen: { ri: Envelope['ktris'][number]; r: Recipient } | undefined;
  for (const ri of env.ktris) {
    const r = recipients.find((x) => matches(ri.rid, x.cert));
    if (r) {
      chosen = { ri, r };
      break;
    }
  }
  if (!chosen) throw new ScepFailure(FailInfo.badMessageCheck, "the request is not encrypted to this server's RA or CA certificate");
  const { ri, r } = chosen;
  let cek: Buffer;
  if (ri.keyAlg === CMS_OID.rsaEncryption) {
    cek = unwrapPkcs1(r.key, ri.encryptedKey, cipher.keyLength, r.rejectionSecret);
  } else if (ri.keyAlg === CMS_OID.rsaOaep) {
    try {
      // Only OAEP with its default parameters (SHA-1, MGF1-SHA-1) is accepted here.
      cek = crypto.privateDecrypt({ key: r.key, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha1' }, ri.encryptedKey);
    } catch {
      throw new ScepFailure(FailInfo.badMessageCheck, 'cannot decrypt the content-encryption key');
    }
    if (cek.length !== cipher.keyLength) throw new ScepFailure(FailInfo.badMessageCheck, 'content-encryption key has the wrong length');
  } else {
    throw new ScepFailure(FailInfo.badAlg, `unsupported key encryption algorithm ${ri.keyAlg}`);
  }
  if (!env.encrypted) throw new ScepFailure(FailInfo.badRequest, 'the envelope has no encrypted content');
  const key = cipher.des ? Buffer.concat([cek, cek, cek]) : cek;
  try {
    const d = crypto.createDecipheriv(cipher.cipher, key, env.iv);
    return { content: Buffer.concat([d.update(env.encrypted), d.final()]), des: !!cipher.des };
  } catch {
    throw new ScepFailure(FailInfo.badMessageCheck, 'cannot decrypt the envelope');
  }
}

/**
 * Seals `content` for the holder of `recipient`'s key: AES-128-CBC content encryption, RSA
 * PKCS#1 v1.5 key transport (what every SCEP client opens), as a ContentInfo DER.
 */
export function sealEnvelope(content: Buffer, recipient: CertInfo): Buffer {
  const cek = crypto.randomBytes(16);
  const iv = crypto.randomBytes(16);
  const c = crypto.createCipheriv('aes-128-cbc', cek, iv);
  const ciphertext = Buffer.concat([c.update(content), c.final()]);
  const wrapped = crypto.publicEncrypt({ key: publicKeyOf(recipient), padding: crypto.constants.RSA_PKCS1_PADDING }, cek);
  const ktri = derSequence(Buffer.of(0x02, 0x01, 0x00), derSequence(recipient.issuerDer, recipient.serialDer), algorithmId(CMS_OID.rsaEncryption, NULL), tlv(0x04, wrapped));
  const eci = derSequence(oid(CMS_OID.data), derSequence(oid(AES128_CBC_OID), tlv(0x04, iv)), tlv(0x80, ciphertext));
  return derSequence(oid(CMS_OID.envelopedData), tlv(0xa0, derSequence(Buffer.of(0x02, 0x01, 0x00), tlv(0x31, ktri), eci)));
}

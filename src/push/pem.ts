import crypto, { X509Certificate, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import { certInfo, nameAttribute, type CertInfo } from '../pki/cert-info.ts';

/** userId (RFC 4519): Apple puts the push topic there. */
export const UID_OID = '0.9.2342.19200300.100.1.1';
/** Every MDM push topic starts so; other APNs certificates (apps, VoIP, Wallet) carry other UIDs and cannot push to devices. */
export const MDM_TOPIC_PREFIX = 'com.apple.mgmt.';

export interface PushCertificatePem {
  x509: X509Certificate;
  info: CertInfo;
  topic: string;
}

// The first block of its kind: admins hand over chains and cert+key bundles as often as single files.
const CERT_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY_BLOCK = /-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/;

/** The push certificate in a PEM text, with its topic; refuses anything that is not an MDM push certificate. */
export function readPushCertificate(pem: string): PushCertificatePem {
  const block = CERT_BLOCK.exec(pem)?.[0];
  if (!block) throw new AppError('push_cert_unreadable', 'the push certificate is not PEM: no "-----BEGIN CERTIFICATE-----" block');
  let x509: X509Certificate;
  let info: CertInfo;
  let topic: string | undefined;
  try {
    x509 = new X509Certificate(block);
    info = certInfo(x509.raw);
    topic = nameAttribute(info.subjectDer, UID_OID);
  } catch {
    throw new AppError('push_cert_unreadable', 'the push certificate PEM is damaged: its "BEGIN CERTIFICATE" block is not a readable X.509 certificate');
  }
  if (topic === undefined) {
    throw new AppError('push_cert_no_topic', 'the certificate has no UID (push topic) in its subject: not an Apple MDM push certificate', 422);
  }
  if (!topic.startsWith(MDM_TOPIC_PREFIX)) {
    throw new AppError('push_cert_bad_topic', `the certificate's topic "${topic}" does not start with ${MDM_TOPIC_PREFIX}: not an Apple MDM push certificate`, 422);
  }
  return { x509, info, topic };
}

/** Which key a message is about: the push certificate's, or the vendor certificate's. */
export interface KeyRole {
  /** Error code prefix: `<prefix>_unreadable`, `<prefix>_encrypted`, `<prefix>_bad_passphrase`. */
  code: 'push_key' | 'push_vendor_key';
  /** How to give the passphrase, named in the refusal of an encrypted key. */
  passphraseHint: string;
}

export const PUSH_KEY: KeyRole = { code: 'push_key', passphraseHint: 'mdm push import --key-passphrase-stdin' };

/** A PKCS#8 or PKCS#1 (or SEC1) PEM private key; an encrypted one needs `passphrase`. */
export function readPrivateKey(pem: string, passphrase?: string, role: KeyRole = PUSH_KEY): KeyObject {
  const m = KEY_BLOCK.exec(pem);
  if (!m) {
    throw new AppError(`${role.code}_unreadable`, 'the private key is not PEM: no "-----BEGIN PRIVATE KEY-----" or "-----BEGIN RSA PRIVATE KEY-----" block');
  }
  // PKCS#8 encryption shows in the label, OpenSSL's legacy PKCS#1 encryption in a header.
  const encrypted = m[1] === 'ENCRYPTED PRIVATE KEY' || /^Proc-Type:\s*4,ENCRYPTED/m.test(m[0]);
  if (encrypted && passphrase === undefined) {
    throw new AppError(
      `${role.code}_encrypted`,
      `the private key is encrypted: give its passphrase (${role.passphraseHint}) or decrypt it first (openssl pkey -in encrypted.key -out plain.key)`,
      422,
    );
  }
  try {
    return crypto.createPrivateKey(encrypted ? { key: m[0], format: 'pem', passphrase } : { key: m[0], format: 'pem' });
  } catch {
    if (encrypted) throw new AppError(`${role.code}_bad_passphrase`, 'the private key cannot be decrypted: wrong passphrase', 422);
    throw new AppError(`${role.code}_unreadable`, `the private key PEM is damaged: its "BEGIN ${m[1]}" block is not a readable key`);
  }
}

export function keyMatches(x509: X509Certificate, key: KeyObject): boolean {
  try {
    return x509.checkPrivateKey(key);
  } catch {
    return false; // a key of another type (EC against RSA) throws in some OpenSSL versions
  }
}

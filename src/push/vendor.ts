// The MDM vendor certificate ("MDM CSR" certificate from an Apple Developer Enterprise account)
// with its key and the chain up to Apple's root: everything the signed push request needs.
import { X509Certificate, type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import { certInfo, nameToString, type CertInfo } from '../pki/cert-info.ts';
import { readTlv } from '../pki/der-reader.ts';
import { pemBlocks } from '../pki/x509.ts';
import { keyMatches, readPrivateKey } from './pem.ts';
import { readPkcs12 } from './pkcs12.ts';

export type VendorSource =
  | { kind: 'pem'; keyPem: string; passphrase?: string | undefined; passphraseHint: string; certificates: Buffer[] }
  | { kind: 'pkcs12'; pkcs12: Buffer; password: string; certificates: Buffer[] };

export interface VendorIdentity {
  info: CertInfo;
  key: KeyObject;
  /** The issuers from the vendor certificate's up to the self-signed root, DER, in order. */
  chain: Buffer[];
}

const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const APPLE_CA_PAGE = 'https://www.apple.com/certificateauthority/';

/**
 * The certificates in a file or field: any number of PEM blocks, or one DER certificate (Apple
 * hands out mdm.cer, AppleWWDRCAG3.cer and AppleIncRootCertificate.cer as DER).
 */
export function certificatesIn(data: Buffer | string, what: string): Buffer[] {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const text = buf.toString('latin1');
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const blocks = pemBlocks(text, 'CERTIFICATE');
    for (const der of blocks) readable(der, what);
    return blocks;
  }
  return [readable(buf, what)];
}

function readable(der: Buffer, what: string): Buffer {
  try {
    return Buffer.from(new X509Certificate(der).raw);
  } catch {
    throw new AppError('push_vendor_cert_unreadable', `${what} is neither PEM certificates nor one DER certificate`);
  }
}

/** Splits concatenated DER certificates (how the chain is stored) back into one buffer each. */
export function splitDer(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; ) {
    const t = readTlv(buf, at);
    out.push(buf.subarray(t.start, t.end));
    at = t.end;
  }
  return out;
}

function validAt(info: CertInfo, now: number, role: string): void {
  const name = nameToString(info.subjectDer);
  if (now < info.notBefore) throw new AppError('push_vendor_expired', `the ${role} "${name}" is not valid before ${day(info.notBefore)}`, 422);
  if (now > info.notAfter) {
    const where = role === 'vendor certificate' ? 'the Apple Developer portal (Certificates, MDM CSR)' : APPLE_CA_PAGE;
    throw new AppError('push_vendor_expired', `the ${role} "${name}" expired on ${day(info.notAfter)}: get a current one from ${where}`, 422);
  }
}

const selfSigned = (c: X509Certificate) => c.checkIssued(c) && c.verify(c.publicKey);

/**
 * Checks the vendor identity and orders its chain. Refused: no key or several, a key that
 * belongs to none of the certificates, a key that is not RSA (the request is signed
 * sha256WithRSA), anything outside its validity, and a chain that stops short of a self-signed
 * root, because Apple's portal checks the chain and says little when it fails.
 */
export function readVendorIdentity(source: VendorSource, now: number): VendorIdentity {
  let keys: KeyObject[];
  let certs: Buffer[];
  if (source.kind === 'pkcs12') {
    const contents = readPkcs12(source.pkcs12, source.password);
    keys = contents.keys;
    certs = [...contents.certificates, ...source.certificates];
  } else {
    keys = [readPrivateKey(source.keyPem, source.passphrase, { code: 'push_vendor_key', passphraseHint: source.passphraseHint })];
    certs = source.certificates;
  }
  if (keys.length === 0) {
    throw new AppError('push_vendor_key_missing', 'the PKCS#12 file holds no private key: export the vendor identity (certificate with its key) from Keychain Access, not the certificate alone', 422);
  }
  const unique = [...new Map(certs.map((der) => [der.toString('base64'), new X509Certificate(der)])).values()];
  const pairs = keys.flatMap((key) => unique.filter((c) => keyMatches(c, key)).map((cert) => ({ key, cert })));
  if (pairs.length === 0) {
    throw new AppError(
      'push_vendor_key_mismatch',
      unique.length === 0 ? 'no vendor certificate was given with the key' : 'the private key belongs to none of the given certificates: use the key of the vendor certificate (the one its CSR was made with)',
      422,
    );
  }
  if (pairs.length > 1) throw new AppError('push_vendor_ambiguous', 'more than one certificate in the input has its private key: give the vendor identity alone', 422);
  const { key, cert } = pairs[0]!;
  if (key.asymmetricKeyType !== 'rsa') {
    throw new AppError('push_vendor_key_unsupported', `the vendor key is ${key.asymmetricKeyType ?? 'of an unknown type'}: Apple's vendor certificates and the push request signature are RSA`, 422);
  }
  const info = certInfo(Buffer.from(cert.raw));
  validAt(info, now, 'vendor certificate');
  if (selfSigned(cert)) {
    throw new AppError('push_vendor_self_signed', `the vendor certificate "${nameToString(info.subjectDer)}" is self-signed: not an MDM vendor certificate issued by Apple`, 422);
  }

  const chain: Buffer[] = [];
  let current = cert;
  const pool = unique.filter((c) => c !== cert);
  while (!selfSigned(current)) {
    const issuer = pool.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (!issuer) {
      const stuck = certInfo(Buffer.from(current.raw));
      throw new AppError(
        'push_vendor_chain_incomplete',
        `the chain stops at "${nameToString(stuck.subjectDer)}": its issuer "${nameToString(stuck.issuerDer)}" is missing. Apple's portal needs the vendor certificate, Apple's WWDR intermediate and Apple's root: add them (${APPLE_CA_PAGE}, PEM or DER) with --chain (API: chain)`,
        422,
      );
    }
    const issuerInfo = certInfo(Buffer.from(issuer.raw));
    validAt(issuerInfo, now, 'chain certificate');
    chain.push(issuerInfo.der);
    pool.splice(pool.indexOf(issuer), 1);
    current = issuer;
  }
  return { info, key, chain };
}

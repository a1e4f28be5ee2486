// PKCS#12 (RFC 7292) reading, password integrity and privacy mode: what `openssl pkcs12 -export`
// (default and -legacy), Keychain Access and Windows write. Written on the repository's DER
// reader rather than pkijs, whose PKCS#12 support decrypts PBES2 only.
import crypto, { type KeyObject } from 'node:crypto';
import { AppError, isAppError } from '../errors.ts';
import { children, content, expect, octetString, oidString, raw, readDer, type Tlv } from '../pki/der-reader.ts';
import { badPassword, checkIterations, DIGESTS, integerValue, password, pbeDecrypt, pkcs12Kdf, unsupported, type Password } from './pbe.ts';

const OIDS = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  safeContentsBag: '1.2.840.113549.1.12.10.1.6',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  pbmac1: '1.2.840.113549.1.5.14',
};

export interface Pkcs12Contents {
  keys: KeyObject[];
  /** DER, in file order. */
  certificates: Buffer[];
}

const unreadable = () => new AppError('pkcs12_unreadable', 'the file is not a readable PKCS#12 (.p12/.pfx) file: it is damaged or in another format');

/** `[0] EXPLICIT` content: the one element inside. */
const explicit = (t: Tlv | undefined): Tlv => {
  const inner = children(expect(t, 0xa0, '[0]'))[0];
  if (!inner) throw unreadable();
  return inner;
};

/**
 * The HMAC of the authenticated safe, keyed from the password with the PKCS#12 KDF. An empty
 * password has two encodings in the wild (an empty BMPString with or without its terminator);
 * the one the MAC verifies with is the one the file was written with.
 */
function verifyMac(macData: Tlv, authSafe: Buffer, candidates: Password[]): Password {
  const [digestInfo, saltTlv, iterTlv] = children(expect(macData, 0x30, 'MacData'));
  const [algorithm, digestTlv] = children(expect(digestInfo, 0x30, 'DigestInfo'));
  const algOid = oidString(children(expect(algorithm, 0x30, 'AlgorithmIdentifier'))[0]!);
  if (algOid === OIDS.pbmac1) throw unsupported('PBMAC1 integrity (OpenSSL 3.4 -pbmac1_pbkdf2)');
  const digest = DIGESTS[algOid];
  if (!digest) throw unsupported(`the MAC digest ${algOid}`);
  const expected = octetString(digestTlv!);
  const salt = octetString(saltTlv!);
  const iterations = checkIterations(iterTlv ? integerValue(iterTlv) : 1);
  const length = crypto.createHash(digest.name).digest().length;
  for (const candidate of candidates) {
    const key = pkcs12Kdf(digest.name, digest.blockBytes, candidate.bmp, salt, iterations, 3, length);
    const mac = crypto.createHmac(digest.name, key).update(authSafe).digest();
    if (mac.length === expected.length && crypto.timingSafeEqual(mac, expected)) return candidate;
  }
  throw badPassword();
}

function readBags(safeContents: Buffer, pass: Password, out: Pkcs12Contents, depth = 0): void {
  if (depth > 4) throw unreadable();
  for (const bag of children(expect(readDer(safeContents), 0x30, 'SafeContents'))) {
    const [idTlv, valueTlv] = children(expect(bag, 0x30, 'SafeBag'));
    const id = oidString(idTlv!);
    const value = explicit(valueTlv);
    if (id === OIDS.keyBag) {
      out.keys.push(privateKey(raw(value)));
    } else if (id === OIDS.shroudedKeyBag) {
      const [algorithm, data] = children(expect(value, 0x30, 'EncryptedPrivateKeyInfo'));
      out.keys.push(privateKey(pbeDecrypt(algorithm!, octetString(data!), pass)));
    } else if (id === OIDS.certBag) {
      const [certId, certValue] = children(expect(value, 0x30, 'CertBag'));
      // SDSI certificates exist in the standard, not in files anyone exports.
      if (oidString(certId!) === OIDS.x509Certificate) out.certificates.push(Buffer.from(octetString(explicit(certValue))));
    } else if (id === OIDS.safeContentsBag) {
      readBags(raw(value), pass, out, depth + 1);
    }
    // CRL and secret bags carry nothing a certificate import uses.
  }
}

function privateKey(pkcs8: Buffer): KeyObject {
  try {
    return crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  } catch {
    throw unreadable();
  }
}

/** The keys and certificates in a PKCS#12 file; `pkcs12_bad_password` when the password does not open it. */
export function readPkcs12(der: Buffer, passwordText: string): Pkcs12Contents {
  const candidates = [password(passwordText), ...(passwordText === '' ? [{ bmp: Buffer.alloc(0), utf8: Buffer.alloc(0) }] : [])];
  try {
    const [version, authSafeInfo, macData] = children(expect(readDer(der), 0x30, 'PFX'));
    if (integerValue(version) !== 3) throw unreadable();
    const [typeTlv, contentTlv] = children(expect(authSafeInfo, 0x30, 'ContentInfo'));
    const type = oidString(typeTlv!);
    if (type === OIDS.signedData) throw unsupported('public-key integrity mode (a signed authenticated safe)');
    if (type !== OIDS.data) throw unreadable();
    const authSafe = octetString(explicit(contentTlv));
    const pass = macData ? verifyMac(macData, authSafe, candidates) : candidates[0]!;

    const out: Pkcs12Contents = { keys: [], certificates: [] };
    for (const info of children(expect(readDer(authSafe), 0x30, 'AuthenticatedSafe'))) {
      const [infoType, infoContent] = children(expect(info, 0x30, 'ContentInfo'));
      const kind = oidString(infoType!);
      if (kind === OIDS.data) {
        readBags(octetString(explicit(infoContent)), pass, out);
      } else if (kind === OIDS.encryptedData) {
        const [, encryptedContentInfo] = children(expect(explicit(infoContent), 0x30, 'EncryptedData'));
        const [, algorithm, encrypted] = children(expect(encryptedContentInfo, 0x30, 'EncryptedContentInfo'));
        // [0] IMPLICIT OCTET STRING: primitive, or constructed in BER chunks.
        if (!encrypted || (encrypted.tag !== 0x80 && encrypted.tag !== 0xa0)) throw unreadable();
        readBags(pbeDecrypt(algorithm!, encrypted.tag === 0x80 ? content(encrypted) : octetString(encrypted), pass), pass, out);
      } else if (kind === OIDS.envelopedData) {
        throw unsupported('public-key privacy mode (contents encrypted to a certificate)');
      } else {
        throw unreadable();
      }
    }
    return out;
  } catch (e) {
    if (isAppError(e)) throw e;
    throw unreadable();
  }
}

// Password-based decryption for PKCS#12 files: PBES2 (PBKDF2 + AES or 3DES, OpenSSL 3's default)
// and the PKCS#12 PBE schemes of RFC 7292 appendix C (SHA-1 + 3DES, what macOS Keychain and
// `openssl pkcs12 -legacy` use for keys; SHA-1 + RC2 for their certificates).
import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import { children, content, expect, octetString, oidString, type Tlv } from '../pki/der-reader.ts';
import { rc2CbcDecrypt } from './rc2.ts';

/** PBKDF2 and the PKCS#12 KDF run on the event loop: past this, a file is refused rather than stalling the server. */
export const MAX_ITERATIONS = 1_000_000;

/** Digests by OID (MAC digest algorithms), with their block sizes for the PKCS#12 KDF. */
export const DIGESTS: Record<string, { name: string; blockBytes: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', blockBytes: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', blockBytes: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', blockBytes: 128 },
};

const HMAC_PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';

/** PBES2 ciphers by OID: node cipher name and key length. */
const PBES2_CIPHERS: Record<string, { cipher: string; keyBytes: number }> = {
  '2.16.840.1.101.3.4.1.2': { cipher: 'aes-128-cbc', keyBytes: 16 },
  '2.16.840.1.101.3.4.1.22': { cipher: 'aes-192-cbc', keyBytes: 24 },
  '2.16.840.1.101.3.4.1.42': { cipher: 'aes-256-cbc', keyBytes: 32 },
  '1.2.840.113549.3.7': { cipher: 'des-ede3-cbc', keyBytes: 24 },
};

/** RFC 7292 appendix C, all with SHA-1. RC4 is left out: nothing current writes it and OpenSSL 3 keeps it in the legacy provider. */
const PKCS12_PBE: Record<string, { cipher: 'des-ede3-cbc' | 'des-ede-cbc' | 'rc2'; keyBytes: number }> = {
  '1.2.840.113549.1.12.1.3': { cipher: 'des-ede3-cbc', keyBytes: 24 },
  '1.2.840.113549.1.12.1.4': { cipher: 'des-ede-cbc', keyBytes: 16 },
  '1.2.840.113549.1.12.1.5': { cipher: 'rc2', keyBytes: 16 },
  '1.2.840.113549.1.12.1.6': { cipher: 'rc2', keyBytes: 5 },
};

const NAMES: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'pbeWithSHAAnd128BitRC4',
  '1.2.840.113549.1.12.1.2': 'pbeWithSHAAnd40BitRC4',
  '1.2.840.113549.1.5.3': 'pbeWithMD5AndDES-CBC',
  '1.2.840.113549.1.5.10': 'pbeWithSHA1AndDES-CBC',
};

/** The password in the two forms PKCS#12 uses: BMPString with its terminator for the PKCS#12 KDF, UTF-8 for PBKDF2. */
export interface Password {
  bmp: Buffer;
  utf8: Buffer;
}

export function password(text: string): Password {
  return { bmp: Buffer.concat([Buffer.from(text, 'utf16le').swap16(), Buffer.alloc(2)]), utf8: Buffer.from(text, 'utf8') };
}

export const unsupported = (what: string) =>
  new AppError('pkcs12_unsupported', `the PKCS#12 file uses ${what}, which this appliance does not read: re-export it with \`openssl pkcs12 -export\` (AES) or from Keychain Access`, 422);

export const badPassword = () => new AppError('pkcs12_bad_password', 'the PKCS#12 file cannot be opened with this password: wrong password', 422);

export function checkIterations(n: number): number {
  if (!Number.isSafeInteger(n) || n < 1) throw new AppError('pkcs12_unreadable', 'the PKCS#12 file has an invalid iteration count');
  if (n > MAX_ITERATIONS) throw unsupported(`${n} key-derivation iterations (at most ${MAX_ITERATIONS} are accepted)`);
  return n;
}

export function integerValue(t: Tlv | undefined): number {
  const bytes = content(expect(t, 0x02, 'INTEGER'));
  if (bytes.length > 6 || (bytes[0]! & 0x80) !== 0) throw new AppError('pkcs12_unreadable', 'the PKCS#12 file has an out-of-range integer');
  return bytes.reduce((n, b) => n * 256 + b, 0);
}

/** The PKCS#12 key derivation function (RFC 7292 appendix B.2): id 1 keys, 2 IVs, 3 MAC keys. */
export function pkcs12Kdf(digest: string, blockBytes: number, pass: Buffer, salt: Buffer, iterations: number, id: 1 | 2 | 3, length: number): Buffer {
  const v = blockBytes;
  const fill = (b: Buffer) => {
    if (b.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(b.length / v));
    for (let i = 0; i < out.length; i++) out[i] = b[i % b.length]!;
    return out;
  };
  const d = Buffer.alloc(v, id);
  const i = Buffer.concat([fill(salt), fill(pass)]);
  const out: Buffer[] = [];
  let produced = 0;
  while (produced < length) {
    let a = crypto.createHash(digest).update(d).update(i).digest();
    for (let r = 1; r < iterations; r++) a = crypto.createHash(digest).update(a).digest();
    out.push(a);
    produced += a.length;
    if (produced >= length) break;
    const b = Buffer.alloc(v);
    for (let k = 0; k < v; k++) b[k] = a[k % a.length]!;
    // I_j = (I_j + B + 1) mod 2^(8v), for each v-byte block of I.
    for (let j = 0; j < i.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = i[j + k]! + b[k]! + carry;
        i[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

function decipher(cipher: string, key: Buffer, iv: Buffer, data: Buffer): Buffer {
  try {
    const d = crypto.createDecipheriv(cipher, key, iv);
    return Buffer.concat([d.update(data), d.final()]);
  } catch {
    // A wrong password shows up as bad padding; the MAC, when there is one, has caught it already.
    throw badPassword();
  }
}

/** Decrypts `data` as AlgorithmIdentifier `algorithm` says, with `pass`. */
export function pbeDecrypt(algorithm: Tlv, data: Buffer, pass: Password): Buffer {
  const [algOid, params] = children(expect(algorithm, 0x30, 'AlgorithmIdentifier'));
  const alg = oidString(algOid!);
  const pkcs12 = PKCS12_PBE[alg];
  if (pkcs12) {
    const [salt, iterations] = children(expect(params, 0x30, 'pkcs-12PbeParams'));
    const s = octetString(salt!);
    const n = checkIterations(integerValue(iterations));
    const key = pkcs12Kdf('sha1', 64, pass.bmp, s, n, 1, pkcs12.keyBytes);
    const iv = pkcs12Kdf('sha1', 64, pass.bmp, s, n, 2, 8);
    if (pkcs12.cipher !== 'rc2') return decipher(pkcs12.cipher, key, iv, data);
    const plain = rc2CbcDecrypt(key, key.length * 8, iv, data);
    if (!plain) throw badPassword();
    return plain;
  }
  if (alg === PBES2) {
    const [kdf, scheme] = children(expect(params, 0x30, 'PBES2-params'));
    const [kdfOid, kdfParams] = children(expect(kdf, 0x30, 'keyDerivationFunc'));
    if (oidString(kdfOid!) !== PBKDF2) throw unsupported(`the key derivation function ${oidString(kdfOid!)} (only PBKDF2 is read)`);
    const [salt, iterations, ...rest] = children(expect(kdfParams, 0x30, 'PBKDF2-params'));
    const keyLength = rest[0]?.tag === 0x02 ? integerValue(rest[0]) : undefined;
    const prfAlg = rest.find((t) => t.tag === 0x30);
    const prfOid = prfAlg ? oidString(children(prfAlg)[0]!) : '1.2.840.113549.2.7';
    const prf = HMAC_PRFS[prfOid];
    if (!prf) throw unsupported(`the PBKDF2 pseudo-random function ${prfOid}`);
    const [cipherOid, ivTlv] = children(expect(scheme, 0x30, 'encryptionScheme'));
    const cipher = PBES2_CIPHERS[oidString(cipherOid!)];
    if (!cipher) throw unsupported(`the cipher ${oidString(cipherOid!)}`);
    const key = crypto.pbkdf2Sync(pass.utf8, octetString(salt!), checkIterations(integerValue(iterations)), keyLength ?? cipher.keyBytes, prf);
    return decipher(cipher.cipher, key, octetString(ivTlv!), data);
  }
  throw unsupported(NAMES[alg] ?? `the encryption algorithm ${alg}`);
}

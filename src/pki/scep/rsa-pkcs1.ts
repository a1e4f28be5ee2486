import crypto, { type KeyObject } from 'node:crypto';

/**
 * RSAES-PKCS1-v1_5 key unwrap with implicit rejection, for CMS KeyTransRecipientInfo.
 *
 * Written by hand because Node 20 refuses RSA_PKCS1_PADDING in privateDecrypt (the
 * CVE-2023-46809 fix), and SCEP clients (Apple devices, scepclient) only use PKCS#1 v1.5.
 * We decrypt raw (RSA_NO_PADDING) and check the padding ourselves. A bad padding or a wrong
 * length never becomes an error of its own: it yields a pseudo-random key derived from the
 * ciphertext (as RFC 3218 §2.3 advises for CMS), so content decryption fails exactly as it would
 * for any wrong key and the answer carries no padding oracle.
 */
export function unwrapPkcs1(key: KeyObject, ciphertext: Uint8Array, expectedLength: number, rejectionSecret: Buffer): Buffer {
  const k = ((key.asymmetricKeyDetails?.modulusLength ?? 0) + 7) >> 3;
  let em: Buffer;
  const input = Buffer.alloc(k);
  if (ciphertext.length <= k) Buffer.from(ciphertext).copy(input, k - ciphertext.length);
  try {
    em = crypto.privateDecrypt({ key, padding: crypto.constants.RSA_NO_PADDING }, input);
  } catch {
    em = Buffer.alloc(k);
  }
  // Scan every byte whatever we find, accumulating flags instead of returning early.
  let bad = (em[0]! ^ 0x00) | (em[1]! ^ 0x02) | (ciphertext.length === k ? 0 : 1);
  let sep = 0;
  for (let i = 2; i < k; i++) {
    const isZero = ((em[i]! - 1) >> 31) & 1; // 1 when em[i] === 0
    const firstZero = isZero & (sep === 0 ? 1 : 0);
    sep = firstZero ? i : sep;
  }
  bad |= sep === 0 ? 1 : 0;
  bad |= sep < 10 ? 1 : 0; // at least 8 bytes of non-zero padding
  bad |= k - sep - 1 === expectedLength ? 0 : 1;
  const synthetic = crypto.createHmac('sha256', rejectionSecret).update(ciphertext).digest();
  const fallback = Buffer.concat([synthetic, crypto.createHmac('sha256', synthetic).update(ciphertext).digest()]).subarray(0, expectedLength);
  const real = em.subarray(Math.min(sep + 1, k), Math.min(sep + 1 + expectedLength, k));
  return bad || real.length !== expectedLength ? Buffer.from(fallback) : Buffer.from(real);
}

// RC2 (RFC 2268) decryption in CBC mode. `openssl pkcs12 -legacy`, older Windows exports and
// some Keychain exports encrypt the certificates of a PKCS#12 file with 40-bit RC2, and Node's
// OpenSSL 3 keeps RC2 in the legacy provider, which a process cannot load at run time. The
// certificates it protects are public; only reading them matters here, so only decryption.

/** RFC 2268's PITABLE: a permutation of 0..255 from the digits of pi. */
const PITABLE = Buffer.from(
  'd978f9c419ddb5ed28e9fd794aa0d89d' +
  'c67e37832b76538e624c6488448bfba2' +
  '179a59f587b34f1361456d8d09817d32' +
  'bd8f40eb86b77b0bf09521225c6b4e82' +
  '54d66593ce60b21c7356c014a78cf1dc' +
  '1275ca1f3bbee4d1423dd430a33cb626' +
  '6fbf0eda4669075727f21d9bbc944303' +
  'f811c7f690ef3ee706c3d52fc8661ed7' +
  '08e8eade8052eef784aa72ac354d6a2a' +
  '961ad2715a1549744b9fd05e0418a4ec' +
  'c2e0416e0f51cbcc2491af50a1f47039' +
  '997c3a8523b8b47afc02365b25559731' +
  '2d5dfa98e38a92ae05df2910676cbac9' +
  'd300e6cfe19ea82c6316013f58e289a9' +
  '0d38341bab33ffb0bb480c5fb9b1cd2e' +
  'c5f3db47e5a59c770aa62068fe7fc1ad',
  'hex',
);

/** The 64 16-bit expanded-key words for `key` at `effectiveBits` (RFC 2268 section 2). */
export function rc2ExpandKey(key: Uint8Array, effectiveBits: number): Uint16Array {
  const t = key.length;
  if (t < 1 || t > 128) throw new RangeError('RC2 keys are 1 to 128 bytes');
  if (effectiveBits < 1 || effectiveBits > 1024) throw new RangeError('RC2 effective key bits are 1 to 1024');
  const l = new Uint8Array(128);
  l.set(key);
  for (let i = t; i < 128; i++) l[i] = PITABLE[(l[i - 1]! + l[i - t]!) & 0xff]!;
  const t8 = Math.ceil(effectiveBits / 8);
  const tm = 0xff >> (8 * t8 - effectiveBits);
  l[128 - t8] = PITABLE[l[128 - t8]! & tm]!;
  for (let i = 127 - t8; i >= 0; i--) l[i] = PITABLE[l[i + 1]! ^ l[i + t8]!]!;
  const k = new Uint16Array(64);
  for (let i = 0; i < 64; i++) k[i] = l[2 * i]! | (l[2 * i + 1]! << 8);
  return k;
}

const SHIFTS = [1, 2, 3, 5] as const;

/** Decrypts one 8-byte block in place (RFC 2268 section 4). */
function decryptBlock(k: Uint16Array, block: Buffer, at: number): void {
  const r = [block.readUInt16LE(at), block.readUInt16LE(at + 2), block.readUInt16LE(at + 4), block.readUInt16LE(at + 6)];
  let j = 63;
  const mix = () => {
    for (let i = 3; i >= 0; i--) {
      const s = SHIFTS[i]!;
      let v = r[i]!;
      v = ((v >>> s) | (v << (16 - s))) & 0xffff;
      v = (v - k[j--]! - (r[(i + 3) & 3]! & r[(i + 2) & 3]!) - (~r[(i + 3) & 3]! & r[(i + 1) & 3]!)) & 0xffff;
      r[i] = v;
    }
  };
  const mash = () => {
    for (let i = 3; i >= 0; i--) r[i] = (r[i]! - k[r[(i + 3) & 3]! & 63]!) & 0xffff;
  };
  for (let n = 0; n < 5; n++) mix();
  mash();
  for (let n = 0; n < 6; n++) mix();
  mash();
  for (let n = 0; n < 5; n++) mix();
  for (let i = 0; i < 4; i++) block.writeUInt16LE(r[i]!, at + 2 * i);
}

/** One block, for the RFC's test vectors. */
export function rc2DecryptBlock(key: Uint8Array, effectiveBits: number, block: Uint8Array): Buffer {
  const out = Buffer.from(block);
  decryptBlock(rc2ExpandKey(key, effectiveBits), out, 0);
  return out;
}

/** RC2-CBC decryption with PKCS#7 padding removed; null when the padding is wrong (a wrong key, in practice). */
export function rc2CbcDecrypt(key: Uint8Array, effectiveBits: number, iv: Uint8Array, data: Uint8Array): Buffer | null {
  if (iv.length !== 8 || data.length === 0 || data.length % 8 !== 0) return null;
  const k = rc2ExpandKey(key, effectiveBits);
  const out = Buffer.from(data);
  for (let at = out.length - 8; at >= 0; at -= 8) {
    decryptBlock(k, out, at);
    const prev = at === 0 ? iv : data.subarray(at - 8, at);
    for (let i = 0; i < 8; i++) out[at + i] = out[at + i]! ^ prev[i]!;
  }
  const pad = out[out.length - 1]!;
  if (pad < 1 || pad > 8) return null;
  for (let i = out.length - pad; i < out.length; i++) if (out[i] !== pad) return null;
  return out.subarray(0, out.length - pad);
}

/**
 * The HPACK Huffman code (RFC 7541 Appendix B) is canonical: the code of every symbol follows
 * from the code lengths alone, so only the lengths of symbols 0–256 (256 is EOS) are written here.
 */
const LENGTHS = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, 6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8,
  11, 8, 6, 6, 6, 5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, 13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14,
  6, 15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, 6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, 20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, 22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, 21, 21, 22, 21, 23, 22, 23, 23, 20, 22,
  22, 22, 23, 22, 22, 23, 26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, 19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, 20, 24, 20, 21,
  22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, 26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, 30,
];
const EOS = 256;

/** The codes, assigned canonically: by length, then by symbol. */
export const HUFFMAN_CODES: ReadonlyArray<{ code: number; bits: number }> = (() => {
  const order = LENGTHS.map((_, s) => s).sort((a, b) => LENGTHS[a]! - LENGTHS[b]! || a - b);
  const codes = new Array<{ code: number; bits: number }>(LENGTHS.length);
  let code = 0;
  let prev = LENGTHS[order[0]!]!;
  for (const s of order) {
    const bits = LENGTHS[s]!;
    code = code * 2 ** (bits - prev);
    prev = bits;
    codes[s] = { code, bits };
    code++;
  }
  return codes;
})();

// A binary tree in two arrays: child index per bit, or a leaf as -(symbol + 1).
const MAX_NODES = 2 * LENGTHS.length;
const zero = new Int32Array(MAX_NODES);
const one = new Int32Array(MAX_NODES);
(() => {
  let nodes = 1;
  HUFFMAN_CODES.forEach(({ code, bits }, symbol) => {
    let node = 0;
    for (let i = bits - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) % 2;
      const table = bit ? one : zero;
      if (i === 0) table[node] = -(symbol + 1);
      else {
        if (table[node] === 0) table[node] = nodes++;
        node = table[node]!;
      }
    }
  });
})();

export class HuffmanError extends Error {}

/**
 * Decodes a Huffman-coded string into latin1 (header octets, one char each). Refuses EOS in
 * the data, and padding longer than 7 bits or not made of EOS's leading ones (RFC 7541 §5.2).
 */
export function huffmanDecode(buf: Buffer, start: number, end: number): string {
  let out = '';
  let node = 0;
  // Bits read since the last symbol ended, and whether all of them were ones.
  let pending = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      const next = bit ? one[node]! : zero[node]!;
      pending++;
      if (!bit) allOnes = false;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HuffmanError('EOS in a Huffman-coded string');
        out += String.fromCharCode(symbol);
        node = 0;
        pending = 0;
        allOnes = true;
      } else if (next === 0) {
        throw new HuffmanError('invalid Huffman code');
      } else node = next;
    }
  }
  if (pending > 7 || !allOnes) throw new HuffmanError('invalid Huffman padding');
  return out;
}

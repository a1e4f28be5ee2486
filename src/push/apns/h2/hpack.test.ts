import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HUFFMAN_CODES, huffmanDecode } from './huffman.ts';
import { HpackDecoder, HpackError, encodeFields, writeLiteral, literalLength } from './hpack.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('Huffman: the canonical codes from the lengths match RFC 7541 Appendix B at its landmarks', () => {
  // A few rows of the RFC's table, code as written there.
  assert.deepEqual(HUFFMAN_CODES[0], { code: 0x1ff8, bits: 13 });
  assert.deepEqual(HUFFMAN_CODES[32], { code: 0x14, bits: 6 }); // ' '
  assert.deepEqual(HUFFMAN_CODES[48], { code: 0x0, bits: 5 }); // '0'
  assert.deepEqual(HUFFMAN_CODES[97], { code: 0x3, bits: 5 }); // 'a'
  assert.deepEqual(HUFFMAN_CODES[255], { code: 0x3ffffee, bits: 26 });
  assert.deepEqual(HUFFMAN_CODES[256], { code: 0x3fffffff, bits: 30 }); // EOS
});

test('Huffman: RFC 7541 Appendix C strings decode; bad padding and EOS are refused', () => {
  const dec = (h: string) => {
    const b = hex(h);
    return huffmanDecode(b, 0, b.length);
  };
  assert.equal(dec('f1e3 c2e5 f23a 6ba0 ab90 f4ff'), 'www.example.com');
  assert.equal(dec('a8eb 1064 9cbf'), 'no-cache');
  assert.equal(dec('25a8 49e9 5ba9 7d7f'), 'custom-key');
  assert.equal(dec('25a8 49e9 5bb8 e8b4 bf'), 'custom-value');
  assert.equal(dec(''), '');
  // 'a' (00011) padded with 000: padding must be ones.
  assert.throws(() => dec('18'), /padding/);
  // A whole byte of ones after a symbol: padding longer than 7 bits.
  assert.throws(() => dec('1fff'), /padding/);
  // EOS (30 ones) spelled out.
  assert.throws(() => dec('ffff fffc'), /EOS/);
});

test('HPACK: RFC 7541 C.4, three requests through one decoder with its dynamic table', () => {
  const d = new HpackDecoder();
  assert.deepEqual(d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'), 65536), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]);
  assert.deepEqual(d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'), 65536), [
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]);
  assert.deepEqual(d.decode(hex('8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf'), 65536), [
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]);
});

/** A literal with incremental indexing, new name, no Huffman: what the tests need to fill a table. */
function indexed(name: string, value: string): Buffer {
  const b = Buffer.alloc(2 + name.length + 1 + value.length);
  // Lengths below 127 fit the 7-bit prefix.
  b[0] = 0x40;
  b[1] = name.length;
  b.write(name, 2, 'latin1');
  b[2 + name.length] = value.length;
  b.write(value, 3 + name.length, 'latin1');
  return b;
}

test('HPACK: entries are evicted oldest first when the table is full; a size update shrinks it', () => {
  const d = new HpackDecoder(100);
  // Each entry is 1 + 1 + 32 = 34 octets: two fit in 100, a third evicts the first.
  d.decode(Buffer.concat([indexed('a', '1'), indexed('b', '2'), indexed('c', '3')]), 65536);
  assert.deepEqual(d.decode(Buffer.from([0x80 | 62, 0x80 | 63]), 65536), [
    ['c', '3'],
    ['b', '2'],
  ]);
  assert.throws(() => d.decode(Buffer.from([0x80 | 64]), 65536), HpackError);
  // Size update to 40 (001 prefix, 5 bits: 31 + 9): only the newest stays.
  d.decode(Buffer.from([0x3f, 9]), 65536);
  assert.deepEqual(d.decode(Buffer.from([0x80 | 62]), 65536), [['c', '3']]);
  assert.throws(() => d.decode(Buffer.from([0x80 | 63]), 65536), HpackError);
  // Above the advertised limit, or after a field: refused.
  assert.throws(() => d.decode(Buffer.from([0x3f, 0xff, 0x01]), 65536), /above/);
  assert.throws(() => d.decode(Buffer.from([0x82, 0x20]), 65536), /after a header field/);
});

test('HPACK: malformed blocks are refused, never misread', () => {
  const d = new HpackDecoder();
  assert.throws(() => d.decode(Buffer.from([0x80]), 65536), /index 0/);
  assert.throws(() => d.decode(Buffer.from([0x7f]), 65536), /truncated/);
  assert.throws(() => d.decode(Buffer.from([0x00, 0x05, 0x61]), 65536), /truncated/);
  assert.throws(() => d.decode(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), 65536), /too large/);
  assert.throws(() => d.decode(indexed('x'.repeat(50), 'y'.repeat(50)), 100), /header list too large/);
});

test('HPACK: what the client encodes (static indexes, literals, long lengths) decodes to the same fields', () => {
  const long = 'v'.repeat(300);
  const block = encodeFields([3, 7, [1, 'api.push.apple.com'], [4, '/3/device/abcd'], ['apns-topic', long]]);
  assert.deepEqual(new HpackDecoder().decode(block, 65536), [
    [':method', 'POST'],
    [':scheme', 'https'],
    [':authority', 'api.push.apple.com'],
    [':path', '/3/device/abcd'],
    ['apns-topic', long],
  ]);
  const buf = Buffer.alloc(literalLength('k', 'v'));
  assert.equal(writeLiteral(buf, 0, 'k', 'v'), buf.length);
});

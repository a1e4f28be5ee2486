import { huffmanDecode, HuffmanError } from './huffman.ts';

/** RFC 7541 Appendix A. */
const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'], [':scheme', 'http'],
  [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'], [':status', '304'], [':status', '400'],
  [':status', '404'], [':status', '500'], ['accept-charset', ''], ['accept-encoding', 'gzip, deflate'], ['accept-language', ''],
  ['accept-ranges', ''], ['accept', ''], ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''],
  ['cache-control', ''], ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''], ['expect', ''],
  ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''], ['if-none-match', ''], ['if-range', ''],
  ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''], ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''],
  ['proxy-authorization', ''], ['range', ''], ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''], ['www-authenticate', ''],
];

export const STATIC_INDEX = { authority: 1, methodPost: 3, path: 4, schemeHttps: 7 } as const;

/** The protocol's default table size, which the connection leaves as it is. */
export const HEADER_TABLE_SIZE = 4096;

export class HpackError extends Error {}

export type HeaderList = Array<[name: string, value: string]>;

/**
 * The receiving half of HPACK for one connection. Every header block the peer sends must pass
 * through it in order, even for streams already given up, or the dynamic table goes out of step.
 */
export class HpackDecoder {
  // Newest first, as HPACK indexes it.
  private readonly dynamic: Array<readonly [string, string]> = [];
  private size = 0;
  private maxSize: number;

  /** `limit`: the table size advertised to the peer (SETTINGS_HEADER_TABLE_SIZE). */
  constructor(private readonly limit = HEADER_TABLE_SIZE) {
    this.maxSize = limit;
  }

  decode(block: Buffer, maxListBytes: number): HeaderList {
    const headers: HeaderList = [];
    let listBytes = 0;
    let pos = 0;
    let sawField = false;
    const end = block.length;

    const int = (prefixBits: number): number => {
      if (pos >= end) throw new HpackError('truncated integer');
      const max = (1 << prefixBits) - 1;
      let value = block[pos++]! & max;
      if (value < max) return value;
      let shift = 0;
      for (;;) {
        if (pos >= end) throw new HpackError('truncated integer');
        const b = block[pos++]!;
        value += (b & 0x7f) * 2 ** shift;
        shift += 7;
        if (value > 0x7fffffff) throw new HpackError('integer too large');
        if ((b & 0x80) === 0) return value;
      }
    };
    const str = (): string => {
      if (pos >= end) throw new HpackError('truncated string');
      const huffman = (block[pos]! & 0x80) !== 0;
      const len = int(7);
      if (pos + len > end) throw new HpackError('truncated string');
      const s = huffman ? huffmanDecode(block, pos, pos + len) : block.toString('latin1', pos, pos + len);
      pos += len;
      return s;
    };
    const entry = (index: number): readonly [string, string] => {
      if (index === 0) throw new HpackError('index 0');
      if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1]!;
      const e = this.dynamic[index - STATIC_TABLE.length - 1];
      if (!e) throw new HpackError(`index ${index} beyond the table`);
      return e;
    };
    const emit = (name: string, value: string) => {
      listBytes += name.length + value.length + 32;
      if (listBytes > maxListBytes) throw new HpackError('header list too large');
      headers.push([name, value]);
    };

    try {
      while (pos < end) {
        const b = block[pos]!;
        if (b & 0x80) {
          const [name, value] = entry(int(7));
          emit(name, value);
          sawField = true;
        } else if (b & 0x40) {
          const index = int(6);
          const name = index === 0 ? str() : entry(index)[0];
          const value = str();
          this.add(name, value);
          emit(name, value);
          sawField = true;
        } else if (b & 0x20) {
          // A size update is allowed only before the block's first field (§4.2).
          if (sawField) throw new HpackError('table size update after a header field');
          const size = int(5);
          if (size > this.limit) throw new HpackError(`table size ${size} above ${this.limit}`);
          this.maxSize = size;
          this.evict(0);
        } else {
          // Literal without indexing (0000) or never indexed (0001): same shape, 4-bit prefix.
          const index = int(4);
          const name = index === 0 ? str() : entry(index)[0];
          emit(name, str());
          sawField = true;
        }
      }
    } catch (err) {
      if (err instanceof HuffmanError) throw new HpackError(err.message);
      throw err;
    }
    return headers;
  }

  private add(name: string, value: string): void {
    const size = name.length + value.length + 32;
    this.evict(size);
    // An entry larger than the whole table empties it and is not added (§4.4).
    if (size <= this.maxSize) {
      this.dynamic.unshift([name, value]);
      this.size += size;
    }
  }

  private evict(room: number): void {
    while (this.size + room > this.maxSize && this.dynamic.length > 0) {
      const [n, v] = this.dynamic.pop()!;
      this.size -= n.length + v.length + 32;
    }
  }
}

// ---- Encoding: requests use only static indexes and literals "without indexing", so the
// sending side keeps no table state and a block can be assembled from precomputed parts.

function intLength(value: number, prefixBits: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) return 1;
  let n = 2;
  for (value -= max; value >= 128; value = Math.floor(value / 128)) n++;
  return n;
}

function writeInt(buf: Buffer, pos: number, value: number, prefixBits: number, flags: number): number {
  const max = (1 << prefixBits) - 1;
  if (value < max) {
    buf[pos++] = flags | value;
    return pos;
  }
  buf[pos++] = flags | max;
  for (value -= max; value >= 128; value = Math.floor(value / 128)) buf[pos++] = (value % 128) | 0x80;
  buf[pos++] = value;
  return pos;
}

/** Header octets are latin1 here; a header value outside it cannot be sent as HTTP/2 anyway. */
const byteLength = (s: string) => s.length;

/** The length of a literal field without indexing whose name is `nameIndex` in the static table, or `name` itself. */
export function literalLength(name: number | string, value: string): number {
  const nameLen = typeof name === 'number' ? intLength(name, 4) : 1 + intLength(byteLength(name), 7) + byteLength(name);
  return nameLen + intLength(byteLength(value), 7) + byteLength(value);
}

/** Writes a literal field without indexing (RFC 7541 §6.2.2), no Huffman; returns the next position. */
export function writeLiteral(buf: Buffer, pos: number, name: number | string, value: string): number {
  if (typeof name === 'number') pos = writeInt(buf, pos, name, 4, 0x00);
  else {
    buf[pos++] = 0x00;
    pos = writeInt(buf, pos, byteLength(name), 7, 0x00);
    pos += buf.write(name, pos, 'latin1');
  }
  pos = writeInt(buf, pos, byteLength(value), 7, 0x00);
  pos += buf.write(value, pos, 'latin1');
  return pos;
}

/** A whole header block from fields, for what is built once (the parts common to every request). */
export function encodeFields(fields: Array<[name: number | string, value: string] | number>): Buffer {
  let len = 0;
  for (const f of fields) len += typeof f === 'number' ? intLength(f, 7) : literalLength(f[0], f[1]);
  const buf = Buffer.allocUnsafe(len);
  let pos = 0;
  for (const f of fields) pos = typeof f === 'number' ? writeInt(buf, pos, f, 7, 0x80) : writeLiteral(buf, pos, f[0], f[1]);
  return buf;
}

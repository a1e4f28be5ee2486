// A minimal zero-copy DER/BER reader for the SCEP hot path. asn1js + pkijs parse a 3 KB
// pkiMessage in ~2 ms (schema objects for every node, schema comparison); walking the TLVs in
// place takes microseconds, and an enrollment parses four structures. Non-hot paths keep pkijs.

export class DerError extends Error {}

export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content (before an end-of-contents marker). */
  contentEnd: number;
  /** Offset just past the whole element. */
  end: number;
  buf: Buffer;
}

const MAX_DEPTH = 32;

export function readTlv(buf: Buffer, pos = 0, limit = buf.length, depth = 0): Tlv {
  if (depth > MAX_DEPTH) throw new DerError('nesting too deep');
  if (pos + 2 > limit) throw new DerError('truncated');
  const tag = buf[pos]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('high tag numbers are not used in SCEP');
  let len = buf[pos + 1]!;
  let p = pos + 2;
  if (len === 0x80) {
    // BER indefinite length (constructed only): children until an end-of-contents marker.
    if (!(tag & 0x20)) throw new DerError('indefinite length on a primitive');
    let q = p;
    for (;;) {
      if (q + 2 > limit) throw new DerError('unterminated indefinite length');
      if (buf[q] === 0 && buf[q + 1] === 0) return { tag, start: pos, contentStart: p, contentEnd: q, end: q + 2, buf };
      q = readTlv(buf, q, limit, depth + 1).end;
    }
  }
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n > 4) throw new DerError('length too long');
    len = 0;
    for (let i = 0; i < n; i++) {
      if (p >= limit) throw new DerError('truncated');
      len = len * 256 + buf[p++]!;
    }
  }
  if (p + len > limit) throw new DerError('truncated');
  return { tag, start: pos, contentStart: p, contentEnd: p + len, end: p + len, buf };
}

/** Reads one whole element that must span `buf` exactly. */
export function readDer(buf: Buffer): Tlv {
  const t = readTlv(buf, 0, buf.length);
  if (t.end !== buf.length) throw new DerError('trailing bytes');
  return t;
}

export function children(t: Tlv): Tlv[] {
  if (!(t.tag & 0x20)) throw new DerError('not constructed');
  const out: Tlv[] = [];
  for (let p = t.contentStart; p < t.contentEnd; ) {
    const c = readTlv(t.buf, p, t.contentEnd);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Children, checking the element's tag first. */
export function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (!t || t.tag !== tag) throw new DerError(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

export const raw = (t: Tlv): Buffer => t.buf.subarray(t.start, t.end);
export const content = (t: Tlv): Buffer => t.buf.subarray(t.contentStart, t.contentEnd);

/** OCTET STRING bytes, primitive or BER-constructed (chunked). */
export function octetString(t: Tlv): Buffer {
  if (t.tag === 0x04 || t.tag === 0x80) return content(t);
  if (t.tag === 0x24 || t.tag === 0xa0) return Buffer.concat(children(t).map(octetString));
  throw new DerError('expected an OCTET STRING');
}

const oidCache = new Map<string, string>();

export function oidString(t: Tlv): string {
  if (t.tag !== 0x06) throw new DerError('expected an OBJECT IDENTIFIER');
  const bytes = content(t);
  const key = bytes.toString('latin1');
  let s = oidCache.get(key);
  if (s) return s;
  const parts: number[] = [];
  let v = 0;
  for (const b of bytes) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  s = parts.join('.');
  if (oidCache.size < 1000) oidCache.set(key, s);
  return s;
}

/** PrintableString, UTF8String, IA5String, TeletexString (as latin1), BMPString. */
export function stringValue(t: Tlv): string | undefined {
  const c = content(t);
  switch (t.tag) {
    case 0x13:
    case 0x0c:
    case 0x16:
      return c.toString('utf8');
    case 0x14:
      return c.toString('latin1');
    case 0x1e:
      return Buffer.from(c).swap16().toString('utf16le');
    default:
      return undefined;
  }
}

/** Unsigned big-endian INTEGER contents as lowercase hex without leading zero bytes. */
export function integerHex(t: Tlv): string {
  if (t.tag !== 0x02) throw new DerError('expected an INTEGER');
  return content(t).toString('hex').replace(/^(00)+(?=.)/, '');
}

// The few DER encodings the hot paths need, written directly: assembling a signed structure
// from already-encoded parts is byte concatenation, and round-tripping it through asn1js
// objects only to re-serialise them would double the work on every SCEP enrollment.

export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.of(tag), derLength(body.length), body]);
}

export const derSequence = (...parts: Uint8Array[]): Buffer => tlv(0x30, ...parts);

/** A DER SET OF: members sorted by their encodings (X.690 11.6), which Go's verifiers insist on. */
export function derSetOf(members: Uint8Array[]): Buffer {
  const sorted = members.map((m) => Buffer.from(m)).sort(Buffer.compare);
  return tlv(0x31, ...sorted);
}

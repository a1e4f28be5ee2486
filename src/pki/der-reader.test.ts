import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import * as asn1js from 'asn1js';
import { certInfo, nameToString, timeValue } from './cert-info.ts';
import { children, DerError, integerHex, octetString, oidString, readDer, readTlv, stringValue } from './der-reader.ts';
import { derSetOf, derSequence, tlv } from './der.ts';
import { OID, buildCertificate, makeName, randomSerial, timeDer } from './x509.ts';

test('reads definite lengths in all their forms', () => {
  for (const len of [0, 1, 127, 128, 255, 256, 70_000]) {
    const der = tlv(0x04, Buffer.alloc(len, 7));
    const t = readDer(der);
    assert.equal(t.contentEnd - t.contentStart, len);
    assert.equal(octetString(t).length, len);
  }
});

test('reads BER indefinite lengths and chunked OCTET STRINGs', () => {
  const chunked = Buffer.concat([Buffer.of(0x24, 0x80), tlv(0x04, Buffer.from('ab')), tlv(0x04, Buffer.from('cd')), Buffer.of(0, 0)]);
  const seq = Buffer.concat([Buffer.of(0x30, 0x80), chunked, tlv(0x02, Buffer.of(5)), Buffer.of(0, 0)]);
  const [os, int] = children(readDer(seq));
  assert.equal(octetString(os!).toString(), 'abcd');
  assert.equal(integerHex(int!), '05');
});

test('refuses truncation, trailing bytes, oversized lengths and runaway nesting, with DerError', () => {
  const good = derSequence(tlv(0x02, Buffer.of(1)));
  for (const bad of [
    good.subarray(0, good.length - 1),
    Buffer.concat([good, Buffer.of(0)]),
    Buffer.of(0x30, 0x85, 1, 1, 1, 1, 1),
    Buffer.of(0x04, 0x80, 0, 0),
    Buffer.concat([Buffer.alloc(80, 0x30).map((_, i) => (i % 2 ? 0x80 : 0x30))]),
    Buffer.of(0x1f, 0x01, 0x00),
  ]) {
    assert.throws(() => children(readDer(bad)).map((c) => readTlv(c.buf, c.start)), DerError, bad.toString('hex'));
  }
});

test('OIDs, strings and integers agree with asn1js', () => {
  for (const value of ['1.2.840.113549.1.9.7', '2.16.840.1.113733.1.9.2', '2.5.29.37', '2.999.3']) {
    assert.equal(oidString(readDer(Buffer.from(new asn1js.ObjectIdentifier({ value }).toBER()))), value);
  }
  assert.equal(stringValue(readDer(Buffer.from(new asn1js.Utf8String({ value: 'pässwörd' }).toBER()))), 'pässwörd');
  assert.equal(stringValue(readDer(Buffer.from(new asn1js.PrintableString({ value: 'abc 123' }).toBER()))), 'abc 123');
  assert.equal(stringValue(readDer(Buffer.from(new asn1js.BmpString({ value: 'bmp' }).toBER()))), 'bmp');
  assert.equal(integerHex(readDer(Buffer.of(0x02, 0x02, 0x00, 0xff))), 'ff');
});

test('DER SET OF is sorted by encoding', () => {
  const set = derSetOf([tlv(0x04, Buffer.of(2)), tlv(0x02, Buffer.of(9)), tlv(0x04, Buffer.of(1))]);
  assert.deepEqual([...set], [0x31, 9, 0x02, 1, 9, 0x04, 1, 1, 0x04, 1, 2]);
});

test('times: UTCTime until 2049, GeneralizedTime from 2050, both read back', () => {
  for (const iso of ['2026-11-23T14:00:05Z', '2049-12-31T23:59:59Z', '2050-01-01T00:00:00Z', '2099-06-01T12:00:00Z']) {
    const d = new Date(iso);
    const der = timeDer(d);
    assert.equal(der[0], d.getUTCFullYear() < 2050 ? 0x17 : 0x18);
    assert.equal(timeValue(readDer(der)), d.getTime());
  }
});

test('a built certificate reads back the same through node:crypto and certInfo', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const name = makeName([[OID.organization, 'Org'], [OID.commonName, 'Ünïcode CN']]);
  const serial = randomSerial();
  const der = buildCertificate({
    serial,
    subject: name,
    issuer: name,
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2060-01-01T00:00:00Z'),
    spki: publicKey.export({ type: 'spki', format: 'der' }),
    extensions: [],
    signingKey: privateKey,
  });
  const x = new crypto.X509Certificate(der);
  assert.ok(x.verify(publicKey));
  assert.equal(x.subject, 'O=Org\nCN=Ünïcode CN');
  const info = certInfo(der);
  assert.equal(info.serialHex, x.serialNumber.toLowerCase());
  assert.equal(info.notAfter, Date.parse(x.validTo));
  assert.equal(nameToString(info.subjectDer), 'O=Org, CN=Ünïcode CN');
  assert.ok(info.spkiDer.equals(publicKey.export({ type: 'spki', format: 'der' })));
});

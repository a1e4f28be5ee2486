// SCEP building blocks against messages captured from real clients (micromdm's scepclient and scepserver).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import * as pkijs from 'pkijs';
import { certInfo, nameAttribute, nameToString } from '../src/pki/cert-info.ts';import { MessageType } from '../src/pki/scep/constants.ts';
import { parseCsr } from '../src/pki/scep/csr.ts';
import { makeRecipient, openEnvelope, sealEnvelope } from '../src/pki/scep/envelope.ts';
import { ScepFailure } from '../src/pki/scep/failure.ts';
import { makeSigner } from '../src/pki/cms.ts';
import { buildCertRep, degenerateSignedData, parsePkiMessage } from '../src/pki/scep/pki-message.ts';
import { unwrapPkcs1 } from '../src/pki/scep/rsa-pkcs1.ts';
import { readCertRep } from './support/scep-client.ts';

const dir = path.join(import.meta.dirname, 'fixtures/scep-real-clients');
const read = (f: string) => fs.readFileSync(path.join(dir, f));
const caCertDer = new crypto.X509Certificate(read('micromdm-ca.pem')).raw;
const caCert = certInfo(caCertDer);
const caKey = crypto.createPrivateKey({ key: read('micromdm-ca.key.enc-empty-pass.pem'), passphrase: '' });
const deviceKey = crypto.createPrivateKey(read('scepclient-device-001.key.pem'));
const pkcsReq = read('scepclient-pkcsreq-des-sha1.der');

describe('scepclient PKCSReq capture (DES-CBC, SHA-1)', () => {
  test('parses and its SHA-1 signature verifies', () => {
    const { request, failure } = parsePkiMessage(pkcsReq);
    assert.equal(failure, undefined);
    assert.equal(request.messageType, MessageType.PKCSReq);
    assert.ok(request.transactionId.length > 0);
    assert.equal(request.senderNonce.length, 16);
    assert.equal(nameAttribute(request.signer.subjectDer, '2.5.4.3'), 'SCEP SIGNER');
  });

  test('a flipped byte in the signed content fails the message check', () => {
    const tampered = Buffer.from(pkcsReq);
    tampered[tampered.length - 300]! ^= 0x01;
    let outcome: ReturnType<typeof parsePkiMessage> | Error;
    try {
      outcome = parsePkiMessage(tampered);
    } catch (e) {
      outcome = e as Error;
    }
    assert.ok(!(outcome instanceof Error) && outcome.failure?.failInfo === '1', 'badMessageCheck');
  });

  test('decrypts with the CA key (single DES through 3DES K1=K2=K3) and yields the CSR and its challenge', () => {
    const { request } = parsePkiMessage(pkcsReq);
    const { content, des } = openEnvelope(request.envelope, [makeRecipient(caCert, caKey)], true);
    assert.equal(des, true);
    const csr = parseCsr(content);
    assert.equal(typeof csr.challenge, 'string');
    assert.ok(csr.challenge!.length > 0);
    assert.match(nameToString(csr.subject), /CN=/);
    // The CSR key is the device key from the capture.
    const devicePub = crypto.createPublicKey(deviceKey).export({ type: 'spki', format: 'der' });
    assert.ok(csr.spki.equals(devicePub));
  });

  test('DES refused when disabled, with badAlg', () => {
    const { request } = parsePkiMessage(pkcsReq);
    assert.throws(() => openEnvelope(request.envelope, [makeRecipient(caCert, caKey)], false), (e: unknown) => e instanceof ScepFailure && e.failInfo === '0');
  });

  test('a wrong key never reveals a padding error: same failure as a bad content decryption', () => {
    const { request } = parsePkiMessage(pkcsReq);
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    // The pseudo-random key decrypts to garbage: usually the CBC padding check fails (badMessageCheck);
    // when the garbage happens to end in valid padding, the CSR parse refuses it instead.
    try {
      const { content } = openEnvelope(request.envelope, [makeRecipient(caCert, other)], true);
      assert.throws(() => parseCsr(content), (e: unknown) => e instanceof ScepFailure);
    } catch (e) {
      assert.ok(e instanceof ScepFailure && e.failInfo === '1', String(e));
    }
  });

  test('a CertRep we build for it opens with the device key, and its signature verifies', () => {
    const { request } = parsePkiMessage(pkcsReq);
    const issued = caCertDer; // any certificate will do as the payload
    const signer = makeSigner(caCertDer, caKey);
    const rep = buildCertRep(signer, request, { status: 'SUCCESS', envelope: sealEnvelope(degenerateSignedData([issued]), request.signer) });
    const read = readCertRep(rep, caCert, makeSigner(request.signer.der, deviceKey));
    assert.equal(read.status, '0');
    assert.equal(read.transactionId, request.transactionId);
    assert.ok(read.recipientNonce.equals(request.senderNonce));
    assert.equal(read.certs.length, 1);
    assert.ok(read.certs[0]!.equals(issued));
  });
});

describe("micromdm scepserver's CertRep capture", () => {
  test('verifies, and the device key opens the issued certificate', () => {
    const der = read('micromdm-certrep-success.der');
    const { request, failure } = parsePkiMessage(der);
    assert.equal(failure, undefined);
    assert.equal(request.messageType, MessageType.CertRep);
    const req = parsePkiMessage(pkcsReq).request;
    assert.equal(request.transactionId, req.transactionId);
    const { content } = openEnvelope(request.envelope, [makeRecipient(req.signer, deviceKey)], true);
    const inner = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(content).content });
    const cert = Buffer.from((inner.certificates![0] as pkijs.Certificate).toSchema().toBER());
    assert.ok(certInfo(cert).issuerDer.equals(caCert.subjectDer));
    const x = new crypto.X509Certificate(cert);
    assert.ok(x.verify(new crypto.X509Certificate(caCertDer).publicKey));
  });
});

describe('PKCS#1 v1.5 unwrap with implicit rejection', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const secret = crypto.randomBytes(32);
  test('recovers a correctly padded key', () => {
    const cek = crypto.randomBytes(16);
    const ct = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, cek);
    assert.ok(unwrapPkcs1(privateKey, ct, 16, secret).equals(cek));
  });
  test('wrong length, bad padding and garbage give a stable pseudo-random key, never an error', () => {
    const ct = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_PKCS1_PADDING }, crypto.randomBytes(24));
    const a = unwrapPkcs1(privateKey, ct, 16, secret);
    assert.equal(a.length, 16);
    assert.ok(a.equals(unwrapPkcs1(privateKey, ct, 16, secret)), 'deterministic for the same ciphertext');
    const raw = crypto.publicEncrypt({ key: publicKey, padding: crypto.constants.RSA_NO_PADDING }, Buffer.concat([Buffer.of(0, 1), crypto.randomBytes(254)]));
    assert.equal(unwrapPkcs1(privateKey, raw, 16, secret).length, 16);
    assert.equal(unwrapPkcs1(privateKey, crypto.randomBytes(7), 16, secret).length, 16);
  });
});

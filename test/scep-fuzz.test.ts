// Mutated and truncated pkiMessages straight into the SCEP service: whatever the bytes, the
// answer is a CertRep or a MalformedMessage (a bare 400), never another exception.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { compose, type Appliance } from '../src/main.ts';
import { derSequence, tlv } from '../src/pki/der.ts';
import { CMS_OID, MessageType } from '../src/pki/scep/constants.ts';
import { MalformedMessage, scepAttribute, signPkiMessage } from '../src/pki/scep/pki-message.ts';
import { createScepService, type ScepService } from '../src/pki/scep/service.ts';
import { oid } from '../src/pki/x509.ts';
import { buildCsr, newDevice, pkiRequest, type Device } from './support/scep-client.ts';
import { tempDir } from './support/server.ts';

let app: Appliance;
let scep: ScepService;
let device: Device;

before(() => {
  const config = loadConfig({ MDM_DATA_DIR: tempDir(), MDM_HTTP_PORT: '0', MDM_LOG_LEVEL: 'silent' });
  app = compose(config, createLogger('silent'));
  scep = createScepService({ ca: app.ca, repo: app.pkiRepo, log: createLogger('silent'), staticChallenge: 'fuzz-static-challenge', allowDes: true });
  device = newDevice();
});
after(() => app.store.close());

function answer(body: Buffer): 'certrep' | 'malformed' {
  try {
    const r = scep.pkiOperation(body);
    assert.ok(r.body.length > 0);
    return 'certrep';
  } catch (e) {
    if (e instanceof MalformedMessage) return 'malformed';
    throw new Error(`unexpected ${(e as Error).stack} for ${body.toString('hex').slice(0, 200)}`);
  }
}

test('random byte flips, insertions and truncations never escape as exceptions', () => {
  const valid = pkiRequest({
    signer: device.selfSigned,
    recipient: app.ca.ra.info,
    messageType: MessageType.PKCSReq,
    payload: buildCsr(device, { cn: 'fuzz', challenge: 'fuzz-static-challenge' }),
  }).der;
  assert.equal(answer(valid), 'certrep');
  let seed = 1;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const seen = { certrep: 0, malformed: 0 };
  for (let i = 0; i < 1500; i++) {
    const b = Buffer.from(valid);
    const kind = i % 3;
    let mutated: Buffer;
    if (kind === 0) {
      for (let k = 0; k <= rand(4); k++) b[rand(b.length)] = rand(256);
      mutated = b;
    } else if (kind === 1) {
      const at = rand(b.length);
      mutated = Buffer.concat([b.subarray(0, at), crypto.randomBytes(1 + rand(8)), b.subarray(at)]);
    } else {
      mutated = b.subarray(0, rand(b.length));
    }
    seen[answer(mutated)]++;
  }
  assert.ok(seen.malformed > 0 && seen.certrep > 0, JSON.stringify(seen));
});

test('structurally odd but signed messages get FAILURE CertReps', () => {
  const odd = [
    Buffer.alloc(0),
    Buffer.from('not der'),
    derSequence(oid(CMS_OID.data), tlv(0xa0, tlv(0x04, Buffer.from('x')))), // inner ContentInfo of type data
    derSequence(oid(CMS_OID.envelopedData), tlv(0xa0, derSequence(Buffer.of(2, 1, 0), tlv(0x31), derSequence()))), // no recipients
  ];
  for (const envelope of odd) {
    const der = signPkiMessage(device.selfSigned, envelope, [
      scepAttribute.messageType(MessageType.PKCSReq),
      scepAttribute.transactionId(crypto.randomUUID()),
      scepAttribute.senderNonce(crypto.randomBytes(16)),
    ]);
    const r = scep.pkiOperation(der);
    assert.equal(r.outcome, 'failure', envelope.toString('hex'));
  }
});

test('mutated envelopes and CSRs behind a valid signature get FAILURE CertReps or issue, never throw', () => {
  const csr = buildCsr(device, { cn: 'fuzz2', challenge: 'fuzz-static-challenge' });
  let seed = 7;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const flip = (b: Buffer) => {
    const c = Buffer.from(b);
    if (rand(2)) return c.subarray(0, rand(c.length));
    for (let k = 0; k <= rand(3); k++) c[rand(c.length)] = rand(256);
    return c;
  };
  const outcomes = new Map<string, number>();
  for (let i = 0; i < 300; i++) {
    const req = pkiRequest({
      signer: device.selfSigned,
      recipient: app.ca.ra.info,
      messageType: MessageType.PKCSReq,
      payload: i % 2 ? flip(csr) : csr,
      mutateEnvelope: i % 2 ? undefined : flip,
    });
    let outcome: string;
    try {
      outcome = scep.pkiOperation(req.der).outcome;
    } catch (e) {
      throw new Error(`iteration ${i}: ${(e as Error).stack}`);
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  assert.ok((outcomes.get('failure') ?? 0) > 200, JSON.stringify([...outcomes]));
});

import crypto from 'node:crypto';
import type { Logger } from '../../log.ts';
import type { Authority, Ca } from '../ca.ts';
import { children, expect, integerHex, raw, readDer } from '../der-reader.ts';
import { hashChallenge } from '../challenges.ts';
import type { PkiRepo } from '../repo.ts';
import { sha256Hex } from '../x509.ts';
import { CA_CAPS, FailInfo, MessageType } from './constants.ts';
import { parseCsr } from './csr.ts';
import { makeRecipient, openEnvelope, sealEnvelope } from './envelope.ts';
import { ScepFailure } from './failure.ts';
import { makeSigner } from '../cms.ts';
import { buildCertRep, degenerateSignedData, parsePkiMessage, type PkiRequest } from './pki-message.ts';

export interface ScepOptions {
  ca: Ca;
  repo: PkiRepo;
  log: Logger;
  staticChallenge: string | null;
  allowDes: boolean;
  now?: () => number;
}

export type ScepOutcome = 'issued' | 'renewed' | 'reissued' | 'failure' | 'sent';

/**
 * RFC 8894 server operations over already-read HTTP bodies: no HTTP here, so the routes stay
 * thin and the benchmark can drive the same code.
 */
export function createScepService(opts: ScepOptions) {
  const { ca, repo, log } = opts;
  const now = opts.now ?? Date.now;
  // Derived from the current RA; rebuilt when the CA rotates it.
  let keys!: { ra: Authority; signer: ReturnType<typeof makeSigner>; recipients: ReturnType<typeof makeRecipient>[]; caCertsDer: Buffer };
  const current = () => {
    if (keys?.ra !== ca.ra) {
      keys = {
        ra: ca.ra,
        signer: makeSigner(ca.ra.der, ca.ra.key),
        // Clients may encrypt to the RA or to the CA (both are in GetCACert).
        recipients: [makeRecipient(ca.ra.info, ca.ra.key), makeRecipient(ca.ca.info, ca.ca.key)],
        caCertsDer: degenerateSignedData([ca.ra.der, ca.ca.der]),
      };
    }
    return keys;
  };
  const staticChallenge = opts.staticChallenge ? Buffer.from(hashChallenge(opts.staticChallenge), 'hex') : null;
  let warnedDes = false;

  const success = (request: PkiRequest, payload: Buffer) =>
    buildCertRep(current().signer, request, { status: 'SUCCESS', envelope: sealEnvelope(payload, request.signer) });

  function open(request: PkiRequest): Buffer {
    if (!request.envelope.length) throw new ScepFailure(FailInfo.badRequest, 'the message has no pkcsPKIEnvelope');
    const { content, des } = openEnvelope(request.envelope, current().recipients, opts.allowDes);
    if (des && !warnedDes) {
      warnedDes = true;
      log.info('accepted a single-DES SCEP request (scepclient and old clients); replies are always AES-128 (MDM_SCEP_ALLOW_DES=false refuses DES)');
    }
    return content;
  }

  function authorise(challenge: string | undefined): { owner: string; challengeId: string | null } {
    if (challenge === undefined) throw new ScepFailure(FailInfo.badRequest, 'no challengePassword in the request');
    const hash = hashChallenge(challenge);
    if (staticChallenge && crypto.timingSafeEqual(staticChallenge, Buffer.from(hash, 'hex'))) return { owner: 'scep:static', challengeId: null };
    const id = repo.consumeChallenge(hash, now());
    if (!id) throw new ScepFailure(FailInfo.badRequest, 'the challenge is unknown, used or expired');
    return { owner: `scep:${id}`, challengeId: id };
  }

  function enroll(request: PkiRequest): { der: Buffer; outcome: ScepOutcome; serial: string } {
    const csr = parseCsr(open(request));
    const renewal = ca.verifyIssued(request.signer);
    const requestId = sha256Hex(Buffer.from(`${request.transactionId}\0${sha256Hex(csr.spki)}\0${renewal?.serial ?? ''}`));
    const retried = repo.certificateByScepRequest(requestId);
    if (retried) return { der: retried.der, outcome: 'reissued', serial: retried.serial };
    if (request.messageType === MessageType.RenewalReq && !renewal) {
      throw new ScepFailure(FailInfo.badRequest, 'RenewalReq must be signed by a valid certificate this CA issued');
    }
    try {
      return repo.transaction(() => {
        const auth = renewal ? { owner: `renewal:${renewal.serial}`, challengeId: null } : authorise(csr.challenge);
        const issued = ca.issueDevice({
          subject: csr.subject,
          spki: csr.spki,
          subjectAltName: csr.subjectAltName,
          owner: auth.owner,
          scepTransactionId: request.transactionId,
          scepRequestId: requestId,
          renewedFrom: renewal?.serial,
        });
        if (auth.challengeId) repo.recordChallengeUse(auth.challengeId, issued.serial);
        return { der: issued.der, outcome: renewal ? ('renewed' as const) : ('issued' as const), serial: issued.serial };
      });
    } catch (e) {
      // A concurrent retry of the same transaction won the insert: answer with its certificate.
      if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') {
        const again = repo.certificateByScepRequest(requestId);
        if (again) return { der: again.der, outcome: 'reissued', serial: again.serial };
      }
      throw e;
    }
  }

  function issuerAndSerialOf(content: Buffer): { issuer: Buffer; serial: string } {
    try {
      const [issuer, serial] = children(expect(readDer(content), 0x30, 'IssuerAndSerialNumber'));
      return { issuer: raw(expect(issuer, 0x30, 'issuer')), serial: integerHex(serial!) };
    } catch {
      throw new ScepFailure(FailInfo.badRequest, 'the envelope does not hold an IssuerAndSerialNumber');
    }
  }

  function handle(request: PkiRequest): { body: Buffer; outcome: ScepOutcome; serial?: string } {
    switch (request.messageType) {
      case MessageType.PKCSReq:
      case MessageType.RenewalReq: {
        const r = enroll(request);
        return { body: success(request, degenerateSignedData([r.der])), outcome: r.outcome, serial: r.serial };
      }
      case MessageType.CertPoll: {
        open(request);
        const signerKey = sha256Hex(request.signer.spkiDer);
        const row = repo.certificateByScepTransaction(request.transactionId, signerKey);
        if (!row) throw new ScepFailure(FailInfo.badCertId, 'no certificate was issued for this transaction');
        return { body: success(request, degenerateSignedData([row.der])), outcome: 'sent', serial: row.serial };
      }
      case MessageType.GetCert: {
        const { issuer, serial } = issuerAndSerialOf(open(request));
        const row = issuer.equals(ca.ca.info.subjectDer) ? repo.certificate(serial) : undefined;
        if (!row) throw new ScepFailure(FailInfo.badCertId, `no certificate with serial ${serial} from this CA`);
        return { body: success(request, degenerateSignedData([row.der])), outcome: 'sent', serial };
      }
      case MessageType.GetCRL: {
        const { issuer } = issuerAndSerialOf(open(request));
        if (!issuer.equals(ca.ca.info.subjectDer)) throw new ScepFailure(FailInfo.badCertId, 'the certificate is not from this CA');
        return { body: success(request, degenerateSignedData([], [ca.crl()])), outcome: 'sent' };
      }
      default:
        throw new ScepFailure(FailInfo.badRequest, `unsupported messageType ${request.messageType}`);
    }
  }

  return {
    caps: () => CA_CAPS.join('\n') + '\n',
    caCerts: () => current().caCertsDer,

    /** Answers one pkiMessage with a CertRep; MalformedMessage (a bare 400) when there is nothing to answer to. */
    pkiOperation(body: Uint8Array): { body: Buffer; outcome: ScepOutcome; messageType: string; serial?: string; reason?: string } {
      const { request, failure } = parsePkiMessage(body);
      const fail = (f: ScepFailure) => {
        log.warn({ transactionId: request.transactionId, messageType: request.messageType, failInfo: f.failInfo, reason: f.reason }, 'SCEP request refused');
        return {
          body: buildCertRep(current().signer, request, { status: 'FAILURE', failInfo: f.failInfo }),
          outcome: 'failure' as const,
          messageType: request.messageType,
          reason: f.reason,
        };
      };
      if (failure) return fail(failure);
      try {
        const r = handle(request);
        if (r.outcome !== 'sent') log.info({ transactionId: request.transactionId, serial: r.serial, outcome: r.outcome }, 'SCEP certificate issued');
        return { ...r, messageType: request.messageType };
      } catch (e) {
        if (e instanceof ScepFailure) return fail(e);
        throw e;
      }
    },
  };
}

export type ScepService = ReturnType<typeof createScepService>;

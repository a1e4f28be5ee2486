import crypto, { type KeyObject, type X509Certificate } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { certInfo, nameToString } from '../pki/cert-info.ts';
import { toPem } from '../pki/x509.ts';
import type { Sealer } from '../secrets/seal.ts';
import { generatePushCsr, subjectText } from './csr.ts';
import { expiryOf, type ExpiryState } from './expiry.ts';
import { keyMatches, readPrivateKey, readPushCertificate } from './pem.ts';
import type { PushCertificateRow, PushCsrRow, PushRepo, PushVendorRow } from './repo.ts';
import { APPLE_PUSH_PORTAL, pushCertificateRequest } from './request.ts';
import { readVendorIdentity, splitDer, type VendorSource } from './vendor.ts';

export interface PushCertificatesOptions {
  repo: PushRepo;
  sealer: Sealer;
  log: Logger;
  /** The default common name of push CSRs (MDM_ORGANIZATION). */
  organization: string;
  now?: () => number;
  /** How often subscribers' certificate is compared with the database, for imports by another process. */
  pollMs?: number;
  /** Told once a day, with the day's log line, when the certificate is expiring, critical or expired (webhooks). */
  onExpiring?: (status: PushStatus) => void;
}

export interface PushCertificate {
  id: string;
  /** The subject UID: the Topic of every enrollment profile, and the APNs topic of every push. */
  topic: string;
  /** Lowercase hex, as `mdm cert list` prints serials. */
  serial: string;
  certDer: Buffer;
  notBefore: number;
  notAfter: number;
  createdAt: number;
}

/** What an APNs client needs to connect: the certificate and its key as PEM, read from one row. */
export interface PushIdentity extends PushCertificate {
  certPem: string;
  keyPem: string;
}

export interface PushStatus {
  state: ExpiryState;
  daysLeft: number;
  topic: string;
  notAfter: number;
}

export interface PushCsr {
  id: string;
  subject: string;
  csrDer: Buffer;
  csrPem: string;
  createdAt: number;
}

export interface VendorCertificate {
  id: string;
  subject: string;
  serial: string;
  notBefore: number;
  notAfter: number;
  /** Subjects of the chain above the vendor certificate, up to the root. */
  chain: string[];
  createdAt: number;
}

export interface ImportOptions {
  passphrase?: string | undefined;
  /** Accept a certificate whose topic differs from the active one's. */
  force?: boolean | undefined;
}

const certKeyLabel = (id: string) => `push:${id}`;
const csrKeyLabel = (id: string) => `push-csr:${id}`;
const vendorKeyLabel = (id: string) => `push-vendor:${id}`;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);
const pkcs8 = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'der' });
const RENEW = `renew it at ${APPLE_PUSH_PORTAL} with the Apple ID that created it`;

const summary = (row: PushCertificateRow): PushCertificate => ({
  id: row.id,
  topic: row.topic,
  serial: row.serial,
  certDer: row.certDer,
  notBefore: row.notBefore,
  notAfter: row.notAfter,
  createdAt: row.createdAt,
});

const csrView = (row: PushCsrRow): PushCsr => ({
  id: row.id,
  subject: row.subject,
  csrDer: row.csrDer,
  csrPem: toPem('CERTIFICATE REQUEST', row.csrDer),
  createdAt: row.createdAt,
});

const vendorView = (row: PushVendorRow): VendorCertificate => ({
  id: row.id,
  subject: row.subject,
  serial: row.serial,
  notBefore: row.notBefore,
  notAfter: row.notAfter,
  chain: splitDer(row.chainDer).map((der) => nameToString(certInfo(der).subjectDer)),
  createdAt: row.createdAt,
});

/**
 * The Apple MDM push certificate and what it takes to get one: push CSRs whose keys never leave
 * the database, the vendor certificate that signs them for Apple's portal, the import of what
 * Apple issues (matched to its CSR, topic kept across renewals), hot swap and expiry.
 */
export function createPushCertificates(opts: PushCertificatesOptions) {
  const { repo, sealer, log } = opts;
  const now = opts.now ?? Date.now;
  const pollMs = opts.pollMs ?? 1000;

  function identity(row: PushCertificateRow, key?: KeyObject): PushIdentity {
    const k = key ?? crypto.createPrivateKey({ key: sealer.unseal(certKeyLabel(row.id), row.keySealed), format: 'der', type: 'pkcs8' });
    return {
      ...summary(row),
      certPem: new crypto.X509Certificate(row.certDer).toString(),
      keyPem: k.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  function activeIdentity(): PushIdentity | null {
    const row = repo.active();
    return row ? identity(row) : null;
  }

  // Hot swap. `announced` is the id subscribers were last told about (undefined: nobody asked yet).
  const listeners = new Set<(identity: PushIdentity | null) => void>();
  let announced: string | null | undefined;
  let poll: NodeJS.Timeout | null = null;

  function announce(next: PushIdentity | null): void {
    announced = next?.id ?? null;
    for (const listener of listeners) {
      try {
        listener(next);
      } catch (e) {
        log.error({ err: e }, 'a push certificate change listener failed');
      }
    }
  }

  function refresh(): boolean {
    const id = repo.activeId();
    if (announced === undefined) {
      announced = id;
      return false;
    }
    if (id === announced) return false;
    const next = id === null ? null : activeIdentity();
    log.info({ id: next?.id, topic: next?.topic }, 'the active push certificate changed in another process');
    announce(next);
    return true;
  }

  /** The key of the CSR made here whose public key the certificate carries, newest CSR first. */
  function matchCsr(x509: X509Certificate): { row: PushCsrRow; key: KeyObject } {
    const rows = repo.csrs();
    const row = rows.find((r) => crypto.createPublicKey({ key: r.spkiDer, format: 'der', type: 'spki' }).equals(x509.publicKey));
    if (!row) {
      if (rows.length === 0) {
        throw new AppError(
          'push_key_missing',
          'no private key was given and no push CSR was made here: give the key the certificate was issued for (--key FILE, API: private_key), or start over with mdm push csr',
          422,
        );
      }
      throw new AppError(
        'push_csr_no_match',
        `the certificate's public key belongs to none of the ${rows.length} push CSRs made here: it was issued for a CSR made elsewhere; import it with that CSR's key (--key FILE, API: private_key)`,
        422,
      );
    }
    return { row, key: crypto.createPrivateKey({ key: sealer.unseal(csrKeyLabel(row.id), row.keySealed), format: 'der', type: 'pkcs8' }) };
  }

  function status(at: number = now()): PushStatus | null {
    const row = repo.active();
    if (!row) return null;
    return { ...expiryOf(row.notAfter, at), topic: row.topic, notAfter: row.notAfter };
  }

  let expiryLoggedOn: string | null = null;

  return {
    /**
     * Checks the certificate and makes it the active one, retiring the previous one in the same
     * transaction. Its key is `keyPem`, or without one the key of the push CSR made here that
     * the certificate was issued for. A topic other than the active certificate's is refused
     * unless `force`: devices subscribe to the topic at enrollment. Nothing is stored when a
     * check fails. Subscribers (`onChange`) are told at once.
     */
    importPem(certPem: string, keyPem: string | undefined, options: ImportOptions = {}): PushCertificate {
      const { x509, info, topic } = readPushCertificate(certPem);
      const t = now();
      if (t < info.notBefore) throw new AppError('push_cert_expired', `the push certificate is not valid before ${day(info.notBefore)}`, 422);
      if (t > info.notAfter) {
        throw new AppError('push_cert_expired', `the push certificate expired on ${day(info.notAfter)}: ${RENEW} and import the renewed one`, 422);
      }
      let key: KeyObject;
      let csr: PushCsrRow | undefined;
      if (keyPem !== undefined) {
        key = readPrivateKey(keyPem, options.passphrase);
        if (!keyMatches(x509, key)) {
          throw new AppError('push_key_mismatch', 'the private key does not belong to the push certificate: use the key of the CSR it was issued for', 422);
        }
      } else {
        ({ row: csr, key } = matchCsr(x509));
      }
      const id = crypto.randomUUID();
      const row: PushCertificateRow = {
        id,
        topic,
        certDer: info.der,
        keySealed: sealer.seal(certKeyLabel(id), pkcs8(key)),
        serial: info.serialHex,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        status: 'active',
        createdAt: t,
      };
      const previous = repo.transaction(() => {
        const current = repo.active();
        if (current && current.topic !== topic && !options.force) {
          throw new AppError(
            'push_topic_changed',
            `the certificate's topic ${topic} differs from the active certificate's ${current.topic}: every device enrolled under ${current.topic} would stop getting pushes until it re-enrolls. ` +
              `Renew the existing certificate at ${APPLE_PUSH_PORTAL} (Renew, with the Apple ID that created it) to keep the topic, or replace it anyway with --force (API: "force": true)`,
            409,
          );
        }
        repo.retireActive();
        repo.insert(row);
        if (csr) repo.markCsrIssued(csr.id, id);
        return current;
      });
      if (previous && previous.topic !== topic) {
        log.warn({ previous: previous.topic, topic }, 'the push topic changed: devices enrolled under the previous topic no longer get pushes until they re-enroll');
      }
      log.info({ id, topic, serial: row.serial, notAfter: new Date(row.notAfter).toISOString(), replaced: previous?.id, csr: csr?.id }, 'imported push certificate');
      if (listeners.size > 0) announce(identity(row, key));
      else announced = id;
      return summary(row);
    },

    active(): PushCertificate | null {
      const row = repo.active();
      return row ? summary(row) : null;
    },

    /** The active certificate with its unsealed key, for the APNs client. */
    activeIdentity,

    activeKeyPem(): string | null {
      return activeIdentity()?.keyPem ?? null;
    },

    /**
     * Hot swap: `listener` gets the new active identity whenever it changes, at once for imports
     * in this process and within `pollMs` for imports by another one (`mdm push import` beside
     * the server). It is not called with the current identity: read `activeIdentity()` first.
     * Returns the unsubscribe function; the poll runs while anyone is subscribed.
     */
    onChange(listener: (identity: PushIdentity | null) => void): () => void {
      if (announced === undefined) announced = repo.activeId();
      listeners.add(listener);
      if (!poll) {
        poll = setInterval(() => {
          try {
            refresh();
          } catch (e) {
            log.error({ err: e }, 'cannot read the active push certificate');
          }
        }, pollMs);
        poll.unref();
      }
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0 && poll) {
          clearInterval(poll);
          poll = null;
        }
      };
    },

    /** Compares the active certificate with the one subscribers know and tells them of a change; true when there was one. */
    refresh,

    /** Expiry of the active certificate at `at`: ok, expiring (≤30 days left), critical (≤7), expired; null without one. */
    status,

    /**
     * Logs the expiry state, at most once per UTC day (housekeeping calls it hourly): info when
     * ok, warn when expiring, error when critical or expired, warn when there is no certificate.
     */
    checkExpiry(): PushStatus | null {
      const t = now();
      const current = status(t);
      if (expiryLoggedOn === day(t)) return current;
      expiryLoggedOn = day(t);
      if (!current) {
        log.warn('no Apple push certificate yet: make a CSR with `mdm push csr` and import what Apple issues with `mdm push import`; Apple devices cannot enroll until then');
        return current;
      }
      const fields = { state: current.state, daysLeft: current.daysLeft, topic: current.topic, notAfter: new Date(current.notAfter).toISOString() };
      if (current.state === 'ok') log.info(fields, `the Apple push certificate is valid for ${current.daysLeft} more days`);
      else if (current.state === 'expiring') log.warn(fields, `the Apple push certificate expires in ${current.daysLeft} days: ${RENEW}`);
      else if (current.state === 'critical') log.error(fields, `the Apple push certificate expires in ${current.daysLeft} days: ${RENEW} now`);
      else log.error(fields, `the Apple push certificate expired on ${day(current.notAfter)}: devices get no pushes until you ${RENEW}`);
      if (current.state !== 'ok') opts.onExpiring?.(current);
      return current;
    },

    /**
     * A new RSA-2048 key, sealed, and its CSR; earlier pending CSRs are superseded (their keys
     * still match a certificate issued for them). The common name defaults to the organisation.
     */
    createCsr(subject: { commonName?: string | undefined; email?: string | undefined } = {}): PushCsr {
      const wanted = { commonName: subject.commonName ?? opts.organization, email: subject.email };
      const { der, key, spki } = generatePushCsr(wanted);
      const id = crypto.randomUUID();
      const row: PushCsrRow = {
        id,
        subject: subjectText({ commonName: wanted.commonName.trim(), email: wanted.email }),
        csrDer: der,
        spkiDer: spki,
        keySealed: sealer.seal(csrKeyLabel(id), pkcs8(key)),
        status: 'pending',
        createdAt: now(),
        certificateId: null,
      };
      repo.transaction(() => {
        repo.supersedePendingCsrs();
        repo.insertCsr(row);
      });
      log.info({ id, subject: row.subject }, 'made a push CSR');
      return csrView(row);
    },

    /** The newest CSR no certificate has been imported for yet. */
    pendingCsr(): PushCsr | null {
      const row = repo.pendingCsr();
      return row ? csrView(row) : null;
    },

    /** Checks the vendor identity and its chain, seals the key and makes it the active vendor certificate. */
    importVendor(source: VendorSource): VendorCertificate {
      const t = now();
      const vendor = readVendorIdentity(source, t);
      const id = crypto.randomUUID();
      const row: PushVendorRow = {
        id,
        subject: nameToString(vendor.info.subjectDer),
        serial: vendor.info.serialHex,
        certDer: vendor.info.der,
        chainDer: Buffer.concat(vendor.chain),
        keySealed: sealer.seal(vendorKeyLabel(id), pkcs8(vendor.key)),
        notBefore: vendor.info.notBefore,
        notAfter: vendor.info.notAfter,
        status: 'active',
        createdAt: t,
      };
      repo.transaction(() => {
        repo.retireActiveVendor();
        repo.insertVendor(row);
      });
      log.info({ id, subject: row.subject, serial: row.serial, notAfter: new Date(row.notAfter).toISOString() }, 'imported the MDM vendor certificate');
      return vendorView(row);
    },

    vendor(): VendorCertificate | null {
      const row = repo.activeVendor();
      return row ? vendorView(row) : null;
    },

    /**
     * The pending CSR signed with the vendor certificate, as the base64 file Apple's Push
     * Certificates Portal takes.
     */
    signedRequest(): { request: string; csrId: string } {
      const vendor = repo.activeVendor();
      if (!vendor) {
        throw new AppError(
          'push_vendor_missing',
          'no MDM vendor certificate is installed: import one (mdm push vendor import), or send the CSR (mdm push csr) to a signing service instead',
          404,
        );
      }
      const csr = repo.pendingCsr();
      if (!csr) throw new AppError('push_csr_missing', 'no pending push CSR: make one first (mdm push csr, API: POST /push/csr)', 404);
      const t = now();
      if (t > vendor.notAfter) {
        throw new AppError('push_vendor_expired', `the vendor certificate expired on ${day(vendor.notAfter)}: import a current one (mdm push vendor import)`, 422);
      }
      const key = crypto.createPrivateKey({ key: sealer.unseal(vendorKeyLabel(vendor.id), vendor.keySealed), format: 'der', type: 'pkcs8' });
      const request = pushCertificateRequest(csr.csrDer, vendor.certDer, splitDer(vendor.chainDer), key);
      log.info({ csr: csr.id, vendor: vendor.id }, 'signed the push CSR with the vendor certificate');
      return { request, csrId: csr.id };
    },
  };
}

export type PushCertificates = ReturnType<typeof createPushCertificates>;

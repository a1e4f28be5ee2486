import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import { keyMatches, readPrivateKey, readPushCertificate } from './pem.ts';
import type { PushCertificateRow, PushRepo } from './repo.ts';

export interface PushCertificatesOptions {
  repo: PushRepo;
  sealer: Sealer;
  log: Logger;
  now?: () => number;
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

const keyLabel = (id: string) => `push:${id}`;
const day = (t: number) => new Date(t).toISOString().slice(0, 10);

const summary = (row: PushCertificateRow): PushCertificate => ({
  id: row.id,
  topic: row.topic,
  serial: row.serial,
  certDer: row.certDer,
  notBefore: row.notBefore,
  notAfter: row.notAfter,
  createdAt: row.createdAt,
});

/** The Apple MDM push certificate: imported from the admin's PEM files, its key sealed, one active at a time. */
export function createPushCertificates(opts: PushCertificatesOptions) {
  const { repo, sealer, log } = opts;
  const now = opts.now ?? Date.now;

  function identity(row: PushCertificateRow): PushIdentity {
    const key = crypto.createPrivateKey({ key: sealer.unseal(keyLabel(row.id), row.keySealed), format: 'der', type: 'pkcs8' });
    return {
      ...summary(row),
      certPem: new crypto.X509Certificate(row.certDer).toString(),
      keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    };
  }

  /** The active certificate with its unsealed key, for the APNs client. */
  function activeIdentity(): PushIdentity | null {
    const row = repo.active();
    return row ? identity(row) : null;
  }

  return {
    /**
     * Checks the certificate and key, stores them and makes them the active pair, retiring the
     * previous one in the same transaction. Nothing is stored when a check fails.
     */
    importPem(certPem: string, keyPem: string, options: { passphrase?: string } = {}): PushCertificate {
      const { x509, info, topic } = readPushCertificate(certPem);
      const t = now();
      if (t < info.notBefore) throw new AppError('push_cert_expired', `the push certificate is not valid before ${day(info.notBefore)}`, 422);
      if (t > info.notAfter) {
        throw new AppError(
          'push_cert_expired',
          `the push certificate expired on ${day(info.notAfter)}: renew it at https://identity.apple.com and import the renewed one`,
          422,
        );
      }
      const key = readPrivateKey(keyPem, options.passphrase);
      if (!keyMatches(x509, key)) {
        throw new AppError('push_key_mismatch', 'the private key does not belong to the push certificate: use the key of the CSR it was issued for', 422);
      }
      const id = crypto.randomUUID();
      const row: PushCertificateRow = {
        id,
        topic,
        certDer: info.der,
        keySealed: sealer.seal(keyLabel(id), key.export({ type: 'pkcs8', format: 'der' })),
        serial: info.serialHex,
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        status: 'active',
        createdAt: t,
      };
      // The previous certificate is read inside the transaction: the place for a topic-change guard.
      const previous = repo.transaction(() => {
        const current = repo.active();
        repo.retireActive();
        repo.insert(row);
        return current;
      });
      if (previous && previous.topic !== topic) {
        log.warn({ previous: previous.topic, topic }, 'the push topic changed: devices enrolled under the previous topic no longer get pushes until they re-enroll');
      }
      log.info({ id, topic, serial: row.serial, notAfter: new Date(row.notAfter).toISOString(), replaced: previous?.id }, 'imported push certificate');
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
  };
}

export type PushCertificates = ReturnType<typeof createPushCertificates>;

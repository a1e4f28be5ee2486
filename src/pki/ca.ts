import crypto, { type KeyObject } from 'node:crypto';
import net from 'node:net';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import type { AuthorityName, PkiRepo } from './repo.ts';
import { certInfo, nameToString, type CertInfo } from './cert-info.ts';
import { derSequence, tlv } from './der.ts';
import {
  OID,
  algorithmId,
  authorityKeyId,
  basicConstraints,
  buildCertificate,
  crlDistributionPoint,
  extKeyUsage,
  extension,
  integer,
  keyIdentifier,
  keyUsage,
  makeName,
  randomSerial,
  sha256Hex,
  signWrap,
  subjectKeyId,
  timeDer,
  toPem,
} from './x509.ts';

const DAY = 86_400_000;
const CA_YEARS = 10;
const RA_DAYS = 5 * 365;
/** Apple platforms refuse TLS server certificates valid for more than 825 days; 397 matches public CAs. */
const TLS_DAYS = 397;
const RENEW_BEFORE = 30 * DAY;
const CRL_LIFETIME = 7 * DAY;
const CRL_REFRESH = 1 * DAY;
const BACKDATE = 5 * 60_000;

export interface Authority {
  der: Buffer;
  info: CertInfo;
  key: KeyObject;
}

export interface IssueRequest {
  /** Name DER. */
  subject: Buffer;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  /** The subjectAltName Extension DER from the CSR, copied as requested. */
  subjectAltName?: Buffer;
  owner: string;
  scepTransactionId?: string;
  scepRequestId?: string;
  renewedFrom?: string;
}

export interface IssuedCertificate {
  serial: string;
  der: Buffer;
}

export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;

function generateRsa(bits: number): { privateKey: KeyObject; publicKey: KeyObject } {
  return crypto.generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}

const spkiOf = (key: KeyObject) => key.export({ type: 'spki', format: 'der' });

export interface CaOptions {
  repo: PkiRepo;
  sealer: Sealer;
  log: Logger;
  publicUrl: string;
  deviceCertDays: number;
  now?: () => number;
}

/**
 * The appliance's certificate authority: creates the CA and the SCEP RA on first start (in any
 * process: server or CLI, whichever comes first), issues and records certificates, revokes,
 * and keeps a signed CRL.
 */
export function createCa(opts: CaOptions) {
  const { repo, sealer, log } = opts;
  const now = opts.now ?? Date.now;
  const crlUrl = `${opts.publicUrl}/pki/crl`;

  function load(name: AuthorityName): Authority | undefined {
    const row = repo.authority(name);
    if (!row) return undefined;
    const key = crypto.createPrivateKey({ key: sealer.unseal(`pki:${name}`, row.keySealed), format: 'der', type: 'pkcs8' });
    return { der: row.certDer, info: certInfo(row.certDer), key };
  }

  function sealKey(name: AuthorityName, key: KeyObject): Buffer {
    return sealer.seal(`pki:${name}`, key.export({ type: 'pkcs8', format: 'der' }));
  }

  function ensureCa(): Authority {
    const existing = load('ca');
    if (existing) return existing;
    const { privateKey, publicKey } = generateRsa(2048);
    const spki = spkiOf(publicKey);
    const name = makeName([
      [OID.organization, 'Open MDM Appliance'],
      [OID.commonName, `MDM Appliance CA ${crypto.randomBytes(3).toString('hex').toUpperCase()}`],
    ]);
    const t = now();
    const notAfter = new Date(t);
    notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
    const ski = keyIdentifier(spki);
    const der = buildCertificate({
      serial: randomSerial(),
      subject: name,
      issuer: name,
      notBefore: new Date(t - BACKDATE),
      notAfter,
      spki,
      signingKey: privateKey,
      extensions: [
        extension(OID.basicConstraints, true, basicConstraints(true)),
        extension(OID.keyUsage, true, keyUsage({ keyCertSign: true, cRLSign: true, digitalSignature: true })),
        extension(OID.subjectKeyId, false, subjectKeyId(ski)),
      ],
    });
    repo.insertAuthorityIfAbsent({ name: 'ca', certDer: der, keySealed: sealKey('ca', privateKey), createdAt: t });
    const ca = load('ca')!;
    // Another process (server or CLI starting at the same moment) may have won the insert.
    if (ca.der.equals(der)) log.info({ subject: nameToString(ca.info.subjectDer), sha256: sha256Hex(ca.der) }, 'created certificate authority');
    return ca;
  }

  const ca = ensureCa();
  const akiExtension = extension(OID.authorityKeyId, false, authorityKeyId(keyIdentifier(ca.info.spkiDer)));

  function caIssued(kind: 'ra' | 'tls' | 'device', req: IssueRequest, days: number, extensions: Buffer[]): IssuedCertificate {
    const t = now();
    const serial = randomSerial();
    const notAfter = Math.min(t + days * DAY, ca.info.notAfter);
    const der = buildCertificate({
      serial,
      subject: req.subject,
      issuer: ca.info.subjectDer,
      notBefore: new Date(t - BACKDATE),
      notAfter: new Date(notAfter),
      spki: req.spki,
      signingKey: ca.key,
      extensions: [
        ...extensions,
        extension(OID.subjectKeyId, false, subjectKeyId(keyIdentifier(req.spki))),
        akiExtension,
        ...(req.subjectAltName ? [req.subjectAltName] : []),
      ],
    });
    const hex = serial.toString('hex').replace(/^(00)+(?=.)/, '');
    repo.insertCertificate({
      serial: hex,
      kind,
      subject: nameToString(req.subject),
      notBefore: t - BACKDATE,
      notAfter,
      owner: req.owner,
      publicKeySha256: sha256Hex(req.spki),
      scepTransactionId: req.scepTransactionId ?? null,
      scepRequestId: req.scepRequestId ?? null,
      renewedFrom: req.renewedFrom ?? null,
      der,
      createdAt: t,
    });
    return { serial: hex, der };
  }

  function needsRenewal(a: Authority | undefined): boolean {
    return !a || a.info.notAfter - now() < RENEW_BEFORE;
  }

  function ensureRa(): Authority {
    const existing = load('ra');
    if (!needsRenewal(existing)) return existing!;
    const { privateKey, publicKey } = generateRsa(2048);
    const issued = repo.transaction(() =>
      caIssued(
        'ra',
        {
          subject: makeName([
            [OID.organization, 'Open MDM Appliance'],
            [OID.commonName, 'MDM Appliance SCEP RA'],
          ]),
          spki: spkiOf(publicKey),
          owner: 'appliance',
        },
        RA_DAYS,
        [
          extension(OID.basicConstraints, true, basicConstraints(false)),
          extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
        ],
      ),
    );
    const row = { name: 'ra' as const, certDer: issued.der, keySealed: sealKey('ra', privateKey), createdAt: now() };
    if (existing) repo.replaceAuthority(row);
    else repo.insertAuthorityIfAbsent(row);
    log.info({ serial: issued.serial }, 'issued SCEP RA certificate');
    return load('ra')!;
  }

  let ra = ensureRa();

  // The same for every device certificate: encoded once.
  const deviceExtensions = [
    extension(OID.basicConstraints, true, basicConstraints(false)),
    extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
    extension(OID.extKeyUsage, false, extKeyUsage(OID.clientAuth)),
    extension(OID.crlDistributionPoints, false, crlDistributionPoint(crlUrl)),
  ];

  function buildCrl(number: number): { der: Buffer; thisUpdate: number; nextUpdate: number } {
    const t = now();
    const revoked = repo.revokedUnexpired(t).map((r) =>
      derSequence(
        integer(hexBytes(r.serial)),
        timeDer(new Date(r.revokedAt ?? t)),
        derSequence(extension(OID.crlReason, false, tlv(0x0a, Buffer.of(r.reason ?? 0)))),
      ),
    );
    const tbs = derSequence(
      Buffer.of(0x02, 0x01, 0x01),
      algorithmId(OID.sha256WithRSA),
      ca.info.subjectDer,
      timeDer(new Date(t - BACKDATE)),
      timeDer(new Date(t + CRL_LIFETIME)),
      ...(revoked.length ? [derSequence(...revoked)] : []),
      tlv(0xa0, derSequence(akiExtension, extension(OID.crlNumber, false, integer(hexBytes(number.toString(16)))))),
    );
    return { der: signWrap(tbs, ca.key), thisUpdate: t, nextUpdate: t + CRL_LIFETIME };
  }

  function publishCrl(): Buffer {
    return repo.transaction(() => {
      const number = (repo.latestCrl()?.number ?? 0) + 1;
      const built = buildCrl(number);
      repo.insertCrl({ number, ...built });
      return built.der;
    });
  }

  return {
    get ca() {
      return ca;
    },
    get ra() {
      return ra;
    },
    caFingerprint: () => sha256Hex(ca.der),

    /** Issues a device identity certificate; call inside the transaction that consumed the request's authorisation. */
    issueDevice(req: IssueRequest): IssuedCertificate {
      return caIssued('device', req, opts.deviceCertDays, deviceExtensions);
    },

    /** The TLS identity for the HTTPS listener, reissued when it no longer covers `hosts` or nears expiry. */
    tlsIdentity(hosts: string[]): { certPem: string; keyPem: string } {
      const names = [...new Set(hosts.map((h) => h.toLowerCase()))];
      const current = load('tls');
      if (current && !needsRenewal(current)) {
        const x = new crypto.X509Certificate(current.der);
        if (names.every((h) => (net.isIP(h) ? x.checkIP(h) : x.checkHost(h)))) {
          return { certPem: pemChain(current.der, ca.der), keyPem: current.key.export({ type: 'pkcs8', format: 'pem' }) as string };
        }
      }
      const { privateKey, publicKey } = generateRsa(2048);
      const san = derSequence(...names.map((h) => (net.isIP(h) ? tlv(0x87, ipBytes(h)) : tlv(0x82, Buffer.from(h, 'ascii')))));
      const issued = repo.transaction(() =>
        caIssued('tls', { subject: makeName([[OID.commonName, names[0]!]]), spki: spkiOf(publicKey), owner: 'appliance' }, TLS_DAYS, [
          extension(OID.basicConstraints, true, basicConstraints(false)),
          extension(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
          extension(OID.extKeyUsage, false, extKeyUsage(OID.serverAuth)),
          extension(OID.subjectAltName, false, san),
        ]),
      );
      repo.replaceAuthority({ name: 'tls', certDer: issued.der, keySealed: sealKey('tls', privateKey), createdAt: now() });
      log.info({ serial: issued.serial, hosts: names }, 'issued TLS server certificate');
      return { certPem: pemChain(issued.der, ca.der), keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
    },

    revoke(serial: string, reason: number = REVOCATION_REASONS.unspecified): void {
      const normal = serial.toLowerCase().replace(/[^0-9a-f]/g, '').replace(/^(00)+(?=.)/, '');
      const row = repo.certificate(normal);
      if (!row) throw new AppError('certificate_not_found', `no certificate with serial ${serial}`, 404);
      if (row.kind !== 'device') throw new AppError('certificate_not_revocable', `certificate ${serial} is the appliance's own (${row.kind})`, 409);
      if (!repo.revoke(normal, now(), reason)) throw new AppError('certificate_already_revoked', `certificate ${serial} is already revoked`, 409);
      publishCrl();
      log.info({ serial: normal, reason }, 'revoked certificate');
    },

    /** The current CRL (DER), re-signed when it is a day old so that clients never see an expired one. */
    crl(): Buffer {
      const latest = repo.latestCrl();
      if (latest && now() - latest.thisUpdate < CRL_REFRESH) return latest.der;
      return publishCrl();
    },

    /** A still-valid device certificate we issued (for renewal): same bytes as recorded, inside its validity, not revoked. */
    verifyIssued(cert: CertInfo): { serial: string } | null {
      if (!cert.issuerDer.equals(ca.info.subjectDer)) return null; // self-signed first enrollments end here, without a query
      const row = repo.certificate(cert.serialHex);
      if (!row || row.status !== 'valid' || row.kind !== 'device') return null;
      const t = now();
      if (t < row.notBefore || t > row.notAfter) return null;
      // The row's DER is what we signed; equal bytes prove both origin and integrity.
      return row.der.equals(cert.der) ? { serial: row.serial } : null;
    },

    /** Changes whenever a certificate is revoked (a new CRL is published): caches of vetted certificates key on it. */
    revocationGeneration(): number {
      return repo.crlNumber();
    },

    /** Reissues the SCEP RA certificate when it nears expiry, or loads one another thread reissued; true when it changed. */
    rotateRaIfDue(): boolean {
      const stored = repo.authority('ra');
      if (stored && !stored.certDer.equals(ra.der)) {
        ra = load('ra')!;
        return true;
      }
      if (!needsRenewal(ra)) return false;
      ra = ensureRa();
      return true;
    },
  };
}

export type Ca = ReturnType<typeof createCa>;

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}

const hexBytes = (hex: string): Buffer => Buffer.from(hex.length % 2 ? '0' + hex : hex, 'hex');

const pemChain = (...ders: Buffer[]): string => ders.map((d) => toPem('CERTIFICATE', d)).join('');

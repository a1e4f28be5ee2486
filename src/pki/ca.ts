import crypto, { type KeyObject } from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Sealer } from '../secrets/seal.ts';
import type { AuthorityName, PkiRepo } from './repo.ts';
import {
  OID,
  algorithm,
  buildCertificate,
  ext,
  keyIdentifier,
  keyUsage,
  makeName,
  nameToString,
  parseCertificate,
  randomSerial,
  serialHex,
  sha256Hex,
  signWrap,
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
  cert: pkijs.Certificate;
  key: KeyObject;
}

export interface IssueRequest {
  subject: pkijs.RelativeDistinguishedNames;
  publicKey: pkijs.PublicKeyInfo;
  /** subjectAltName extension value copied from the CSR, already validated by the caller. */
  subjectAltName?: pkijs.Extension;
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

const publicKeyInfo = (key: KeyObject) => pkijs.PublicKeyInfo.fromBER(key.export({ type: 'spki', format: 'der' }));

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
    return { der: row.certDer, cert: parseCertificate(row.certDer), key };
  }

  function sealKey(name: AuthorityName, key: KeyObject): Buffer {
    return sealer.seal(`pki:${name}`, key.export({ type: 'pkcs8', format: 'der' }));
  }

  function ensureCa(): Authority {
    const existing = load('ca');
    if (existing) return existing;
    const { privateKey, publicKey } = generateRsa(2048);
    const spki = publicKeyInfo(publicKey);
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
      publicKey: spki,
      signingKey: privateKey,
      extensions: [
        ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: true })),
        ext(OID.keyUsage, true, keyUsage({ keyCertSign: true, cRLSign: true, digitalSignature: true })),
        ext(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: ski })),
      ],
    });
    repo.insertAuthorityIfAbsent({ name: 'ca', certDer: der, keySealed: sealKey('ca', privateKey), createdAt: t });
    const ca = load('ca')!;
    log.info({ subject: nameToString(ca.cert.subject), sha256: sha256Hex(ca.der) }, 'created certificate authority');
    return ca;
  }

  let ca = ensureCa();
  const caSki = keyIdentifier(ca.cert.subjectPublicKeyInfo);

  function caIssued(
    kind: 'ra' | 'tls' | 'device',
    req: IssueRequest,
    days: number,
    extensions: pkijs.Extension[],
  ): IssuedCertificate {
    const t = now();
    const serial = randomSerial();
    const caNotAfter = ca.cert.notAfter.value.getTime();
    const notAfter = Math.min(t + days * DAY, caNotAfter);
    const der = buildCertificate({
      serial,
      subject: req.subject,
      issuer: ca.cert.subject,
      notBefore: new Date(t - BACKDATE),
      notAfter: new Date(notAfter),
      publicKey: req.publicKey,
      signingKey: ca.key,
      extensions: [
        ...extensions,
        ext(OID.subjectKeyId, false, new asn1js.OctetString({ valueHex: keyIdentifier(req.publicKey) })),
        ext(OID.authorityKeyId, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: caSki }) })),
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
      publicKeySha256: sha256Hex(Buffer.from(req.publicKey.toSchema().toBER())),
      scepTransactionId: req.scepTransactionId ?? null,
      scepRequestId: req.scepRequestId ?? null,
      renewedFrom: req.renewedFrom ?? null,
      der,
      createdAt: t,
    });
    return { serial: hex, der };
  }

  function needsRenewal(a: Authority | undefined): boolean {
    return !a || a.cert.notAfter.value.getTime() - now() < RENEW_BEFORE;
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
          publicKey: publicKeyInfo(publicKey),
          owner: 'appliance',
        },
        RA_DAYS,
        [
          ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
          ext(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
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

  function deviceExtensions(): pkijs.Extension[] {
    return [
      ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
      ext(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
      ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.clientAuth] })),
      ext(
        OID.crlDistributionPoints,
        false,
        new pkijs.CRLDistributionPoints({
          distributionPoints: [
            new pkijs.DistributionPoint({ distributionPoint: [new pkijs.GeneralName({ type: 6, value: crlUrl })] }),
          ],
        }),
      ),
    ];
  }

  function buildCrl(number: number): { der: Buffer; thisUpdate: number; nextUpdate: number } {
    const t = now();
    const crl = new pkijs.CertificateRevocationList();
    crl.version = 1;
    crl.signature = algorithm(OID.sha256WithRSA);
    crl.issuer = ca.cert.subject;
    crl.thisUpdate = new pkijs.Time({ type: 0, value: new Date(t - BACKDATE) });
    crl.nextUpdate = new pkijs.Time({ type: 0, value: new Date(t + CRL_LIFETIME) });
    const revoked = repo.revokedUnexpired(t);
    if (revoked.length) {
      crl.revokedCertificates = revoked.map(
        (r) =>
          new pkijs.RevokedCertificate({
            userCertificate: new asn1js.Integer({ valueHex: Buffer.from(r.serial.length % 2 ? '0' + r.serial : r.serial, 'hex') }),
            revocationDate: new pkijs.Time({ type: 0, value: new Date(r.revokedAt ?? t) }),
            crlEntryExtensions: new pkijs.Extensions({
              extensions: [ext('2.5.29.21', false, new asn1js.Enumerated({ value: r.reason ?? 0 }))],
            }),
          }),
      );
    }
    crl.crlExtensions = new pkijs.Extensions({
      extensions: [
        ext(OID.authorityKeyId, false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: caSki }) })),
        ext(OID.crlNumber, false, new asn1js.Integer({ value: number })),
      ],
    });
    // encodeTBS is protected in pkijs's typings but is the only way to get the TBS to sign ourselves.
    const tbs = (crl as unknown as { encodeTBS(): asn1js.Sequence }).encodeTBS();
    const der = signWrap(Buffer.from(tbs.toBER()), ca.key);
    return { der, thisUpdate: t, nextUpdate: t + CRL_LIFETIME };
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
      return caIssued('device', req, opts.deviceCertDays, deviceExtensions());
    },

    /** The TLS identity for the HTTPS listener, reissued when it no longer covers `hosts` or nears expiry. */
    tlsIdentity(hosts: string[]): { certPem: string; keyPem: string } {
      const current = load('tls');
      const covered = current && hostsOf(current.cert);
      if (current && !needsRenewal(current) && hosts.every((h) => covered!.includes(h.toLowerCase()))) {
        return { certPem: pemChain(current.der, ca.der), keyPem: current.key.export({ type: 'pkcs8', format: 'pem' }) as string };
      }
      const { privateKey, publicKey } = generateRsa(2048);
      const names = [...new Set(hosts.map((h) => h.toLowerCase()))];
      const san = new pkijs.AltName({
        altNames: names.map((h) =>
          isIp(h)
            ? new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ipBytes(h) }) })
            : new pkijs.GeneralName({ type: 2, value: h }),
        ),
      });
      const issued = repo.transaction(() =>
        caIssued(
          'tls',
          { subject: makeName([[OID.commonName, names[0]!]]), publicKey: publicKeyInfo(publicKey), owner: 'appliance' },
          TLS_DAYS,
          [
            ext(OID.basicConstraints, true, new pkijs.BasicConstraints({ cA: false })),
            ext(OID.keyUsage, true, keyUsage({ digitalSignature: true, keyEncipherment: true })),
            ext(OID.extKeyUsage, false, new pkijs.ExtKeyUsage({ keyPurposes: [OID.serverAuth] })),
            ext(OID.subjectAltName, false, san),
          ],
        ),
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

    /** A still-valid certificate we issued, for renewal: our signature, inside its validity, not revoked. */
    verifyIssued(cert: pkijs.Certificate): { serial: string } | null {
      const serial = serialHex(cert);
      const row = repo.certificate(serial);
      if (!row || row.status !== 'valid' || row.kind !== 'device') return null;
      const t = now();
      if (t < row.notBefore || t > row.notAfter) return null;
      // The row's DER is what we signed; comparing bytes proves both origin and integrity.
      const der = Buffer.from(cert.toSchema().toBER());
      return Buffer.compare(der, row.der) === 0 ? { serial } : null;
    },

    refreshRa() {
      ra = ensureRa();
      ca = load('ca')!;
    },

    get repo() {
      return repo;
    },
  };
}

export type Ca = ReturnType<typeof createCa>;

function hostsOf(cert: pkijs.Certificate): string[] {
  const san = cert.extensions?.find((e) => e.extnID === OID.subjectAltName)?.parsedValue as pkijs.AltName | undefined;
  return (san?.altNames ?? []).map((g) =>
    g.type === 7 ? ipString(Buffer.from((g.value as asn1js.OctetString).valueBlock.valueHexView)) : String(g.value).toLowerCase(),
  );
}

const isIp = (h: string) => /^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':');

function ipBytes(ip: string): Buffer {
  if (!ip.includes(':')) return Buffer.from(ip.split('.').map(Number));
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g) => [(parseInt(g, 16) >> 8) & 0xff, parseInt(g, 16) & 0xff]));
}

function ipString(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i < b.length; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

const pemChain = (...ders: Buffer[]): string => ders.map((d) => toPem('CERTIFICATE', d)).join('');

import crypto, { type KeyObject } from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Ca } from '../pki/ca.ts';
import { certInfo, publicKeyOf, type CertInfo } from '../pki/cert-info.ts';
import { readSignedData, verifySignedData } from '../pki/cms.ts';

export interface DeviceIdentity {
  cert: CertInfo;
  /** SHA-256 (hex) of the certificate DER: what an enrollment is bound to. */
  sha256: string;
  serial: string;
  source: 'mdm-signature' | 'tls' | 'proxy';
}

export interface IdentityInput {
  body: Buffer;
  /** The Mdm-Signature header: base64 CMS SignedData, detached or with the body attached. */
  mdmSignature?: string | null;
  /** DER of the TLS client certificate on the HTTPS listener. */
  tlsCertificate?: Buffer | null;
  /** RFC 9440 Client-Cert header (`:base64:`), already vetted as coming from a trusted proxy. */
  proxyClientCert?: string | null;
}

const fail = (reason: string) => new AppError('device_auth_failed', reason, 400);

/**
 * Who sent an MDM message: the certificate from Mdm-Signature (whose signature must cover the
 * body), else the TLS client certificate, else a trusted proxy's Client-Cert. Whatever the
 * source, the certificate must be a valid device certificate our CA issued.
 *
 * A device signs every check-in with the same certificate, so what is learnt about a certificate
 * (issued by us and valid, its public key) is kept for `cacheMs`, and dropped as soon as any
 * certificate is revoked (the CRL number moves). The signature itself is checked on every message.
 */
export function createIdentifier(ca: Ca, o: { cacheMs?: number; maxEntries?: number; now?: () => number } = {}) {
  const cacheMs = o.cacheMs ?? 30_000;
  const maxEntries = o.maxEntries ?? 100_000;
  const now = o.now ?? Date.now;
  const known = new Map<string, { serial: string; key: KeyObject; until: number }>();
  let generation = -1;
  let generationCheckedAt = 0;

  function vet(cert: CertInfo): { sha256: string; serial: string; key: KeyObject } {
    // The CRL number is read at most once a second: revocations reach the cache within a second.
    if (now() - generationCheckedAt >= 1000) {
      generationCheckedAt = now();
      const g = ca.revocationGeneration();
      if (g !== generation) {
        known.clear();
        generation = g;
      }
    }
    const sha256 = crypto.createHash('sha256').update(cert.der).digest('hex');
    const hit = known.get(sha256);
    const t = now();
    if (hit && hit.until > t) return { sha256, serial: hit.serial, key: hit.key };
    if (cert.issuerDer.equals(cert.subjectDer)) throw fail('self-signed certificate');
    const issued = ca.verifyIssued(cert);
    if (!issued) throw fail(`certificate ${cert.serialHex} is not a valid device certificate of this CA (unknown, revoked or expired)`);
    if (known.size >= maxEntries) known.clear();
    const entry = { serial: issued.serial, key: publicKeyOf(cert), until: Math.min(t + cacheMs, cert.notAfter) };
    known.set(sha256, entry);
    return { sha256, serial: entry.serial, key: entry.key };
  }

  return function identify(input: IdentityInput): DeviceIdentity {
    if (input.mdmSignature) {
      let sd: ReturnType<typeof readSignedData>;
      try {
        sd = readSignedData(Buffer.from(input.mdmSignature, 'base64'));
      } catch {
        throw fail('Mdm-Signature is not a CMS SignedData');
      }
      if (!sd.signer) throw fail('Mdm-Signature does not carry its signer certificate');
      if (sd.eContent && !sd.eContent.equals(input.body)) throw fail('the body does not match the content Mdm-Signature carries');
      const v = vet(sd.signer);
      const problem = verifySignedData(sd.signerInfo, sd.signer, input.body, v.key);
      if (problem) throw fail(`Mdm-Signature: ${problem.reason}`);
      return { cert: sd.signer, sha256: v.sha256, serial: v.serial, source: 'mdm-signature' };
    }
    let cert: CertInfo;
    let source: DeviceIdentity['source'];
    if (input.tlsCertificate?.length) {
      source = 'tls';
      cert = parse(input.tlsCertificate);
    } else if (input.proxyClientCert) {
      source = 'proxy';
      const m = /^:([A-Za-z0-9+/=]+):$/.exec(input.proxyClientCert.trim());
      if (!m) throw fail('Client-Cert header is not an RFC 9440 byte sequence');
      cert = parse(Buffer.from(m[1]!, 'base64'));
    } else {
      throw fail('no device identity: neither Mdm-Signature nor a client certificate');
    }
    const v = vet(cert);
    return { cert, sha256: v.sha256, serial: v.serial, source };
  };
}

export type Identifier = ReturnType<typeof createIdentifier>;

function parse(der: Buffer): CertInfo {
  try {
    return certInfo(der);
  } catch {
    throw fail('the client certificate is not readable');
  }
}

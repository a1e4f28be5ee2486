import crypto from 'node:crypto';
import { AppError } from '../errors.ts';
import type { Ca } from '../pki/ca.ts';
import { certInfo, type CertInfo } from '../pki/cert-info.ts';
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
 * Who sent this MDM message: the certificate from Mdm-Signature (whose signature must cover the
 * body), else the TLS client certificate, else a trusted proxy's Client-Cert. Whatever the
 * source, the certificate must be a valid device certificate our CA issued.
 */
export function identify(ca: Ca, input: IdentityInput): DeviceIdentity {
  let cert: CertInfo;
  let source: DeviceIdentity['source'];
  if (input.mdmSignature) {
    source = 'mdm-signature';
    let sd: ReturnType<typeof readSignedData>;
    try {
      sd = readSignedData(Buffer.from(input.mdmSignature, 'base64'));
    } catch {
      throw fail('Mdm-Signature is not a CMS SignedData');
    }
    if (!sd.signer) throw fail('Mdm-Signature does not carry its signer certificate');
    if (sd.eContent && !sd.eContent.equals(input.body)) throw fail('the body does not match the content Mdm-Signature carries');
    const problem = verifySignedData(sd.signerInfo, sd.signer, input.body);
    if (problem) throw fail(`Mdm-Signature: ${problem.reason}`);
    cert = sd.signer;
  } else if (input.tlsCertificate?.length) {
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
  if (cert.issuerDer.equals(cert.subjectDer)) throw fail('self-signed certificate');
  const issued = ca.verifyIssued(cert);
  if (!issued) throw fail(`certificate ${cert.serialHex} is not a valid device certificate of this CA (unknown, revoked or expired)`);
  return { cert, sha256: crypto.createHash('sha256').update(cert.der).digest('hex'), serial: issued.serial, source };
}

function parse(der: Buffer): CertInfo {
  try {
    return certInfo(der);
  } catch {
    throw fail('the client certificate is not readable');
  }
}

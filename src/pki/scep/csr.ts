import crypto from 'node:crypto';
import { importPublicKey } from '../cert-info.ts';
import { children, content, expect, oidString, raw, readDer, stringValue } from '../der-reader.ts';
import { OID } from '../x509.ts';
import { SIGNATURE_DIGESTS } from '../cms.ts';
import { CMS_OID, FailInfo } from './constants.ts';
import { ScepFailure } from './failure.ts';

export interface ParsedCsr {
  /** Name DER. */
  subject: Buffer;
  /** SubjectPublicKeyInfo DER. */
  spki: Buffer;
  challenge: string | undefined;
  /** The subjectAltName Extension DER from the extensionRequest, if any. */
  subjectAltName: Buffer | undefined;
}

const EC_CURVES = new Set(['prime256v1', 'secp384r1']);
const ECDSA_DIGESTS: Record<string, string> = { '1.2.840.10045.4.3.2': 'sha256', '1.2.840.10045.4.3.3': 'sha384' };

function structure(der: Buffer) {
  try {
    const [info, alg, sig] = children(expect(readDer(der), 0x30, 'CertificationRequest'));
    const [version, subject, spki, attrs] = children(expect(info, 0x30, 'CertificationRequestInfo'));
    expect(version, 0x02, 'version');
    return {
      tbs: raw(info!),
      subject: raw(expect(subject, 0x30, 'subject')),
      spki: raw(expect(spki, 0x30, 'subjectPKInfo')),
      attrs: attrs?.tag === 0xa0 ? children(attrs) : [],
      sigAlg: oidString(children(expect(alg, 0x30, 'signatureAlgorithm'))[0]!),
      signature: content(expect(sig, 0x03, 'signature')).subarray(1),
    };
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'the envelope does not hold a PKCS#10 certificate request with a public key');
  }
}

/** Parses a PKCS#10 request from a PKCSReq/RenewalReq, checks its proof of possession and key. */
export function parseCsr(der: Buffer): ParsedCsr {
  const csr = structure(der);
  let key: crypto.KeyObject;
  try {
    key = importPublicKey(csr.spki);
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'the certificate request has no usable public key');
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) throw new ScepFailure(FailInfo.badAlg, 'RSA keys must be at least 2048 bits');
  } else if (key.asymmetricKeyType !== 'ec' || !EC_CURVES.has(details.namedCurve ?? '')) {
    throw new ScepFailure(FailInfo.badAlg, `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const digest = SIGNATURE_DIGESTS[csr.sigAlg] ?? ECDSA_DIGESTS[csr.sigAlg];
  if (!digest) throw new ScepFailure(FailInfo.badAlg, `unsupported CSR signature algorithm ${csr.sigAlg}`);
  if (!crypto.verify(digest, csr.tbs, key, csr.signature)) throw new ScepFailure(FailInfo.badMessageCheck, 'the certificate request signature does not verify');
  if (!children(readDer(csr.subject)).some((rdn) => children(rdn).length > 0)) throw new ScepFailure(FailInfo.badRequest, 'the certificate request has an empty subject');

  let challenge: string | undefined;
  let subjectAltName: Buffer | undefined;
  try {
    for (const attr of csr.attrs) {
      const [type, values] = children(attr);
      const first = children(expect(values, 0x31, 'values'))[0];
      const oid = oidString(type!);
      // challengePassword is a DirectoryString: PrintableString or UTF8String, depending on the client.
      if (oid === CMS_OID.challengePassword && first) challenge = stringValue(first);
      if (oid === CMS_OID.extensionRequest && first) {
        subjectAltName = children(first)
          .filter((e) => oidString(children(e)[0]!) === OID.subjectAltName)
          .map(raw)[0];
      }
    }
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'the certificate request attributes are malformed');
  }
  return { subject: csr.subject, spki: csr.spki, challenge, subjectAltName };
}

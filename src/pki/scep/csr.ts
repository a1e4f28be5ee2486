import crypto from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { OID } from '../x509.ts';
import { CMS_OID, FailInfo, SIGNATURE_DIGESTS } from './constants.ts';
import { ScepFailure } from './failure.ts';

export interface ParsedCsr {
  csr: pkijs.CertificationRequest;
  challenge: string | undefined;
  subjectAltName: pkijs.Extension | undefined;
  publicKeyDer: Buffer;
}

const EC_CURVES = new Set(['1.2.840.10045.3.1.7', '1.3.132.0.34']);

/** Parses a PKCS#10 request from a PKCSReq/RenewalReq, checks its proof of possession and key. */
export function parseCsr(der: Uint8Array): ParsedCsr {
  let csr: pkijs.CertificationRequest;
  try {
    csr = pkijs.CertificationRequest.fromBER(der);
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'the envelope does not hold a PKCS#10 certificate request');
  }
  const spki = csr.subjectPublicKeyInfo;
  let publicKeyDer: Buffer;
  let key: crypto.KeyObject;
  try {
    publicKeyDer = Buffer.from(spki.toSchema().toBER());
    key = crypto.createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  } catch {
    throw new ScepFailure(FailInfo.badRequest, 'the certificate request has no usable public key');
  }
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < 2048) throw new ScepFailure(FailInfo.badAlg, 'RSA keys must be at least 2048 bits');
  } else if (key.asymmetricKeyType !== 'ec' || !details.namedCurve || !EC_CURVES.has(curveOid(details.namedCurve))) {
    throw new ScepFailure(FailInfo.badAlg, `unsupported key type ${key.asymmetricKeyType ?? 'unknown'}`);
  }
  const sigAlg = csr.signatureAlgorithm.algorithmId;
  const digest = SIGNATURE_DIGESTS[sigAlg] ?? ECDSA_DIGESTS[sigAlg];
  if (!digest) throw new ScepFailure(FailInfo.badAlg, `unsupported CSR signature algorithm ${sigAlg}`);
  const ok = crypto.verify(digest, Buffer.from(csr.tbsView), key, Buffer.from(csr.signatureValue.valueBlock.valueHexView));
  if (!ok) throw new ScepFailure(FailInfo.badMessageCheck, 'the certificate request signature does not verify');
  if (csr.subject.typesAndValues.length === 0) throw new ScepFailure(FailInfo.badRequest, 'the certificate request has an empty subject');

  let challenge: string | undefined;
  let subjectAltName: pkijs.Extension | undefined;
  for (const attr of csr.attributes ?? []) {
    if (attr.type === CMS_OID.challengePassword) {
      // PrintableString or UTF8String (a DirectoryString), depending on the client.
      const v = (attr.values[0] as { valueBlock?: { value?: unknown } } | undefined)?.valueBlock?.value;
      if (typeof v === 'string') challenge = v;
    } else if (attr.type === CMS_OID.extensionRequest) {
      try {
        const exts = new pkijs.Extensions({ schema: attr.values[0] as asn1js.Sequence });
        subjectAltName = exts.extensions.find((e) => e.extnID === OID.subjectAltName);
      } catch {
        throw new ScepFailure(FailInfo.badRequest, 'the extensionRequest attribute is malformed');
      }
    }
  }
  return { csr, challenge, subjectAltName, publicKeyDer };
}

const ECDSA_DIGESTS: Record<string, string> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
};

function curveOid(name: string): string {
  return name === 'prime256v1' ? '1.2.840.10045.3.1.7' : name === 'secp384r1' ? '1.3.132.0.34' : name;
}

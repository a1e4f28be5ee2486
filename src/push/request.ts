import crypto, { type KeyObject } from 'node:crypto';
import { encodePlist } from '../apple/plist.ts';
import { toPem } from '../pki/x509.ts';

/** Where the admin uploads the request and later downloads the push certificate. */
export const APPLE_PUSH_PORTAL = 'https://identity.apple.com';

/**
 * The file Apple's Push Certificates Portal takes from an MDM vendor: an XML plist with the push
 * CSR (base64 DER), the vendor chain (PEM: vendor certificate, WWDR intermediate, root) and the
 * vendor's SHA-256 with RSA signature over the CSR's DER (base64), the whole plist base64-encoded.
 * Key names and encodings as Apple's MDM vendor CSR signing overview and mdmctl have them.
 */
export function pushCertificateRequest(csrDer: Buffer, vendorCertDer: Buffer, chain: Buffer[], vendorKey: KeyObject): string {
  const plist = encodePlist({
    PushCertRequestCSR: csrDer.toString('base64'),
    PushCertCertificateChain: [vendorCertDer, ...chain].map((der) => toPem('CERTIFICATE', der)).join(''),
    PushCertSignature: crypto.sign('sha256', csrDer, vendorKey).toString('base64'),
  });
  return plist.toString('base64');
}

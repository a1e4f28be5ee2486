import crypto from 'node:crypto';
import tls from 'node:tls';
import { readSignedData, verifySignedData } from '../../pki/cms.ts';
import { decodePlist, type PlistDict } from '../plist.ts';
import type { HttpClient } from './http.ts';

/** What a device takes from an enrollment profile, and what it later lists in ProfileList. */
export interface EnrollmentProfile {
  scep: { url: string; challenge: string; caFingerprint: Buffer | null; keysize: number; subject: Array<Array<[string, string]>> | undefined };
  mdm: { serverUrl: string; checkInUrl: string; topic: string; signMessage: boolean; accessRights: number };
  /** The root payload, when the profile carries one. */
  rootDer: Buffer | null;
  signerDer: Buffer;
  /** The signer chains to the profile's root or to a root Node trusts: iOS shows the profile as Verified. */
  verified: boolean;
  /** The profile's top-level keys and payload summaries, as ProfileList reports an installed profile. */
  listing: PlistDict;
}

export class ProfileError extends Error {}

let systemRoots: crypto.X509Certificate[] | undefined;

function chainsToRoot(signer: Buffer, intermediates: Buffer[], roots: crypto.X509Certificate[]): boolean {
  const pool = intermediates.map((d) => new crypto.X509Certificate(d));
  let cert = new crypto.X509Certificate(signer);
  for (let depth = 0; depth < 5; depth++) {
    if (roots.some((r) => cert.checkIssued(r) && cert.verify(r.publicKey))) return true;
    const next = pool.find((c) => !c.raw.equals(cert.raw) && cert.checkIssued(c) && cert.verify(c.publicKey));
    if (!next) return false;
    cert = next;
  }
  return false;
}

const str = (v: unknown, what: string): string => {
  if (typeof v !== 'string' || !v) throw new ProfileError(`the profile has no ${what}`);
  return v;
};

/**
 * Reads an enrollment profile as iOS does before installing it: the CMS signature must verify
 * over the attached plist; the SCEP payload gives the identity request, the MDM payload the
 * server, check-in URL and topic.
 */
export function readEnrollmentProfile(der: Buffer): EnrollmentProfile {
  let sd: ReturnType<typeof readSignedData>;
  try {
    sd = readSignedData(der);
  } catch (e) {
    throw new ProfileError(`the profile is not a signed CMS message: ${(e as Error).message}`);
  }
  if (!sd.eContent) throw new ProfileError('the profile is signed but carries no content');
  if (!sd.signer) throw new ProfileError('the profile does not carry its signer certificate');
  const problem = verifySignedData(sd.signerInfo, sd.signer, sd.eContent);
  if (problem) throw new ProfileError(`the profile signature does not verify: ${problem.reason}`);

  const profile = decodePlist(sd.eContent);
  if (profile.PayloadType !== 'Configuration' || !Array.isArray(profile.PayloadContent)) throw new ProfileError('not a configuration profile');
  const payloads = profile.PayloadContent as PlistDict[];
  const byType = (t: string) => payloads.find((p) => p.PayloadType === t);
  const scep = byType('com.apple.security.scep');
  const mdm = byType('com.apple.mdm');
  const root = byType('com.apple.security.root');
  if (!scep || !mdm) throw new ProfileError('the profile has no SCEP or no MDM payload');
  const sc = (scep.PayloadContent ?? {}) as PlistDict;
  if (mdm.IdentityCertificateUUID !== scep.PayloadUUID) throw new ProfileError('the MDM payload does not use the SCEP identity');

  const rootDer = root?.PayloadContent instanceof Uint8Array ? Buffer.from(root.PayloadContent) : null;
  const intermediates = sd.certs.map((c) => c.der).filter((d) => !d.equals(sd.signer!.der));
  systemRoots ??= tls.rootCertificates.map((pem) => new crypto.X509Certificate(pem));
  const verified = chainsToRoot(sd.signer.der, intermediates, [...(rootDer ? [new crypto.X509Certificate(rootDer)] : []), ...systemRoots]);

  const summary = (p: PlistDict) => ({
    PayloadType: p.PayloadType,
    PayloadIdentifier: p.PayloadIdentifier,
    PayloadUUID: p.PayloadUUID,
    PayloadVersion: p.PayloadVersion ?? 1,
    ...(p.PayloadDisplayName ? { PayloadDisplayName: p.PayloadDisplayName } : {}),
  });
  return {
    scep: {
      url: str(sc.URL, 'SCEP URL'),
      challenge: str(sc.Challenge, 'SCEP challenge'),
      caFingerprint: sc.CAFingerprint instanceof Uint8Array ? Buffer.from(sc.CAFingerprint) : null,
      keysize: typeof sc.Keysize === 'number' ? sc.Keysize : 1024,
      subject: Array.isArray(sc.Subject) ? (sc.Subject as Array<Array<[string, string]>>) : undefined,
    },
    mdm: {
      serverUrl: str(mdm.ServerURL, 'MDM ServerURL'),
      checkInUrl: typeof mdm.CheckInURL === 'string' && mdm.CheckInURL ? mdm.CheckInURL : str(mdm.ServerURL, 'MDM ServerURL'),
      topic: str(mdm.Topic, 'MDM Topic'),
      signMessage: mdm.SignMessage === true,
      accessRights: typeof mdm.AccessRights === 'number' ? mdm.AccessRights : 0,
    },
    rootDer,
    signerDer: sd.signer.der,
    verified,
    listing: {
      PayloadIdentifier: profile.PayloadIdentifier,
      PayloadUUID: profile.PayloadUUID,
      PayloadVersion: profile.PayloadVersion ?? 1,
      PayloadDisplayName: profile.PayloadDisplayName,
      PayloadDescription: profile.PayloadDescription,
      PayloadOrganization: profile.PayloadOrganization,
      PayloadRemovalDisallowed: false,
      HasRemovalPasscode: false,
      IsEncrypted: false,
      IsManaged: false,
      PayloadContent: payloads.map(summary),
      SignerCertificates: [sd.signer.der],
    },
  };
}

/** Opens an enrollment link as Safari would (the page, then its profile) and reads the profile. */
export async function downloadEnrollmentProfile(http: HttpClient, link: string): Promise<EnrollmentProfile> {
  const page = await http.request(link);
  if (page.status !== 200) throw new ProfileError(`the enrollment page answered ${page.status}: ${pageText(page.body)}`);
  const res = await http.request(`${link.replace(/\/+$/, '')}/profile`);
  if (res.status !== 200) throw new ProfileError(`the profile download answered ${res.status}: ${pageText(res.body)}`);
  const type = String(res.headers['content-type'] ?? '');
  if (!type.startsWith('application/x-apple-aspen-config')) throw new ProfileError(`the profile came as ${type || 'no content type'}, not application/x-apple-aspen-config`);
  return readEnrollmentProfile(res.body);
}

/** The readable sentence of an error page. */
function pageText(body: Buffer): string {
  const text = body.toString('utf8');
  const p = /<p>([^<]{1,300})<\/p>/.exec(text)?.[1];
  return (p ?? text.slice(0, 200)).replace(/\s+/g, ' ').trim();
}

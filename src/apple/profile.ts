import crypto from 'node:crypto';
import { signSignedData, type Signer } from '../pki/cms.ts';
import { ALL_ACCESS_RIGHTS, AccessRight } from './commands/access-rights.ts';
import { encodePlist, type PlistDict } from './plist.ts';
import type { Ownership } from './enrollment-links.ts';


export interface ProfileInput {
  publicUrl: string;
  topic: string;
  challenge: string;
  ownership: Ownership;
  caDer: Buffer;
  /** Include our CA as a trusted root: when the HTTPS certificate is the appliance's own. */
  includeRoot: boolean;
  organization: string;
}

const uuid = () => crypto.randomUUID().toUpperCase();

/** The enrollment profile's PayloadIdentifier: RemoveProfile of it takes the device out of management (a retire). */
export const ENROLLMENT_PROFILE_IDENTIFIER = 'org.openmdm.enroll';

/** The enrollment profile: SCEP identity, MDM payload, and (when needed) our root. */
export function enrollmentProfile(p: ProfileInput): PlistDict {
  const scepUuid = uuid();
  const payloads: PlistDict[] = [];
  if (p.includeRoot) {
    payloads.push({
      PayloadType: 'com.apple.security.root',
      PayloadVersion: 1,
      PayloadIdentifier: 'org.openmdm.enroll.root',
      PayloadUUID: uuid(),
      PayloadDisplayName: `${p.organization} MDM root certificate`,
      PayloadContent: p.caDer,
    });
  }
  payloads.push({
    PayloadType: 'com.apple.security.scep',
    PayloadVersion: 1,
    PayloadIdentifier: 'org.openmdm.enroll.scep',
    PayloadUUID: scepUuid,
    PayloadDisplayName: 'Device identity',
    PayloadContent: {
      URL: `${p.publicUrl}/scep`,
      Challenge: p.challenge,
      // A unique subject: certificates are told apart by more than their serial in device UIs.
      Subject: [[['O', p.organization]], [['CN', `mdm-identity-${uuid()}`]]],
      Keysize: 2048,
      'Key Type': 'RSA',
      'Key Usage': 5,
      // SHA-1: the fingerprint length Apple's SCEP client has always accepted (MD5 is the other).
      CAFingerprint: crypto.createHash('sha1').update(p.caDer).digest(),
    },
  });
  payloads.push({
    PayloadType: 'com.apple.mdm',
    PayloadVersion: 1,
    PayloadIdentifier: 'org.openmdm.enroll.mdm',
    PayloadUUID: uuid(),
    PayloadDisplayName: 'Device management',
    ServerURL: `${p.publicUrl}/mdm`,
    CheckInURL: `${p.publicUrl}/mdm/checkin`,
    Topic: p.topic,
    IdentityCertificateUUID: scepUuid,
    SignMessage: true,
    CheckOutWhenRemoved: true,
    ServerCapabilities: ['com.apple.mdm.per-user-connections', 'com.apple.mdm.bootstraptoken'],
    // Personal devices grant every right but erase: they can never be wiped by mistake.
    AccessRights: p.ownership === 'personal' ? ALL_ACCESS_RIGHTS & ~AccessRight.erase : ALL_ACCESS_RIGHTS,
  });
  return {
    PayloadType: 'Configuration',
    PayloadVersion: 1,
    PayloadIdentifier: ENROLLMENT_PROFILE_IDENTIFIER,
    PayloadUUID: uuid(),
    PayloadDisplayName: `${p.organization} device management`,
    PayloadOrganization: p.organization,
    PayloadDescription: 'Enrolls this device in your organisation\'s device management.',
    PayloadScope: 'System',
    PayloadContent: payloads,
  };
}

/** The profile as devices take it: the plist CMS-signed (content attached) by the server identity and its chain. */
export function signProfile(profile: PlistDict, signer: Signer, chain: Buffer[]): Buffer {
  return signSignedData(signer, encodePlist(profile), { chain });
}

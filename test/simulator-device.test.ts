// The simulated device on its own: what it answers to commands, and how it reads (and refuses)
// an enrollment profile. No server: the answers are the device's, the profile is signed here.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { describe, test } from 'node:test';
import * as plist from 'plist';
import { buildCommand } from '../src/apple/commands/build.ts';
import { enrollmentProfile, signProfile } from '../src/apple/profile.ts';
import { answerFor, NEVER_NOT_NOW } from '../src/apple/simulator/answers.ts';
import { AppleDevice, type Dict } from '../src/apple/simulator/device.ts';
import { ProfileError, readEnrollmentProfile } from '../src/apple/simulator/enrollment-profile.ts';
import { randomPersona, type Persona } from '../src/apple/simulator/persona.ts';
import { issuedSigner, newDevice } from '../src/apple/simulator/scep-client.ts';
import { makeSigner } from '../src/pki/cms.ts';
import { buildCertificate, makeName, OID, randomSerial } from '../src/pki/x509.ts';

const key = newDevice();
/** A device with an identity (self-signed here: the answers only read it). */
function device(persona: Partial<Persona> = {}): AppleDevice {
  const d = new AppleDevice('http://127.0.0.1:1', { persona: { ...randomPersona(), ...persona } });
  d.identity = issuedSigner(key, key.selfSigned.cert.der);
  return d;
}
/** A command as the device receives it: the queued plist, parsed. */
const received = (requestType: string, params: Record<string, unknown> = {}) =>
  plist.parse(buildCommand(requestType, params).plistXml.toString('utf8')) as Dict;

describe('simulated device answers', () => {
  test('DeviceInformation answers the asked Queries it knows, and only those', () => {
    const d = device({ platform: 'iOS', productName: 'iPhone16,1', imei: '35 123456 789012 3' });
    const a = answerFor(d, received('DeviceInformation', { Queries: ['SerialNumber', 'OSVersion', 'IMEI', 'SystemIntegrityProtectionEnabled'] }));
    assert.equal(a.Status, 'Acknowledged');
    assert.deepEqual(a.QueryResponses, { SerialNumber: d.serial, OSVersion: d.persona.osVersion, IMEI: '35 123456 789012 3' });
    const mac = device({ platform: 'macOS', productName: 'Mac14,2', model: 'Mac14,2', imei: null });
    const m = answerFor(mac, received('DeviceInformation', { Queries: ['UDID', 'IMEI', 'SystemIntegrityProtectionEnabled'] })).QueryResponses as Dict;
    assert.deepEqual(m, { UDID: mac.udid, SystemIntegrityProtectionEnabled: true });
  });

  test('SecurityInfo, InstalledApplicationList, CertificateList follow the persona and identity', () => {
    const d = device({ platform: 'iOS', passcode: false });
    assert.equal((answerFor(d, received('SecurityInfo')).SecurityInfo as Dict).PasscodePresent, false);
    const apps = answerFor(d, received('InstalledApplicationList')).InstalledApplicationList as Dict[];
    assert.deepEqual(apps.map((a) => a.Identifier), d.persona.apps.map((a) => a.Identifier));
    assert.deepEqual(answerFor(d, received('InstalledApplicationList', { ManagedAppsOnly: true })).InstalledApplicationList, []);
    const certs = answerFor(d, received('CertificateList')).CertificateList as Dict[];
    assert.equal(certs[0]!.IsIdentity, true);
    assert.equal(certs[0]!.CommonName, 'SCEP SIGNER');
    assert.ok(Buffer.from(certs[0]!.Data as Uint8Array).equals(d.identity.cert.der));
  });

  test('commands Apple says cannot run here are refused with an Error; unknown ones too', () => {
    const ios = device({ platform: 'iOS', supervised: false });
    const rd = answerFor(ios, received('EnableRemoteDesktop'));
    assert.equal(rd.Status, 'Error');
    assert.match(String((rd.ErrorChain as Dict[])[0]!.LocalizedDescription), /not available on iOS/);
    assert.match(String(((answerFor(ios, received('RestartDevice')).ErrorChain as Dict[]) ?? [{}])[0]!.LocalizedDescription), /supervised/);
    assert.equal(answerFor(device({ platform: 'iOS', supervised: true }), received('RestartDevice')).Status, 'Acknowledged');
    const personal = device({ platform: 'iOS' });
    personal.accessRights = 8191 - 8;
    assert.match(String((answerFor(personal, received('EraseDevice')).ErrorChain as Dict[])[0]!.LocalizedDescription), /AllowDeviceErase/);
    const unknown = answerFor(ios, { CommandUUID: 'x', Command: { RequestType: 'SelfDestruct' } });
    assert.equal(unknown.Status, 'Error');
    assert.equal(unknown.RequestType, 'SelfDestruct');
  });

  test('InstallProfile and RemoveProfile change ProfileList; a broken payload is an Error; EraseDevice ends management', () => {
    const d = device({ platform: 'iOS' });
    const wifi = { PayloadType: 'Configuration', PayloadIdentifier: 'com.example.wifi', PayloadUUID: crypto.randomUUID(), PayloadVersion: 1, PayloadDisplayName: 'Wi-Fi', PayloadContent: [{ PayloadType: 'com.apple.wifi.managed', PayloadIdentifier: 'com.example.wifi.p', PayloadUUID: crypto.randomUUID(), PayloadVersion: 1, SSID_STR: 'Office' }] };
    assert.equal(answerFor(d, received('InstallProfile', { Payload: Buffer.from(plist.build(wifi)) })).Status, 'Acknowledged');
    const listed = answerFor(d, received('ProfileList')).ProfileList as Dict[];
    assert.deepEqual(listed.map((p) => [p.PayloadIdentifier, p.IsManaged]), [['simulator.enroll', false], ['com.example.wifi', true]]);
    assert.equal((listed[1]!.PayloadContent as Dict[])[0]!.PayloadType, 'com.apple.wifi.managed');
    assert.equal(answerFor(d, received('InstallProfile', { Payload: Buffer.from('not a profile') })).Status, 'Error');
    assert.equal(answerFor(d, received('RemoveProfile', { Identifier: 'com.example.wifi' })).Status, 'Acknowledged');
    assert.equal((answerFor(d, received('ProfileList')).ProfileList as Dict[]).length, 1);
    // A passcode profile: the device judges its passcode against it, and stops when it goes.
    const strict = { PayloadType: 'Configuration', PayloadIdentifier: 'com.example.passcode', PayloadUUID: crypto.randomUUID(), PayloadVersion: 1, PayloadContent: [{ PayloadType: 'com.apple.mobiledevice.passwordpolicy', PayloadIdentifier: 'com.example.passcode.p', PayloadUUID: crypto.randomUUID(), PayloadVersion: 1, forcePIN: true, minLength: 8 }] };
    Object.assign(d.persona, { passcode: true, passcodeLength: 6 });
    const security = () => answerFor(d, received('SecurityInfo')).SecurityInfo as Dict;
    assert.equal(security().PasscodeCompliantWithProfiles, true);
    assert.equal(answerFor(d, received('InstallProfile', { Payload: Buffer.from(plist.build(strict)) })).Status, 'Acknowledged');
    assert.deepEqual([security().PasscodePresent, security().PasscodeCompliantWithProfiles], [true, false]);
    answerFor(d, received('RemoveProfile', { Identifier: 'com.example.passcode' }));
    assert.equal(security().PasscodeCompliantWithProfiles, true);
    // Removing it again: not there, as a real device says (MDMClientError 89).
    const again = answerFor(d, received('RemoveProfile', { Identifier: 'com.example.wifi' }));
    assert.deepEqual([again.Status, (again.ErrorChain as Dict[])[0]!.ErrorDomain, (again.ErrorChain as Dict[])[0]!.ErrorCode], ['Error', 'MDMClientError', 89]);
    // Removing the profile with the MDM payload ends management, managed profiles and apps with it.
    assert.equal(answerFor(d, received('InstallProfile', { Payload: Buffer.from(plist.build(wifi)) })).Status, 'Acknowledged');
    assert.equal(answerFor(d, received('InstallApplication', { Identifier: 'com.example.notes', ManagementFlags: 1 })).State, 'Managed');
    assert.equal(answerFor(d, received('RemoveProfile', { Identifier: 'simulator.enroll' })).Status, 'Acknowledged');
    assert.deepEqual([d.unenrolled, d.profiles.length, d.managedApps.size, d.persona.apps.some((a) => a.Identifier === 'com.example.notes')], [true, 0, 0, false]);
    assert.equal(d.erased, false);
    assert.equal(answerFor(d, received('EraseDevice')).Status, 'Acknowledged');
    assert.equal(d.erased, true);
    assert.ok(NEVER_NOT_NOW.has('EraseDevice') && NEVER_NOT_NOW.has('DeviceLock'));
  });
});

describe('enrollment profile, as a device reads it', () => {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const caName = makeName([[OID.commonName, 'Test CA']]);
  const caDer = buildCertificate({ serial: randomSerial(), subject: caName, issuer: caName, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), spki: publicKey.export({ type: 'spki', format: 'der' }), extensions: [], signingKey: privateKey });
  const signer = makeSigner(caDer, privateKey);
  const profile = (ownership: 'corporate' | 'personal' = 'corporate', includeRoot = true) =>
    enrollmentProfile({ publicUrl: 'https://mdm.example.com', topic: 'com.apple.mgmt.External.t', challenge: 'c0ffee', ownership, caDer, includeRoot, organization: 'Acme' });

  test('a signed profile gives SCEP, MDM and the listing; verified when the signer chains to its root', () => {
    const p = readEnrollmentProfile(signProfile(profile('personal'), signer, []));
    assert.equal(p.scep.url, 'https://mdm.example.com/scep');
    assert.equal(p.scep.challenge, 'c0ffee');
    assert.ok(p.scep.caFingerprint!.equals(crypto.createHash('sha1').update(caDer).digest()));
    assert.equal(p.scep.keysize, 2048);
    assert.match(JSON.stringify(p.scep.subject), /mdm-identity-/);
    assert.deepEqual(p.mdm, { serverUrl: 'https://mdm.example.com/mdm', checkInUrl: 'https://mdm.example.com/mdm/checkin', topic: 'com.apple.mgmt.External.t', signMessage: true, accessRights: 8191 - 8 });
    assert.equal(p.verified, true);
    assert.ok(p.rootDer!.equals(caDer));
    assert.equal(p.listing.PayloadIdentifier, 'org.openmdm.enroll');
    assert.equal(readEnrollmentProfile(signProfile(profile('corporate', false), signer, [])).verified, false, 'no root, not a public CA');
  });

  test('tampered, unsigned or incomplete profiles are refused', () => {
    const good = signProfile(profile(), signer, []);
    const tampered = Buffer.from(good);
    const at = tampered.indexOf('c0ffee');
    tampered.write('c0ffef', at);
    assert.throws(() => readEnrollmentProfile(tampered), (e) => e instanceof ProfileError && /does not verify/.test(e.message));
    assert.throws(() => readEnrollmentProfile(Buffer.from(plist.build(profile() as plist.PlistValue))), ProfileError);
    const noMdm = profile();
    noMdm.PayloadContent = (noMdm.PayloadContent as Dict[]).filter((x) => x.PayloadType !== 'com.apple.mdm');
    assert.throws(() => readEnrollmentProfile(signProfile(noMdm, signer, [])), /no SCEP or no MDM payload/);
  });
});

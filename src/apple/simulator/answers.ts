import crypto from 'node:crypto';
import { readSignedData } from '../../pki/cms.ts';
import { checkSupport } from '../commands/support.ts';
import { decodePlist, type PlistDict } from '../plist.ts';
import type { AppleDevice, Dict } from './device.ts';

/** Commands a locked device still carries out at once: never answered NotNow. */
export const NEVER_NOT_NOW = new Set(['DeviceLock', 'EraseDevice', 'ClearPasscode']);

const commonName = (der: Buffer) => /(?:^|\n)CN=([^\n]*)/.exec(new crypto.X509Certificate(der).subject)?.[1] ?? '';

const errorChain = (domain: string, code: number, text: string) => ({
  Status: 'Error',
  ErrorChain: [{ ErrorDomain: domain, ErrorCode: code, LocalizedDescription: text, USEnglishDescription: text }],
});

/** Everything DeviceInformation can tell about this device; the command's Queries pick from it. */
function deviceInformation(d: AppleDevice): Dict {
  const p = d.persona;
  const ios = p.platform === 'iOS';
  const all: Dict = {
    UDID: d.udid,
    DeviceName: p.deviceName,
    OSVersion: p.osVersion,
    BuildVersion: p.buildVersion,
    ModelName: p.modelName,
    Model: p.model,
    ProductName: p.productName,
    SerialNumber: d.serial,
    DeviceCapacity: p.capacityGb,
    AvailableDeviceCapacity: p.availableGb,
    WiFiMAC: p.wifiMac,
    BluetoothMAC: p.bluetoothMac,
    IsSupervised: p.supervised,
    IsDeviceLocatorServiceEnabled: p.findMy,
    // Activation Lock follows Find My on an unsupervised device.
    IsActivationLockEnabled: p.findMy,
    IsActivationLockSupported: true,
    AwaitingConfiguration: false,
    IsDoNotDisturbInEffect: false,
    iTunesStoreAccountIsActive: false,
    PushToken: d.token,
    TimeZone: 'Europe/Berlin',
  };
  if (p.battery !== null) all.BatteryLevel = p.battery;
  if (ios) {
    Object.assign(all, {
      ModelNumber: p.model.replace(/LL\/A$/, ''),
      CellularTechnology: p.imei ? 3 : 0,
      IsCloudBackupEnabled: p.cloudBackup,
      IsMDMLostModeEnabled: false,
      IsMultiUser: false,
      EASDeviceIdentifier: crypto.createHash('sha1').update(d.udid).digest('hex').slice(0, 32).toUpperCase(),
    });
    if (p.imei) {
      const digits = p.imei.replace(/ /g, '');
      Object.assign(all, { IMEI: p.imei, MEID: digits.slice(0, 14), ModemFirmwareVersion: '2.00.04', ICCID: `89 0126 ${digits.slice(2, 14)}` });
    }
  } else {
    const host = p.deviceName.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
    Object.assign(all, { HasBattery: p.battery !== null, IsAppleSilicon: true, SystemIntegrityProtectionEnabled: true, LocalHostName: host, HostName: `${host}.local` });
  }
  return all;
}

/** Whether the user's passcode meets every installed passcode payload, as iOS judges it for SecurityInfo. */
function passcodeMeetsProfiles(d: AppleDevice): boolean {
  const p = d.persona;
  const length = p.passcodeLength ?? 6;
  for (const rules of d.passcodeRules.values()) {
    for (const r of rules) {
      if (!p.passcode) {
        if (r.forcePIN) return false;
        continue;
      }
      if (length < r.minLength || (r.requireAlphanumeric && !p.passcodeAlphanumeric)) return false;
    }
  }
  return true;
}

function securityInfo(d: AppleDevice): Dict {
  const p = d.persona;
  const management = { EnrolledViaDEP: false, IsUserEnrollment: false, UserApprovedEnrollment: true, IsActivationLockManageable: false };
  if (p.platform === 'iOS') {
    const meets = passcodeMeetsProfiles(d);
    return {
      HardwareEncryptionCaps: 3,
      PasscodePresent: p.passcode,
      // No account (Exchange) asks more than the profiles here: the two agree.
      PasscodeCompliant: meets,
      PasscodeCompliantWithProfiles: meets,
      PasscodeLockGracePeriodEnforced: 0,
      ManagementStatus: management,
    };
  }
  return {
    FDE_Enabled: p.passcode,
    FDE_HasPersonalRecoveryKey: p.passcode,
    FDE_HasInstitutionalRecoveryKey: false,
    FirewallSettings: { FirewallEnabled: p.findMy, BlockAllIncoming: false, StealthMode: false, Applications: [] },
    SystemIntegrityProtectionEnabled: true,
    SecureBoot: { SecureBootLevel: 'full', ExternalBootLevel: 'disallowed' },
    AuthenticatedRootVolumeEnabled: true,
    IsRecoveryLockEnabled: false,
    RemoteDesktopEnabled: false,
    ManagementStatus: management,
  };
}

/** The profile inside an InstallProfile's Payload: a plist, or one signed in CMS. */
function profileOf(payload: unknown): PlistDict | null {
  if (!(payload instanceof Uint8Array)) return null;
  let bytes: Buffer = Buffer.from(payload);
  try {
    if (bytes[0] === 0x30) bytes = readSignedData(bytes).eContent ?? Buffer.alloc(0);
    const p = decodePlist(bytes);
    return p.PayloadType === 'Configuration' && typeof p.PayloadIdentifier === 'string' && typeof p.PayloadUUID === 'string' ? p : null;
  } catch {
    return null;
  }
}

/**
 * What this device answers to a command, and what it does: inventory from its persona,
 * InstallProfile/RemoveProfile change what ProfileList lists, EraseDevice ends its management.
 * A command Apple's schema says cannot run on this device (platform, OS version, supervision,
 * the profile's AccessRights) gets an Error, as a real device refuses it.
 */
export function answerFor(device: AppleDevice, command: Dict): Dict {
  const c = (command.Command ?? {}) as Dict;
  const requestType = String(c.RequestType);
  const base = { UDID: device.udid, CommandUUID: command.CommandUUID, Status: 'Acknowledged', RequestType: requestType };
  let refusal: string | null;
  try {
    refusal = checkSupport(requestType, {
      platform: device.persona.platform,
      osVersion: device.persona.osVersion,
      channel: 'device',
      supervised: device.persona.supervised,
      accessRights: device.accessRights,
    }, c);
  } catch {
    return { ...base, ...errorChain('MCMDMErrorDomain', 12021, `Unknown command “${requestType}”.`) };
  }
  if (refusal) return { ...base, ...errorChain('MCMDMErrorDomain', 12021, refusal) };

  switch (requestType) {
    case 'DeviceInformation': {
      const all = deviceInformation(device);
      const asked = Array.isArray(c.Queries) ? (c.Queries as unknown[]).map(String) : Object.keys(all);
      // Queries this device has no answer for are left out, as devices do.
      return { ...base, QueryResponses: Object.fromEntries(asked.filter((q) => q in all).map((q) => [q, all[q]])) };
    }
    case 'SecurityInfo':
      return { ...base, SecurityInfo: securityInfo(device) };
    case 'InstalledApplicationList': {
      const wanted = Array.isArray(c.Identifiers) ? new Set((c.Identifiers as unknown[]).map(String)) : null;
      const apps = device.persona.apps.filter((a) => (!wanted || wanted.has(a.Identifier)) && (c.ManagedAppsOnly !== true || device.managedApps.has(a.Identifier)));
      return { ...base, InstalledApplicationList: apps.map((a) => ({ ...a, DynamicSize: Math.round(a.BundleSize / 8), Installing: false, HasUpdateAvailable: false })) };
    }
    case 'ManagedApplicationList':
      return { ...base, ManagedApplicationList: Object.fromEntries([...device.managedApps].map(([id, flags]) => [id, { Status: 'Managed', ManagementFlags: flags, HasConfiguration: false, HasFeedback: false, IsValidated: true }])) };
    case 'InstallApplication': {
      // By bundle id the App Store installs at once; an iTunes store id or a manifest leaves it queued (this device has no store to look in).
      if (typeof c.Identifier !== 'string') return { ...base, State: 'Queued' };
      const id = c.Identifier;
      if (!device.persona.apps.some((a) => a.Identifier === id)) device.persona.apps.push({ Identifier: id, Name: id.split('.').pop()!, ShortVersion: '1.0', Version: '1', BundleSize: 5_000_000 });
      device.managedApps.set(id, Number(c.ManagementFlags ?? 0));
      return { ...base, Identifier: id, State: 'Managed' };
    }
    case 'RemoveApplication': {
      const id = String(c.Identifier);
      if (!device.managedApps.has(id)) return { ...base, ...errorChain('MCMDMErrorDomain', 12029, `The app “${id}” is not managed.`) };
      device.managedApps.delete(id);
      device.persona.apps = device.persona.apps.filter((a) => a.Identifier !== id);
      return base;
    }
    case 'ProfileList':
      return { ...base, ProfileList: device.profiles };
    case 'CertificateList': {
      const certs = [{ CommonName: commonName(device.identity.cert.der), Data: device.identity.cert.der, IsIdentity: true }];
      if (device.rootDer) certs.push({ CommonName: commonName(device.rootDer), Data: device.rootDer, IsIdentity: false });
      return { ...base, CertificateList: certs };
    }
    case 'InstallProfile': {
      const p = profileOf(c.Payload);
      if (!p) return { ...base, ...errorChain('MCProfileErrorDomain', 1000, 'The profile cannot be read.') };
      const listing: PlistDict = {
        PayloadIdentifier: p.PayloadIdentifier,
        PayloadUUID: p.PayloadUUID,
        PayloadVersion: p.PayloadVersion ?? 1,
        PayloadDisplayName: p.PayloadDisplayName ?? p.PayloadIdentifier,
        IsManaged: true,
        IsEncrypted: false,
        HasRemovalPasscode: false,
        PayloadRemovalDisallowed: false,
        PayloadContent: ((p.PayloadContent ?? []) as PlistDict[]).map((x) => ({ PayloadType: x.PayloadType, PayloadIdentifier: x.PayloadIdentifier, PayloadUUID: x.PayloadUUID, PayloadVersion: x.PayloadVersion ?? 1 })),
      };
      device.profiles = [...device.profiles.filter((x) => x.PayloadIdentifier !== p.PayloadIdentifier), listing];
      const rules = ((p.PayloadContent ?? []) as PlistDict[])
        .filter((x) => x.PayloadType === 'com.apple.mobiledevice.passwordpolicy')
        .map((x) => ({ forcePIN: x.forcePIN === true, minLength: Number(x.minLength ?? 0), requireAlphanumeric: x.requireAlphanumeric === true }));
      device.passcodeRules.set(String(p.PayloadIdentifier), rules);
      return base;
    }
    case 'RemoveProfile': {
      // The profile carrying the MDM payload: removing it ends management, and every managed
      // profile (and app) goes with it; the device checks out next.
      const enrollment = device.profiles.find((x) => x.PayloadIdentifier === c.Identifier && ((x.PayloadContent ?? []) as PlistDict[]).some((p) => p.PayloadType === 'com.apple.mdm'));
      if (enrollment) {
        device.profiles = device.profiles.filter((x) => x !== enrollment && !x.IsManaged);
        device.passcodeRules.clear();
        // Managed apps installed to go with management (ManagementFlags 1) go too.
        for (const [id, flags] of device.managedApps) if (flags & 1) device.persona.apps = device.persona.apps.filter((a) => a.Identifier !== id);
        device.managedApps.clear();
        device.unenrolled = true;
        return base;
      }
      const kept = device.profiles.filter((x) => !(x.IsManaged && x.PayloadIdentifier === c.Identifier));
      // What a real device answers for a profile it does not have (MDMClientError 89).
      if (kept.length === device.profiles.length) return { ...base, ...errorChain('MDMClientError', 89, `Profile with identifier '${String(c.Identifier)}' not found.`) };
      device.profiles = kept;
      device.passcodeRules.delete(String(c.Identifier));
      return base;
    }
    case 'EraseDevice':
      device.erased = true;
      return base;
    default:
      return base;
  }
}

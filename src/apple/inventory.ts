import crypto from 'node:crypto';
import { jsonSafe, type PlistDict } from './plist.ts';
import type { AppleRepo } from './repo.ts';

/** The platform from a ProductName or Model identifier (iPhone15,2, iPad13,1, Mac14,2, MacBookPro18,3, AppleTV6,2, ...). */
export function platformOf(productName?: string, model?: string): string | null {
  const s = productName || model || '';
  if (/^iPhone|^iPod/.test(s)) return 'ios';
  if (/^iPad/.test(s)) return 'ipados';
  if (/^Mac|^iMac|^VirtualMac/.test(s)) return 'macos';
  if (/^AppleTV/.test(s)) return 'tvos';
  if (/^Watch/.test(s)) return 'watchos';
  if (/^RealityDevice/.test(s)) return 'visionos';
  return null;
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

function certificateSummary(entry: PlistDict) {
  const data = entry.Data instanceof Uint8Array ? Buffer.from(entry.Data) : null;
  let parsed: { subject?: string; issuer?: string; notAfter?: string; serial?: string } = {};
  if (data) {
    try {
      const x = new crypto.X509Certificate(data);
      parsed = { subject: x.subject, issuer: x.issuer, notAfter: new Date(x.validTo).toISOString(), serial: x.serialNumber };
    } catch {
      /* a certificate we cannot parse is still listed by name */
    }
  }
  return {
    commonName: str(entry.CommonName) ?? null,
    isIdentity: entry.IsIdentity === true,
    sha256: data ? crypto.createHash('sha256').update(data).digest('hex') : null,
    ...parsed,
  };
}

/**
 * Turns the answers to inventory commands into the device record: identity columns for search,
 * and the parsed lists as JSON. Unknown request types are left alone.
 */
export function applyInventory(repo: AppleRepo, deviceId: string, requestType: string, report: PlistDict, now: number): boolean {
  switch (requestType) {
    case 'DeviceInformation': {
      const q = (report.QueryResponses ?? {}) as PlistDict;
      // A DeviceInformation may ask for a few queries only: merge, so earlier answers (IsSupervised…) stay known.
      const previous = (repo.device(deviceId)?.deviceInformation ?? {}) as Record<string, unknown>;
      repo.updateDevice(deviceId, {
        deviceName: str(q.DeviceName),
        model: str(q.Model),
        modelName: str(q.ModelName),
        productName: str(q.ProductName),
        osVersion: str(q.OSVersion),
        buildVersion: str(q.BuildVersion),
        serialNumber: str(q.SerialNumber),
        platform: platformOf(str(q.ProductName), str(q.Model)) ?? undefined,
        deviceInformation: { ...previous, ...(jsonSafe(q) as Record<string, unknown>) },
        inventoryUpdatedAt: now,
        updatedAt: now,
      });
      return true;
    }
    case 'SecurityInfo':
      repo.updateDevice(deviceId, { securityInfo: jsonSafe(report.SecurityInfo ?? {}), inventoryUpdatedAt: now, updatedAt: now });
      return true;
    case 'InstalledApplicationList':
      repo.updateDevice(deviceId, { installedApps: jsonSafe(report.InstalledApplicationList ?? []), inventoryUpdatedAt: now, updatedAt: now });
      return true;
    case 'ProfileList': {
      const profiles = ((report.ProfileList ?? []) as PlistDict[]).map((p) => {
        // Signer certificates are large and say little in a listing.
        const { SignerCertificates: _, ...rest } = p;
        return jsonSafe(rest);
      });
      repo.updateDevice(deviceId, { profiles, inventoryUpdatedAt: now, updatedAt: now });
      return true;
    }
    case 'CertificateList':
      repo.updateDevice(deviceId, {
        certificates: ((report.CertificateList ?? []) as PlistDict[]).map(certificateSummary),
        inventoryUpdatedAt: now,
        updatedAt: now,
      });
      return true;
    default:
      return false;
  }
}

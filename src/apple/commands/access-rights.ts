/** The bits of the MDM payload's AccessRights (Apple's com.apple.mdm profile schema). */
export const AccessRight = {
  inspectProfiles: 1,
  installRemoveProfiles: 2,
  lockAndRemovePasscode: 4,
  erase: 8,
  queryDeviceInformation: 16,
  queryNetworkInformation: 32,
  inspectProvisioningProfiles: 64,
  installRemoveProvisioningProfiles: 128,
  inspectApps: 256,
  queryRestrictions: 512,
  querySecurity: 1024,
  changeSettings: 2048,
  manageApps: 4096,
} as const;

export const ALL_ACCESS_RIGHTS = 8191;

/**
 * How the command schemas spell each right. Apple's YAML is not consistent: the lock right is
 * both AllowPasscodeRemovalAndLock and DeviceLockAndRemovePasscode, and the installed-apps right
 * both AllowQueryApplications and QueryInstalledApps. "None" and "n/a" need no right; "Special
 * Case" (DeviceInformation) depends on each query, so the command as a whole needs none.
 */
const BY_SCHEMA_NAME: Record<string, number> = {
  None: 0,
  'n/a': 0,
  'Special Case': 0,
  AllowInspection: AccessRight.inspectProfiles,
  AllowInstallationRemoval: AccessRight.installRemoveProfiles,
  AllowPasscodeRemovalAndLock: AccessRight.lockAndRemovePasscode,
  DeviceLockAndRemovePasscode: AccessRight.lockAndRemovePasscode,
  AllowDeviceErase: AccessRight.erase,
  AllowQueryDeviceInformation: AccessRight.queryDeviceInformation,
  AllowQueryNetworkInformation: AccessRight.queryNetworkInformation,
  AllowProvisioningInspection: AccessRight.inspectProvisioningProfiles,
  AllowProvisioningInstallationRemoval: AccessRight.installRemoveProvisioningProfiles,
  AllowQueryApplications: AccessRight.inspectApps,
  QueryInstalledApps: AccessRight.inspectApps,
  AllowQueryRestrictions: AccessRight.queryRestrictions,
  AllowQuerySecurity: AccessRight.querySecurity,
  AllowSettings: AccessRight.changeSettings,
  AllowAppInstallation: AccessRight.manageApps,
};

/** The bit for a schema's `accessrights` value; undefined for a name this table does not know. */
export const accessRightBit = (schemaName: string): number | undefined =>
  Object.hasOwn(BY_SCHEMA_NAME, schemaName) ? BY_SCHEMA_NAME[schemaName] : undefined;

import { buildCommand } from './commands/build.ts';
import type { BuiltCommand } from './queue.ts';

/** What DeviceInformation asks for: identity, OS, hardware and the state the console shows. */
export const DEVICE_QUERIES = [
  'DeviceName',
  'OSVersion',
  'BuildVersion',
  'ModelName',
  'Model',
  'ProductName',
  'SerialNumber',
  'UDID',
  'DeviceCapacity',
  'AvailableDeviceCapacity',
  'BatteryLevel',
  'CellularTechnology',
  'IMEI',
  'MEID',
  'WiFiMAC',
  'BluetoothMAC',
  'IsSupervised',
  'IsDeviceLocatorServiceEnabled',
  'IsActivationLockEnabled',
  'IsCloudBackupEnabled',
  'IsMDMLostModeEnabled',
  'AwaitingConfiguration',
  'SystemIntegrityProtectionEnabled',
];

/** The commands that (re)fill a device's inventory: queued at enrollment and on each refresh. */
export function inventoryCommands(): BuiltCommand[] {
  return [
    buildCommand('DeviceInformation', { Queries: DEVICE_QUERIES }),
    buildCommand('SecurityInfo'),
    buildCommand('InstalledApplicationList', { ManagedAppsOnly: false }),
    buildCommand('ProfileList'),
    buildCommand('CertificateList'),
  ];
}

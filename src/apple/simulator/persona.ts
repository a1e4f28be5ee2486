import crypto from 'node:crypto';

export type SimulatedPlatform = 'iOS' | 'macOS';

export interface AppInfo {
  Identifier: string;
  Name: string;
  ShortVersion: string;
  Version: string;
  BundleSize: number;
}

/** What a simulated device says about itself: in Authenticate, DeviceInformation, SecurityInfo and InstalledApplicationList. */
export interface Persona {
  /** Apple's schema platform (iPadOS is iOS there). */
  platform: SimulatedPlatform;
  deviceName: string;
  /** ProductName, the hardware identifier: iPhone16,1, iPad13,18, Mac14,2. */
  productName: string;
  /** Model as iOS reports it (a model number such as MQ8Y2LL/A); a Mac reports its identifier. */
  model: string;
  modelName: string;
  osVersion: string;
  buildVersion: string;
  capacityGb: number;
  availableGb: number;
  /** 0..1; null on a Mac without a battery. */
  battery: number | null;
  imei: string | null;
  wifiMac: string;
  bluetoothMac: string;
  supervised: boolean;
  passcode: boolean;
  /** The passcode the user set, when `passcode`: its length and whether it has letters (default 6 digits). */
  passcodeLength?: number;
  passcodeAlphanumeric?: boolean;
  findMy: boolean;
  cloudBackup: boolean;
  apps: AppInfo[];
}

const pick = <T>(xs: readonly T[]): T => xs[crypto.randomInt(xs.length)]!;
const hex = (bytes: number) => crypto.randomBytes(bytes).toString('hex');

const HARDWARE = [
  { platform: 'iOS', productName: 'iPhone14,7', modelName: 'iPhone', capacities: [128, 256], battery: true },
  { platform: 'iOS', productName: 'iPhone15,2', modelName: 'iPhone', capacities: [128, 256, 512], battery: true },
  { platform: 'iOS', productName: 'iPhone15,4', modelName: 'iPhone', capacities: [128, 256], battery: true },
  { platform: 'iOS', productName: 'iPhone16,1', modelName: 'iPhone', capacities: [128, 256, 512], battery: true },
  { platform: 'iOS', productName: 'iPhone17,3', modelName: 'iPhone', capacities: [128, 256], battery: true },
  { platform: 'iOS', productName: 'iPad13,18', modelName: 'iPad', capacities: [64, 256], battery: true },
  { platform: 'iOS', productName: 'iPad14,3', modelName: 'iPad Pro', capacities: [128, 256, 512], battery: true },
  { platform: 'macOS', productName: 'Mac14,2', modelName: 'MacBook Air', capacities: [256, 512], battery: true },
  { platform: 'macOS', productName: 'Mac15,3', modelName: 'MacBook Pro', capacities: [512, 1000], battery: true },
  { platform: 'macOS', productName: 'Mac14,3', modelName: 'Mac mini', capacities: [256, 512], battery: false },
] as const;

// Released versions with their builds: devices in a fleet run a spread of them.
const RELEASES: Record<SimulatedPlatform, Array<[string, string]>> = {
  iOS: [
    ['17.5.1', '21F90'],
    ['17.6.1', '21G93'],
    ['18.1', '22B83'],
    ['18.2', '22C152'],
  ],
  macOS: [
    ['14.6.1', '23G93'],
    ['15.1', '24B83'],
    ['15.2', '24C101'],
  ],
};

const APPS: Record<SimulatedPlatform, AppInfo[]> = {
  iOS: [
    { Identifier: 'com.microsoft.Office.Outlook', Name: 'Outlook', ShortVersion: '4.2446.0', Version: '4.2446.0', BundleSize: 412_000_000 },
    { Identifier: 'com.tinyspeck.chatlyio', Name: 'Slack', ShortVersion: '24.11.10', Version: '24.11.10.0', BundleSize: 280_000_000 },
    { Identifier: 'us.zoom.videomeetings', Name: 'Zoom', ShortVersion: '6.2.11', Version: '6.2.11.24933', BundleSize: 198_000_000 },
    { Identifier: 'com.google.chrome.ios', Name: 'Chrome', ShortVersion: '131.0.6778.73', Version: '131.0.6778.73', BundleSize: 310_000_000 },
    { Identifier: 'com.microsoft.skype.teams', Name: 'Teams', ShortVersion: '6.24.2', Version: '6.24.2', BundleSize: 350_000_000 },
    { Identifier: 'com.1password.1password', Name: '1Password', ShortVersion: '8.10.50', Version: '81050020', BundleSize: 95_000_000 },
  ],
  macOS: [
    { Identifier: 'com.microsoft.Word', Name: 'Microsoft Word', ShortVersion: '16.91', Version: '16.91.24111020', BundleSize: 2_300_000_000 },
    { Identifier: 'com.google.Chrome', Name: 'Google Chrome', ShortVersion: '131.0.6778.86', Version: '6778.86', BundleSize: 1_200_000_000 },
    { Identifier: 'com.tinyspeck.slackmacgap', Name: 'Slack', ShortVersion: '4.41.105', Version: '441000105', BundleSize: 510_000_000 },
    { Identifier: 'us.zoom.xos', Name: 'zoom.us', ShortVersion: '6.2.11', Version: '6.2.11.43613', BundleSize: 480_000_000 },
    { Identifier: 'com.1password.1password', Name: '1Password', ShortVersion: '8.10.50', Version: '81050020', BundleSize: 410_000_000 },
  ],
};

const OWNERS = ['Alex', 'Sam', 'Jordan', 'Priya', 'Wei', 'Fatima', 'Lukas', 'Ines', 'Kenji', 'Ana'];

const mac = () =>
  crypto
    .randomBytes(6)
    .toString('hex')
    .match(/../g)!
    .join(':');

/** An IMEI with its Luhn check digit, spaced as iOS shows it. */
function imei(): string {
  const body = `35${String(crypto.randomInt(1e12)).padStart(12, '0')}`;
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    let d = Number(body[i]);
    if (i % 2 === 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  const full = body + ((10 - (sum % 10)) % 10);
  return `${full.slice(0, 2)} ${full.slice(2, 8)} ${full.slice(8, 14)} ${full.slice(14)}`;
}

/** Apple's randomised ten-character serial numbers (2021 on): no vowels, no O or I. */
export function serialNumber(): string {
  const alphabet = 'BCDFGHJKLMNPQRTVWXYZ0123456789';
  return Array.from({ length: 10 }, () => alphabet[crypto.randomInt(alphabet.length)]).join('');
}

/** iOS devices from the A12 on: 8 and 16 hex digits; Macs: a UUID. */
export function udidFor(platform: SimulatedPlatform): string {
  return platform === 'macOS' ? crypto.randomUUID().toUpperCase() : `0000${hex(2)}-${hex(8)}`.toUpperCase();
}

/** A plausible device of a mixed fleet: mostly iPhones, some iPads and Macs. */
export function randomPersona(): Persona {
  const hw = pick(HARDWARE);
  const [osVersion, buildVersion] = pick(RELEASES[hw.platform]);
  const capacityGb = pick(hw.capacities);
  const phone = hw.productName.startsWith('iPhone');
  const kind = hw.modelName.startsWith('Mac') ? hw.modelName : hw.modelName.split(' ')[0];
  const apps = APPS[hw.platform].filter(() => crypto.randomInt(4) > 0);
  return {
    platform: hw.platform,
    deviceName: `${pick(OWNERS)}'s ${kind}`,
    productName: hw.productName,
    model: hw.platform === 'macOS' ? hw.productName : `M${hex(2).toUpperCase()}${crypto.randomInt(10)}LL/A`,
    modelName: hw.modelName,
    osVersion,
    buildVersion,
    capacityGb,
    availableGb: Math.round(capacityGb * (0.2 + 0.6 * Math.random()) * 100) / 100,
    battery: hw.battery ? Math.round((0.15 + 0.85 * Math.random()) * 100) / 100 : null,
    imei: phone ? imei() : null,
    wifiMac: mac(),
    bluetoothMac: mac(),
    supervised: crypto.randomInt(2) === 0,
    passcode: crypto.randomInt(10) > 0,
    findMy: crypto.randomInt(3) > 0,
    cloudBackup: hw.platform === 'iOS' && crypto.randomInt(2) === 0,
    apps,
  };
}

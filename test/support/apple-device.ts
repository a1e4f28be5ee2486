// The simulated Apple device lives with the device simulator (src/apple/simulator/); tests get
// one with a fixed persona, so what they assert about inventory is known in advance.
import { AppleDevice as SimulatedDevice, type DeviceOptions } from '../../src/apple/simulator/device.ts';
import type { Persona } from '../../src/apple/simulator/persona.ts';

export { answerFor } from '../../src/apple/simulator/answers.ts';
export type { Dict } from '../../src/apple/simulator/device.ts';

export const TEST_PERSONA: Persona = {
  platform: 'iOS',
  deviceName: 'Test iPhone',
  productName: 'iPhone15,2',
  model: 'iPhone15,2',
  modelName: 'iPhone',
  osVersion: '17.5.1',
  buildVersion: '21F90',
  capacityGb: 128,
  availableGb: 87.5,
  battery: 0.8,
  imei: null,
  wifiMac: 'f0:18:98:00:00:01',
  bluetoothMac: 'f0:18:98:00:00:02',
  supervised: false,
  passcode: true,
  findMy: false,
  cloudBackup: false,
  apps: [{ Identifier: 'com.example.app', Name: 'Example', ShortVersion: '1.2', Version: '12', BundleSize: 1234567 }],
};

export class AppleDevice extends SimulatedDevice {
  constructor(url: string, o: DeviceOptions = {}) {
    super(url, { persona: TEST_PERSONA, ...o });
  }
}

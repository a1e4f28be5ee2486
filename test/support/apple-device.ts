// The simulated Apple device lives with the device simulator (src/apple/simulator/); tests get
// one with a fixed persona, so what they assert about inventory is known in advance.
import { AppleDevice as SimulatedDevice, type DeviceOptions } from '../../src/apple/simulator/device.ts';
import type { Persona } from '../../src/apple/simulator/persona.ts';
import { downloadEnrollmentProfile } from '../../src/apple/simulator/enrollment-profile.ts';

import { answerFor } from '../../src/apple/simulator/answers.ts';
import type { Dict } from '../../src/apple/simulator/device.ts';

export { answerFor };
export type { Dict };

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

/**
 * Answers every queued command as the simulated device does, until the queue is empty; returns
 * the commands it was sent.
 */
export async function drainCommands(d: SimulatedDevice): Promise<Dict[]> {
  const seen: Dict[] = [];
  let r = await d.report('Idle');
  while (r.plist) {
    seen.push(r.plist);
    r = await d.report('Acknowledged', answerFor(d, r.plist));
  }
  return seen;
}

/** A test device enrolled with a SCEP challenge, checked in, its first inventory answered. */
export async function enrolledDevice(url: string, challenge: string, o: DeviceOptions = {}): Promise<AppleDevice> {
  const d = new AppleDevice(url, o);
  await d.scepEnroll(challenge);
  const auth = await d.authenticate();
  const token = await d.tokenUpdate();
  if (auth.status !== 200 || token.status !== 200) throw new Error(`enrollment failed: Authenticate ${auth.status}, TokenUpdate ${token.status}`);
  await drainCommands(d);
  return d;
}

/**
 * A test device enrolled as a person does: an enrollment link made with the CLI (ownership and
 * user recorded with it), its signed profile downloaded and installed, SCEP with the profile's
 * challenge, then MDM; its first commands answered. The server needs a push certificate.
 */
export async function enrolledWithLink(
  server: { url: string; cli(args: string[]): { stdout: string; stderr: string; status: number | null } },
  o: { ownership: 'corporate' | 'personal'; user?: string } & DeviceOptions,
): Promise<AppleDevice> {
  const made = server.cli(['enroll', 'create', '--ownership', o.ownership, ...(o.user ? ['--user', o.user] : [])]);
  if (made.status !== 0) throw new Error(`enroll create failed: ${made.stderr}`);
  // Links and URLs in the profile name the public URL; the test server listens elsewhere.
  const rebase = (u: string) => server.url + new URL(u).pathname + new URL(u).search;
  const d = new AppleDevice(server.url, o);
  const profile = await downloadEnrollmentProfile(d.http, rebase(made.stdout.trim()));
  d.useProfile(profile, { serverUrl: rebase(profile.mdm.serverUrl), checkInUrl: rebase(profile.mdm.checkInUrl) });
  await d.scepEnroll(profile.scep.challenge, undefined, { url: rebase(profile.scep.url), caFingerprint: profile.scep.caFingerprint, subject: profile.scep.subject });
  const auth = await d.authenticate();
  const token = await d.tokenUpdate();
  if (auth.status !== 200 || token.status !== 200) throw new Error(`enrollment failed: Authenticate ${auth.status}, TokenUpdate ${token.status}`);
  await drainCommands(d);
  return d;
}

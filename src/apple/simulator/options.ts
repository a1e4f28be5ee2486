import { parseArgs } from 'node:util';
import { parseDuration } from '../../duration.ts';

export interface SimulateOptions {
  devices: number;
  /** Where the appliance is reached: links and profiles keep their paths but go to this origin. */
  server: URL;
  /** Single-use enrollment links, one per device, used first. */
  enrollUrls: string[];
  /** A static SCEP challenge for the devices beyond the links. */
  challenge: string | null;
  /** MDM and SCEP requests in flight at once, across all devices. */
  concurrency: number;
  /** How long devices keep checking in once the last one has enrolled. */
  durationMs: number;
  /** The share of commands answered NotNow first. */
  notNow: number;
  /** How long a device with nothing to do waits before its next Idle (no push here: devices poll). */
  intervalMs: number;
}

export const SIMULATE_USAGE = `usage: mdm simulate apple --devices N --server URL [--enroll-url URL ... | --challenge C]
                          [--concurrency 16] [--duration 60s] [--notnow 0] [--interval 1s]

  Simulated Apple devices enroll (enrollment link: page, signed profile, SCEP; or a static SCEP
  challenge), check in signed (Authenticate, TokenUpdate), then poll with Idle and answer every
  command with realistic inventory. One line per second, a summary at the end; exit status 1
  when a device failed to enroll.

  --devices N        devices to simulate (default: one per --enroll-url)
  --server URL       the appliance, e.g. http://127.0.0.1:8080; URLs from links and profiles
                     keep their paths but go here
  --enroll-url URL   an enrollment link (mdm enroll create); each enrolls one device; repeatable
  --challenge C      a static SCEP challenge (MDM_SCEP_CHALLENGE) for devices without a link
  --concurrency K    requests in flight at once (default 16)
  --duration D       how long devices check in after the last enrollment (default 60s)
  --notnow R         share of commands first answered NotNow, 0..1 (default 0)
  --interval D       a device with nothing to do sends Idle again after D, 0 for back to back
                     (default 1s)

  HTTPS: the server certificate must be one Node trusts (NODE_EXTRA_CA_CERTS=ca.pem; mdm ca show).`;

export class SimulateUsageError extends Error {}

const durationOrZero = (flag: string, text: string): number => {
  if (text.trim() === '0') return 0;
  const ms = parseDuration(text);
  if (ms === null) throw new SimulateUsageError(`--${flag} must be 0 or a duration such as 1s, 30s or 5m`);
  return ms;
};

/** `mdm simulate apple` arguments (after `apple`). SimulateUsageError on anything wrong. */
export function parseSimulateArgs(argv: string[]): SimulateOptions {
  let values: Record<string, string | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        devices: { type: 'string' },
        server: { type: 'string' },
        'enroll-url': { type: 'string', multiple: true },
        challenge: { type: 'string' },
        concurrency: { type: 'string', default: '16' },
        duration: { type: 'string', default: '60s' },
        notnow: { type: 'string', default: '0' },
        interval: { type: 'string', default: '1s' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new SimulateUsageError((e as Error).message);
  }
  const server = values.server as string | undefined;
  if (!server || !URL.canParse(server) || !['http:', 'https:'].includes(new URL(server).protocol)) {
    throw new SimulateUsageError('--server must be the appliance URL, such as http://127.0.0.1:8080');
  }
  const enrollUrls = (values['enroll-url'] as string[] | undefined) ?? [];
  for (const u of enrollUrls) if (!URL.canParse(u) || !/\/enroll\/[^/]+\/?$/.test(new URL(u).pathname)) throw new SimulateUsageError(`--enroll-url ${u} is not an enrollment link (…/enroll/<token>)`);
  const challenge = (values.challenge as string | undefined) ?? null;
  const devices = values.devices === undefined ? enrollUrls.length : Number(values.devices);
  if (!Number.isInteger(devices) || devices < 1) throw new SimulateUsageError('--devices must be a positive integer (or give --enroll-url links)');
  if (devices > enrollUrls.length && challenge === null) {
    throw new SimulateUsageError(`${devices} devices need ${devices} --enroll-url links (each enrolls one device) or a --challenge; got ${enrollUrls.length} link(s)`);
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new SimulateUsageError('--concurrency must be a positive integer');
  const notNow = Number(values.notnow);
  if (!(notNow >= 0 && notNow <= 1)) throw new SimulateUsageError('--notnow must be a rate between 0 and 1');
  const durationMs = parseDuration(values.duration as string);
  if (durationMs === null) throw new SimulateUsageError('--duration must be a duration such as 30s, 5m or 1h');
  return {
    devices,
    server: new URL(server),
    enrollUrls,
    challenge,
    concurrency,
    durationMs,
    notNow,
    intervalMs: durationOrZero('interval', values.interval as string),
  };
}

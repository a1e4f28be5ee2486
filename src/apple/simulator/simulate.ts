import crypto from 'node:crypto';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { answerFor, NEVER_NOT_NOW } from './answers.ts';
import { AppleDevice, type Dict, type MdmReply } from './device.ts';
import { downloadEnrollmentProfile } from './enrollment-profile.ts';
import { createGate } from './gate.ts';
import { createHttpClient } from './http.ts';
import type { SimulateOptions } from './options.ts';
import { newDevice } from './scep-client.ts';
import { Latencies, Tally } from './stats.ts';

const generateKeyPair = promisify(crypto.generateKeyPair);

/** A link without most of its secret token, for output. */
const shortLink = (link: string) => link.replace(/(\/enroll\/[^/]{6})[^/]+/, '$1…');

/**
 * Runs a fleet of simulated Apple devices against an appliance: each enrolls (link or static
 * challenge), then polls with Idle and answers commands until the run ends. Writes one line per
 * second and a summary to `out`; resolves with the exit status: 1 when a device failed to enroll.
 */
export async function simulateApple(o: SimulateOptions, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  const http = createHttpClient({ maxSockets: o.concurrency });
  const requests = createGate(o.concurrency);
  // Key generation runs on libuv's pool; more jobs at once than cores only delays every enrollment.
  const keygen = createGate(os.availableParallelism());
  const rebase = (u: string) => {
    const url = new URL(u);
    url.protocol = o.server.protocol;
    url.host = o.server.host;
    return url.href;
  };

  const latencies = new Latencies();
  const answered = new Tally();
  const byType = new Tally();
  const errors = new Tally();
  const enrollFailures: string[] = [];
  let enrolled = 0;
  let erased = 0;
  let profiles = 0;
  let verifiedProfiles = 0;
  let second = { checkins: 0, answered: 0, errors: 0 };

  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const ticker = setInterval(() => {
    out.write(
      `[${elapsed().toFixed(0).padStart(4)}s] enrolled ${enrolled}/${o.devices}${enrollFailures.length ? ` (${enrollFailures.length} failed)` : ''}` +
        `  check-ins ${second.checkins}/s  commands answered ${second.answered} (total ${answered.total})  errors ${second.errors}\n`,
    );
    second = { checkins: 0, answered: 0, errors: 0 };
  }, 1000);

  const error = (what: string) => {
    errors.add(what);
    second.errors++;
  };

  /** One signed MDM request, counted and timed (signing included); null when it failed. */
  const mdm = (what: string, send: () => Promise<MdmReply>): Promise<MdmReply | null> =>
    requests.run(async () => {
      const t = performance.now();
      try {
        const r = await send();
        latencies.add(performance.now() - t);
        second.checkins++;
        if (r.status === 200) return r;
        error(`HTTP ${r.status} to ${what}`);
      } catch (e) {
        error(`${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      return null;
    });

  async function enroll(i: number): Promise<AppleDevice | null> {
    const link = o.enrollUrls[i];
    const device = new AppleDevice(o.server.origin, { http });
    try {
      if (link) {
        const profile = await requests.run(() => downloadEnrollmentProfile(http, rebase(link)));
        profiles++;
        if (profile.verified) verifiedProfiles++;
        device.useProfile(profile, { serverUrl: rebase(profile.mdm.serverUrl), checkInUrl: rebase(profile.mdm.checkInUrl) });
        const keys = await keygen.run(() => generateKeyPair('rsa', { modulusLength: profile.scep.keysize }));
        await requests.run(() =>
          device.scepEnroll(profile.scep.challenge, newDevice(profile.scep.keysize, keys), {
            url: rebase(profile.scep.url),
            caFingerprint: profile.scep.caFingerprint,
            subject: profile.scep.subject,
          }),
        );
      } else {
        const keys = await keygen.run(() => generateKeyPair('rsa', { modulusLength: 2048 }));
        await requests.run(() => device.scepEnroll(o.challenge!, newDevice(2048, keys)));
      }
      if (!(await mdm('Authenticate', () => device.authenticate()))) throw new Error('Authenticate was refused');
      if (!(await mdm('TokenUpdate', () => device.tokenUpdate()))) throw new Error('TokenUpdate was refused');
      enrolled++;
      return device;
    } catch (e) {
      enrollFailures.push(`device ${i + 1}${link ? ` (${shortLink(link)})` : ''}: ${(e as Error).message}`);
      return null;
    }
  }

  const pause = async (ms: number) => {
    // Jitter keeps a fleet that enrolled together from polling in lockstep.
    await sleep(ms * (0.75 + Math.random() / 2), undefined, { signal: stop.signal }).catch(() => {});
  };

  async function run(d: AppleDevice): Promise<void> {
    while (!stop.signal.aborted && !d.erased) {
      let r = await mdm('Idle', () => d.report('Idle'));
      const failed = r === null;
      while (r?.plist && !stop.signal.aborted) {
        const command = r.plist;
        const type = String((command.Command as Dict | undefined)?.RequestType);
        const answer = !NEVER_NOT_NOW.has(type) && Math.random() < o.notNow ? { UDID: d.udid, CommandUUID: command.CommandUUID, Status: 'NotNow' } : answerFor(d, command);
        r = await mdm(`the answer to ${type}`, () => d.report(String(answer.Status), answer));
        if (!r) break;
        answered.add(String(answer.Status));
        byType.add(type);
        second.answered++;
        if (d.erased) {
          erased++;
          break;
        }
      }
      // A refused request is retried no sooner than a second later, whatever the interval.
      if (!d.erased) await pause(failed ? Math.max(o.intervalMs, 1000) : o.intervalMs);
    }
  }

  const loops: Array<Promise<void>> = [];
  await Promise.all(
    Array.from({ length: o.devices }, async (_, i) => {
      if (stop.signal.aborted) return;
      const d = await enroll(i);
      if (d) loops.push(run(d));
    }),
  );
  const enrolledAt = elapsed();
  if (enrolled > 0) await sleep(o.durationMs, undefined, { signal: stop.signal }).catch(() => {});
  stop.abort();
  await Promise.all(loops);
  clearInterval(ticker);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  http.close();

  const total = elapsed();
  const [p50, p99] = latencies.quantiles(0.5, 0.99);
  const lines = [
    `summary: ${o.devices} devices against ${o.server.origin}: ${enrolled} enrolled, ${enrollFailures.length} failed to enroll, ${erased} erased` +
      ` (enrollment took ${enrolledAt.toFixed(1)} s${profiles ? `; ${profiles} profiles downloaded, ${verifiedProfiles} verified` : ''})`,
    `  check-ins: ${latencies.count} in ${total.toFixed(1)} s (${(latencies.count / total).toFixed(1)}/s); latency p50 ${p50!.toFixed(1)} ms, p99 ${p99!.toFixed(1)} ms (signing included)`,
    `  commands answered: ${answered.total}${answered.total ? ` (${answered.format()})` : ''}`,
    ...(byType.total ? [`    by type: ${byType.format()}`] : []),
    `  errors: ${errors.total}${errors.total ? ` (${errors.entries().slice(0, 5).map(([k, v]) => `${v} x ${k}`).join('; ')})` : ''}`,
    ...enrollFailures.slice(0, 10).map((f) => `  enrollment failed: ${f}`),
    ...(enrollFailures.length > 10 ? [`  ... and ${enrollFailures.length - 10} more enrollment failures`] : []),
  ];
  out.write(lines.join('\n') + '\n');
  return enrollFailures.length ? 1 : 0;
}

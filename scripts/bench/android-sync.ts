// Reconciling a whole Android fleet: the fake Android Management API (test/support/fake-amapi.ts,
// as strict as the discovery document) serves N enrolled devices from a child process on
// loopback, 100 per devices.list page, and the appliance's reconcile stores every one into a
// fresh data dir (each page upserted in its own transaction with one prepared statement).
//
// Reference, on the same machine and fake: the same client paging through devices.list without
// storing anything: the ratio shows what reading and storing the reports adds to the paging.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { compose } from '../../src/main.ts';
import { applianceWithAmapi, closeAppliance, type BenchAmapi } from './amapi-fake.ts';
import { benchMain, logger, machine, numberOption, parseOptions, procCpuMs, table } from './lib.ts';

const TARGET_S = 10;

export const usage = `usage: npm run bench -- android-sync [options]

  --devices N   devices the fake enterprise has, listed 100 per page (default 10000)
  --keep        keep the temporary data dir (printed)

Target: ${(10_000).toLocaleString('en')} devices reconciled in <= ${TARGET_S} s with bounded memory; devices/s, peak RSS and heap growth reported.
`;

export const main = benchMain(usage, bench);
const log = logger('android-sync');

interface Phase {
  name: string;
  devices: number;
  seconds: number;
  cpuMs: number | null;
  rssPeakDeltaMb: number;
  heapDeltaMb: number;
}

/** Runs `fn`, sampling RSS every 20 ms: its peak above the start, and the heap's growth after a GC when exposed. */
async function measured(name: string, fn: () => Promise<number>): Promise<Phase> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const rss0 = process.memoryUsage().rss;
  const heap0 = process.memoryUsage().heapUsed;
  let peak = rss0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const cpu0 = procCpuMs(process.pid);
  const t = performance.now();
  const devices = await fn();
  const seconds = (performance.now() - t) / 1000;
  const cpu1 = procCpuMs(process.pid);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  gc?.();
  const mb = (b: number) => b / 1024 / 1024;
  return { name, devices, seconds, cpuMs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, rssPeakDeltaMb: mb(peak - rss0), heapDeltaMb: mb(process.memoryUsage().heapUsed - heap0) };
}

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, { devices: { type: 'string', default: '10000' } });
  const n = numberOption('devices', values.devices, 1);
  log(`${n.toLocaleString('en')} devices reconciled from a fake AMAPI in a child process; ${machine()}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-android-'));
  const phases: Phase[] = [];
  let app: ReturnType<typeof compose> | undefined;
  let fake: BenchAmapi | undefined;
  try {
    let name: string;
    ({ app, fake, enterprise: name } = await applianceWithAmapi(dir, n));
    const enterprise = { name };
    log(`the fake enterprise ${enterprise.name} has ${n.toLocaleString('en')} devices`);

    const client = app.android.client;
    phases.push(
      await measured('reference: devices.list paged, nothing stored', async () => {
        let count = 0;
        let pageToken: string | undefined;
        do {
          const page = await client.listDevices(enterprise.name, { pageSize: 100, pageToken });
          count += page.devices.length;
          pageToken = page.nextPageToken;
        } while (pageToken);
        return count;
      }),
    );
    log(`reference: ${phases[0]!.devices.toLocaleString('en')} devices in ${phases[0]!.seconds.toFixed(2)} s`);
    const sync = app.androidSync;
    phases.push(await measured('appliance: reconcile into a fresh data dir', async () => (await sync.reconcile()).devices));
    const stored = (app.store.sqlite.prepare("SELECT count(*) AS n FROM android_devices WHERE status = 'enrolled'").get() as { n: number }).n;
    if (stored !== n) throw new Error(`${n} devices listed but ${stored} stored`);
    log(`appliance: ${stored.toLocaleString('en')} devices stored in ${phases[1]!.seconds.toFixed(2)} s`);
  } finally {
    closeAppliance({ app, fake }, dir, Boolean(values.keep), log);
  }
  report(phases, n);
}

function report(phases: Phase[], n: number): void {
  const rows = [['run', 'devices', 'elapsed s', 'devices/s', 'CPU s', 'peak RSS +MB', 'heap +MB']];
  for (const p of phases) {
    rows.push([
      p.name,
      p.devices.toLocaleString('en'),
      p.seconds.toFixed(2),
      Math.round(p.devices / p.seconds).toLocaleString('en'),
      p.cpuMs === null ? 'n/a' : (p.cpuMs / 1000).toFixed(2),
      p.rssPeakDeltaMb.toFixed(1),
      p.heapDeltaMb.toFixed(1),
    ]);
  }
  process.stdout.write('\n' + table(rows));
  process.stdout.write(`peak RSS of this process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB\n`);
  const [reference, ours] = phases;
  if (reference && ours) {
    process.stdout.write(`appliance / reference time: ${(ours.seconds / reference.seconds).toFixed(2)}x\n`);
    const met = ours.devices === n && ours.seconds <= TARGET_S;
    process.stdout.write(`\ntarget <= ${TARGET_S} s for ${n.toLocaleString('en')} devices: ${met ? 'met' : 'NOT met'} (${ours.seconds.toFixed(2)} s)\n`);
  }
}

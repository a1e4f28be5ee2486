// Waking a whole fleet through APNs: one command queued to 100,000 enrolled channels, the queue's
// listener asks for their pushes, and the appliance's push path (token lookup, the HTTP/2 client
// with the push certificate as TLS client certificate, every result written back on its channel)
// pushes them all through the fake APNs (test/support/fake-apns.ts, as strict as Apple's
// contract) running in a child process on loopback. Timed end to end: from the enqueue to the
// last result stored.
//
// Reference, on the same machine and fake: the same APNs client pushing the same number of
// pushes from an array in memory, with no database on either side of it: the ratio shows what the
// appliance's bookkeeping adds to the client's own ceiling.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildCommand } from '../../src/apple/commands/build.ts';
import { createDevicePushes } from '../../src/apple/device-pushes.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { compose } from '../../src/main.ts';
import { createApnsClient } from '../../src/push/apns/client.ts';
import type { ApnsPush } from '../../src/push/apns/types.ts';
import { createFakeAppleCa, startFakeApns } from '../../test/support/fake-apns.ts';
import { benchEnv, benchMain, forkFake, createEnrollments, elapsed, logger, machine, numberOption, parseOptions, procCpuMs, table } from './lib.ts';

const TARGET_S = 10;

export const usage = `usage: npm run bench -- push [options]

  --enrollments N   enrolled channels, each with a command pending, pushed (default 100000)
  --keep            keep the temporary data dir (printed)

Target: ${(100_000).toLocaleString('en')} pushes, end to end, in <= ${TARGET_S} s; peak RSS reported.
`;

export const main = benchMain(usage, bench);
const log = logger('push');

type ToFake = { type: 'start'; trust: string } | { type: 'count' } | { type: 'exit' };
type FromFake = { type: 'started'; url: string; caPem: string } | { type: 'count'; pushes: number; maxConcurrent: number; connections: number; maxRssMb: number };

const startFake = () => forkFake<ToFake, FromFake>(import.meta.filename, '--fake-apns', 'fake APNs');

interface Phase {
  name: string;
  pushes: number;
  ok: number;
  seconds: number;
  enqueueSeconds: number | null;
  cpuMs: number | null;
  fakeCpuMs: number | null;
}

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, { enrollments: { type: 'string', default: '100000' } });
  const n = numberOption('enrollments', values.enrollments, 1);
  log(`${n.toLocaleString('en')} channels pushed through a fake APNs in a child process; ${machine()}`);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-push-'));
  const app = compose(loadConfig({ ...benchEnv(), MDM_DATA_DIR: dir, MDM_HTTPS_PORT: 'off', MDM_HTTP_PORT: '0', MDM_PUBLIC_URL: 'http://127.0.0.1:8080' }, {}), createLogger('warn', 2));
  const fake = startFake();
  const phases: Phase[] = [];
  let fakeCount: Extract<FromFake, { type: 'count' }> | undefined;
  try {
    // Apple's push CA, played by a test CA whose certificates the fake trusts; the issued push
    // certificate imported as an admin would.
    const appleCa = createFakeAppleCa();
    const identity = appleCa.issue();
    app.push.importPem(identity.certPem, identity.keyPem);
    const started = await fake.ask({ type: 'start', trust: appleCa.certPem }, 'started');

    let t = performance.now();
    const ids = createEnrollments(app, n);
    log(`created ${n.toLocaleString('en')} enrolled channels in ${elapsed(t)}`);

    const clientFor = () =>
      createApnsClient({ log: createLogger('warn', 2), identity: () => app.push.activeIdentity(), url: started.url, ca: started.caPem });

    // Reference: the client alone, from memory.
    {
      const client = clientFor();
      const pushes: ApnsPush[] = ids.map((id) => ({ token: app.appleRepo.pushTarget(id)!.token!, pushMagic: id }));
      const cpu0 = procCpuMs(process.pid);
      const fake0 = procCpuMs(fake.proc.pid);
      t = performance.now();
      let ok = 0;
      for await (const { result } of client.pushMany(pushes)) if (result.ok) ok++;
      const seconds = (performance.now() - t) / 1000;
      phases.push({ name: 'reference: client from memory', pushes: n, ok, seconds, enqueueSeconds: null, cpuMs: delta(cpu0, procCpuMs(process.pid)), fakeCpuMs: delta(fake0, procCpuMs(fake.proc.pid)) });
      await client.close();
      log(`reference: ${ok.toLocaleString('en')} pushes in ${seconds.toFixed(2)} s`);
    }

    // The appliance: enqueue → listener → pushes → results stored.
    {
      const client = clientFor();
      const pushes = createDevicePushes({ repo: app.appleRepo, apns: client, log: createLogger('warn', 2), retryAfterMs: 900_000 });
      let round: ReturnType<typeof pushes.flush> | undefined;
      app.queue.onEnqueued((targets) => {
        pushes.wake(targets);
        // Sent at once rather than at the end of the burst window: the window is idle time.
        round = pushes.flush();
      });
      const cpu0 = procCpuMs(process.pid);
      const fake0 = procCpuMs(fake.proc.pid);
      const started0 = Date.now();
      t = performance.now();
      app.queue.enqueue(buildCommand('DeviceInformation', { Queries: ['DeviceName', 'OSVersion'] }), ids);
      const enqueueSeconds = (performance.now() - t) / 1000;
      const r = await round!;
      const seconds = (performance.now() - t) / 1000;
      const cpuMs = delta(cpu0, procCpuMs(process.pid));
      const fakeCpuMs = delta(fake0, procCpuMs(fake.proc.pid));
      await client.close();
      const stored = app.store.sqlite.prepare("SELECT count(*) AS n FROM apple_enrollments WHERE last_push_result = 'ok' AND last_push_at >= ?").get(started0) as { n: number };
      if (stored.n !== r.ok) throw new Error(`${r.ok} pushes answered 200 but ${stored.n} recorded`);
      phases.push({ name: 'appliance: enqueue → pushes → results stored', pushes: r.pushed, ok: stored.n, seconds, enqueueSeconds, cpuMs, fakeCpuMs });
      log(`appliance: ${stored.n.toLocaleString('en')} pushes recorded ok in ${seconds.toFixed(2)} s`);
    }
    fakeCount = await fake.ask({ type: 'count' }, 'count');
  } finally {
    fake.proc.connected && fake.proc.send({ type: 'exit' } satisfies ToFake);
    app.store.close();
    if (values.keep) log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  report(phases, n, fakeCount);
}

const delta = (a: number | null, b: number | null) => (a !== null && b !== null ? b - a : null);

function report(phases: Phase[], n: number, fake: Extract<FromFake, { type: 'count' }> | undefined): void {
  const rows = [['run', 'pushes', 'ok', 'enqueue s', 'total s', 'pushes/s', 'CPU s: appliance', 'fake APNs']];
  for (const p of phases) {
    rows.push([
      p.name,
      p.pushes.toLocaleString('en'),
      p.ok.toLocaleString('en'),
      p.enqueueSeconds === null ? '-' : p.enqueueSeconds.toFixed(2),
      p.seconds.toFixed(2),
      Math.round(p.ok / p.seconds).toLocaleString('en'),
      p.cpuMs === null ? 'n/a' : (p.cpuMs / 1000).toFixed(2),
      p.fakeCpuMs === null ? 'n/a' : (p.fakeCpuMs / 1000).toFixed(2),
    ]);
  }
  process.stdout.write('\n' + table(rows));
  const rss = process.resourceUsage().maxRSS / 1024;
  process.stdout.write(`peak RSS: this process (appliance side) ${rss.toFixed(0)} MB; fake APNs ${fake ? `${fake.maxRssMb.toFixed(0)} MB` : 'n/a'}\n`);
  if (fake) {
    process.stdout.write(
      `fake APNs: ${fake.pushes.toLocaleString('en')} pushes accepted over ${fake.connections} connection(s), at most ${fake.maxConcurrent} streams at once\n`,
    );
  }
  const [reference, ours] = phases;
  if (reference && ours) {
    process.stdout.write(`appliance / reference time: ${(ours.seconds / reference.seconds).toFixed(2)}x\n`);
    const met = ours.ok === n && ours.seconds <= TARGET_S;
    process.stdout.write(`\ntarget <= ${TARGET_S} s for ${n.toLocaleString('en')} pushes end to end: ${met ? 'met' : 'NOT met'} (${ours.seconds.toFixed(2)} s, ${ours.ok.toLocaleString('en')} ok)\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// The fake APNs process

async function fakeProcess(): Promise<void> {
  let fake: Awaited<ReturnType<typeof startFakeApns>> | undefined;
  process.on('message', async (m: ToFake) => {
    const send = (r: FromFake) => process.send!(r);
    if (m.type === 'start') {
      fake = await startFakeApns({ trust: [m.trust] });
      send({ type: 'started', url: fake.url, caPem: fake.caPem });
    } else if (m.type === 'count') {
      send({ type: 'count', pushes: fake?.pushes.length ?? 0, maxConcurrent: fake?.maxConcurrent() ?? 0, connections: fake?.connections.length ?? 0, maxRssMb: process.resourceUsage().maxRSS / 1024 });
    } else {
      await fake?.close();
      process.disconnect();
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename) && process.argv.includes('--fake-apns')) {
  await fakeProcess();
}

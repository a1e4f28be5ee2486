// Queueing one command to a whole fleet: queue.enqueue to 100,000 enrollments, in-process on a
// fresh data dir (no server: the cost is the queue's and the database's). The enrollments are
// created through the repository first, untimed. DeviceLock also exercises the check for a lock
// already pending; each run's command is cancelled afterwards (timed too) so the next run starts
// from the same queue.
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildCommand } from '../../src/apple/commands/build.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { compose } from '../../src/main.ts';
import { formatSummary, summarise, type CpuProfile } from './cpuprofile.ts';
import { benchEnv, benchMain, createEnrollments, elapsed, logger, machine, numberOption, parseOptions, quantile, table, UsageError } from './lib.ts';

const TARGET_S = 2;

export const usage = `usage: npm run bench -- enqueue [options]

  --enrollments N   enrolled devices the command goes to (default 100000)
  --runs R          timed enqueues per command (default 3)
  --commands LIST   DeviceInformation (a plain command) and/or DeviceLock (checked against a lock
                    already pending) (default DeviceInformation,DeviceLock)
  --cpu-prof DIR    profile the timed enqueues (all runs, in process) and summarise where the time goes
  --keep            keep the temporary data dir (printed)

Target: one command to 100,000 enrollments queued in <= ${TARGET_S} s.
`;

export const main = benchMain(usage, bench);
const log = logger('enqueue');

interface Run {
  command: string;
  run: number;
  targets: number;
  buildMs: number;
  enqueueMs: number | null;
  cancelMs: number | null;
  error?: string;
}

const COMMANDS: Record<string, () => ReturnType<typeof buildCommand>> = {
  DeviceInformation: () => buildCommand('DeviceInformation', { Queries: ['DeviceName', 'OSVersion', 'BuildVersion', 'SerialNumber', 'IsSupervised'] }),
  DeviceLock: () => buildCommand('DeviceLock', { Message: 'This device was locked by IT.' }),
};

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, {
    enrollments: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '3' },
    commands: { type: 'string', default: 'DeviceInformation,DeviceLock' },
  });
  const enrollments = numberOption('enrollments', values.enrollments, 1);
  const runs = numberOption('runs', values.runs, 1);
  const commands = values.commands.split(',').map((c) => c.trim());
  for (const c of commands) if (!COMMANDS[c]) throw new UsageError(`--commands takes ${Object.keys(COMMANDS).join(', ')}`);
  const cpuProfDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-enqueue-'));
  log(`${commands.join(' and ')} to ${enrollments.toLocaleString('en')} enrollments, ${runs} run(s) each; ${machine()}; data in ${dir}`);
  const app = compose(loadConfig({ ...benchEnv(), MDM_DATA_DIR: dir, MDM_HTTPS_PORT: 'off', MDM_HTTP_PORT: '0', MDM_PUBLIC_URL: 'http://127.0.0.1:8080' }, {}), createLogger('warn', 2));
  const results: Run[] = [];
  let profileFile: string | undefined;
  try {
    let t = performance.now();
    const ids = createEnrollments(app, enrollments);
    log(`created ${ids.length.toLocaleString('en')} enrollments through the repository (${elapsed(t)})`);

    const session = cpuProfDir ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    for (const name of commands) {
      for (let run = 1; run <= runs; run++) {
        t = performance.now();
        const built = COMMANDS[name]!();
        const r: Run = { command: name, run, targets: ids.length, buildMs: performance.now() - t, enqueueMs: null, cancelMs: null };
        results.push(r);
        try {
          if (session) await session.post('Profiler.start');
          try {
            t = performance.now();
            app.queue.enqueue(built, ids);
            r.enqueueMs = performance.now() - t;
          } finally {
            if (session) {
              const { profile } = await session.post('Profiler.stop');
              profileFile = writeMerged(cpuProfDir!, profileFile, profile as CpuProfile);
            }
          }
          const stored = (app.store.sqlite.prepare('SELECT count(*) AS n FROM apple_command_targets WHERE command_uuid = ?').get(built.uuid) as { n: number }).n;
          if (stored !== ids.length) r.error = `${stored} targets stored, not ${ids.length}`;
          t = performance.now();
          app.queue.cancel(built.uuid);
          r.cancelMs = performance.now() - t;
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0]!.slice(0, 160);
        }
        log(`${name} run ${run}: ${r.error ? `failed: ${r.error}` : `enqueued in ${(r.enqueueMs! / 1000).toFixed(2)} s, cancelled in ${(r.cancelMs! / 1000).toFixed(2)} s`}`);
      }
    }
    session?.disconnect();
  } finally {
    app.store.close();
    if (values.keep) log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  report(results, enrollments);
  if (profileFile) {
    process.stdout.write(`\nCPU profile of the timed enqueues, all runs (${profileFile}):\n`);
    process.stdout.write(formatSummary(summarise(profileFile, 25)));
  }
}

/** Profiles of several runs as one: samples appended, node ids shifted, the idle gaps between runs dropped. */
function writeMerged(dir: string, file: string | undefined, next: CpuProfile): string {
  fs.mkdirSync(dir, { recursive: true });
  const out = file ?? path.join(dir, `enqueue-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`);
  if (!file) {
    fs.writeFileSync(out, JSON.stringify(next));
    return out;
  }
  const prev = JSON.parse(fs.readFileSync(out, 'utf8')) as CpuProfile;
  const shift = Math.max(...prev.nodes.map((n) => n.id));
  const nodes = next.nodes.map((n) => ({ ...n, id: n.id + shift, children: n.children?.map((c) => c + shift) }));
  const merged: CpuProfile = {
    nodes: [...prev.nodes, ...nodes],
    startTime: prev.startTime,
    endTime: prev.endTime + (next.endTime - next.startTime),
    samples: [...prev.samples, ...next.samples.map((s) => s + shift)],
    timeDeltas: [...prev.timeDeltas, ...next.timeDeltas.map((d, i) => (i === 0 ? 0 : d))],
  };
  fs.writeFileSync(out, JSON.stringify(merged));
  return out;
}

function report(results: Run[], enrollments: number): void {
  const rows = [['command', 'run', 'targets', 'build ms', 'enqueue s', 'targets/s', 'cancel s', 'result']];
  for (const r of results) {
    rows.push([
      r.command,
      String(r.run),
      r.targets.toLocaleString('en'),
      r.buildMs.toFixed(1),
      r.enqueueMs === null ? '-' : (r.enqueueMs / 1000).toFixed(2),
      r.enqueueMs === null ? '-' : Math.round(r.targets / (r.enqueueMs / 1000)).toLocaleString('en'),
      r.cancelMs === null ? '-' : (r.cancelMs / 1000).toFixed(2),
      r.error ?? 'ok',
    ]);
  }
  process.stdout.write('\n' + table(rows) + '\n');
  for (const name of [...new Set(results.map((r) => r.command))]) {
    const mine = results.filter((r) => r.command === name);
    const failed = mine.filter((r) => r.error);
    const times = mine.filter((r) => r.enqueueMs !== null && !r.error).map((r) => r.enqueueMs! / 1000).sort((a, b) => a - b);
    const label = `target <= ${TARGET_S} s for ${name} to ${enrollments.toLocaleString('en')} enrollments`;
    if (failed.length) {
      process.stdout.write(`${label}: NOT met (${failed.length} of ${mine.length} runs failed: ${failed[0]!.error})\n`);
      continue;
    }
    const median = quantile(times, 0.5);
    const worst = times.at(-1)!;
    process.stdout.write(`${label}: ${worst <= TARGET_S ? 'met' : 'NOT met'} (median ${median.toFixed(2)} s, worst ${worst.toFixed(2)} s)\n`);
  }
}

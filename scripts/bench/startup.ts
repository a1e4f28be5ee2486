// Cold start to listening and idle memory of the three ways to run the appliance: from the
// sources through tsx (the reference: what `npm start` does), the bundle (`node mdm.cjs`) and the
// single executable. Each is started on a fresh data dir (the first start makes the CA and its
// keys) and again on that data dir (a restart), timed from spawn to its "listening" log line;
// resident memory is read from /proc once it has idled.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { buildSea } from '../build-sea.ts';
import { build } from '../build.ts';
import { MDM_BIN, benchEnv, benchMain, freePort, logger, machine, numberOption, parseOptions, table } from './lib.ts';

const START_TARGET_S = 1.5;
const RSS_TARGET_MB = 120;

export const usage = `usage: npm run bench -- startup [options]

  --runs N       starts per variant and kind (default 5); the median is reported
  --idle-ms MS   how long a started server idles before its memory is read (default 3000)

Targets: the bundle listening within ${START_TARGET_S} s of its start; idle RSS <= ${RSS_TARGET_MB} MB.
`;

export const main = benchMain(usage, bench);
const log = logger('startup');

interface Run {
  seconds: number;
  rssMb: number;
}

async function startOnce(cmd: string[], dataDir: string, idleMs: number): Promise<Run> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = spawn(
    cmd[0]!,
    [...cmd.slice(1), 'serve', '--http-port', String(port), '--https-port', 'off', '--listen', '127.0.0.1', '--public-url', `http://127.0.0.1:${port}`],
    { env: { ...benchEnv(), MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  try {
    const seconds = await new Promise<number>((resolve, reject) => {
      const rl = readline.createInterface({ input: proc.stdout! });
      rl.on('line', (line) => {
        if (line.includes('"msg":"listening"')) resolve((performance.now() - t0) / 1000);
      });
      proc.once('exit', (code) => reject(new Error(`${cmd.join(' ')} exited (${code}) before listening: ${stderr.slice(-2000)}`)));
    });
    await sleep(idleMs);
    const status = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    return { seconds, rssMb: rssKb / 1024 };
  } finally {
    proc.kill('SIGTERM');
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, { runs: { type: 'string', default: '5' }, 'idle-ms': { type: 'string', default: '3000' } });
  const runs = numberOption('runs', values.runs, 1);
  const idleMs = numberOption('idle-ms', values['idle-ms'], 0);
  log(`${runs} starts per variant; ${machine()}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-startup-'));
  try {
    log('building the bundle and the single executable');
    const bundle = await build(path.join(work, 'bundle'));
    const sea = await buildSea(path.join(work, 'sea'));
    const variants: Array<[name: string, cmd: string[]]> = [
      ['reference: sources through tsx (npm start)', [process.execPath, MDM_BIN]],
      ['bundle: node mdm.cjs', [process.execPath, path.join(bundle.outdir, 'mdm.cjs')]],
      ['single executable', [sea.executable]],
    ];
    const rows = [['variant', 'first start s', 'restart s', 'idle RSS MB', 'size MB']];
    const results = new Map<string, { first: number; restart: number; rss: number }>();
    for (const [name, cmd] of variants) {
      const first: Run[] = [];
      const restart: Run[] = [];
      for (let i = 0; i < runs; i++) {
        const dataDir = path.join(work, `data-${results.size}-${i}`);
        first.push(await startOnce(cmd, dataDir, idleMs));
        restart.push(await startOnce(cmd, dataDir, idleMs));
      }
      const r = { first: median(first.map((x) => x.seconds)), restart: median(restart.map((x) => x.seconds)), rss: median(restart.map((x) => x.rssMb)) };
      results.set(name, r);
      const size = name.startsWith('bundle') ? bundle.bundleBytes : name.startsWith('single') ? sea.bytes : null;
      rows.push([name, r.first.toFixed(2), r.restart.toFixed(2), r.rss.toFixed(0), size === null ? '-' : (size / 1e6).toFixed(1)]);
      log(`${name}: first ${r.first.toFixed(2)} s, restart ${r.restart.toFixed(2)} s, RSS ${r.rss.toFixed(0)} MB`);
    }
    process.stdout.write('\n' + table(rows));
    const ref = results.get(variants[0]![0])!;
    const b = results.get(variants[1]![0])!;
    const s = results.get(variants[2]![0])!;
    process.stdout.write(`bundle / reference restart time: ${(b.restart / ref.restart).toFixed(2)}x; single executable / reference: ${(s.restart / ref.restart).toFixed(2)}x\n`);
    process.stdout.write('(Idle: no SCEP worker thread runs; each enrollment burst starts some, ~40 MB each, stopped after 5 idle minutes.)\n');
    const startMet = b.restart <= START_TARGET_S && b.first <= START_TARGET_S;
    process.stdout.write(`\ntarget: bundle listening within ${START_TARGET_S} s: ${startMet ? 'met' : 'NOT met'} (first start ${b.first.toFixed(2)} s, restart ${b.restart.toFixed(2)} s)\n`);
    process.stdout.write(`target: idle RSS <= ${RSS_TARGET_MB} MB: ${b.rss <= RSS_TARGET_MB ? 'met' : 'NOT met'} (bundle ${b.rss.toFixed(0)} MB, single executable ${s.rss.toFixed(0)} MB)\n`);
  } finally {
    if (values.keep) log(`kept ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
}

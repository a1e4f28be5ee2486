// What the benchmarks share: running one with its usage errors, log lines and tables, option
// numbers, percentiles, CPU accounting, starting our server on loopback, and enrolled fleets.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Appliance } from '../../src/main.ts';

/** The repository. */
export const root = path.resolve(import.meta.dirname, '../..');
export const MDM_BIN = path.join(root, 'bin/mdm.js');

// ---------------------------------------------------------------------------------------------
// Running a bench

/** A bad option: the message and the bench's usage are printed, and the exit code is 2. */
export class UsageError extends Error {}

/** A bench's `main`: runs `bench`, turning a UsageError or a parseArgs error into the usage text and exit code 2. */
export function benchMain(usage: string, bench: (argv: string[]) => Promise<void>): (argv: string[]) => Promise<void> {
  return async (argv) => {
    try {
      await bench(argv);
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (!(e instanceof UsageError) && !code.startsWith('ERR_PARSE_ARGS')) throw e;
      process.stderr.write(`${(e as Error).message}\n${usage}`);
      process.exitCode = 2;
    }
  };
}

/** Options every bench takes: `--cpu-prof DIR` and `--keep` (the temporary data dir). */
const commonOptions = {
  'cpu-prof': { type: 'string' },
  keep: { type: 'boolean', default: false },
} as const;

/** A bench's options (strict), with `--cpu-prof` and `--keep` added. */
export function parseOptions<const T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T) {
  return parseArgs({ args: argv, options: { ...options, ...commonOptions }, strict: true }).values;
}

/** An option's number, at least `min` (and an integer unless told otherwise); a UsageError otherwise. */
export function numberOption(name: string, v: string, min: number, integer = true): number {
  const n = Number(v);
  if (!(n >= min) || (integer && !Number.isInteger(n))) throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}`);
  return n;
}

/** process.env without MDM_MASTER_KEY: a bench's appliance makes its own key in its data dir. */
export function benchEnv(): NodeJS.ProcessEnv {
  const { MDM_MASTER_KEY: _ignored, ...env } = process.env;
  return env;
}

// ---------------------------------------------------------------------------------------------
// A fake in a child process

/** A child process running `file` with `flag`, and a request/answer over IPC: a message sent, the first answer of type `reply` awaited. */
export interface ForkedFake<To, From extends { type: string }> {
  proc: ChildProcess;
  ask<T extends From['type']>(m: To, reply: T): Promise<Extract<From, { type: T }>>;
}

export function forkFake<To, From extends { type: string }>(file: string, flag: string, label: string): ForkedFake<To, From> {
  const proc = fork(file, [flag], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return {
    proc,
    ask: (m, reply) =>
      new Promise((resolve, reject) => {
        const onMessage = (r: From) => {
          if (r.type !== reply) return;
          proc.off('message', onMessage);
          proc.off('exit', onExit);
          resolve(r as Extract<From, { type: typeof reply }>);
        };
        const onExit = (code: number | null) => reject(new Error(`the ${label} exited (${code})`));
        proc.on('message', onMessage);
        proc.once('exit', onExit);
        proc.send(m as object);
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Output

/** Progress lines on stderr, `[bench NAME] ...`. */
export function logger(name: string): (msg: string) => void {
  return (msg) => void process.stderr.write(`[bench ${name}] ${msg}\n`);
}

/** Seconds since `t` (a performance.now()), as `1.2 s`. */
export const elapsed = (t: number): string => `${((performance.now() - t) / 1000).toFixed(1)} s`;

/** This machine, for a bench's first log line: `2 CPUs (model), node v20...`. */
export const machine = (): string => `${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim() ?? '?'}), node ${process.version}`;

/** Rows as aligned columns: the first left-aligned, the rest right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ')).join('\n') + '\n';
}

/** The quantile `p` (0..1) of ascending values, by nearest rank; NaN when there are none. */
export function quantile(sorted: ArrayLike<number>, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]! : NaN;
}

// ---------------------------------------------------------------------------------------------
// CPU accounting

/** Microseconds of the monotonic clock: V8's profile clock on Linux, the same in every process. */
export const monotonicMicros = (): number => Number(process.hrtime.bigint() / 1000n);

// Read once at load, as before: never inside a timed window.
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/** User+system CPU time of a process (all threads, or its main thread alone), from /proc (Linux); null elsewhere. */
export function procCpuMs(pid: number | undefined, mainThread = false): number | null {
  if (pid === undefined) return null;
  try {
    const stat = fs.readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8');
    // After "(comm)": utime and stime are fields 14 and 15 (1-based) of the full line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Launched {
  proc: ChildProcess;
  /** SIGTERM, SIGKILL after 15 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Spawns a server with its output in DIR/server.log, and resolves once GET `url + readyPath`
 * answers 2xx; throws (with the log's tail) if it exits first or is not ready within 30 s.
 */
export async function launch(name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, url: string, readyPath: string, dir: string): Promise<Launched> {
  const logFile = path.join(dir, 'server.log');
  const fd = fs.openSync(logFile, 'a');
  const proc = spawn(cmd, args, { env, stdio: ['ignore', fd, fd], cwd: root });
  fs.closeSync(fd);
  const tail = () => {
    try {
      return fs.readFileSync(logFile, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  };
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gone) throw new Error(`${name} exited before it was ready:\n${tail()}`);
    try {
      const res = await fetch(`${url}${readyPath}`);
      await res.arrayBuffer();
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${name} did not answer ${readyPath} within 30 s:\n${tail()}`);
    }
    await sleep(100);
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return { proc, stop };
}

export interface OurServer extends Launched {
  url: string;
  /** Its data dir (a fresh temporary one), with its output in server.log. */
  dir: string;
}

export interface OurServerOptions {
  /** Prefix of the temporary data dir's name. */
  dirPrefix: string;
  /** MDM_SCEP_CHALLENGE. */
  challenge: string;
  /** The URL the server announces; its own loopback URL unless given. */
  publicUrl?: string;
  /** What GET answers 2xx once it is ready. */
  readyPath: string;
  /** Run it under node --cpu-prof, writing the profiles here. */
  cpuProfDir?: string;
  /** Its name in errors. */
  name: string;
}

/** `node bin/mdm.js serve` on a free loopback port (plain HTTP), on a fresh temporary data dir. */
export async function startOurServer(o: OurServerOptions): Promise<OurServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), o.dirPrefix));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (o.cpuProfDir) fs.mkdirSync(o.cpuProfDir, { recursive: true });
  const args = [
    ...(o.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfDir] : []),
    MDM_BIN,
    'serve',
    '--http-port', String(port),
    '--https-port', 'off',
    '--listen', '127.0.0.1',
    '--public-url', o.publicUrl ?? url,
    '--log-level', 'warn',
  ];
  const env = { ...benchEnv(), MDM_DATA_DIR: dir, MDM_SCEP_CHALLENGE: o.challenge };
  return { url, dir, ...(await launch(o.name, process.execPath, args, env, url, o.readyPath, dir)) };
}

// ---------------------------------------------------------------------------------------------
// Fleets

/**
 * Enrolled device channels, as TokenUpdate leaves them, in one transaction: each with a push
 * token (64 hex characters, as APNs takes them) and a PushMagic.
 */
export function createEnrollments(app: Appliance, n: number): string[] {
  const ids = Array.from({ length: n }, (_, i) => `BENCH-${String(i).padStart(8, '0')}-${((i * 2654435761) % 2 ** 32).toString(16).toUpperCase().padStart(8, '0')}`);
  const t = Date.now();
  // One prepared INSERT rather than the repo's upsert: setting up 100,000 channels is not what is timed.
  const insert = app.store.sqlite.prepare(
    `INSERT INTO apple_enrollments (id, type, device_id, status, topic, push_token, push_magic, enrolled_at, token_updated_at, last_seen_at, created_at)
     VALUES (?, 'device', ?, 'enrolled', 'com.apple.mgmt.External.bench', ?, ?, ?, ?, ?, ?)`,
  );
  app.store.sqlite.transaction(() => {
    for (const id of ids) insert.run(id, id, crypto.createHash('sha256').update(id).digest('hex'), id, t, t, t, t);
  })();
  return ids;
}

// Signed MDM check-in throughput: our server, started here on loopback, and simulated devices in
// separate client processes (this file, run with --client), so the devices' signing does not
// share a thread with the server or with the bookkeeping here.
//
// Devices enroll for real first (SCEP, Authenticate, TokenUpdate, the inventory answered). In the
// timed phase every device runs cycles, one request in flight each: Idle → the server sends a
// command → Acknowledged. The server's reply to an acknowledgement is the next queued command;
// the device takes it with its next Idle, so every cycle is one Idle and one answer.
//
// Every message is signed (Mdm-Signature, RSA-2048, the device's own SCEP certificate) and the
// server verifies every one. A fleet signs on its own phones; here the devices share this
// machine's two cores with the server, so by default (--sign ahead) the messages are signed
// before the clock starts: every device's Idle once (a device's Idle body never changes), and
// its answer to every command queued for the run (this process enqueues them all through the
// appliance's own queue, opening its database beside the server: SQLite WAL allows a second
// process). The timed phase then measures the server, not the devices' RSA. --sign live signs
// each message when it is sent, as a device does, and the feeder enqueues one command to every
// device whenever the device furthest ahead comes within a few commands of the end of its queue.
//
// The devices talk HTTP/1.1 through undici (one kept-alive connection each, opened before the
// clock starts): Node's own http client costs a client about four times as much per request.
import { fork, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as plist from 'plist';
import { Client as Connection } from 'undici';
import { buildCommand } from '../../src/apple/commands/build.ts';
import { answerFor } from '../../src/apple/simulator/answers.ts';
import { decodePlist } from '../../src/apple/plist.ts';
import { AppleDevice, type Dict } from '../../src/apple/simulator/device.ts';
import { createGate } from '../../src/apple/simulator/gate.ts';
import { createHttpClient } from '../../src/apple/simulator/http.ts';
import { newDevice } from '../../src/apple/simulator/scep-client.ts';
import { Latencies, Tally } from '../../src/apple/simulator/stats.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { compose, type Appliance } from '../../src/main.ts';
import { formatRows, formatSummary, mainThreadProfile, summarise } from './cpuprofile.ts';
import { benchMain, elapsed, logger, machine, monotonicMicros, numberOption, parseOptions, procCpuMs, startOurServer, table, UsageError, type OurServer } from './lib.ts';

const CHALLENGE = 'bench-checkin-challenge';
const TOPIC = 'com.apple.mgmt.External.bench';
/** Commands queued ahead per device: enough that no device waits for the feeder, few as in a real queue. */
const DEPTH = 3;
const TARGET = 2000;
/** With --sign ahead: enough commands signed for every device to run this many check-ins/s. */
const AHEAD_RATE = 4000;

export const usage = `usage: npm run bench -- checkin [options]

  --devices LIST    fleet sizes, each timed in turn (default 50,500)
  --duration S      timed seconds per fleet size (default 10)
  --warmup S        untimed seconds before each (default 2)
  --clients N       client processes the devices are spread over (default 1: on 2 CPUs more
                    processes only add contention)
  --keys K          RSA-2048 device keys per client process, shared by its devices (default 16);
                    every device still gets its own certificate over SCEP
  --command NAME    what devices are sent: InstallProfile (default, a Wi-Fi profile), ProfileList,
                    SecurityInfo or DeviceInformation
  --sign MODE       ahead (default): messages signed before the clock starts, so the timed phase
                    measures the server; live: each signed when sent, as a device does, on the
                    CPUs the server also needs
  --cpu-prof DIR    run the server under node --cpu-prof; summarise its main thread per fleet size
  --keep            keep the temporary data dir (printed)

Target: >= ${TARGET.toLocaleString('en')} signed check-ins/s.
`;

export const main = benchMain(usage, bench);
const log = logger('checkin');

// ---------------------------------------------------------------------------------------------
// Messages between this process and its clients

type ToClient =
  | { type: 'enroll'; url: string; count: number; keys: number }
  | { type: 'connect'; devices: number }
  /** Sign every device's Idle and its answer to each of these commands, ahead of the run. */
  | { type: 'presign'; devices: number; commands: Array<{ uuid: string; plist: Uint8Array }> }
  | { type: 'run'; devices: number; timedFrom: number; timedTo: number; sign: SignMode }
  | { type: 'exit' };

type FromClient =
  | { type: 'enrolled'; udids: string[]; failures: string[] }
  | { type: 'connected' }
  | { type: 'presigned'; messages: number; ms: number }
  /** Commands acknowledged in this run: in all, and by the device furthest ahead. */
  | { type: 'progress'; acks: number; maxAcks: number }
  | { type: 'result'; result: ClientResult };

type SignMode = 'ahead' | 'live';

interface ClientResult {
  /** HTTP round trips of requests that completed inside the timed window, ms. */
  latencies: Float64Array;
  /** Time spent building and signing those requests, ms. */
  signMs: number;
  /** Of those, the messages signed when sent (all of them with --sign live). */
  signedLive: number;
  checkins: number;
  cycles: number;
  /** Idles answered with no command: the feeder fell behind. */
  emptyIdles: number;
  errors: Array<[string, number]>;
  /** Commands acknowledged in the whole run, warm-up included: checked against the database. */
  acks: number;
}

// ---------------------------------------------------------------------------------------------
// The bench

interface Level {
  devices: number;
  seconds: number;
  checkins: number;
  cycles: number;
  emptyIdles: number;
  p50: number;
  p99: number;
  errors: Tally;
  signMsPerCheckin: number;
  /** Timed check-ins whose message was signed when sent. */
  signedLive: number;
  serverCpuMs: number | null;
  serverMainMs: number | null;
  clientCpuMs: number | null;
  feederCpuMs: number;
  rounds: number;
  acksReported: number;
  acksStored: number;
  window: { start: number; end: number };
}

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, {
    devices: { type: 'string', default: '50,500' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    clients: { type: 'string', default: '1' },
    keys: { type: 'string', default: '16' },
    command: { type: 'string', default: 'InstallProfile' },
    sign: { type: 'string', default: 'ahead' },
  });
  const levels = values.devices.split(',').map((s) => numberOption('devices', s.trim(), 1));
  const durationMs = numberOption('duration', values.duration, 1, false) * 1000;
  const warmupMs = numberOption('warmup', values.warmup, 0, false) * 1000;
  const clientCount = numberOption('clients', values.clients, 1);
  const keys = numberOption('keys', values.keys, 1);
  const command = commandFor(values.command);
  if (values.sign !== 'ahead' && values.sign !== 'live') throw new UsageError('--sign is ahead or live');
  const sign: SignMode = values.sign;
  const cpuProfDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;
  const fleet = Math.max(...levels);

  log(
    `signed check-ins: fleets of ${levels.join(' and ')} devices over ${clientCount} client process(es), ${durationMs / 1000} s timed (+${warmupMs / 1000} s warm-up) each, ` +
      `command ${values.command}, messages signed ${sign === 'ahead' ? 'ahead of the clock' : 'when sent'}; ${machine()}`,
  );

  const server = await startOurServer({ name: 'the server', dirPrefix: 'mdm-bench-checkin-', challenge: CHALLENGE, readyPath: '/healthz', cpuProfDir });
  const clients: Client[] = [];
  let app: Appliance | undefined;
  const stopAll = async () => {
    for (const c of clients) c.send({ type: 'exit' });
    await Promise.all(clients.map((c) => c.exited));
    app?.store.close();
    await server.stop();
    if (values.keep) log(`kept the data dir ${server.dir}`);
    else fs.rmSync(server.dir, { recursive: true, force: true });
  };
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: Level[] = [];
  try {
    log(`server at ${server.url} (data in ${server.dir})`);
    const config = loadConfig({ MDM_DATA_DIR: server.dir, MDM_HTTPS_PORT: 'off', MDM_HTTP_PORT: '0', MDM_PUBLIC_URL: server.url }, {});
    app = compose(config, createLogger('warn', 2));

    let t = performance.now();
    for (let i = 0; i < clientCount; i++) clients.push(startClient(cpuProfDir));
    const share = (n: number) => Array.from({ length: clientCount }, (_, i) => Math.floor(n / clientCount) + (i < n % clientCount ? 1 : 0));
    const enrolled = await Promise.all(
      clients.map((c, i) => {
        c.send({ type: 'enroll', url: server.url, count: share(fleet)[i]!, keys });
        return c.next('enrolled');
      }),
    );
    const failures = enrolled.flatMap((e) => e.failures);
    if (failures.length) throw new Error(`${failures.length} devices failed to enroll, e.g. ${failures[0]}`);
    log(`enrolled ${fleet} devices (SCEP, Authenticate, TokenUpdate, inventory answered) in ${elapsed(t)}`);

    for (const n of levels) {
      const counts = share(n);
      // Each client's first devices take part; the fleet's UDIDs in the same order.
      const udids = enrolled.flatMap((e, i) => e.udids.slice(0, counts[i]));
      results.push(await runLevel({ app, server, clients, counts, udids, command, warmupMs, durationMs, sign }));
      const r = results.at(-1)!;
      log(`${n} devices: ${r.checkins} check-ins in ${r.seconds.toFixed(1)} s; ${r.rounds} commands queued to all; ${r.acksStored} acknowledged in the database, ${r.acksReported} by the devices`);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }

  report(results, clientCount, sign);

  if (cpuProfDir) {
    const serverProfile = mainThreadProfile(cpuProfDir, server.proc.pid);
    if (!serverProfile) process.stdout.write(`\nno main-thread .cpuprofile for the server (pid ${server.proc.pid}) in ${cpuProfDir}\n`);
    for (const r of serverProfile ? results : []) {
      process.stdout.write(`\nserver main-thread CPU profile (${serverProfile}), ${r.devices} devices, timed phase only:\n`);
      process.stdout.write(formatSummary(summarise(serverProfile!, 20, r.window)));
    }
    // Where a client's time goes, in short: its share of signing against the rest.
    const clientProfile = mainThreadProfile(cpuProfDir, clients[0]?.proc.pid);
    const last = results.at(-1);
    if (clientProfile && last) {
      const s = summarise(clientProfile, 12, last.window);
      process.stdout.write(`\nclient process main-thread CPU profile (${clientProfile}), ${last.devices} devices, timed phase only: self time by location, and top functions\n`);
      for (const line of formatRows(s, [...s.groups.slice(0, 10), ...s.self.slice(0, 10)])) process.stdout.write(`${line}\n`);
    }
  }
}

interface RunInput {
  app: Appliance;
  server: OurServer;
  clients: Client[];
  counts: number[];
  udids: string[];
  command: () => ReturnType<typeof buildCommand>;
  warmupMs: number;
  durationMs: number;
  sign: SignMode;
}

async function runLevel(o: RunInput): Promise<Level> {
  const { app, udids } = o;
  const n = udids.length;
  const rounds: string[] = [];
  const furthest = new Array<number>(o.clients.length).fill(0);
  const plists: Array<{ uuid: string; plist: Uint8Array }> = [];
  const enqueue = () => {
    const built = o.command();
    rounds.push(app.queue.enqueue(built, udids));
    plists.push({ uuid: rounds.at(-1)!, plist: built.plistXml });
  };
  const active = o.clients.map((c, i) => ({ c, devices: o.counts[i]! })).filter((x) => x.devices > 0);

  let onProgress: Array<() => void> = [];
  if (o.sign === 'ahead') {
    // Every command of the run queued and answered ahead: a device that gets through all of them
    // finds its queue empty, which the report shows as empty Idles.
    const perDevice = Math.ceil((AHEAD_RATE * (o.warmupMs + o.durationMs + 1000)) / 1000 / 2 / n) + DEPTH;
    for (let i = 0; i < perDevice; i++) enqueue();
    const t = performance.now();
    const signed = await Promise.all(
      active.map(({ c, devices }) => {
        c.send({ type: 'presign', devices, commands: plists });
        return c.next('presigned');
      }),
    );
    log(`${n} devices: ${signed.reduce((a, s) => a + s.messages, 0)} messages (${perDevice} commands each, and Idle) signed ahead in ${elapsed(t)}`);
  } else {
    for (let i = 0; i < DEPTH; i++) enqueue();
    // Every device has every round queued: the device furthest ahead must never find its queue empty.
    const feed = () => {
      while (rounds.length < Math.max(...furthest) + DEPTH) enqueue();
    };
    onProgress = o.clients.map((c, i) =>
      c.on('progress', (m) => {
        furthest[i] = m.maxAcks;
        feed();
      }),
    );
  }

  // Connections are opened before the clock starts: a busy server accepts about one new connection
  // per event-loop turn (libuv no longer accepts in a loop), and late joiners would sit in its backlog.
  await Promise.all(
    active.map(({ c, devices }) => {
      c.send({ type: 'connect', devices });
      return c.next('connected');
    }),
  );

  const feederCpu0 = process.cpuUsage();
  const timedFrom = Date.now() + 300 + o.warmupMs;
  const timedTo = timedFrom + o.durationMs;
  const results = active.map(({ c }) => c.next('result'));
  for (const { c, devices } of active) c.send({ type: 'run', devices, timedFrom, timedTo, sign: o.sign });

  // CPU of the server (all threads, and its main thread alone) and of the clients, over the window.
  await sleep(timedFrom - Date.now());
  const start = monotonicMicros();
  const cpu0 = { server: procCpuMs(o.server.proc.pid), main: procCpuMs(o.server.proc.pid, true), clients: sumCpu(active.map((a) => a.c.proc.pid)) };
  await sleep(timedTo - Date.now());
  const cpu1 = { server: procCpuMs(o.server.proc.pid), main: procCpuMs(o.server.proc.pid, true), clients: sumCpu(active.map((a) => a.c.proc.pid)) };
  const end = monotonicMicros();

  const done = (await Promise.all(results)).map((r) => r.result);
  for (const off of onProgress) off();
  const feederCpu = process.cpuUsage(feederCpu0);

  const stored = app.store.sqlite
    .prepare("SELECT count(*) AS n FROM apple_command_targets WHERE status = 'acknowledged' AND command_uuid IN (SELECT value FROM json_each(?))")
    .get(JSON.stringify(rounds)) as { n: number };
  // The rest is not for the next fleet size.
  for (const uuid of rounds) app.queue.cancel(uuid);

  const lat = new Latencies();
  for (const r of done) for (const l of r.latencies) lat.add(l);
  const [p50, p99] = lat.quantiles(0.5, 0.99);
  const errors = new Tally();
  for (const r of done) for (const [k, v] of r.errors) errors.add(k, v);
  const checkins = done.reduce((a, r) => a + r.checkins, 0);
  const delta = (a: number | null, b: number | null) => (a !== null && b !== null ? b - a : null);
  return {
    devices: n,
    seconds: o.durationMs / 1000,
    checkins,
    cycles: done.reduce((a, r) => a + r.cycles, 0),
    emptyIdles: done.reduce((a, r) => a + r.emptyIdles, 0),
    p50: p50!,
    p99: p99!,
    errors,
    signMsPerCheckin: done.reduce((a, r) => a + r.signMs, 0) / Math.max(1, checkins),
    signedLive: done.reduce((a, r) => a + r.signedLive, 0),
    serverCpuMs: delta(cpu0.server, cpu1.server),
    serverMainMs: delta(cpu0.main, cpu1.main),
    clientCpuMs: delta(cpu0.clients, cpu1.clients),
    feederCpuMs: (feederCpu.user + feederCpu.system) / 1000,
    rounds: rounds.length,
    acksReported: done.reduce((a, r) => a + r.acks, 0),
    acksStored: stored.n,
    window: { start, end },
  };
}

function commandFor(name: string): () => ReturnType<typeof buildCommand> {
  switch (name) {
    case 'InstallProfile': {
      const wifi = {
        PayloadType: 'Configuration',
        PayloadVersion: 1,
        PayloadIdentifier: 'org.example.bench.wifi',
        PayloadUUID: crypto.randomUUID().toUpperCase(),
        PayloadDisplayName: 'Office Wi-Fi',
        PayloadContent: [
          {
            PayloadType: 'com.apple.wifi.managed',
            PayloadVersion: 1,
            PayloadIdentifier: 'org.example.bench.wifi.office',
            PayloadUUID: crypto.randomUUID().toUpperCase(),
            PayloadDisplayName: 'Office',
            SSID_STR: 'Office',
            EncryptionType: 'WPA2',
            Password: crypto.randomBytes(12).toString('base64url'),
            AutoJoin: true,
          },
        ],
      };
      const payload = Buffer.from(plist.build(wifi));
      return () => buildCommand('InstallProfile', { Payload: payload });
    }
    case 'DeviceInformation':
      return () => buildCommand('DeviceInformation', { Queries: ['DeviceName', 'OSVersion', 'BuildVersion', 'SerialNumber', 'BatteryLevel', 'AvailableDeviceCapacity'] });
    case 'ProfileList':
    case 'SecurityInfo':
      return () => buildCommand(name);
    default:
      throw new UsageError('--command is InstallProfile, ProfileList, SecurityInfo or DeviceInformation');
  }
}

// ---------------------------------------------------------------------------------------------
// Client processes

interface Client {
  proc: ChildProcess;
  exited: Promise<void>;
  send(m: ToClient): void;
  /** The next message of this type. */
  next<T extends FromClient['type']>(type: T): Promise<Extract<FromClient, { type: T }>>;
  /** Every message of this type until the returned function is called. */
  on<T extends FromClient['type']>(type: T, fn: (m: Extract<FromClient, { type: T }>) => void): () => void;
}

function startClient(cpuProfDir: string | undefined): Client {
  const execArgv = ['--import', 'tsx', ...(cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [])];
  const proc = fork(import.meta.filename, ['--client'], { execArgv, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  let failed: Error | null = null;
  proc.once('exit', (code) => (failed ??= new Error(`a client process exited (${code})`)));
  return {
    proc,
    exited,
    send: (m) => void (proc.connected && proc.send(m)),
    next: (type) =>
      new Promise((resolve, reject) => {
        if (failed) return reject(failed);
        const onMessage = (m: FromClient) => {
          if (m.type !== type) return;
          proc.off('message', onMessage);
          proc.off('exit', onExit);
          resolve(m as Extract<FromClient, { type: typeof type }>);
        };
        const onExit = () => {
          proc.off('message', onMessage);
          reject(failed ?? new Error('a client process exited'));
        };
        proc.on('message', onMessage);
        proc.once('exit', onExit);
      }),
    on: (type, fn) => {
      const onMessage = (m: FromClient) => {
        if (m.type === type) fn(m as Extract<FromClient, { type: typeof type }>);
      };
      proc.on('message', onMessage);
      return () => proc.off('message', onMessage);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The client process

async function client(): Promise<void> {
  const send = (m: FromClient) => process.send!(m);
  let devices: AppleDevice[] = [];
  let http = createHttpClient();
  /** Each device's kept-alive connection, for the timed phase. */
  const connections = new Map<AppleDevice, Connection>();
  /** With --sign ahead: each device's signed Idle, and its signed answer by command UUID. */
  const signed = new Map<AppleDevice, { idle: Prepared; answers: Map<string, Prepared> }>();
  const wallNow = () => performance.timeOrigin + performance.now();

  async function enroll(m: Extract<ToClient, { type: 'enroll' }>) {
    http = createHttpClient({ maxSockets: Math.max(1, m.count) });
    const generateKeyPair = promisify(crypto.generateKeyPair);
    // Async generation runs on libuv's pool, on every core.
    const keys = (await Promise.all(Array.from({ length: Math.min(m.keys, m.count) }, () => generateKeyPair('rsa', { modulusLength: 2048 })))).map((kp) => newDevice(2048, kp));
    const gate = createGate(32);
    const failures: string[] = [];
    const all = await Promise.all(
      Array.from({ length: m.count }, (_, i) =>
        gate.run(async () => {
          const d = new AppleDevice(m.url, { http, topic: TOPIC });
          try {
            await d.scepEnroll(CHALLENGE, keys[i % keys.length]);
            for (const step of [() => d.authenticate(), () => d.tokenUpdate()]) {
              const r = await step();
              if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
            }
            let r = await d.report('Idle');
            while (r.plist) r = await d.report('Acknowledged', answerFor(d, r.plist));
            if (r.status !== 200) throw new Error(`HTTP ${r.status} answering inventory`);
            return d;
          } catch (e) {
            failures.push((e as Error).message);
            return null;
          }
        }),
      ),
    );
    devices = all.filter((d): d is AppleDevice => d !== null);
    send({ type: 'enrolled', udids: devices.map((d) => d.udid), failures });
  }

  function presign(m: Extract<ToClient, { type: 'presign' }>) {
    const t = performance.now();
    let messages = 0;
    const commands = m.commands.map((c) => ({ uuid: c.uuid, dict: decodePlist(c.plist) as Dict }));
    signed.clear();
    for (const d of devices.slice(0, m.devices)) {
      const answers = new Map<string, Prepared>();
      for (const c of commands) answers.set(c.uuid, signedRequest(d, answerFor(d, c.dict)));
      signed.set(d, { idle: signedRequest(d, { UDID: d.udid, Status: 'Idle' }), answers });
      messages += answers.size + 1;
    }
    send({ type: 'presigned', messages, ms: performance.now() - t });
  }

  async function run(m: Extract<ToClient, { type: 'run' }>) {
    const latencies = new Latencies();
    const errors = new Tally();
    let signMs = 0;
    let signedLive = 0;
    let checkins = 0;
    let cycles = 0;
    let emptyIdles = 0;
    let acks = 0;
    let maxAcks = 0;
    const inWindow = (start: number, end: number) => start >= m.timedFrom && end <= m.timedTo;
    const progress = setInterval(() => send({ type: 'progress', acks, maxAcks }), 50);

    /** A message signed ahead, or signed now (timed apart from the round trip). */
    const prepare = (d: AppleDevice, ahead: Prepared | undefined, build: () => Dict): { req: Prepared; t0: number; live: boolean } => {
      const t0 = wallNow();
      return ahead ? { req: ahead, t0, live: false } : { req: signedRequest(d, build()), t0, live: true };
    };

    /** One signed message; the reply body, or null when it failed. */
    const message = async (d: AppleDevice, p: { req: Prepared; t0: number; live: boolean }) => {
      const t1 = wallNow();
      try {
        const res = await connections.get(d)!.request({ path: p.req.path, method: 'PUT', headers: p.req.headers, body: p.req.body });
        const body = Buffer.from(await res.body.arrayBuffer());
        const t2 = wallNow();
        const timed = inWindow(p.t0, t2);
        if (timed) {
          checkins++;
          latencies.add(t2 - t1);
          if (p.live) {
            signedLive++;
            signMs += t1 - p.t0;
          }
        }
        if (res.statusCode !== 200) {
          if (timed) errors.add(`HTTP ${res.statusCode}`);
          return null;
        }
        return { body, timed };
      } catch (e) {
        errors.add((e as NodeJS.ErrnoException).code ?? (e as Error).message);
        return null;
      }
    };

    const cycle = async (d: AppleDevice) => {
      let mine = 0;
      const ahead = m.sign === 'ahead' ? signed.get(d) : undefined;
      while (wallNow() < m.timedTo) {
        const idle = await message(d, prepare(d, ahead?.idle, () => ({ UDID: d.udid, Status: 'Idle' })));
        if (!idle?.body.length) {
          if (idle?.timed) emptyIdles++;
          await sleep(idle ? 5 : 50);
          continue;
        }
        // Signed ahead, the answer is found by the command's UUID; signed now, it is worked out from the command.
        const uuid = ahead ? /<key>CommandUUID<\/key>\s*<string>([^<]*)<\/string>/.exec(idle.body.toString('latin1'))?.[1] : undefined;
        let answer: Dict | undefined;
        const toSend = prepare(d, uuid ? ahead?.answers.get(uuid) : undefined, () => (answer = answerFor(d, decodePlist(idle.body) as Dict)));
        const ack = await message(d, toSend);
        if (!ack) continue;
        if ((answer?.Status ?? 'Acknowledged') === 'Acknowledged') {
          acks++;
          maxAcks = Math.max(maxAcks, ++mine);
        }
        if (ack.timed && idle.timed) cycles++;
      }
    };
    await Promise.all(devices.slice(0, m.devices).map(cycle));
    clearInterval(progress);
    send({ type: 'result', result: { latencies: latencies.values(), signMs, signedLive, checkins, cycles, emptyIdles, errors: errors.entries(), acks } });
  }

  /** One kept-alive connection per device, opened while the server is idle. */
  async function connect(m: Extract<ToClient, { type: 'connect' }>) {
    for (const c of connections.values()) await c.close();
    connections.clear();
    await Promise.all(
      devices.slice(0, m.devices).map(async (d) => {
        const c = new Connection(new URL(d.serverUrl).origin, { pipelining: 1, keepAliveTimeout: 60_000 });
        connections.set(d, c);
        const res = await c.request({ path: '/healthz', method: 'GET' });
        await res.body.dump();
      }),
    );
    send({ type: 'connected' });
  }

  process.on('message', (m: ToClient) => {
    if (m.type === 'enroll') void enroll(m).catch(fatal);
    else if (m.type === 'connect') void connect(m).catch(fatal);
    else if (m.type === 'presign') {
      try {
        presign(m);
      } catch (e) {
        fatal(e);
      }
    } else if (m.type === 'run') void run(m).catch(fatal);
    else if (m.type === 'exit') {
      http.close();
      for (const c of connections.values()) c.destroy();
      process.disconnect();
    }
  });
}

/** A signed request as sent: its path on the server, headers and body. */
interface Prepared {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function signedRequest(d: AppleDevice, dict: Dict): Prepared {
  const { url, headers, body } = d.prepare(dict);
  const u = new URL(url);
  return { path: u.pathname + u.search, headers, body };
}

function fatal(e: unknown): void {
  process.stderr.write(`bench client failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Measuring and output

function sumCpu(pids: Array<number | undefined>): number | null {
  let total = 0;
  for (const pid of pids) {
    const ms = procCpuMs(pid);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

function report(results: Level[], clients: number, sign: SignMode): void {
  const rows = [['devices', 'check-ins', 'seconds', 'check-ins/s', 'cycles/s', 'p50 ms', 'p99 ms', 'errors', 'empty Idles', 'acks stored/reported']];
  for (const r of results) {
    rows.push([
      String(r.devices),
      String(r.checkins),
      r.seconds.toFixed(1),
      (r.checkins / r.seconds).toFixed(0),
      (r.cycles / r.seconds).toFixed(0),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      String(r.errors.total),
      String(r.emptyIdles),
      `${r.acksStored}/${r.acksReported}`,
    ]);
  }
  process.stdout.write('\n' + table(rows));
  process.stdout.write('latency: the HTTP round trip of a signed request (its signing is client CPU, below)\n');
  process.stdout.write(
    sign === 'ahead'
      ? `messages signed ahead of the clock; signed when sent (a device ran past its signed answers): ${results.map((r) => `${r.signedLive} at ${r.devices}`).join(', ')}\n`
      : 'every message signed when sent, on the CPUs the server shares\n',
  );

  const f = (v: number | null, d = 2) => (v === null ? 'n/a' : v.toFixed(d));
  const per = (v: number | null, n: number) => (v === null || !n ? null : v / n);
  const cpu = [['devices', 'server cores', 'server main thread', 'server ms/check-in', 'main ms/check-in', `clients cores (${clients})`, 'client ms/check-in', 'signing ms/check-in', 'feeder CPU s']];
  for (const r of results) {
    cpu.push([
      String(r.devices),
      f(per(r.serverCpuMs, r.seconds * 1000)),
      f(per(r.serverMainMs, r.seconds * 1000)),
      f(per(r.serverCpuMs, r.checkins), 3),
      f(per(r.serverMainMs, r.checkins), 3),
      f(per(r.clientCpuMs, r.seconds * 1000)),
      f(per(r.clientCpuMs, r.checkins), 3),
      r.signMsPerCheckin.toFixed(3),
      (r.feederCpuMs / 1000).toFixed(2),
    ]);
  }
  process.stdout.write(`\nCPU during the timed phase (${os.cpus().length} CPUs; "cores" = CPU seconds per second):\n` + table(cpu));
  for (const r of results) for (const [what, count] of r.errors.entries().slice(0, 5)) process.stdout.write(`  ${r.devices} devices: ${count} x ${what}\n`);

  process.stdout.write('\n');
  const cpus = os.cpus().length;
  for (const r of results) {
    const rate = r.checkins / r.seconds;
    process.stdout.write(`target >= ${TARGET.toLocaleString('en')} signed check-ins/s at ${r.devices} devices: ${rate >= TARGET ? 'met' : 'NOT met'} (${rate.toFixed(0)}/s)\n`);
    const serverMs = per(r.serverCpuMs, r.checkins);
    const mainMs = per(r.serverMainMs, r.checkins);
    const clientMs = per(r.clientCpuMs, r.checkins);
    if (serverMs === null || mainMs === null || clientMs === null) continue;
    // The server answers MDM on its main thread: one core's worth of it is the server's own ceiling.
    process.stdout.write(
      `  CPU per check-in: server ${serverMs.toFixed(3)} ms (main thread ${mainMs.toFixed(3)} ms: ~${Math.round(1000 / mainMs)}/s on a core of its own), ` +
        `clients ${clientMs.toFixed(3)} ms (signing ${r.signMsPerCheckin.toFixed(3)} ms); sharing ${cpus} CPUs they allow ~${Math.round((cpus * 1000) / (serverMs + clientMs))}/s\n`,
    );
    const clientCores = r.clientCpuMs! / (r.seconds * 1000);
    const mainCores = r.serverMainMs! / (r.seconds * 1000);
    const busiest =
      clientCores >= 0.9 * clients
        ? `the client process${clients > 1 ? 'es' : ''} (${clientCores.toFixed(2)} of ${clients} core${clients > 1 ? 's' : ''} busy)`
        : mainCores >= 0.9
          ? `the server main thread (${mainCores.toFixed(2)} of 1 core busy)`
          : `the ${cpus} shared CPUs (${(clientCores + r.serverCpuMs! / (r.seconds * 1000)).toFixed(2)} busy)`;
    process.stdout.write(`  bottleneck: ${busiest}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename) && process.argv.includes('--client')) {
  await client();
}

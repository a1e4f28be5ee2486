// SCEP enrollment throughput: the same client driver against our server and against micromdm's
// `scepserver` (Debian package `scep`), both started here on loopback and stopped at the end.
//
// Everything expensive on the client side happens before the clock starts: device keys are
// generated once (and reused, with a unique CN and transaction ID per request), and every
// PKCSReq is built and encrypted to the server's RA (ours) or CA (scepserver) certificate in
// advance. The timed phase only POSTs prepared bodies over keep-alive connections and keeps the
// replies; statuses are read afterwards, and a sample of replies is opened in full.
import { spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as pkijs from 'pkijs';
import { SCEP_OID } from '../../src/pki/scep/constants.ts';
import { makeRecipient, openEnvelope } from '../../src/pki/scep/envelope.ts';
import { ScepFailure } from '../../src/pki/scep/failure.ts';
import { parsePkiMessage } from '../../src/pki/scep/pki-message.ts';
import { buildCsr, getCaCerts, MessageType, newDevice, pkiRequest, readCertRep, type Device } from '../../test/support/scep-client.ts';
import { formatSummary, mainThreadProfile, summarise } from './cpuprofile.ts';
import { benchMain, elapsed, freePort, launch, logger, machine, monotonicMicros, numberOption, parseOptions, procCpuMs, quantile, startOurServer, table, UsageError } from './lib.ts';

const CHALLENGE = 'bench-challenge-0123456789';

export const usage = `usage: npm run bench -- scep [options]

  --requests N      timed PKCSReq enrollments per server (default 2000)
  --concurrency C   requests in flight (default 32)
  --warmup W        untimed requests per server first (default 100)
  --keys K          device RSA-2048 keys to generate and reuse (default 64)
  --verify S        replies per server opened in full with readCertRep (default 100; all: -1)
  --only NAME       ours | scepserver: bench one server only
  --scepserver BIN  path of micromdm's scepserver (default: scepserver on PATH)
  --cpu-prof DIR    run our server under node --cpu-prof, write the profile to DIR and summarise it
  --keep            keep the temporary data dirs (printed)
  --latencies DIR   write each timed request's start, latency and status to DIR/<server>.csv

Targets: ours >= 1.5x scepserver, and ours >= 300 enrollments/s.
`;

type ServerName = 'ours' | 'scepserver';

/** The certificate as the test client represents it (whatever getCaCerts hands out). */
type Recipient = Awaited<ReturnType<typeof getCaCerts>>['ra'];

interface Server {
  name: ServerName;
  url: string;
  /** The certificate requests are encrypted to, and CertReps are signed by: the RA (ours) or the CA (scepserver). */
  recipient: Recipient;
  recipientDer: Buffer;
  stop(): Promise<void>;
  proc: ChildProcess;
  dir: string;
}

interface Prepared {
  der: Buffer;
  cn: string;
  transactionId: string;
  device: Device;
}

interface Result {
  server: ServerName;
  requests: number;
  ok: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  failures: Map<string, number>;
  /** Requests answered with a CertRep (any status). */
  replies: number;
  verified: number;
  verifyErrors: string[];
  /** Verified replies whose envelope was single DES (scepserver's reply cipher). */
  desReplies: number;
  /** CPU time used during the timed phase by the server process (all its threads) and by this client. */
  serverCpuMs?: number | null;
  clientCpuMs?: number;
}

export const main = benchMain(usage, bench);
const log = logger('scep');

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, {
    requests: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '100' },
    keys: { type: 'string', default: '64' },
    verify: { type: 'string', default: '100' },
    only: { type: 'string' },
    scepserver: { type: 'string', default: 'scepserver' },
    latencies: { type: 'string' },
  });
  const requests = numberOption('requests', values.requests, 1);
  const concurrency = numberOption('concurrency', values.concurrency, 1);
  const warmup = numberOption('warmup', values.warmup, 0);
  const keys = numberOption('keys', values.keys, 1);
  const verify = numberOption('verify', values.verify, -1);
  if (values.only !== undefined && values.only !== 'ours' && values.only !== 'scepserver') throw new UsageError('--only is ours or scepserver');
  const wanted: ServerName[] = values.only ? [values.only as ServerName] : ['ours', 'scepserver'];
  const cpuProfDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : undefined;

  let scepserverBin: string | null = values.scepserver;
  if (wanted.includes('scepserver') && spawnSync(scepserverBin, ['-version'], { stdio: 'ignore' }).error) {
    process.stderr.write(`\n!!! scepserver (${scepserverBin}) is not installed (apt-get install -y scep): benching our server alone !!!\n\n`);
    scepserverBin = null;
  }
  const names = wanted.filter((n) => n !== 'scepserver' || scepserverBin);
  if (!names.length) {
    process.stdout.write('nothing to bench\n');
    return;
  }

  log(
    `SCEP PKCSReq enrollments: ${requests} timed (+${warmup} warm-up) per server, ${concurrency} in flight, ` +
      machine(),
  );

  const servers: Server[] = [];
  const logErrors = new Map<ServerName, Map<string, number>>();
  const stopAll = async () => {
    await Promise.all(servers.map((s) => s.stop().catch(() => {})));
    for (const s of servers) logErrors.set(s.name, serverLogErrors(s.dir));
    if (!values.keep) for (const s of servers) fs.rmSync(s.dir, { recursive: true, force: true });
    else for (const s of servers) log(`kept ${s.name} data in ${s.dir}`);
  };
  const onSignal = () => void stopAll().then(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const results: Result[] = [];
  let ourPid: number | undefined;
  let timedWindow: { start: number; end: number } | undefined;
  try {
    let t = performance.now();
    for (const name of names) servers.push(name === 'ours' ? await startOurs(cpuProfDir) : await startScepserver(scepserverBin!));
    ourPid = servers.find((s) => s.name === 'ours')?.proc.pid;
    log(`started ${servers.map((s) => `${s.name} at ${s.url}`).join(', ')} (${elapsed(t)})`);

    t = performance.now();
    const devices = await generateDevices(keys);
    log(`generated ${keys} RSA-2048 device keys (${elapsed(t)})`);

    // One CSR per request slot, shared by both servers (each has its own CA, so a CN is unique per server).
    t = performance.now();
    const run = crypto.randomBytes(3).toString('hex');
    const csrs = Array.from({ length: warmup + requests }, (_, i) => {
      const cn = `bench-${run}-${i < warmup ? `w${i}` : i - warmup}`;
      const device = devices[i % devices.length]!;
      return { cn, device, csr: buildCsr(device, { cn, challenge: CHALLENGE }) };
    });
    log(`built ${csrs.length} CSRs (${elapsed(t)})`);

    for (const server of servers) {
      t = performance.now();
      const prepared = csrs.map(({ cn, device, csr }): Prepared => {
        const r = pkiRequest({ signer: device.selfSigned, recipient: server.recipient, messageType: MessageType.PKCSReq, payload: csr });
        return { der: r.der, cn, transactionId: r.transactionId, device };
      });
      log(`${server.name}: built ${prepared.length} PKCSReq messages encrypted to ${subjectOf(server.recipientDer)} (${elapsed(t)})`);

      const endpoint = `${server.url}/scep?operation=PKIOperation`;
      if (warmup > 0) {
        t = performance.now();
        const w = await drive(endpoint, prepared.slice(0, warmup), concurrency);
        const wok = w.bodies.filter((b, i) => b && statusOf(b, prepared[i]!.transactionId) === 'SUCCESS').length;
        log(`${server.name}: warm-up ${wok}/${warmup} ok (${elapsed(t)})`);
        if (wok === 0) throw new Error(`${server.name}: no warm-up request succeeded: ${describeFailure(w.bodies[0] ?? null, w.errors[0])}`);
      }
      const timed = prepared.slice(warmup);
      const cpu0 = { server: procCpuMs(server.proc.pid), client: process.cpuUsage() };
      const start = monotonicMicros();
      const d = await drive(endpoint, timed, concurrency);
      if (server.name === 'ours') timedWindow = { start, end: monotonicMicros() };
      const cpu1 = { server: procCpuMs(server.proc.pid), client: process.cpuUsage(cpu0.client) };
      results.push({
        ...check(server, timed, d, verify),
        serverCpuMs: cpu0.server !== null && cpu1.server !== null ? cpu1.server - cpu0.server : null,
        clientCpuMs: (cpu1.client.user + cpu1.client.system) / 1000,
      });
      if (values.latencies) writeLatencies(path.join(values.latencies, `${server.name}.csv`), timed, d);
      const r = results.at(-1)!;
      log(
        `${server.name}: ${r.ok}/${r.requests} ok in ${r.seconds.toFixed(2)} s; ${r.verified} replies verified and decrypted in full` +
          (r.desReplies ? ` (${r.desReplies} of them single-DES encrypted)` : ''),
      );
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await stopAll();
  }

  report(results, logErrors);

  if (cpuProfDir && ourPid !== undefined) {
    const file = mainThreadProfile(cpuProfDir, ourPid);
    if (file) {
      process.stdout.write(`\nour server's main-thread CPU profile: ${file}; below, the timed phase only\n`);
      process.stdout.write(formatSummary(summarise(file, 25, timedWindow)));
    } else {
      process.stdout.write(`\nno main-thread .cpuprofile for pid ${ourPid} in ${cpuProfDir}\n`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Servers

/** Both servers are ready once they answer this. */
const GET_CA_CAPS = '/scep?operation=GetCACaps';

async function startOurs(cpuProfDir: string | undefined): Promise<Server> {
  const { url, dir, proc, stop } = await startOurServer({
    name: 'ours',
    dirPrefix: 'mdm-bench-',
    challenge: CHALLENGE,
    publicUrl: 'http://127.0.0.1:8080',
    readyPath: GET_CA_CAPS,
    cpuProfDir,
  });
  return { name: 'ours', url, ...(await caCertificates(url)), stop, proc, dir };
}

async function startScepserver(bin: string): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scepserver-bench-'));
  const depot = path.join(dir, 'depot');
  const init = spawnSync(bin, ['ca', '-init', '-depot', depot, '-keySize', '2048'], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`scepserver ca -init failed: ${init.stderr}${init.stdout}`);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // scepserver has no listen-address flag: it binds :PORT; the bench only talks to it over loopback.
  const { proc, stop } = await launch(
    'scepserver',
    bin,
    ['-depot', depot, '-port', String(port), '-challenge', CHALLENGE, '-allowrenew', '0'],
    process.env,
    url,
    GET_CA_CAPS,
    dir,
  );
  return { name: 'scepserver', url, ...(await caCertificates(url)), stop, proc, dir };
}

/**
 * The certificate to encrypt requests to, as the test client's getCaCerts reads it. Ours answers
 * GetCACert with RA and CA (application/x-x509-ca-ra-cert, a degenerate SignedData).
 * scepserver answers with its CA certificate alone (application/x-x509-ca-cert, bare DER), and
 * that CA is then both the recipient and the CertRep signer; getCaCerts expects an RA/CA pair, so
 * for such a server the bench hands it, from a throwaway loopback listener, a certs-only
 * SignedData naming the CA in both roles.
 */
async function caCertificates(url: string): Promise<{ recipient: Recipient; recipientDer: Buffer }> {
  const res = await fetch(`${url}/scep?operation=GetCACert`);
  const der = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new Error(`GetCACert answered ${res.status}`);
  if ((res.headers.get('content-type') ?? '').includes('x509-ca-ra-cert')) {
    const { ra, raDer } = await getCaCerts(url);
    return { recipient: ra, recipientDer: raDer };
  }
  const ca = pkijs.Certificate.fromBER(der);
  const sd = new pkijs.SignedData({
    version: 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({ eContentType: '1.2.840.113549.1.7.1' }),
    certificates: [ca, pkijs.Certificate.fromBER(der)],
  });
  const body = Buffer.from(new pkijs.ContentInfo({ contentType: pkijs.ContentInfo.SIGNED_DATA, content: sd.toSchema(true) }).toSchema().toBER());
  const server = http.createServer((_req, out) => out.writeHead(200, { 'content-type': 'application/x-x509-ca-ra-cert' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { ra, raDer } = await getCaCerts(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}`);
    if (!raDer.equals(der)) throw new Error('getCaCerts did not return the CA certificate it was given');
    return { recipient: ra, recipientDer: der };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

// Certificates are read with pkijs directly: the bench does not depend on src/pki's representations.
const parseCert = (der: Uint8Array): pkijs.Certificate => pkijs.Certificate.fromBER(der);
const commonName = (c: pkijs.Certificate): string | undefined =>
  c.subject.typesAndValues.find((tv) => tv.type === '2.5.4.3')?.value.valueBlock.value as string | undefined;
const subjectOf = (der: Buffer) =>
  parseCert(der)
    .subject.typesAndValues.map((tv) => tv.value.valueBlock.value)
    .join(', ');

// ---------------------------------------------------------------------------------------------
// Client

async function generateDevices(n: number): Promise<Device[]> {
  const gen = promisify(crypto.generateKeyPair);
  // Async generation runs on libuv's thread pool, so it uses every core.
  const pairs = await Promise.all(Array.from({ length: n }, () => gen('rsa', { modulusLength: 2048 })));
  return pairs.map((kp) => newDevice(2048, kp));
}

interface Driven {
  seconds: number;
  latencies: Float64Array;
  /** When each request was sent, in ms from the start of the run. */
  starts: Float64Array;
  bodies: Array<Buffer | null>;
  errors: Array<string | undefined>;
}

/** Sends every prepared request, `concurrency` at a time, over fetch's keep-alive pool. */
async function drive(endpoint: string, reqs: Prepared[], concurrency: number): Promise<Driven> {
  const latencies = new Float64Array(reqs.length);
  const starts = new Float64Array(reqs.length);
  const bodies: Array<Buffer | null> = new Array(reqs.length).fill(null);
  const errors: Array<string | undefined> = new Array(reqs.length);
  let next = 0;
  const t0 = performance.now();
  const worker = async () => {
    for (let i = next++; i < reqs.length; i = next++) {
      const start = performance.now();
      starts[i] = start - t0;
      try {
        const res = await fetch(endpoint, {
          method: 'POST',
          body: reqs[i]!.der,
          headers: { 'content-type': 'application/x-pki-message' },
        });
        const body = Buffer.from(await res.arrayBuffer());
        if (res.ok) bodies[i] = body;
        else errors[i] = `HTTP ${res.status}: ${body.toString('utf8', 0, 200).trim()}`;
      } catch (e) {
        errors[i] = `fetch failed: ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}`;
      }
      latencies[i] = performance.now() - start;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, reqs.length) }, worker));
  return { seconds: (performance.now() - t0) / 1000, latencies, starts, bodies, errors };
}

const STATUS_NAMES: Record<string, string> = { '0': 'SUCCESS', '2': 'FAILURE', '3': 'PENDING' };

/** The CertRep's pkiStatus (SUCCESS / FAILURE / PENDING), without verifying or decrypting; checks the transaction ID echoes. */
function statusOf(der: Buffer, transactionId: string): string {
  try {
    const sd = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
    const attrs = sd.signerInfos[0]?.signedAttrs?.attributes ?? [];
    const value = (oid: string) => (attrs.find((a) => a.type === oid)?.values[0] as { valueBlock?: { value?: string } } | undefined)?.valueBlock?.value;
    if (value(SCEP_OID.transactionID) !== transactionId) return 'wrong transactionID';
    const status = value(SCEP_OID.pkiStatus) ?? 'no pkiStatus';
    const name = STATUS_NAMES[status] ?? `pkiStatus ${status}`;
    const failInfo = value(SCEP_OID.failInfo);
    return failInfo !== undefined ? `${name} (failInfo ${failInfo})` : name;
  } catch {
    return 'unparseable reply';
  }
}

interface Reply {
  status: string;
  transactionId: string;
  certs: Buffer[];
  /** The reply's envelope was single DES. */
  des: boolean;
}

/**
 * readCertRep, which verifies the CertRep's signature by the RA and decrypts the certificate with
 * the device key. scepserver encrypts its replies with single DES, which readCertRep's
 * openEnvelope refuses (as our server does by configuration); those are checked here the same
 * way, with DES allowed.
 */
function readReply(der: Buffer, server: Server, requester: Device['selfSigned']): Reply {
  try {
    const rep = readCertRep(der, server.recipient, requester);
    return { status: rep.status, transactionId: rep.transactionId, certs: rep.certs, des: false };
  } catch (e) {
    if (!(e instanceof ScepFailure) || !/single DES/.test(e.reason)) throw e;
  }
  const { request, failure } = parsePkiMessage(der);
  if (failure) throw new Error(`CertRep does not verify: ${failure.reason}`);
  const outer = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(der).content });
  const signerCerts = (outer.certificates ?? []).map((c) => Buffer.from((c as pkijs.Certificate).toSchema().toBER()));
  if (!signerCerts.some((c) => c.equals(server.recipientDer))) throw new Error('CertRep is not signed by the RA');
  const { content, des } = openEnvelope(request.envelope, [makeRecipient(requester.cert, requester.key)], true);
  const inner = new pkijs.SignedData({ schema: pkijs.ContentInfo.fromBER(content).content });
  const certs = (inner.certificates ?? []).map((c) => Buffer.from((c as pkijs.Certificate).toSchema().toBER()));
  const status = statusOf(der, request.transactionId);
  return { status: status === 'SUCCESS' ? '0' : status, transactionId: request.transactionId, certs, des };
}

function writeLatencies(file: string, reqs: Prepared[], d: Driven): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const lines = ['index,start_ms,latency_ms,status'];
  for (let i = 0; i < reqs.length; i++) {
    const body = d.bodies[i];
    const status = body ? statusOf(body, reqs[i]!.transactionId) : (d.errors[i] ?? 'no reply');
    lines.push(`${i},${d.starts[i]!.toFixed(2)},${d.latencies[i]!.toFixed(2)},"${status.replace(/"/g, "'")}"`);
  }
  fs.writeFileSync(file, lines.join('\n') + '\n');
  log(`wrote ${file}`);
}

function describeFailure(body: Buffer | null, error: string | undefined): string {
  return error ?? (body ? `reply ${body.length} bytes` : 'no reply');
}

/** Counts successes from every reply's pkiStatus, and opens `verify` of them in full. */
function check(server: Server, reqs: Prepared[], d: Driven, verify: number): Result {
  const failures = new Map<string, number>();
  let ok = 0;
  const okIdx: number[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const body = d.bodies[i];
    const status = body ? statusOf(body, reqs[i]!.transactionId) : (d.errors[i] ?? 'no reply');
    if (status === 'SUCCESS') {
      ok++;
      okIdx.push(i);
    } else {
      failures.set(status, (failures.get(status) ?? 0) + 1);
    }
  }
  // An evenly spread sample (the first and last included) is verified and decrypted in full.
  const n = verify < 0 ? okIdx.length : Math.min(verify, okIdx.length);
  const sample = new Set<number>();
  for (let k = 0; k < n; k++) sample.add(okIdx[n === 1 ? 0 : Math.round((k * (okIdx.length - 1)) / (n - 1))]!);
  const verifyErrors: string[] = [];
  let desReplies = 0;
  for (const i of sample) {
    const req = reqs[i]!;
    try {
      const rep = readReply(d.bodies[i]!, server, req.device.selfSigned);
      if (rep.des) desReplies++;
      if (rep.status !== '0') throw new Error(`status ${rep.status}`);
      if (rep.transactionId !== req.transactionId) throw new Error('transactionID does not match');
      const certs = rep.certs.map(parseCert);
      const mine = certs.find((c) => commonName(c) === req.cn);
      if (!mine) throw new Error(`no certificate for CN ${req.cn} among ${certs.length}`);
      const spki = Buffer.from(mine.subjectPublicKeyInfo.toSchema().toBER());
      if (!spki.equals(req.device.publicKey.export({ type: 'spki', format: 'der' }))) throw new Error('the issued certificate is not for the request key');
    } catch (e) {
      verifyErrors.push(`${req.cn}: ${(e as Error).message}`);
    }
  }
  if (verifyErrors.length) ok -= verifyErrors.length;
  const sorted = Float64Array.from(d.latencies).sort();
  return {
    server: server.name,
    requests: reqs.length,
    ok,
    seconds: d.seconds,
    rate: ok / d.seconds,
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
    failures,
    replies: d.bodies.filter((b) => b !== null).length,
    verified: sample.size - verifyErrors.length,
    verifyErrors,
    desReplies,
  };
}

// ---------------------------------------------------------------------------------------------
// Output

/**
 * Why a server refused requests, from its log: our JSON lines at warn and above (msg: reason),
 * scepserver's logfmt lines with a non-null err (msg: err).
 */
function serverLogErrors(dir: string): Map<string, number> {
  const counts = new Map<string, number>();
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, 'server.log'), 'utf8');
  } catch {
    return counts;
  }
  for (const line of text.split('\n')) {
    let key: string | undefined;
    if (line.startsWith('{')) {
      try {
        const e = JSON.parse(line) as { level?: number; msg?: string; reason?: string; err?: { message?: string } };
        if ((e.level ?? 0) >= 40) key = `${e.msg}${e.reason ? `: ${e.reason}` : e.err?.message ? `: ${e.err.message}` : ''}`;
      } catch {
        /* not JSON */
      }
    } else {
      const err = /\berr="((?:[^"\\]|\\.)*)"/.exec(line)?.[1] ?? /\berr=(?!null\b)(\S+)/.exec(line)?.[1];
      if (err && err !== 'null') key = `${/\bmsg="([^"]*)"/.exec(line)?.[1] ?? /\bmsg=(\S+)/.exec(line)?.[1] ?? 'error'}: ${err}`;
    }
    if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

function report(results: Result[], logErrors: Map<ServerName, Map<string, number>>): void {
  // enrollments/s counts SUCCESS replies only; replies/s counts every answer, refusals included.
  const rows = [['server', 'requests', 'ok', 'seconds', 'enrollments/s', 'p50 ms', 'p99 ms', 'replies/s']];
  for (const r of results) {
    rows.push([
      r.server,
      String(r.requests),
      String(r.ok),
      r.seconds.toFixed(2),
      r.rate.toFixed(1),
      r.p50.toFixed(1),
      r.p99.toFixed(1),
      (r.replies / r.seconds).toFixed(1),
    ]);
  }
  process.stdout.write('\n' + table(rows));
  const cpuRows = [['server', 'server CPU s', 'server cores', 'server CPU ms/enrollment', 'client CPU s']];
  for (const r of results) {
    const srv = r.serverCpuMs;
    cpuRows.push([
      r.server,
      srv == null ? 'n/a' : (srv / 1000).toFixed(2),
      srv == null ? 'n/a' : (srv / 1000 / r.seconds).toFixed(2),
      srv == null || !r.ok ? 'n/a' : (srv / r.ok).toFixed(2),
      r.clientCpuMs === undefined ? 'n/a' : (r.clientCpuMs / 1000).toFixed(2),
    ]);
  }
  process.stdout.write('\nCPU during the timed phase:\n' + table(cpuRows));
  for (const r of results) {
    for (const [what, count] of r.failures) process.stdout.write(`  ${r.server}: ${count} x ${what}\n`);
    for (const e of r.verifyErrors.slice(0, 5)) process.stdout.write(`  ${r.server}: reply failed full verification: ${e}\n`);
    if (r.failures.size || r.verifyErrors.length) {
      const top = [...(logErrors.get(r.server) ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 5);
      for (const [what, count] of top) process.stdout.write(`  ${r.server} log (whole run): ${count} x ${what}\n`);
    }
  }

  const ours = results.find((r) => r.server === 'ours');
  const theirs = results.find((r) => r.server === 'scepserver');
  process.stdout.write('\n');
  if (ours && theirs) {
    const ratio = ours.rate / theirs.rate;
    const theirReplies = theirs.replies / theirs.seconds;
    const note = theirs.ok < theirs.replies ? ` (${(ours.rate / theirReplies).toFixed(2)}x against scepserver's replies/s, its refusals counted as if they were enrollments)` : '';
    process.stdout.write(`ratio ours/scepserver: ${ratio.toFixed(2)}x${note}\n`);
    process.stdout.write(`target >= 1.5x scepserver: ${ratio >= 1.5 ? 'met' : 'NOT met'} (${ratio.toFixed(2)}x)\n`);
  } else {
    process.stdout.write('ratio ours/scepserver: n/a (only one server was benched)\n');
    process.stdout.write('target >= 1.5x scepserver: not measured\n');
  }
  if (ours) {
    process.stdout.write(`target >= 300 enrollments/s: ${ours.rate >= 300 ? 'met' : 'NOT met'} (${ours.rate.toFixed(1)}/s on ${os.cpus().length} CPUs)\n`);
  }
}

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import readline from 'node:readline';

const root = path.resolve(import.meta.dirname, '../..');
/** The public URL test servers are configured with: links they hand out point here, not to their real port. */
export const PUBLIC_URL = 'http://127.0.0.1:8080';
export const MDM_BIN = path.join(root, 'bin/mdm.js');

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  proc: ChildProcess;
  logs: Array<Record<string, unknown>>;
  /** Runs `mdm <args>` on the same data dir; returns stdout, stderr and the exit status. */
  cli(args: string[], env?: Record<string, string>, input?: string): { stdout: string; stderr: string; status: number | null };
  /** The same without blocking this process: for commands that talk to a fake living in the test (APNs). */
  cliAsync(args: string[], env?: Record<string, string>): Promise<{ stdout: string; stderr: string; status: number | null }>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Resolves with the first log line matching `pred`, waiting for it to arrive (logs come through a pipe). */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function tempDir(prefix = 'mdm-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function runCli(args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, [MDM_BIN, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', input });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

export function runCliAsync(args: string[], env: Record<string, string> = {}): Promise<{ stdout: string; stderr: string; status: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [MDM_BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.once('error', reject);
    p.once('close', (status) => resolve({ stdout, stderr, status }));
  });
}

/** Starts `mdm serve` on 127.0.0.1 with an ephemeral plain-HTTP port and a fresh data dir. */
/** `exec`: what runs `serve` instead of bin/mdm.js under this Node (the bundle, the single executable). */
export async function startServer(opts: { dataDir?: string; env?: Record<string, string>; args?: string[]; exec?: string[] } = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const publicUrl = PUBLIC_URL;
  const env = { ...process.env, MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'info', ...opts.env };
  const [file, ...prefix] = opts.exec ?? [process.execPath, MDM_BIN];
  const proc = spawn(
    file!,
    [...prefix, 'serve', '--http-port', '0', '--https-port', 'off', '--listen', '127.0.0.1', '--public-url', publicUrl, ...(opts.args ?? [])],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    const rl = readline.createInterface({ input: proc.stdout! });
    rl.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'listening' && entry.scheme === 'http') resolve(entry.port as number);
      } catch {
        /* not a log line */
      }
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dataDir,
    proc,
    logs,
    // The CLI speaks for the same appliance: same data dir and public URL.
    cli: (args, extra = {}, input) => runCli(args, { MDM_DATA_DIR: dataDir, MDM_PUBLIC_URL: publicUrl, ...opts.env, ...extra }, input),
    cliAsync: (args, extra = {}) => runCliAsync(args, { MDM_DATA_DIR: dataDir, MDM_PUBLIC_URL: publicUrl, ...opts.env, ...extra }),
    async waitForLog(pred, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = logs.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error('expected log line did not arrive');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * Announces an oversized body and returns the status the server answers with. A raw socket: the
 * server answers 413 from Content-Length and hangs up, which an HTTP client mid-upload reports
 * as EPIPE instead of the status.
 */
export function sendOversized(url: string, method: string, bytes: number): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = net.connect(Number(u.port), u.hostname, () => {
      sock.write(`${method} ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n`);
      sock.write(Buffer.alloc(1024));
    });
    let head = '';
    sock.on('data', (d) => {
      head += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (m) {
        resolve(Number(m[1]));
        sock.destroy();
      }
    });
    sock.on('error', (e) => (/^HTTP\/1\.1 \d{3}/.test(head) ? undefined : reject(e)));
    sock.setTimeout(10_000, () => sock.destroy(new Error('no answer to an oversized request')));
  });
}

/** `/api/v1` of a test server with a bearer token: the status and the parsed JSON body. */
/** A new API token made with the CLI, as an admin makes one, and the JSON API client that uses it. */
export function tokenApi(server: Pick<TestServer, 'url' | 'cli'>, name: string): ReturnType<typeof jsonApi> {
  const r = server.cli(['api-token', 'create', '--name', name]);
  if (r.status !== 0) throw new Error(`api-token create failed: ${r.stderr}`);
  return jsonApi(server, r.stdout.trim());
}

export function jsonApi(server: Pick<TestServer, 'url'>, token: string) {
  return async (method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> => {
    const res = await fetch(`${server.url}/api/v1${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    // A 204 has no body.
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, any> };
  };
}

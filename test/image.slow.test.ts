// The container image (Dockerfile, scripts/build-image.sh), built with buildah from locally
// debootstrapped bases (no Docker daemon here) and run the way a container runtime runs it: the
// image's root filesystem as root directory, its entrypoint as PID 1 of a new PID namespace, as
// its user, with its env and working directory, a host directory as the /data volume. A slow
// test: `node scripts/run-tests.mjs --slow` (.ci/run), not part of `npm test`.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { test } from 'node:test';
import { peer } from './support/peers.ts';
import { tempDir } from './support/server.ts';

const root = path.resolve(import.meta.dirname, '..');
const TAG = 'open-mdm-appliance:image-test';
/** The name in buildah's storage and in the tar; `docker load` shows it as TAG. */
const NAME = `docker.io/library/${TAG}`;

function buildah(args: string[]): string {
  const r = spawnSync('buildah', ['--storage-driver', 'vfs', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`buildah ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Why the test cannot run here, or null. Missing tools fail the test under MDM_REQUIRE_PEERS=1. */
function missing(): string | null {
  if (process.getuid?.() !== 0) {
    const reason = 'building and running the image with buildah needs root';
    if (process.env.MDM_REQUIRE_PEERS === '1') throw new Error(`${reason}; MDM_REQUIRE_PEERS=1 makes this a failure`);
    process.stderr.write(`\n!!! SKIPPING: ${reason} !!!\n\n`);
    return reason;
  }
  for (const [command, args] of [['buildah', ['--version']], ['debootstrap', ['--version']], ['unshare', ['--version']]] as const) {
    const p = peer(command, [...args]);
    if (!p.ok) return p.reason;
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/** GET over HTTPS accepting the appliance's self-issued certificate. */
function get(url: string): Promise<{ status: number; type: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { rejectUnauthorized: false, timeout: 5000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, type: res.headers['content-type'], body: Buffer.concat(chunks) }));
      })
      .on('timeout', function (this: { destroy(e: Error): void }) {
        this.destroy(new Error('timed out'));
      })
      .on('error', reject);
  });
}

interface ImageConfig {
  User: string;
  Env: string[];
  WorkingDir: string;
  Entrypoint: string[];
  Cmd: string[];
  Volumes: Record<string, object>;
  ExposedPorts: Record<string, object>;
  Healthcheck: { Test: string[] };
}

interface Running {
  proc: ChildProcess;
  /** PID 1 of the container, as this host sees it. */
  pid: number;
  logs: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
}

test('the container image: built with buildah, runs as uid 10001 and PID 1 with its database in /data, healthy, stops on SIGTERM and SIGINT', async (t) => {
  const why = missing();
  if (why) return t.skip(why);
  const work = tempDir('mdm-image-');
  const archive = path.join(work, 'image.tar');
  const cleanups: Array<() => void> = [];
  t.after(() => {
    for (const c of cleanups.reverse()) {
      try {
        c();
      } catch (e) {
        process.stderr.write(`cleanup: ${(e as Error).message}\n`);
      }
    }
    fs.rmSync(work, { recursive: true, force: true });
  });

  // The build, as a user runs it (Docker or not, the test takes the buildah path).
  const started = Date.now();
  const built = spawnSync('bash', [path.join(root, 'scripts/build-image.sh'), '--builder', 'buildah', '--tag', TAG, '--output', archive], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.equal(built.status, 0, `build-image.sh failed:\n${built.stdout}\n${built.stderr}`);
  cleanups.push(() => buildah(['rmi', NAME]));
  process.stderr.write(`image built in ${((Date.now() - started) / 1000).toFixed(0)} s\n${built.stderr.split('\n').filter((l) => l.startsWith('build-image:')).join('\n')}\n`);

  // A tar `docker load` takes: one image, named.
  const manifest = JSON.parse(spawnSync('tar', ['-xOf', archive, 'manifest.json'], { encoding: 'utf8' }).stdout) as Array<{ RepoTags: string[] }>;
  assert.deepEqual(manifest.map((m) => m.RepoTags), [[NAME]]);

  const image = JSON.parse(buildah(['inspect', '--type', 'image', NAME])) as { Docker: { config: ImageConfig } };
  const config = image.Docker.config;
  assert.equal(config.User, '10001:10001');
  assert.deepEqual(Object.keys(config.Volumes), ['/data']);
  assert.deepEqual(Object.keys(config.ExposedPorts), ['8443/tcp']);
  assert.ok(config.Env.includes('MDM_DATA_DIR=/data') && config.Env.includes('NODE_ENV=production'), config.Env.join(' '));
  assert.equal(config.Healthcheck.Test[0], 'CMD', 'an exec-form HEALTHCHECK');
  const [uid, gid] = config.User.split(':');

  // The container: the image's root filesystem with a host directory as its /data volume.
  const ctr = buildah(['from', '--pull=false', '--name', `mdm-image-test-${process.pid}`, NAME]);
  cleanups.push(() => buildah(['rm', ctr]));
  const rootfs = buildah(['mount', ctr]);
  cleanups.push(() => buildah(['umount', ctr]));
  // Nothing of the build is left in the run stage.
  for (const gone of ['/usr/bin/g++', '/usr/bin/python3', '/src', '/opt/mdm/node_modules', '/usr/local/lib/node_modules/npm']) assert.equal(fs.existsSync(path.join(rootfs, gone)), false, gone);
  const data = path.join(work, 'data');
  fs.mkdirSync(data, { mode: 0o700 });
  fs.chownSync(data, Number(uid), Number(gid));
  const bind = spawnSync('mount', ['--bind', data, path.join(rootfs, 'data')], { encoding: 'utf8' });
  assert.equal(bind.status, 0, bind.stderr);
  cleanups.push(() => void spawnSync('umount', [path.join(rootfs, 'data')]));

  // The host's network (the test reaches it on loopback), on a free port: MDM_HTTPS_PORT as a user sets it.
  const port = await freePort();
  const env = { ...Object.fromEntries(config.Env.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)])), MDM_HTTPS_PORT: String(port) };
  const inContainer = (argv: string[]) =>
    spawnSync('unshare', ['--root', rootfs, '--wd', config.WorkingDir, '--setgid', gid!, '--setuid', uid!, '--', ...argv], { env, encoding: 'utf8' });

  const start = async (): Promise<Running> => {
    const proc = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount-proc', '--root', rootfs, '--wd', config.WorkingDir, '--setgid', gid!, '--setuid', uid!, '--', ...config.Entrypoint, ...config.Cmd], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => proc.exitCode === null && proc.kill('SIGKILL'));
    const logs: Array<Record<string, unknown>> = [];
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    readline.createInterface({ input: proc.stdout! }).on('line', (line) => {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* not a log line */
      }
    });
    // Healthy: /healthz over HTTPS on 127.0.0.1, the self-issued certificate accepted.
    for (let deadline = Date.now() + 30_000; ; ) {
      if (proc.exitCode !== null) assert.fail(`the server exited with ${proc.exitCode}: ${stderr}`);
      const health = await get(`https://127.0.0.1:${port}/healthz`).catch(() => null);
      if (health?.status === 200) {
        assert.equal((JSON.parse(health.body.toString()) as { database: string }).database, 'ok');
        break;
      }
      if (Date.now() > deadline) assert.fail(`/healthz did not answer 200 within 30 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const children = fs.readFileSync(`/proc/${proc.pid}/task/${proc.pid}/children`, 'utf8').trim().split(/\s+/);
    assert.equal(children.length, 1);
    return { proc, pid: Number(children[0]), logs, exited };
  };

  const first = await start();
  // PID 1 of its namespace, as the image's non-root user.
  const status = fs.readFileSync(`/proc/${first.pid}/status`, 'utf8');
  assert.match(status, /^NSpid:\s+\d+\s+1$/m);
  assert.match(status, /^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
  assert.match(status, /^Gid:\s+10001\s+10001\s+10001\s+10001$/m);
  assert.equal(fs.readlinkSync(`/proc/${first.pid}/exe`), path.join(rootfs, 'usr/local/bin/node'));

  const ca = await get(`https://127.0.0.1:${port}/scep?operation=GetCACert`);
  assert.equal(ca.status, 200);
  assert.equal(ca.type, 'application/x-x509-ca-ra-cert');
  assert.equal(ca.body[0], 0x30);

  // The database and the master key are in the volume, the user's.
  for (const f of ['mdm.sqlite', 'master.key', 'server.pid']) {
    const st = fs.statSync(path.join(data, f));
    assert.equal(st.uid, 10001, f);
  }
  // The image's HEALTHCHECK, and the CLI beside the server (`docker exec CONTAINER mdm ...`).
  const hc = inContainer(config.Healthcheck.Test.slice(1));
  assert.equal(hc.status, 0, `healthcheck: ${hc.stderr}`);
  const shown = inContainer(['mdm', 'ca', 'show']);
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^-----BEGIN CERTIFICATE-----/);

  // docker stop: SIGTERM to PID 1, which shuts down cleanly and promptly.
  let t0 = Date.now();
  process.kill(first.pid, 'SIGTERM');
  assert.equal(await first.exited, 0);
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
  assert.ok(first.logs.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM'));
  assert.equal(fs.existsSync(path.join(data, 'server.pid')), false, 'the pid file is removed');

  // Started again on the same volume (the same CA), stopped with Ctrl-C (docker run -it).
  const second = await start();
  const again = inContainer(['mdm', 'ca', 'show']);
  assert.equal(again.stdout, shown.stdout);
  t0 = Date.now();
  process.kill(second.pid, 'SIGINT');
  assert.equal(await second.exited, 0);
  assert.ok(Date.now() - t0 < 5000, `stopped in ${Date.now() - t0} ms`);
});

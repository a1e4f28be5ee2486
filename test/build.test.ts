// The bundle (`npm run build`) and the single executable (`npm run build:sea`) run the appliance
// from a fresh data dir, without the repository's node_modules or tsx: health, SCEP from its
// worker threads, the CA, the console's assets, a CLI command beside the running server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildSea } from '../scripts/build-sea.ts';
import { build } from '../scripts/build.ts';
import { startServer, tempDir } from './support/server.ts';

async function exercise(exec: string[], cwd: string) {
  const dataDir = path.join(tempDir('mdm-built-'), 'data');
  const server = await startServer({ dataDir, exec, env: { MDM_SCEP_WORKERS: '2' } });
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { database: string }).database, 'ok');
    // GetCACert: the CA and its RA (PKCS#7, DER).
    const ca = await fetch(`${server.url}/scep?operation=GetCACert`);
    assert.equal(ca.status, 200);
    assert.equal(ca.headers.get('content-type'), 'application/x-x509-ca-ra-cert');
    assert.equal(Buffer.from(await ca.arrayBuffer())[0], 0x30);
    // A PKIOperation brings up a SCEP worker, which runs the same artifact.
    assert.equal((await fetch(`${server.url}/scep?operation=PKIOperation`, { method: 'POST', body: 'not a pkiMessage' })).status, 400);
    await server.waitForLog((l) => l.msg === 'SCEP worker ready', 20_000);
    // The console's stylesheet, read from the files the build carries.
    const login = await (await fetch(`${server.url}/login`)).text();
    const css = /href="(\/assets\/console-[0-9a-f]+\.css)"/.exec(login)?.[1];
    assert.ok(css, 'the login page links its stylesheet');
    assert.equal((await fetch(`${server.url}${css}`)).status, 200);
    // A CLI command beside the server, from the same artifact.
    const [file, ...prefix] = exec;
    const shown = spawnSync(file!, [...prefix, 'ca', 'show'], { env: { ...process.env, MDM_DATA_DIR: dataDir }, encoding: 'utf8', cwd });
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /^-----BEGIN CERTIFICATE-----/);
    return dataDir;
  } finally {
    await server.stop();
  }
}

test('the bundle runs the appliance with node alone, from a directory without node_modules', async () => {
  const out = path.join(tempDir('mdm-bundle-'), 'dist');
  const r = await build(out);
  assert.ok(r.bundleBytes > 1e6);
  assert.equal(fs.existsSync(path.join(out, 'node_modules')), false);
  // Run from elsewhere: nothing may be found relative to the working directory or the repository.
  await exercise([process.execPath, path.join(out, 'mdm.cjs')], tempDir());
});

test('the single executable writes its assets under $MDM_DATA_DIR/.runtime and runs the appliance', async () => {
  const out = tempDir('mdm-sea-');
  try {
    const { executable, bytes } = await buildSea(out);
    assert.ok(bytes > 50e6);
    const dataDir = await exercise([executable], tempDir());
    const runtime = fs.readdirSync(path.join(dataDir, '.runtime'));
    assert.equal(runtime.length, 1, `one extracted build: ${runtime.join(', ')}`);
    const dir = path.join(dataDir, '.runtime', runtime[0]!);
    for (const f of ['manifest.json', 'mdm.cjs', 'better_sqlite3.node', 'migrations/0000_pki.sql']) assert.ok(fs.existsSync(path.join(dir, f)), f);
    assert.equal(fs.statSync(path.join(dataDir, '.runtime')).mode & 0o777, 0o700);
  } finally {
    // A copy of the Node binary: not left in /tmp for every run.
    fs.rmSync(out, { recursive: true, force: true });
  }
});

// The SCEP worker pool on real worker threads: workers come with load and go when idle; one that
// cannot start leaves the main thread answering instead of being respawned in a loop.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../config.ts';
import { createLogger } from '../../log.ts';
import { compose } from '../../main.ts';
import { MalformedMessage } from './pki-message.ts';
import { workerPool } from './worker-pool.ts';

const log = createLogger('silent');
const configFor = (dir: string) => loadConfig({ MDM_DATA_DIR: dir, MDM_HTTPS_PORT: 'off', MDM_HTTP_PORT: '0', MDM_PUBLIC_URL: 'http://127.0.0.1:1' }, {});

/** A fallback that records its calls and answers as a malformed message would be. */
function mainThread() {
  const calls: Uint8Array[] = [];
  return {
    calls,
    ops: {
      pkiOperation: async (body: Uint8Array) => {
        calls.push(body);
        throw new MalformedMessage('answered on the main thread');
      },
      close: async () => {},
    },
  };
}

async function until(what: string, check: () => boolean, ms = 20_000) {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('no worker while idle; load starts them up to the size, they answer, idle ones stop', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-pool-'));
  try {
    // The data dir the server would have made: database, CA, master key.
    compose(configFor(dir), log).store.close();
    const main = mainThread();
    // Idleness is judged on this clock: a loaded machine's slow worker starts retire nothing early.
    let clock = 0;
    const pool = workerPool({ size: 2, config: configFor(dir), log, fallback: main.ops, idleMs: 400, now: () => clock });
    assert.deepEqual(pool.stats(), { workers: 0, ready: 0, busy: 0 });
    // The first request does not wait for a worker: the main thread answers it, a worker starts.
    await assert.rejects(pool.pkiOperation(Buffer.from('not a pkiMessage')), /answered on the main thread/);
    assert.equal(pool.stats().workers, 1);
    await until('a worker ready', () => pool.stats().ready === 1);
    // Answered on the worker now: its own MalformedMessage, across the thread boundary.
    const answers = [pool.pkiOperation(Buffer.from('x')), pool.pkiOperation(new Uint8Array(0))];
    // Its only worker busy: a second starts.
    assert.equal(pool.stats().workers, 2);
    for (const a of answers) await assert.rejects(a, (e) => e instanceof MalformedMessage && !/main thread/.test(e.message));
    await until('both ready', () => pool.stats().ready === 2);
    assert.equal(main.calls.length, 1);
    // Never more than the size.
    await Promise.allSettled(Array.from({ length: 10 }, () => pool.pkiOperation(Buffer.from('y'))));
    assert.equal(pool.stats().workers, 2);
    clock += 1_000;
    await until('idle workers stopped', () => pool.stats().workers === 0, 20_000);
    await pool.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a worker that cannot start: requests are answered on the main thread, and it is not retried at once', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-pool-'));
  try {
    // A data dir sealed with one master key, workers given another: a worker fails as it starts.
    compose(configFor(dir), log).store.close();
    const config = configFor(dir);
    fs.writeFileSync(path.join(dir, 'master.key'), Buffer.alloc(32, 7).toString('base64') + '\n', { mode: 0o600 });
    const main = mainThread();
    const pool = workerPool({ size: 2, config, log, fallback: main.ops, retryAfterMs: 60_000 });
    await assert.rejects(pool.pkiOperation(Buffer.from('a')), /main thread/);
    assert.equal(pool.stats().workers, 1);
    await until('the failed worker gone', () => pool.stats().workers === 0);
    for (let i = 0; i < 5; i++) await assert.rejects(pool.pkiOperation(Buffer.from('b')), /main thread/);
    assert.equal(pool.stats().workers, 0, 'no new attempt within retryAfterMs');
    assert.equal(main.calls.length, 6);
    await pool.close();
    // Were a worker left alive, or respawned in a loop, this test file would never end.
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// The SCEP worker pool on real worker threads: a pool over a working data dir answers and
// closes; one whose workers cannot start fails its start instead of respawning them forever.
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

test('a pool over a working data dir answers on its workers and closes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-pool-'));
  try {
    // The data dir the server would have made: database, CA, master key.
    compose(configFor(dir), log).store.close();
    const pool = await workerPool(2, configFor(dir), log);
    await assert.rejects(pool.pkiOperation(Buffer.from('not a pkiMessage')), (e) => e instanceof MalformedMessage);
    await assert.rejects(pool.pkiOperation(new Uint8Array(0)), (e) => e instanceof MalformedMessage, 'the other worker too');
    await pool.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('workers that cannot start fail the start, and none is left running', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-pool-'));
  try {
    // A data dir sealed with one master key, workers given another: every worker fails as it starts.
    compose(configFor(dir), log).store.close();
    const config = configFor(dir);
    fs.writeFileSync(path.join(dir, 'master.key'), Buffer.alloc(32, 7).toString('base64') + '\n', { mode: 0o600 });
    await assert.rejects(workerPool(2, config, log), /cannot be opened: wrong master key/);
    // Were a worker left alive, or respawned in a loop, this test file would never end.
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

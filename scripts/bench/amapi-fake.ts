// The fake Android Management API (test/support/fake-amapi.ts) in a child process, for benches
// that need Google's side: its CPU is not the appliance's, as Google's is not. Run by itself with
// --fake-amapi, this file is that child.
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { compose, type Appliance } from '../../src/main.ts';
import { startFakeAmapi, type FakeAmapi } from '../../test/support/fake-amapi.ts';
import { benchEnv, forkFake, type ForkedFake } from './lib.ts';

type ToFake = { type: 'start' } | { type: 'devices'; enterprise: string; n: number } | { type: 'exit' };
type FromFake = { type: 'started'; url: string; key: string } | { type: 'devices'; n: number };

export interface BenchAmapi {
  /** The fake's base URL (MDM_AMAPI_URL) and its service-account key (JSON). */
  url: string;
  key: string;
  /** Binds an enterprise as an admin does (the key, a signup URL, Google's page, the callback); its name. */
  bind(app: Appliance): Promise<string>;
  /** Gives the enterprise `n` enrolled devices. */
  addDevices(enterprise: string, n: number): Promise<void>;
  close(): void;
}

export async function startBenchAmapi(): Promise<BenchAmapi> {
  const fake: ForkedFake<ToFake, FromFake> = forkFake<ToFake, FromFake>(import.meta.filename, '--fake-amapi', 'fake AMAPI');
  const started = await fake.ask({ type: 'start' }, 'started');
  return {
    url: started.url,
    key: started.key,
    async bind(app) {
      app.android.importKey(started.key);
      const signup = await app.android.createSignupUrl();
      const back = new URL((await fetch(signup.url, { redirect: 'manual' })).headers.get('location')!);
      return (await app.android.completeSignup({ state: back.searchParams.get('state')!, enterpriseToken: back.searchParams.get('enterpriseToken')! })).name;
    },
    async addDevices(enterprise, n) {
      await fake.ask({ type: 'devices', enterprise, n }, 'devices');
    },
    close() {
      if (fake.proc.connected) fake.proc.send({ type: 'exit' } satisfies ToFake);
    },
  };
}

/**
 * The appliance composed in this process on `dataDir` (no listener), bound to an enterprise of a
 * fresh fake that has `devices` enrolled devices. The caller closes both (app.store, fake).
 */
export async function applianceWithAmapi(dataDir: string, devices: number): Promise<{ app: Appliance; fake: BenchAmapi; enterprise: string }> {
  const fake = await startBenchAmapi();
  try {
    const env = { ...benchEnv(), MDM_DATA_DIR: dataDir, MDM_HTTPS_PORT: 'off', MDM_HTTP_PORT: '0', MDM_PUBLIC_URL: 'http://127.0.0.1:8080', MDM_AMAPI_URL: fake.url };
    const app = compose(loadConfig(env, {}), createLogger('warn', 2));
    const enterprise = await fake.bind(app);
    await fake.addDevices(enterprise, devices);
    return { app, fake, enterprise };
  } catch (e) {
    fake.close();
    throw e;
  }
}

/** Stops what applianceWithAmapi() started and removes its data dir, unless asked to keep it (its path logged). */
export function closeAppliance(o: { app?: Appliance; fake?: BenchAmapi }, dataDir: string, keep: boolean, log: (msg: string) => void): void {
  o.fake?.close();
  o.app?.android.close();
  o.app?.store.close();
  if (keep) log(`kept ${dataDir}`);
  else fs.rmSync(dataDir, { recursive: true, force: true });
}

async function fakeProcess(): Promise<void> {
  let fake: FakeAmapi | undefined;
  process.on('message', async (m: ToFake) => {
    const send = (r: FromFake) => process.send!(r);
    if (m.type === 'start') {
      fake = await startFakeAmapi();
      send({ type: 'started', url: fake.url, key: fake.serviceAccountKey().json });
    } else if (m.type === 'devices') {
      fake!.addDevices(m.enterprise, m.n);
      send({ type: 'devices', n: m.n });
    } else {
      await fake?.close();
      process.disconnect();
    }
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename) && process.argv.includes('--fake-amapi')) {
  await fakeProcess();
}

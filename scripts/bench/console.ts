// The console at fleet scale: 100,000 devices (Apple and Android) in the database, the server in a
// child process, an admin signed in over HTTP. Timed one request at a time, as an admin clicks
// and types: the devices page, keyset pages deep into the list, filters, and search as you type
// (the htmx partial, one request per keystroke) for names, serial numbers and users, matching or
// not; each sortable column both ways, first pages and keyset pages deep into the sort; the
// compliance filter (device_compliance seeded for most devices). Reference, on the same server:
// GET /healthz, a request that does no work.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { SORT_KEYS } from '../../src/devices/fleet-sort.ts';
import { compose } from '../../src/main.ts';
import { ConsoleClient } from '../../test/support/console.ts';
import { MDM_BIN, benchEnv, benchMain, elapsed, freePort, launch, logger, machine, numberOption, parseOptions, quantile, table } from './lib.ts';

const PAGE_TARGET_MS = 50;
const SEARCH_TARGET_MS = 100;

export const usage = `usage: npm run bench -- console [options]

  --devices N      devices in the database, one in ten Android (default 100000)
  --requests N     requests per phase (default 200)

Targets: the devices page p95 <= ${PAGE_TARGET_MS} ms, search p95 <= ${SEARCH_TARGET_MS} ms, at ${(100_000).toLocaleString('en')} devices.
`;

export const main = benchMain(usage, bench);
const log = logger('console');

const FIRST = ['Ann', 'Bob', 'Cat', 'Dan', 'Eve', 'Fay', 'Gus', 'Hal', 'Ivy', 'Jon', 'Kim', 'Lee', 'Max', 'Ned', 'Oli', 'Pat', 'Quinn', 'Rae', 'Sam', 'Tess'];
const APPLE_MODELS: Array<[platform: string, product: string, model: string, name: string]> = [
  ['ios', 'iPhone16,2', 'MU773LL/A', 'iPhone'],
  ['ios', 'iPhone15,3', 'MQ8R3LL/A', 'iPhone'],
  ['ipados', 'iPad14,5', 'MQ6K3LL/A', 'iPad'],
  ['macos', 'Mac15,3', 'Z1C8', 'MacBook Pro'],
];
const ANDROID_MODELS = ['Pixel 9', 'Pixel 8a', 'Galaxy S24', 'Galaxy A55'];

/** A deterministic fleet: names, serials and users an admin would type. */
function seed(dataDir: string, n: number, rnd: () => number): Array<{ name: string; serial: string; user: string }> {
  const app = compose(loadConfig({ ...benchEnv(), MDM_DATA_DIR: dataDir }, {}), createLogger('warn', 2));
  const samples: Array<{ name: string; serial: string; user: string }> = [];
  try {
    const db = app.store.sqlite;
    const t = Date.now();
    const alnum = (len: number) => Array.from({ length: len }, () => 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'[Math.floor(rnd() * 34)]).join('');
    const appleDevice = db.prepare(
      'INSERT INTO apple_devices (id, udid, serial_number, device_name, model, model_name, product_name, os_version, platform, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    const enrollment = db.prepare(
      "INSERT INTO apple_enrollments (id, type, device_id, status, ownership, user_email, enrolled_at, last_seen_at, created_at) VALUES (?, 'device', ?, ?, ?, ?, ?, ?, ?)",
    );
    const android = db.prepare(
      `INSERT INTO android_devices (id, name, enterprise_name, status, ownership, management_mode, user_email, serial_number, device_name, model, brand,
         android_version, policy_compliant, last_status_report_at, enrolled_at, reported_at, created_at, updated_at) VALUES (?, ?, 'enterprises/LCbench', ?, ?, ?, ?, ?, ?, ?, 'google', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const compliance = db.prepare(`INSERT INTO device_compliance (device_id, platform, state, failing_rules, evaluated_at, changed_at) VALUES (?, ?, ?, '[]', ?, ?)`);
    /** Most devices evaluated and compliant, some not, a few unknown, some never evaluated (no row). */
    const verdict = (i: number) => {
      const r = (i * 7_919) % 100;
      return r < 78 ? 'compliant' : r < 88 ? 'noncompliant' : r < 92 ? 'unknown' : null;
    };
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const who = `${FIRST[i % FIRST.length]}${Math.floor(i / FIRST.length)}`;
        const user = `${who.toLowerCase()}@example.com`;
        const serial = alnum(10);
        const enrolled = rnd() < 0.95 ? 'enrolled' : 'unenrolled';
        const seen = t - Math.floor(rnd() * 30 * 86_400_000);
        // Derived from i, not rnd(): the fleet the earlier phases read stays the one it was.
        const enrolledAt = t - ((i * 7_919) % 730) * 86_400_000;
        const state = verdict(i);
        if (i % 10 === 9) {
          const model = ANDROID_MODELS[i % ANDROID_MODELS.length]!;
          const name = `${who}'s ${model}`;
          const personal = rnd() < 0.3;
          const id = crypto.randomUUID();
          const version = ['13', '14', '15', '9'][i % 4]!;
          android.run(id, `enterprises/LCbench/devices/${i}`, enrolled === 'enrolled' ? 'enrolled' : 'removed', personal ? 'personal' : 'corporate', personal ? 'PROFILE_OWNER' : 'DEVICE_OWNER', user, serial, name, model, version, rnd() < 0.9 ? 1 : 0, seen, enrolledAt, seen, t, t);
          if (state) compliance.run(id, 'android', state, t, t);
          if (i % 997 === 0) samples.push({ name, serial, user });
        } else {
          const [platform, product, model, kind] = APPLE_MODELS[i % APPLE_MODELS.length]!;
          const udid = crypto.randomUUID().toUpperCase();
          const name = `${who}'s ${kind}`;
          appleDevice.run(udid, udid, serial, name, model, kind, product, platform === 'macos' ? '15.1' : '18.1', platform, t, t);
          enrollment.run(udid, udid, enrolled, rnd() < 0.2 ? 'personal' : 'corporate', user, enrolledAt, seen, t);
          if (state) compliance.run(udid, platform, state, t, t);
          if (i % 997 === 0) samples.push({ name, serial, user });
        }
      }
    })();
    db.pragma('optimize');
    return samples;
  } finally {
    app.store.close();
  }
}

interface Phase {
  name: string;
  ms: number[];
  target: number | null;
}

async function bench(argv: string[]): Promise<void> {
  const values = parseOptions(argv, { devices: { type: 'string', default: '100000' }, requests: { type: 'string', default: '200' } });
  const n = numberOption('devices', values.devices, 1);
  const requests = numberOption('requests', values.requests, 10);
  log(`${n.toLocaleString('en')} devices, ${requests} requests per phase; ${machine()}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-bench-console-'));
  let seedState = 42;
  // A small LCG: the same fleet on every run.
  const rnd = () => ((seedState = (seedState * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  let t = performance.now();
  const samples = seed(dir, n, rnd);
  log(`seeded in ${elapsed(t)}`);
  const password = crypto.randomBytes(12).toString('base64url');
  {
    const app = compose(loadConfig({ ...benchEnv(), MDM_DATA_DIR: dir }, {}), createLogger('warn', 2));
    await app.admins.create({ username: 'bench', password, role: 'admin' });
    app.store.close();
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const server = await launch(
    'the appliance',
    process.execPath,
    [MDM_BIN, 'serve', '--http-port', String(port), '--https-port', 'off', '--listen', '127.0.0.1', '--public-url', url, '--log-level', 'warn'],
    { ...benchEnv(), MDM_DATA_DIR: dir },
    url,
    '/healthz',
    dir,
  );
  const phases: Phase[] = [];
  try {
    const admin = new ConsoleClient(url);
    const signed = await admin.login('bench', password);
    if (signed.status !== 303) throw new Error(`sign-in failed: ${signed.status}`);
    const htmx = { 'hx-request': 'true', 'hx-target': 'results' };

    const time = async (name: string, target: number | null, paths: Array<[string, Record<string, string>?]>) => {
      const ms: number[] = [];
      for (const [p, headers] of paths) {
        const t0 = performance.now();
        const r = await admin.get(p, headers);
        ms.push(performance.now() - t0);
        if (r.status !== 200) throw new Error(`${p}: ${r.status}`);
      }
      phases.push({ name, ms, target });
      log(`${name}: p95 ${quantile([...ms].sort((a, b) => a - b), 0.95).toFixed(1)} ms`);
    };
    const repeat = <T,>(f: (i: number) => T) => Array.from({ length: requests }, (_, i) => f(i));

    // Warm-up: the first requests compile the templates and fill SQLite's cache.
    for (let i = 0; i < 20; i++) await admin.get('/devices');

    await time('reference: GET /healthz', null, repeat(() => ['/healthz']));
    /** The first `n` pages from `first`, by the Next links the pages show (fetched untimed, to be timed after). */
    const follow = async (first: string, n: number) => {
      const pages: Array<[string]> = [];
      let next: string | null = first;
      while (pages.length < n && next) {
        pages.push([next]);
        const page = await admin.get(next);
        const m = /href="(\/devices\?[^"]*)"[^>]*>Next page/.exec(page.text);
        next = m ? m[1]!.replace(/&amp;/g, '&') : null;
      }
      return pages;
    };

    await time('devices page, first page', PAGE_TARGET_MS, repeat(() => ['/devices']));
    // Deep into the list: follow "Next page" as far as the requests go.
    await time('devices page, keyset pages 1..N', PAGE_TARGET_MS, await follow('/devices', requests));
    await time('filters: platform, enrolled', PAGE_TARGET_MS, repeat((i) => [['/devices?platform=android', '/devices?platform=macos&enrolled=false', '/devices?enrolled=true', '/devices?platform=ios'][i % 4]!]));

    // Search as you type: every prefix of what an admin looks for, one htmx request per keystroke.
    const typed: Array<[string, Record<string, string>]> = [];
    for (let i = 0; typed.length < requests; i++) {
      const s = samples[i % samples.length]!;
      const word = [s.name, s.serial, s.user][i % 3]!;
      for (let k = 1; k <= Math.min(8, word.length) && typed.length < requests; k++) typed.push([`/devices?q=${encodeURIComponent(word.slice(0, k))}`, htmx]);
    }
    await time('search as you type (names, serials, users)', SEARCH_TARGET_MS, typed);
    await time('search: no match', SEARCH_TARGET_MS, repeat((i) => [`/devices?q=${encodeURIComponent(`zz${i}q`)}`, htmx]));
    await time('search + filter', SEARCH_TARGET_MS, repeat((i) => [`/devices?q=${encodeURIComponent(samples[i % samples.length]!.user.slice(0, 3))}&platform=android`, htmx]));

    // Sorting: each column both ways, its first page (the htmx partial, as a heading's click asks),
    // then its Next links followed deep into the list.
    const sorts = SORT_KEYS.flatMap((key) => (['asc', 'desc'] as const).map((dir) => `sort=${key}&dir=${dir}`));
    await time('sort: first page, each key both ways', PAGE_TARGET_MS, repeat((i) => [`/devices?${sorts[i % sorts.length]}`, htmx]));
    for (const sort of sorts) {
      await time(`sort ${sort.replace('sort=', '').replace('&dir=', ' ')}: keyset pages 1..N`, PAGE_TARGET_MS, await follow(`/devices?${sort}`, Math.max(10, Math.floor(requests / 4))));
    }
    await time('search + sort (last seen, newest first)', SEARCH_TARGET_MS, typed.map(([p, h]): [string, Record<string, string>] => [`${p}&sort=last_seen&dir=desc`, h]));

    const complianceFilters = ['compliance=compliant', 'compliance=noncompliant', 'compliance=unknown', 'compliance=noncompliant&platform=android', 'compliance=unknown&sort=last_seen&dir=desc', 'compliance=noncompliant&sort=name&dir=asc'];
    await time('compliance filter (alone, with platform, sorted)', PAGE_TARGET_MS, repeat((i) => [`/devices?${complianceFilters[i % complianceFilters.length]}`]));
    await time('compliance filter: keyset pages 1..N (not compliant)', PAGE_TARGET_MS, await follow('/devices?compliance=noncompliant', requests));
    await time('compliance filter: keyset pages 1..N (unknown)', PAGE_TARGET_MS, await follow('/devices?compliance=unknown', requests));
    await time('dashboard (compliance per platform)', null, repeat((): [string] => ['/']).slice(0, 20));
  } finally {
    await server.stop();
    if (values.keep) log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }

  const rows = [['phase', 'requests', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'p95 / reference p95', 'target']];
  const ref = phases[0]!;
  const refP95 = quantile([...ref.ms].sort((a, b) => a - b), 0.95);
  let met = true;
  for (const p of phases) {
    const sorted = [...p.ms].sort((a, b) => a - b);
    const p95 = quantile(sorted, 0.95);
    if (p.target !== null && p95 > p.target) met = false;
    rows.push([
      p.name,
      String(p.ms.length),
      quantile(sorted, 0.5).toFixed(1),
      p95.toFixed(1),
      quantile(sorted, 0.99).toFixed(1),
      sorted[sorted.length - 1]!.toFixed(1),
      (p95 / refP95).toFixed(1) + 'x',
      p.target === null ? '-' : `<= ${p.target} ms: ${p95 <= p.target ? 'met' : 'NOT met'}`,
    ]);
  }
  process.stdout.write('\n' + table(rows));
  process.stdout.write(`\ntargets at ${n.toLocaleString('en')} devices (page p95 <= ${PAGE_TARGET_MS} ms, search p95 <= ${SEARCH_TARGET_MS} ms): ${met ? 'met' : 'NOT met'}\n`);
}

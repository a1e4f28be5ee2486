// The devices page sorted, over HTTP as an admin's browser uses it: every column heading's sort,
// both ways, followed page by page through its Next links, lists every device once in the order
// worked out here from the seeded rows (equal keys and missing values included), with and
// without htmx; bad sort parameters are a 400; the compliance filter and the dashboard's counts
// read device_compliance for both platforms.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { SORT_KEYS, compareValues, type SortKey, type SortValue } from '../src/devices/fleet-sort.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { ConsoleClient } from './support/console.ts';
import { osKey } from './support/fleet-order.ts';
import { runCli, tempDir } from './support/server.ts';

const PASSWORD = 'a long enough password';
const APPLE = 100;
const ANDROID = 30;

interface Seeded {
  id: string;
  name: string | null;
  model: string | null;
  platform: string;
  os: string | null;
  enrolledAt: number | null;
  lastSeen: number | null;
  enrolled: boolean;
  /** device_compliance's state; undefined: no row. */
  state?: 'compliant' | 'noncompliant' | 'unknown';
}

/** The order the console promises, from the seeded values: lowercased text, NULL as '' or -1, OS by platform then major version. */
function keyOf(d: Seeded, sort: SortKey): SortValue {
  if (sort === 'name') return (d.name ?? '').toLowerCase();
  if (sort === 'model') return (d.model ?? '').toLowerCase();
  if (sort === 'os') return osKey(d.platform, d.os);
  if (sort === 'compliance') return d.state ?? 'unknown';
  if (sort === 'enrolled') return d.enrolledAt ?? -1;
  return d.lastSeen ?? -1;
}

describe('devices page: sorting, compliance filter, dashboard counts', () => {
  let server: RunningServer;
  let url: string;
  let web: ConsoleClient;
  const devices: Seeded[] = [];

  before(async () => {
    const dataDir = tempDir();
    const config = loadConfig({ MDM_DATA_DIR: dataDir, MDM_SCEP_WORKERS: '0' }, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
    server = await serve(config, createLogger('silent'));
    url = `http://127.0.0.1:${server.http!.port}`;
    const r = runCli(['admin', 'create', '--username', 'root', '--password-stdin', '--role', 'admin'], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }, PASSWORD + '\n');
    assert.equal(r.status, 0, r.stderr);

    const states = ['compliant', 'noncompliant', 'unknown', undefined, 'compliant'] as const;
    for (let i = 0; i < APPLE; i++) {
      devices.push({
        id: `A${String((i * 37) % APPLE).padStart(4, '0')}`,
        // Runs of equal names and models, and missing ones, across page boundaries.
        name: i % 9 === 0 ? null : i % 4 === 0 ? 'Shared name' : `Device ${i}`,
        model: i % 11 === 0 ? null : ['iPhone', 'iPad', 'MacBook Air'][i % 3]!,
        platform: ['ios', 'ipados', 'macos'][i % 3]!,
        os: i % 13 === 0 ? null : ['9.3', '17.5', '18.1', '10.2', '17.10'][i % 5]!,
        enrolledAt: i % 7 === 0 ? null : 1_000 * (i % 5),
        lastSeen: i % 6 === 0 ? null : 2_000 * (i % 8),
        enrolled: i % 10 !== 9,
        state: states[i % 5],
      });
    }
    for (let i = 0; i < ANDROID; i++) {
      devices.push({
        id: `A${String(i * 3 + 1).padStart(4, '0')}-g`,
        name: i % 5 === 0 ? 'Shared name' : `Pixel ${i}`,
        model: i % 4 === 0 ? null : 'Google',
        platform: 'android',
        os: ['9', '14', '15'][i % 3]!,
        enrolledAt: i % 3 === 0 ? null : 1_000 * (i % 5),
        lastSeen: 2_000 * (i % 8),
        enrolled: i % 6 !== 5,
        state: states[(i + 2) % 5],
      });
    }
    const db = new Database(path.join(dataDir, 'mdm.sqlite'));
    try {
      db.transaction(() => {
        for (const d of devices) {
          if (d.platform === 'android') {
            db.prepare(
              `INSERT INTO android_devices (id, name, enterprise_name, status, device_name, model, manufacturer, android_version, enrolled_at, last_status_report_at, reported_at, created_at, updated_at)
               VALUES (?, ?, 'enterprises/LC1', ?, ?, NULL, ?, ?, ?, ?, 0, 0, 0)`,
            ).run(d.id, `enterprises/LC1/devices/${d.id}`, d.enrolled ? 'enrolled' : 'removed', d.name, d.model, d.os, d.enrolledAt, d.lastSeen);
          } else {
            db.prepare(`INSERT INTO apple_devices (id, udid, device_name, model_name, os_version, platform, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0)`).run(
              d.id, d.id, d.name, d.model, d.os, d.platform,
            );
            db.prepare(`INSERT INTO apple_enrollments (id, type, device_id, status, enrolled_at, last_seen_at, created_at) VALUES (?, 'device', ?, ?, ?, ?, 0)`).run(
              d.id, d.id, d.enrolled ? 'enrolled' : 'unenrolled', d.enrolledAt, d.lastSeen,
            );
          }
          if (d.state) {
            db.prepare(`INSERT INTO device_compliance (device_id, platform, state, failing_rules, evaluated_at, changed_at) VALUES (?, ?, ?, '[]', 0, 0)`).run(d.id, d.platform, d.state);
          }
        }
      })();
    } finally {
      db.close();
    }
    web = new ConsoleClient(url);
    assert.equal((await web.login('root', PASSWORD)).status, 303);
  });
  after(() => server.close());

  const ids = (html: string) => [...html.matchAll(/<tr data-id="([^"]+)"/g)].map((m) => m[1]!);
  const nextLink = (html: string) => /href="(\/devices\?[^"]*)"[^>]*>Next page/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? null;
  /** Every page from `first`, by the Next links the page shows. */
  const allPages = async (first: string, headers?: Record<string, string>) => {
    const out: string[] = [];
    let next: string | null = first;
    for (let pages = 0; next; pages++) {
      assert.ok(pages < 10, 'the pages end');
      const r = await web.get(next, headers);
      assert.equal(r.status, 200, `${next}: ${r.text.slice(0, 300)}`);
      out.push(...ids(r.text));
      next = nextLink(r.text);
    }
    return out;
  };
  const ordered = (sort: SortKey, dir: 'asc' | 'desc', rows = devices) =>
    [...rows].sort((x, y) => (dir === 'desc' ? -1 : 1) * (compareValues(keyOf(x, sort), keyOf(y, sort)) || compareValues(x.id, y.id))).map((d) => d.id);

  test('each sortable column, both ways, paged through its Next links: every device once, in order; the headings link to the sort', async () => {
    assert.ok(devices.length > 2 * 50, 'more than two pages');
    for (const sort of SORT_KEYS) {
      for (const dir of ['asc', 'desc'] as const) {
        const got = await allPages(`/devices?sort=${sort}&dir=${dir}`);
        assert.equal(new Set(got).size, got.length, `${sort} ${dir}: a device repeated`);
        assert.deepEqual(got, ordered(sort, dir), `${sort} ${dir}`);
      }
    }
    // Without JavaScript: the headings are links; the one sorted by links to the other direction and says which it is.
    const page = await web.get('/devices?sort=last_seen&dir=desc');
    assert.match(page.text, /<th scope="col" aria-sort="descending"><a href="\/devices\?sort=last_seen&amp;dir=asc"/);
    assert.match(page.text, /<a href="\/devices\?sort=name&amp;dir=asc"[^>]*hx-get="\/devices\?sort=name&amp;dir=asc"[^>]*hx-target="#results"[^>]*hx-push-url="true"/);
    assert.match(page.text, /<a href="\/devices\?sort=enrolled&amp;dir=desc"/, 'dates start newest first');
    assert.match(page.text, /<input type="hidden" name="sort" value="last_seen"\/?>/, 'a new search keeps the sort');
  });

  test('with htmx: the results alone (and the form\'s sort fields out of band), the same order page by page; filters and search compose with the sort', async () => {
    const htmx = { 'hx-request': 'true', 'hx-target': 'results' };
    const r = await web.get('/devices?sort=os&dir=asc', htmx);
    assert.doesNotMatch(r.text, /<html/);
    assert.match(r.text, /<span id="sort-fields" hx-swap-oob="true"><input type="hidden" name="sort" value="os"/);
    assert.deepEqual(await allPages('/devices?sort=name&dir=desc', htmx), ordered('name', 'desc'));
    const droids = devices.filter((d) => d.platform === 'android' && d.enrolled);
    assert.deepEqual(await allPages('/devices?platform=android&enrolled=true&sort=last_seen&dir=desc'), ordered('last_seen', 'desc', droids));
    const shared = devices.filter((d) => d.name === 'Shared name' && (d.state ?? 'unknown') === 'unknown');
    assert.ok(shared.length > 1);
    assert.deepEqual(await allPages('/devices?q=shared&compliance=unknown&sort=enrolled&dir=asc'), ordered('enrolled', 'asc', shared));
  });

  test('a sort, direction or cursor the list does not have is a 400 that says so', async () => {
    for (const [query, message] of [
      ['sort=colour', /sort must be one of name, model, os, compliance, enrolled, last_seen/],
      ['sort=name&dir=up', /dir must be asc or desc/],
      ['sort=name&after=not-a-cursor', /start again from the first page/],
      // A last-seen cursor (a number) handed to the name sort.
      [`sort=name&after=${Buffer.from(JSON.stringify([5, 'A0001'])).toString('base64url')}`, /start again from the first page/],
      [`sort=compliance&after=${Buffer.from(JSON.stringify(['maybe', 'A0001'])).toString('base64url')}`, /start again from the first page/],
    ] as const) {
      const r = await web.get(`/devices?${query}`);
      assert.equal(r.status, 400, query);
      assert.match(r.text, message, query);
    }
  });

  test('the compliance filter: exactly the devices in that state (no row counts as unknown), in id order or sorted; the column shows it', async () => {
    for (const state of ['compliant', 'noncompliant', 'unknown'] as const) {
      const want = devices.filter((d) => (d.state ?? 'unknown') === state);
      assert.ok(want.length > 0 && want.some((d) => d.platform === 'android') && want.some((d) => d.platform !== 'android'), state);
      assert.deepEqual(await allPages(`/devices?compliance=${state}`), want.map((d) => d.id).sort(), state);
      assert.deepEqual(await allPages(`/devices?compliance=${state}&sort=model&dir=desc`), ordered('model', 'desc', want), state);
    }
    const page = await web.get('/devices?compliance=noncompliant');
    assert.match(page.text, /<td class="status">Not compliant<\/td>/);
    assert.doesNotMatch(page.text, /<td class="status">Compliant<\/td>/);
    assert.match(page.text, /<option value="noncompliant" selected="">Not compliant<\/option>|<option value="noncompliant" selected>Not compliant<\/option>/);
  });

  test('the dashboard counts enrolled devices compliant, not compliant and unknown, per platform and in all', async () => {
    const dash = await web.get('/');
    assert.equal(dash.status, 200);
    const count = (testId: string) => Number(new RegExp(`data-testid="${testId}">(\\d+)<`).exec(dash.text)?.[1]);
    const enrolled = devices.filter((d) => d.enrolled);
    const n = (state: string, platform?: string) => enrolled.filter((d) => (d.state ?? 'unknown') === state && (!platform || d.platform === platform)).length;
    assert.equal(count('compliant'), n('compliant'));
    assert.equal(count('non-compliant'), n('noncompliant'));
    assert.equal(count('compliance-unknown'), n('unknown'));
    for (const p of ['ios', 'ipados', 'macos', 'android']) {
      assert.equal(count(`${p}-compliant`), n('compliant', p), p);
      assert.equal(count(`${p}-non-compliant`), n('noncompliant', p), p);
      assert.equal(count(`${p}-compliance-unknown`), n('unknown', p), p);
    }
    assert.ok(n('noncompliant', 'android') > 0 && n('noncompliant', 'ios') > 0);
    assert.match(dash.text, /href="\/devices\?enrolled=true&amp;compliance=noncompliant"/);
  });
});

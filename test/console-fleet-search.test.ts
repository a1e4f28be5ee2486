// The console's device search over a fleet larger than its id-order window: every query, page
// by page, returns exactly what a brute-force filter does, whether the window or the indexed
// UNION answers it, in id order or sorted by any key either way; and the queries read indexes,
// never the whole fleet per keystroke nor a deep page's rows before it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFleetQueries, type FleetRow, type FleetSearch } from '../src/devices/fleet-queries.ts';
import { SORT_KEYS, compareValues, type SortKey, type SortValue } from '../src/devices/fleet-sort.ts';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { openStore, type Db, type Store } from '../src/store/db.ts';
import * as schema from '../src/store/schema.ts';
import { osKey } from './support/fleet-order.ts';
import { tempDir } from './support/server.ts';

const N = 6000;
/** Android devices beside them, with ids that interleave with the Apple ones. */
const M = 3000;

describe('console device search', () => {
  let store: Store;
  let fleet: ReturnType<typeof createFleetQueries>;
  let all: FleetRow[];

  before(() => {
    store = openStore(tempDir());
    store.sqlite.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
      INSERT INTO apple_devices (id, udid, serial_number, device_name, model, model_name, os_version, platform, created_at, updated_at)
      SELECT printf('%08X', i * 7919 % ${N}), printf('%08X', i * 7919 % ${N}), printf('SN%06d', i),
        CASE WHEN i % 3 = 0 THEN 'MacBook ' || i ELSE 'iPhone of ' || i END,
        CASE WHEN i % 3 = 0 THEN 'Mac14,2' ELSE 'iPhone15,2' END, CASE WHEN i % 3 = 0 THEN 'MacBook Air' ELSE 'iPhone' END,
        '17.5', CASE WHEN i % 3 = 0 THEN 'macos' ELSE 'ios' END, 0, 0 FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${N})
      INSERT INTO apple_enrollments (id, type, device_id, status, ownership, user_email, enrolled_at, last_seen_at, created_at)
      SELECT printf('%08X', i * 7919 % ${N}), 'device', printf('%08X', i * 7919 % ${N}), CASE WHEN i % 10 = 0 THEN 'pending' ELSE 'enrolled' END,
        CASE WHEN i % 4 = 0 THEN 'personal' ELSE 'corporate' END, CASE WHEN i % 500 = 0 THEN 'Rare.User' || i || '@example.com' ELSE 'user' || i || '@example.com' END, i,
        CASE WHEN i % 10 = 0 THEN NULL ELSE i * 1000 END, 0 FROM n;
      WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${M})
      INSERT INTO android_devices (id, name, enterprise_name, status, serial_number, device_name, model, manufacturer, android_version, user_email, policy_compliant, ownership, last_status_report_at, enrolled_at, reported_at, created_at, updated_at)
      SELECT printf('%08d-a', i * 7 % ${M}), printf('enterprises/LC1/devices/%d', i), 'enterprises/LC1', CASE WHEN i % 7 = 0 THEN 'removed' ELSE 'enrolled' END,
        printf('SN%06d', i + 100000), CASE WHEN i % 2 = 0 THEN 'Google Pixel ' || i ELSE 'samsung SM-' || i END, CASE WHEN i % 2 = 0 THEN 'Pixel 8' ELSE 'SM-S911B' END,
        CASE WHEN i % 2 = 0 THEN 'Google' ELSE 'samsung' END, '15', CASE WHEN i % 300 = 0 THEN 'Rare.Droid' || i || '@example.com' ELSE 'droid' || i || '@example.com' END, i % 2,
        CASE WHEN i % 3 = 0 THEN 'personal' ELSE 'corporate' END, i * 1500, CASE WHEN i % 2 = 0 THEN i % 50 END, 0, 0, 0 FROM n;
      -- Sort keys with NULLs and long runs of equal values: no name, no OS, unordered versions, shared enrollment times.
      UPDATE apple_devices SET device_name = NULL WHERE udid LIKE '%7';
      UPDATE apple_devices SET os_version = NULL, platform = NULL WHERE udid LIKE '%3A';
      UPDATE apple_devices SET os_version = '9.3' WHERE udid LIKE '%1';
      UPDATE apple_devices SET os_version = '17.10' WHERE udid LIKE '%7';
      UPDATE android_devices SET android_version = '9', manufacturer = NULL WHERE id LIKE '%3-a';
      UPDATE apple_enrollments SET enrolled_at = CASE WHEN enrolled_at % 4 = 0 THEN NULL ELSE enrolled_at % 40 END;
      INSERT INTO device_compliance (device_id, platform, state, failing_rules, evaluated_at, changed_at)
        SELECT id, platform, CASE abs(unicode(substr(id, -1))) % 4 WHEN 0 THEN 'noncompliant' WHEN 1 THEN 'unknown' ELSE 'compliant' END, '[]', 0, 0
        FROM apple_devices WHERE udid NOT LIKE '%5';
      INSERT INTO device_compliance (device_id, platform, state, failing_rules, evaluated_at, changed_at)
        SELECT id, 'android', CASE WHEN id LIKE '%2-a' THEN 'noncompliant' ELSE 'compliant' END, '[]', 0, 0 FROM android_devices WHERE id NOT LIKE '%1-a';
      ANALYZE;`);
    fleet = createFleetQueries(store.db);
    all = fleet.search({ limit: N + M + 1 });
    assert.equal(all.length, N + M);
    assert.deepEqual(all.map((d) => d.id), all.map((d) => d.id).sort(), 'one id order across both tables');
  });
  after(() => store.close());

  const expected = (o: Omit<FleetSearch, 'limit' | 'afterId'>) => {
    const q = o.q?.toLowerCase();
    return all.filter(
      (d) =>
        (!q || [d.deviceName, d.serialNumber, d.model, d.modelName, d.userEmail].some((v) => v?.toLowerCase().startsWith(q))) &&
        (o.platform === undefined || d.platform === o.platform) &&
        (o.enrolled === undefined || (d.status === 'enrolled') === o.enrolled) &&
        (o.ownership === undefined || d.ownership === o.ownership) &&
        (o.seenSince === undefined || (d.lastSeenAt !== null && d.lastSeenAt >= o.seenSince)) &&
        (o.notSeenSince === undefined || d.lastSeenAt === null || d.lastSeenAt < o.notSeenSince) &&
        (o.compliance === undefined || (d.compliance ?? 'unknown') === o.compliance),
    );
  };
  /** The sort keys as the console defines them, worked out here from the rows rather than by SQL. */
  const keyOf = (d: FleetRow, sort: SortKey): SortValue => {
    if (sort === 'name') return (d.deviceName ?? '').toLowerCase();
    if (sort === 'model') return (d.modelName ?? d.model ?? '').toLowerCase();
    if (sort === 'os') return osKey(d.platform ?? '', d.osVersion);
    if (sort === 'compliance') return d.compliance ?? 'unknown';
    if (sort === 'enrolled') return d.enrolledAt ?? -1;
    return d.lastSeenAt ?? -1;
  };
  const sorted = (rows: FleetRow[], sort: SortKey, dir: 'asc' | 'desc') =>
    [...rows].sort((x, y) => (dir === 'desc' ? -1 : 1) * (compareValues(keyOf(x, sort), keyOf(y, sort)) || compareValues(x.id, y.id)));
  /** Every page, following the last id, as the console's Next link does. */
  const pages = (o: Omit<FleetSearch, 'limit' | 'afterId'>, limit: number) => {
    const out: FleetRow[] = [];
    let afterId: string | undefined;
    for (;;) {
      const rows = fleet.search({ ...o, afterId, limit });
      out.push(...rows);
      if (rows.length < limit) return out;
      afterId = rows[rows.length - 1]!.id;
    }
  };
  /** Every page of a sorted list, following the last row's (sortKey, id). */
  const sortedPages = (o: Omit<FleetSearch, 'limit' | 'afterId' | 'afterKey'>, limit: number) => {
    const out: FleetRow[] = [];
    let cursor: { afterId?: string; afterKey?: SortValue } = {};
    for (;;) {
      const rows = fleet.search({ ...o, ...cursor, limit });
      out.push(...rows);
      if (rows.length < limit) return out;
      const last = rows[rows.length - 1]!;
      cursor = { afterId: last.id, afterKey: last.sortKey };
    }
  };

  test('dense, sparse and empty searches with filters, paged, equal a brute-force filter', () => {
    const cases: Array<Omit<FleetSearch, 'limit' | 'afterId'>> = [
      { q: 'iphone' },
      { q: 'IPHONE OF 1' },
      { q: 'macbook', enrolled: false },
      { q: 'sn00012' },
      { q: 'rare.' },
      { q: 'user59' },
      { q: 'mac14' },
      { q: 'zzz' },
      { platform: 'macos', enrolled: false },
      { q: 'i', platform: 'macos' },
      {},
      { platform: 'android' },
      { platform: 'android', enrolled: false },
      { q: 'pixel' },
      { q: 'google pixel 1' },
      { q: 'sn1' },
      { q: 'rare.' },
      { q: 'rare.droid' },
      { q: 'sm-s9', platform: 'android' },
      { q: 'droid12', enrolled: true },
      { enrolled: false },
      { ownership: 'personal' },
      { ownership: 'corporate', platform: 'android' },
      { q: 'iphone', ownership: 'personal', enrolled: true },
      { seenSince: 1_000 * 1_000 },
      { notSeenSince: 500 * 1000 },
      { notSeenSince: 500 * 1000, platform: 'android', ownership: 'personal' },
      { q: 'rare.', seenSince: 2_000 * 1000 },
    ];
    for (const c of cases) {
      const want = expected(c).map((d) => d.id);
      assert.deepEqual(pages(c, 50).map((d) => d.id), want, JSON.stringify(c));
    }
    assert.ok(expected({ q: 'rare.' }).length > 0 && expected({ q: 'rare.' }).length < 50, 'a sparse case the window cannot fill');
    assert.ok(expected({ q: 'iphone' }).length > 2000, 'a dense case');
    assert.ok(expected({ q: 'rare.' }).some((d) => d.platform === 'android') && expected({ q: 'rare.' }).some((d) => d.platform !== 'android'), 'both platforms in one search');
    assert.ok(expected({ q: 'pixel' }).length > 1000, 'a dense Android case');
  });

  test('sorted by each key, both ways, paged, with filters and searches: the order a sort of every row gives, none missed or repeated', () => {
    const cases: Array<Omit<FleetSearch, 'limit' | 'afterId' | 'afterKey' | 'sort' | 'dir'>> = [
      {},
      { q: 'iphone' },
      { q: 'rare.' },
      { platform: 'android', enrolled: true },
      { compliance: 'noncompliant' },
      { compliance: 'unknown', q: 'macbook' },
      { compliance: 'compliant', platform: 'macos' },
    ];
    for (const sort of SORT_KEYS) {
      for (const dir of ['asc', 'desc'] as const) {
        for (const c of cases) {
          const want = sorted(expected(c), sort, dir).map((d) => d.id);
          const got = sortedPages({ ...c, sort, dir }, c.q || c.compliance || c.platform ? 50 : 400).map((d) => d.id);
          assert.equal(new Set(got).size, got.length, `no repeats: ${sort} ${dir} ${JSON.stringify(c)}`);
          assert.deepEqual(got, want, `${sort} ${dir} ${JSON.stringify(c)}`);
        }
      }
    }
    const nulls = (sort: SortKey) => all.filter((d) => keyOf(d, sort) === '' || keyOf(d, sort) === -1).length;
    for (const sort of ['name', 'enrolled', 'last_seen'] as const) assert.ok(nulls(sort) > 50, `${sort}: NULLs over more than a page`);
    assert.ok(all.some((d) => d.compliance === null) && all.some((d) => d.compliance === 'unknown'), 'no row and unknown rows both');
    // Small pages across the equal keys, the NULLs and the tables' merge.
    for (const sort of SORT_KEYS) {
      const want = sorted(expected({ q: 'rare.' }), sort, 'desc').map((d) => d.id);
      assert.deepEqual(sortedPages({ q: 'rare.', sort, dir: 'desc' }, 3).map((d) => d.id), want, sort);
    }
  });

  test('the compliance filter, unsorted: every page in id order, equal to a brute-force filter', () => {
    for (const compliance of ['compliant', 'noncompliant', 'unknown'] as const) {
      for (const c of [{ compliance }, { compliance, q: 'iphone' }, { compliance, platform: 'android' }]) {
        assert.deepEqual(pages(c, 50).map((d) => d.id), expected(c).map((d) => d.id), JSON.stringify(c));
      }
    }
  });

  test('sorted pages are index seeks: each (key, id) index is searched, never scanned from the start nor sorted whole', () => {
    /** What SQLite plans for every statement a search runs, seen through drizzle's query logger. */
    const planOf = (o: FleetSearch) => {
      const lines: string[] = [];
      const logger = {
        logQuery: (text: string, params: unknown[]) => {
          lines.push(...(store.sqlite.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail));
        },
      };
      createFleetQueries(drizzle(store.sqlite, { schema, logger }) as Db).search(o);
      return lines.join('\n');
    };
    const last = all[all.length - 1]!;
    for (const sort of ['name', 'model', 'os', 'enrolled', 'last_seen'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const first = planOf({ sort, dir, limit: 51 });
        const deep = planOf({ sort, dir, limit: 51, afterId: last.id, afterKey: keyOf(last, sort) });
        const table = sort === 'enrolled' || sort === 'last_seen' ? 'apple_enrollments' : 'apple_devices';
        for (const p of [first, deep]) {
          assert.match(p, new RegExp(`(SCAN|SEARCH) [de] USING (COVERING )?INDEX ${table}_sort_${sort}`), `${sort} ${dir}: ${p}`);
          assert.match(p, new RegExp(`(SCAN|SEARCH) d USING (COVERING )?INDEX android_devices_sort_${sort}`), `${sort} ${dir}: ${p}`);
        }
        assert.match(deep, new RegExp(`SEARCH [de] USING (COVERING )?INDEX ${table}_sort_${sort} \\(<expr>=\\? AND id[<>]\\?\\)`), `${sort} ${dir}: ${deep}`);
        assert.match(deep, new RegExp(`SEARCH [de] USING (COVERING )?INDEX ${table}_sort_${sort} \\(<expr>[<>]\\?\\)`), `${sort} ${dir}: ${deep}`);
        // The merge sorts at most a page per segment; no segment sorts its table.
        assert.doesNotMatch(deep.replace(/USE TEMP B-TREE FOR ORDER BY\n?(?=.*COMPOUND|$)/g, ''), /SCAN [de]\b(?! USING)/, `${sort} ${dir}: a table scan`);
      }
    }
    const byState = planOf({ sort: 'compliance', limit: 51 });
    assert.match(byState, /SEARCH c USING COVERING INDEX device_compliance_state \(state=\?/);
    const filtered = planOf({ compliance: 'noncompliant', limit: 51, afterId: last.id });
    assert.match(filtered, /SEARCH c USING COVERING INDEX device_compliance_state \(state=\? AND device_id>\?\)/);
  });

  test('the queries read indexes: prefix ranges on lower() and (platform, id), never a scan of every device', () => {
    const plan = (query: string, ...args: unknown[]) =>
      (store.sqlite.prepare(`EXPLAIN QUERY PLAN ${query}`).all(...args) as Array<{ detail: string }>).map((r) => r.detail).join('\n');
    const union = plan(
      `SELECT id FROM apple_devices WHERE lower(device_name) >= ? AND lower(device_name) < ?
       UNION SELECT id FROM apple_devices WHERE lower(serial_number) >= ? AND lower(serial_number) < ?
       UNION SELECT device_id FROM apple_enrollments WHERE lower(user_email) >= ? AND lower(user_email) < ?`,
      'a', 'b', 'a', 'b', 'a', 'b',
    );
    assert.match(union, /USING INDEX apple_devices_name_lower/);
    assert.match(union, /USING INDEX apple_devices_serial_lower/);
    assert.match(union, /USING INDEX apple_enrollments_user_email/);
    const platform = plan(`SELECT id FROM apple_devices d WHERE d.platform = ? AND d.id > ? ORDER BY d.id LIMIT 51`, 'ios', '');
    assert.match(platform, /USING (COVERING )?INDEX apple_devices_platform/);
    assert.doesNotMatch(platform, /TEMP B-TREE/, 'no sort: read in id order');
    const droids = plan(
      `SELECT id FROM android_devices WHERE lower(device_name) >= ? AND lower(device_name) < ?
       UNION SELECT id FROM android_devices WHERE lower(serial_number) >= ? AND lower(serial_number) < ?
       UNION SELECT id FROM android_devices WHERE lower(model) >= ? AND lower(model) < ?
       UNION SELECT id FROM android_devices WHERE lower(user_email) >= ? AND lower(user_email) < ?`,
      'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b',
    );
    for (const i of ['name', 'serial', 'model', 'user_email']) assert.match(droids, new RegExp(`USING INDEX android_devices_${i}_lower`));
    const enrolled = plan(`SELECT id FROM android_devices d WHERE d.status = ? AND d.id > ? ORDER BY d.id LIMIT 51`, 'enrolled', '');
    assert.doesNotMatch(enrolled, /TEMP B-TREE/, 'no sort: read in id order');
  });
});

// The console's device search over a fleet larger than its id-order window: every query, page
// by page, returns exactly what a brute-force filter does, whether the window or the indexed
// UNION answers it; and the queries read indexes, never the whole fleet per keystroke.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFleetQueries, type FleetRow, type FleetSearch } from '../src/devices/fleet-queries.ts';
import { openStore, type Store } from '../src/store/db.ts';
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
      INSERT INTO android_devices (id, name, enterprise_name, status, serial_number, device_name, model, manufacturer, android_version, user_email, policy_compliant, ownership, last_status_report_at, reported_at, created_at, updated_at)
      SELECT printf('%08d-a', i * 7 % ${M}), printf('enterprises/LC1/devices/%d', i), 'enterprises/LC1', CASE WHEN i % 7 = 0 THEN 'removed' ELSE 'enrolled' END,
        printf('SN%06d', i + 100000), CASE WHEN i % 2 = 0 THEN 'Google Pixel ' || i ELSE 'samsung SM-' || i END, CASE WHEN i % 2 = 0 THEN 'Pixel 8' ELSE 'SM-S911B' END,
        CASE WHEN i % 2 = 0 THEN 'Google' ELSE 'samsung' END, '15', CASE WHEN i % 300 = 0 THEN 'Rare.Droid' || i || '@example.com' ELSE 'droid' || i || '@example.com' END, i % 2,
        CASE WHEN i % 3 = 0 THEN 'personal' ELSE 'corporate' END, i * 1500, 0, 0, 0 FROM n;
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
        (o.notSeenSince === undefined || d.lastSeenAt === null || d.lastSeenAt < o.notSeenSince),
    );
  };
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

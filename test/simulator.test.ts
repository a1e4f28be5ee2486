// `mdm simulate apple` as an operator runs it: a real child process against a running server,
// enrolling through enrollment links (page, signed profile, SCEP) or a static challenge, then
// checking in and answering the inventory commands; the database shows the result.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { writePushCertificate } from './support/push-cert.ts';
import { MDM_BIN, startServer, tempDir, type TestServer } from './support/server.ts';

const CHALLENGE = 'simulator-test-challenge';
type Row = Record<string, any>;

/** Runs `mdm simulate apple ...` to its end. */
function simulate(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MDM_BIN, 'simulate', 'apple', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

describe('mdm simulate apple', () => {
  let server: TestServer;
  const query = (sql: string, ...args: unknown[]): Row[] => {
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      return db.prepare(sql).all(...args) as Row[];
    } finally {
      db.close();
    }
  };
  const link = (...args: string[]) => {
    const r = server.cli(['enroll', 'create', ...args]);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  /** The enrollment a link completed with. */
  const enrollmentOfLink = (url: string) => {
    const hash = crypto.createHash('sha256').update(url.split('/enroll/')[1]!).digest('hex');
    return query('SELECT enrollment_id FROM enrollment_tokens WHERE hash = ?', hash)[0]?.enrollment_id as string | null;
  };

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
    const pc = writePushCertificate(tempDir());
    const imported = server.cli(['push', 'import', '--cert', pc.cert, '--key', pc.key]);
    assert.equal(imported.status, 0, imported.stderr);
  });
  after(async () => {
    await server.stop();
  });

  test('two devices enroll through their links, check in and answer the inventory commands', async () => {
    const links = [link(), link('--ownership', 'personal', '--user', 'pat@example.com')];
    // The links name the public URL (port 8080); --server is where the appliance really listens.
    const r = await simulate(['--devices', '2', '--server', server.url, '--enroll-url', links[0]!, '--enroll-url', links[1]!, '--duration', '3s']);
    assert.equal(r.status, 0, r.stdout + r.stderr);

    const perSecond = r.stdout.split('\n').filter((l) => /^\[\s*\d+s\] enrolled \d\/2 /.test(l));
    assert.ok(perSecond.length >= 3, `one line per second:\n${r.stdout}`);
    assert.match(perSecond.at(-1)!, /check-ins \d+\/s {2}commands answered \d+ \(total \d+\) {2}errors 0$/);
    assert.match(r.stdout, /^summary: 2 devices against http:\/\/127\.0\.0\.1:\d+: 2 enrolled, 0 failed to enroll, 0 erased \(enrollment took [\d.]+ s; 2 profiles downloaded, 2 verified\)$/m);
    const checkins = Number(/^ {2}check-ins: (\d+) in [\d.]+ s \([\d.]+\/s\); latency p50 [\d.]+ ms, p99 [\d.]+ ms/m.exec(r.stdout)?.[1]);
    // Authenticate, TokenUpdate, an Idle, five answers per device, and Idles after that.
    assert.ok(checkins >= 16, r.stdout);
    assert.match(r.stdout, /^ {2}commands answered: 10 \(Acknowledged 10\)$/m);
    assert.match(r.stdout, /^ {4}by type: CertificateList 2, DeviceInformation 2, InstalledApplicationList 2, ProfileList 2, SecurityInfo 2$/m);
    assert.match(r.stdout, /^ {2}errors: 0$/m);

    const ids = links.map(enrollmentOfLink);
    assert.ok(ids[0] && ids[1] && ids[0] !== ids[1], 'each link completed with its own device');
    for (const [i, id] of ids.entries()) {
      const e = query('SELECT * FROM apple_enrollments WHERE id = ?', id)[0]!;
      assert.equal(e.status, 'enrolled');
      assert.equal(e.ownership, i === 0 ? 'corporate' : 'personal');
      assert.match(e.push_token, /^[0-9a-f]{64}$/);
      const d = query('SELECT * FROM apple_devices WHERE id = ?', id)[0]!;
      assert.match(d.serial_number, /^[A-Z0-9]{10}$/);
      assert.match(d.os_version, /^\d+\.\d+/);
      assert.ok(['ios', 'ipados', 'macos'].includes(d.platform), d.platform);
      const info = JSON.parse(d.device_information);
      assert.equal(info.SerialNumber, d.serial_number);
      assert.equal(info.UDID, id);
      const security = JSON.parse(d.security_info);
      assert.ok(d.platform === 'macos' ? typeof security.FDE_Enabled === 'boolean' : typeof security.PasscodePresent === 'boolean', d.security_info);
      assert.ok(Array.isArray(JSON.parse(d.installed_apps)));
      // The profile it installed, as downloaded and listed by the device.
      const profiles = JSON.parse(d.profiles);
      assert.equal(profiles[0].PayloadIdentifier, 'org.openmdm.enroll');
      assert.deepEqual(profiles[0].PayloadContent.map((p: Row) => p.PayloadType), ['com.apple.security.root', 'com.apple.security.scep', 'com.apple.mdm']);
      // Its identity from SCEP, with the subject the profile asked for, and the root the profile installed.
      const certs = JSON.parse(d.certificates);
      assert.equal(certs[0].isIdentity, true);
      assert.match(certs[0].subject, /CN=mdm-identity-/);
      assert.equal(certs[1].isIdentity, false);
      const targets = query('SELECT t.status, c.request_type FROM apple_command_targets t JOIN apple_commands c ON c.uuid = t.command_uuid WHERE t.enrollment_id = ?', id);
      assert.equal(targets.length, 5);
      assert.deepEqual([...new Set(targets.map((t) => t.status))], ['acknowledged']);
    }
  });

  test('a spent link fails its device: exit status 1 and the reason in the summary; the others still run', async () => {
    const spent = link();
    assert.equal((await fetch(`${server.url}${new URL(spent).pathname}/profile`)).status, 200);
    const r = await simulate(['--devices', '2', '--server', server.url, '--enroll-url', spent, '--challenge', CHALLENGE, '--duration', '1s']);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /: 1 enrolled, 1 failed to enroll/);
    assert.match(r.stdout, /^ {2}enrollment failed: device 1 \(http:\/\/127\.0\.0\.1:8080\/enroll\/.{6}…\): the enrollment page answered 410: This enrollment link has already been used/m);
    assert.ok(!r.stdout.includes(spent), 'the link token is not printed whole');
  });

  test('static challenge: many devices, NotNow answers offered again after Idle until acknowledged', async () => {
    const before = new Set(query('SELECT id FROM apple_enrollments').map((e) => e.id));
    const r = await simulate(['--devices', '4', '--server', server.url, '--challenge', CHALLENGE, '--notnow', '0.5', '--interval', '0', '--concurrency', '4', '--duration', '2s']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /: 4 enrolled, 0 failed to enroll/);
    const notNow = Number(/commands answered: \d+ \(.*NotNow (\d+)/.exec(r.stdout)?.[1] ?? 0);
    assert.ok(notNow > 0, r.stdout);
    const fresh = query('SELECT * FROM apple_enrollments').filter((e) => !before.has(e.id));
    assert.equal(fresh.length, 4);
    for (const e of fresh) {
      assert.equal(e.status, 'enrolled');
      assert.equal(e.enrollment_token_id, null);
      const statuses = query('SELECT status FROM apple_command_targets WHERE enrollment_id = ?', e.id).map((t) => t.status);
      // Back-to-back Idles give every NotNow command another chance within the run.
      assert.deepEqual([...new Set(statuses)], ['acknowledged'], `${e.id}: ${statuses}`);
    }
  });

  test('usage errors exit 2 with the reason', async () => {
    const r = await simulate(['--devices', '3', '--server', server.url, '--enroll-url', 'http://127.0.0.1:8080/enroll/abc']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /3 devices need 3 --enroll-url links \(each enrolls one device\) or a --challenge; got 1/);
    const bad = await simulate(['--devices', '1', '--server', 'ftp://x', '--challenge', CHALLENGE]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--server must be the appliance URL/);
    const help = await simulate(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--notnow R/);
  });
});

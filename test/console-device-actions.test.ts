// The device page's actions over HTTP against simulated Apple devices: each queued command is
// delivered at the next check-in and answered; actions a device does not take are not offered,
// with the reason, and refused if posted anyway; a wipe needs the device's name typed back and is
// an erase for a company device but only the removal of management for a personal one.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { TEST_PERSONA, drainCommands, enrolledDevice, type AppleDevice, type Dict } from './support/apple-device.ts';
import { ConsoleClient } from './support/console.ts';
import { runCli, tempDir } from './support/server.ts';

const CHALLENGE = 'actions-test-challenge';
const PASSWORD = 'a long enough password';

describe('device actions in the console', () => {
  let server: RunningServer;
  let url: string;
  let dataDir: string;
  let admin: ConsoleClient;
  let supervised: AppleDevice;
  let plain: AppleDevice;

  const sql = <T = Record<string, any>,>(query: string, ...args: unknown[]): T[] => {
    const db = new Database(path.join(dataDir, 'mdm.sqlite'));
    try {
      const stmt = db.prepare(query);
      return (stmt.reader ? stmt.all(...args) : (stmt.run(...args), [])) as T[];
    } finally {
      db.close();
    }
  };
  const audit = (id: string) => sql<{ action: string; actor_name: string; details: string }>('SELECT action, actor_name, details FROM audit_events WHERE target_id = ? ORDER BY id', id);
  const page = (d: AppleDevice) => admin.get(`/devices/${encodeURIComponent(d.udid)}`);
  const act = (d: AppleDevice, what: string, form: Record<string, string> = {}) => admin.post(`/devices/${encodeURIComponent(d.udid)}/${what}`, form, { csrf: true });

  const enroll = (o: { supervised?: boolean; name: string }) => enrolledDevice(url, CHALLENGE, { persona: { ...TEST_PERSONA, supervised: o.supervised ?? false, deviceName: o.name } });
  const drain = drainCommands;
  const requestTypes = (seen: Dict[]) => seen.map((c) => (c.Command as Dict).RequestType);

  before(async () => {
    dataDir = tempDir();
    const config = loadConfig({ MDM_DATA_DIR: dataDir, MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' }, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
    server = await serve(config, createLogger('silent'));
    url = `http://127.0.0.1:${server.http!.port}`;
    assert.equal(runCli(['admin', 'create', '--username', 'root', '--password-stdin'], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }, PASSWORD + '\n').status, 0);
    admin = new ConsoleClient(url);
    assert.equal((await admin.login('root', PASSWORD)).status, 303);
    supervised = await enroll({ supervised: true, name: 'Kiosk iPad' });
    plain = await enroll({ name: 'Jane iPhone' });
  });
  after(async () => {
    await server?.close();
  });

  test('a supervised device is offered restart, clear passcode and lost mode; each is delivered, answered and audited', async () => {
    const shown = await page(supervised);
    for (const path of ['restart', 'clear-passcode', 'lost-mode', 'wipe', 'remove']) assert.match(shown.text, new RegExp(`action="/devices/[^"]+/${path}"`), path);
    assert.doesNotMatch(shown.text, /Not available/);

    assert.equal((await act(supervised, 'restart')).headers.get('location'), `/devices/${encodeURIComponent(supervised.udid)}?queued=restart`);
    assert.equal((await act(supervised, 'clear-passcode')).status, 303);
    const missing = await act(supervised, 'lost-mode', { message: '', phone: '', footnote: '' });
    assert.equal(missing.status, 400);
    assert.match(missing.text, /class="banner error"[^>]*>Lost mode needs a message or a phone number/);
    assert.equal((await act(supervised, 'lost-mode', { message: 'Please return me', phone: '+1 555 0100', footnote: 'Reward' })).status, 303);

    const seen = await drain(supervised);
    assert.deepEqual(requestTypes(seen), ['RestartDevice', 'ClearPasscode', 'EnableLostMode']);
    const clear = seen[1]!.Command as Dict;
    assert.ok(clear.UnlockToken instanceof Uint8Array && clear.UnlockToken.length === 64, `the unlock token the device escrowed, unsealed: ${String(clear.UnlockToken).slice(0, 80)}`);
    assert.deepEqual({ ...(seen[2]!.Command as Dict), RequestType: undefined }, { RequestType: undefined, Message: 'Please return me', PhoneNumber: '+1 555 0100', Footnote: 'Reward' });
    const stored = sql<{ params: string }>("SELECT params FROM apple_commands WHERE request_type = 'ClearPasscode'")[0]!;
    assert.deepEqual(JSON.parse(stored.params), { UnlockToken: '(withheld)' }, 'the token is not kept beside the command');

    const after = await page(supervised);
    assert.match(after.text, /data-request-type="RestartDevice"><td>RestartDevice<\/td><td class="status">acknowledged/);
    assert.match(after.text, /Turn off lost mode/);
    assert.equal((await act(supervised, 'lost-mode/disable')).status, 303);
    // The device refuses it: the history says so, with the device's reason.
    const offered = await supervised.report('Idle');
    assert.equal((offered.plist!.Command as Dict).RequestType, 'DisableLostMode');
    const reason = 'Lost mode is not enabled.';
    await supervised.report('Error', { CommandUUID: offered.plist!.CommandUUID, ErrorChain: [{ ErrorCode: 12067, ErrorDomain: 'MCMDMErrorDomain', LocalizedDescription: reason, USEnglishDescription: reason }] });
    assert.match((await page(supervised)).text, /data-request-type="DisableLostMode"><td>DisableLostMode<\/td><td class="status">error<span class="muted"> — Lost mode is not enabled\.<\/span>/);
    assert.deepEqual(
      audit(supervised.udid).map((e) => [e.action, e.actor_name]),
      [
        ['device.restart', 'root'],
        ['device.passcode.clear', 'root'],
        ['device.lost_mode.enable', 'root'],
        ['device.lost_mode.disable', 'root'],
      ],
    );
    assert.ok(!audit(supervised.udid).some((e) => /UnlockToken|Please return/.test(e.details)), 'no parameters in the log');
  });

  test('an unsupervised device: restart and lost mode shown as unavailable with the reason, and refused if posted', async () => {
    const shown = await page(plain);
    assert.match(shown.text, /Not available: RestartDevice needs a supervised device/);
    assert.match(shown.text, /Not available: EnableLostMode needs a supervised device/);
    assert.doesNotMatch(shown.text, /\/restart" class="card">(?:(?!<\/form>)[^])*<button/, 'no restart button');
    const before = audit(plain.udid).length;
    const refused = await act(plain, 'restart');
    assert.equal(refused.status, 422);
    assert.match(refused.text, /class="banner error"[^>]*>RestartDevice cannot be sent: RestartDevice needs a supervised device/);
    assert.equal((await act(plain, 'lost-mode', { message: 'x', phone: '', footnote: '' })).status, 422);
    assert.equal(audit(plain.udid).length, before, 'nothing recorded');
    assert.deepEqual(await drain(plain), [], 'nothing queued');
  });

  test('clear passcode without an escrowed unlock token: unavailable, and refused with a clear message', async () => {
    sql('UPDATE apple_enrollments SET unlock_token_sealed = NULL WHERE id = ?', plain.udid);
    assert.match((await page(plain)).text, /Not available: the device has not given this appliance an unlock token/);
    const r = await act(plain, 'clear-passcode');
    assert.equal(r.status, 409);
    assert.match(r.text, /cannot be cleared remotely/);
    assert.doesNotMatch(r.text, /at .*\.ts:\d+/);
  });

  test('wipe of a company device: the name typed back, then EraseDevice; a wrong name changes nothing', async () => {
    const shown = await page(supervised);
    assert.match(shown.text, /Wipe \(erase the device\)/);
    assert.match(shown.text, /<label for="wipe-confirm">/);
    const wrong = await act(supervised, 'wipe', { confirm: 'Kiosk' });
    assert.equal(wrong.status, 400);
    assert.match(wrong.text, /Type the device(&#39;|')s name, Kiosk iPad, exactly/);
    assert.equal((await act(supervised, 'wipe', { confirm: 'Kiosk iPad', pin: '123456' })).status, 400, 'a PIN is for Macs');
    assert.deepEqual(await drain(supervised), []);
    const ok = await act(supervised, 'wipe', { confirm: 'Kiosk iPad' });
    assert.equal(ok.headers.get('location'), `/devices/${encodeURIComponent(supervised.udid)}?queued=erase`);
    assert.deepEqual(requestTypes(await drain(supervised)), ['EraseDevice']);
    assert.ok(supervised.erased);
    assert.deepEqual(JSON.parse(audit(supervised.udid).at(-1)!.details).kind, 'erase');
  });

  test('wipe of a personal device is a retire: what goes and what stays on the page beforehand, then RemoveProfile of the MDM profile', async () => {
    sql("UPDATE apple_enrollments SET ownership = 'personal' WHERE id = ?", plain.udid);
    const shown = await page(plain);
    assert.match(shown.text, /Wipe \(company data only\)/);
    assert.match(shown.text, /It is retired: it leaves management, which removes the apps, profiles and data installed through it/);
    assert.match(shown.text, /data-testid="retire-plan"(?:(?!<\/div>)[^])*<code>org\.openmdm\.enroll<\/code>(?:(?!<\/div>)[^])*Kept: personal apps and their data/);
    assert.equal((await act(plain, 'wipe', { confirm: 'Jane iPhone', pin: '123456' })).status, 400, 'no PIN for a retire');
    const r = await act(plain, 'wipe', { confirm: 'Jane iPhone' });
    assert.equal(r.headers.get('location'), `/devices/${encodeURIComponent(plain.udid)}?queued=retire`);
    assert.match((await admin.get(r.headers.get('location')!)).text, /removes our profiles and then the MDM profile, with the managed apps and their data, and nothing else/);
    assert.match((await page(plain)).text, /Not available: [^<]*is being retired already/);
    const sent = await drain(plain);
    assert.deepEqual(sent.map((c) => [(c.Command as Dict).RequestType, (c.Command as Dict).Identifier]), [['RemoveProfile', 'org.openmdm.enroll']]);
    assert.equal(sql("SELECT count(*) AS n FROM apple_commands WHERE request_type = 'EraseDevice' AND uuid IN (SELECT command_uuid FROM apple_command_targets WHERE enrollment_id = ?)", plain.udid)[0]!.n, 0, 'never erased');
    assert.deepEqual(JSON.parse(audit(plain.udid).at(-1)!.details).kind, 'retire');
    // This device was enrolled with a bare challenge: it has no org.openmdm.enroll to remove and
    // says so. The retire did not happen, so it is offered again.
    assert.match((await page(plain)).text, /data-testid="retire-plan"/);
    assert.equal((await plain.checkin('CheckOut')).status, 200);
    assert.match((await page(plain)).text, /Actions are available while the device is enrolled/);
  });

  test('remove from management', async () => {
    const third = await enroll({ name: 'Spare iPhone' });
    const r = await act(third, 'remove');
    assert.equal(r.headers.get('location'), `/devices/${encodeURIComponent(third.udid)}?queued=removed`);
    assert.equal((await third.report('Idle')).status, 403);
    assert.deepEqual(audit(third.udid).map((e) => e.action), ['device.remove']);
  });
});

// Apple MDM over the wire: SCEP identity → Authenticate → TokenUpdate → inventory commands →
// answers → inventory stored; NotNow; impersonation attempts; bad input.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { checkinMessage, commandReport, enrollmentOf } from '../src/apple/messages.ts';
import { decodePlist } from '../src/apple/plist.ts';
import { signSignedData } from '../src/pki/cms.ts';
import { AppleDevice, answerFor, type Dict } from './support/apple-device.ts';
import { newDevice } from './support/scep-client.ts';
import { sendOversized, startServer, type TestServer } from './support/server.ts';

const CHALLENGE = 'apple-mdm-test-challenge';

describe('captured device messages (nanomdm fixtures)', () => {
  const fixture = (f: string) => decodePlist(fs.readFileSync(path.join(import.meta.dirname, 'fixtures/apple-nanomdm', f)));
  test('Authenticate and TokenUpdate parse and name their enrollment', () => {
    for (const f of ['Authenticate.1.plist', 'Authenticate.2.plist', 'TokenUpdate.1.plist', 'TokenUpdate.2.plist']) {
      const m = checkinMessage.parse(fixture(f));
      assert.ok(enrollmentOf(m), f);
    }
    const tu = checkinMessage.parse(fixture('TokenUpdate.1.plist'));
    assert.equal(tu.MessageType, 'TokenUpdate');
    if (tu.MessageType === 'TokenUpdate') {
      assert.equal(tu.Token.length, 32);
      assert.ok(tu.UnlockToken && tu.UnlockToken.length > 100);
    }
  });
  test('a DeviceInformation report parses', () => {
    const r = commandReport.parse(fixture('DeviceInformation.1.plist'));
    assert.equal(r.Status, 'Acknowledged');
    assert.equal(enrollmentOf(r)?.id, '66ADE930-5FDF-5EC4-8429-15640684C489');
  });
});

describe('Apple MDM check-in and commands', () => {
  let server: TestServer;
  const db = () => new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
  const query = <T,>(sql: string, ...args: unknown[]): T[] => {
    const d = db();
    try {
      return d.prepare(sql).all(...args) as T[];
    } finally {
      d.close();
    }
  };
  const enrollment = (id: string) => query<Record<string, unknown>>('SELECT * FROM apple_enrollments WHERE id = ?', id)[0];
  const enrolled = async () => {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    return d;
  };

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
  });
  after(async () => {
    await server.stop();
  });

  test('enrollment end to end: Authenticate, TokenUpdate, inventory queued, answered, stored', async () => {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal(enrollment(d.udid)!.status, 'pending');
    assert.equal((await d.report('Idle')).status, 400, 'not enrolled until TokenUpdate');
    assert.equal((await d.tokenUpdate()).status, 200);
    const e = enrollment(d.udid)!;
    assert.equal(e.status, 'enrolled');
    assert.equal(e.push_token, d.token.toString('hex'));
    assert.equal(e.push_magic, d.pushMagic);
    assert.equal((e.unlock_token_sealed as Buffer)[0], 1, 'unlock token sealed');
    assert.equal(e.cert_sha256, crypto.createHash('sha256').update(d.identity.cert.der).digest('hex'));

    const seen: string[] = [];
    let r = await d.report('Idle');
    while (r.plist) {
      const cmd = r.plist as Dict;
      seen.push(String((cmd.Command as Dict).RequestType));
      r = await d.report('Acknowledged', answerFor(d, cmd));
    }
    assert.equal(r.status, 200);
    assert.deepEqual(seen.sort(), ['CertificateList', 'DeviceInformation', 'InstalledApplicationList', 'ProfileList', 'SecurityInfo']);
    const dev = query<Record<string, string>>('SELECT * FROM apple_devices WHERE id = ?', d.udid)[0]!;
    assert.equal(dev.serial_number, d.serial);
    assert.equal(dev.os_version, '17.5.1');
    assert.equal(dev.platform, 'ios');
    assert.equal(JSON.parse(dev.security_info!).PasscodePresent, true);
    assert.equal(JSON.parse(dev.installed_apps!)[0].Identifier, 'com.example.app');
    assert.equal(JSON.parse(dev.profiles!)[0].SignerCertificates, undefined);
    assert.equal(JSON.parse(dev.certificates!)[0].isIdentity, true);
    assert.match(JSON.parse(dev.certificates!)[0].subject, /CN=device-/);
    const statuses = query<{ status: string }>('SELECT status FROM apple_command_targets WHERE enrollment_id = ?', d.udid).map((x) => x.status);
    assert.deepEqual([...new Set(statuses)], ['acknowledged']);
  });

  test('NotNow: skipped for the rest of the connection, offered again after Idle', async () => {
    const d = await enrolled();
    const first = (await d.report('Idle')).plist!;
    const firstUuid = first.CommandUUID;
    let r = await d.report('NotNow', { CommandUUID: firstUuid });
    const offered: unknown[] = [];
    while (r.plist) {
      offered.push(r.plist.CommandUUID);
      r = await d.report('Acknowledged', answerFor(d, r.plist));
    }
    assert.equal(offered.length, 4);
    assert.ok(!offered.includes(firstUuid), 'the NotNow command is not offered before the next Idle');
    const again = await d.report('Idle');
    assert.equal(again.plist?.CommandUUID, firstUuid);
    const done = await d.report('Acknowledged', answerFor(d, again.plist!));
    assert.equal(done.plist, null);
    assert.equal((await d.report('Idle')).plist, null);
  });

  test('an Error answer is final, its ErrorChain stored', async () => {
    const d = await enrolled();
    const cmd = (await d.report('Idle')).plist!;
    await d.report('Error', { CommandUUID: cmd.CommandUUID, ErrorChain: [{ ErrorCode: 12021, ErrorDomain: 'MCMDMErrorDomain', LocalizedDescription: 'nope' }] });
    const row = query<{ status: string; result: string }>('SELECT status, result FROM apple_command_targets WHERE command_uuid = ?', cmd.CommandUUID)[0]!;
    assert.equal(row.status, 'error');
    assert.equal(JSON.parse(row.result).ErrorChain[0].ErrorCode, 12021);
    // A late second answer changes nothing.
    await d.report('Acknowledged', answerFor(d, cmd));
    assert.equal(query<{ status: string }>('SELECT status FROM apple_command_targets WHERE command_uuid = ?', cmd.CommandUUID)[0]!.status, 'error');
  });

  test('impersonation: each attempt is a bare 400 and changes nothing', async () => {
    const a = await enrolled();
    const b = await enrolled();
    const before = enrollment(a.udid);
    const refused = async (p: Promise<{ status: number }>, why: string) => assert.equal((await p).status, 400, why);

    await refused(a.send({ UDID: a.udid, Status: 'Idle' }, { identity: null }), 'no signature');
    // b's certificate speaking for a.
    await refused(a.send({ UDID: a.udid, Status: 'Idle' }, { identity: b.identity }), "another device's certificate");
    await refused(a.checkin('TokenUpdate', { Token: crypto.randomBytes(32), PushMagic: 'evil' }, { identity: b.identity }), 'TokenUpdate with another certificate');
    // A self-signed certificate.
    const rogue = newDevice();
    await refused(a.send({ UDID: a.udid, Status: 'Idle' }, { identity: rogue.selfSigned }), 'self-signed');
    // A signature over another body.
    const body = Buffer.from('<plist><dict><key>Status</key><string>Idle</string></dict></plist>');
    const other = await a.send({}, { body, identity: null, headers: { 'mdm-signature': signSignedData(a.identity, Buffer.from('something else'), { detached: true }).toString('base64') } });
    assert.equal(other.status, 400, 'body does not match its signature');
    // a's certificate re-Authenticating as a new device.
    const fresh = new AppleDevice(server.url);
    await refused(fresh.authenticate({ identity: a.identity }), 'certificate bound to another device');
    assert.equal(enrollment(fresh.udid), undefined);
    // A revoked certificate.
    const c = await enrolled();
    assert.equal((await c.report('Idle')).status, 200, 'accepted while valid (and now in the identity cache)');
    assert.equal(server.cli(['cert', 'revoke', c.identity.cert.serialHex]).status, 0);
    // The server reads the CRL number at most once a second: a revocation is seen within that.
    await new Promise((r) => setTimeout(r, 1100));
    await refused(c.report('Idle'), 'revoked certificate');

    // The appliance's own push bookkeeping may land meanwhile (the enrollment's inventory push,
    // refused here for want of a push certificate): what an attacker could change is the rest.
    const withoutPushState = ({ last_push_at: _a, last_push_result: _r, push_blocked: _b, ...rest }: Record<string, unknown>) => rest;
    assert.deepEqual(withoutPushState(enrollment(a.udid)!), withoutPushState(before!));
    assert.equal(enrollment(b.udid)!.push_magic, b.pushMagic);
    // Refusals are logged with their reason, never answered 401.
    await server.waitForLog((l) => l.msg === 'MDM request refused' && String(l.reason).includes('not the one bound'));
  });

  test('a device re-enrolling with a new certificate rebinds through Authenticate', async () => {
    const d = await enrolled();
    const oldIdentity = d.identity;
    await d.scepEnroll(CHALLENGE);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    assert.equal((await d.report('Idle')).status, 200);
    assert.equal((await d.send({ UDID: d.udid, Status: 'Idle' }, { identity: oldIdentity })).status, 400, 'the old certificate no longer speaks for it');
  });

  test('CheckOut unenrolls and keeps history; bootstrap token escrow; DDM; UserAuthenticate declined', async () => {
    const d = await enrolled();
    const bootstrap = crypto.randomBytes(40);
    assert.equal((await d.checkin('SetBootstrapToken', { BootstrapToken: bootstrap })).status, 200);
    const stored = enrollment(d.udid)!.bootstrap_token_sealed as Buffer;
    assert.ok(stored && !stored.includes(bootstrap), 'sealed');
    const got = await d.checkin('GetBootstrapToken');
    assert.equal(got.status, 200);
    assert.ok(Buffer.from(got.plist!.BootstrapToken as Uint8Array).equals(bootstrap));

    const tokens = await d.checkin('DeclarativeManagement', { Endpoint: 'tokens' });
    assert.equal(tokens.status, 200);
    assert.ok(JSON.parse(tokens.body.toString()).SyncTokens.DeclarationsToken);
    const items = JSON.parse((await d.checkin('DeclarativeManagement', { Endpoint: 'declaration-items' })).body.toString());
    assert.deepEqual(items.Declarations, { Activations: [], Assets: [], Configurations: [], Management: [] });
    assert.equal((await d.checkin('DeclarativeManagement', { Endpoint: 'status', Data: Buffer.from('{}') })).status, 200);

    assert.equal((await d.checkin('UserAuthenticate', { UserID: 'U1' })).status, 410);

    assert.equal((await d.checkin('CheckOut')).status, 200);
    assert.equal(enrollment(d.udid)!.status, 'unenrolled');
    assert.equal((await d.report('Idle')).status, 400);
    assert.ok(query('SELECT * FROM apple_command_targets WHERE enrollment_id = ?', d.udid).length > 0, 'history kept');
  });

  test('user channel: UDID:UserID enrollment bound to the device identity', async () => {
    const d = await enrolled();
    const r = await d.checkin('TokenUpdate', { UserID: 'ABC-USER', UserShortName: 'jane', Token: crypto.randomBytes(32), PushMagic: 'user-magic' });
    assert.equal(r.status, 200);
    const u = enrollment(`${d.udid}:ABC-USER`)!;
    assert.equal(u.type, 'user');
    assert.equal(u.device_id, d.udid);
    assert.equal(u.user_short_name, 'jane');
    assert.equal((await d.send({ UDID: d.udid, UserID: 'ABC-USER', Status: 'Idle' })).status, 200);
  });

  test('User Enrollment: the EnrollmentID names the device channel, EnrollmentID:EnrollmentUserID the user channel', async () => {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    const id = `UE-${crypto.randomUUID()}`;
    const topic = 'com.apple.mgmt.External.test';
    assert.equal((await d.send({ MessageType: 'Authenticate', EnrollmentID: id, Topic: topic }, { checkin: true })).status, 200);
    assert.equal((await d.send({ MessageType: 'TokenUpdate', EnrollmentID: id, Topic: topic, Token: d.token, PushMagic: 'ue' }, { checkin: true })).status, 200);
    assert.equal(enrollment(id)!.type, 'user-enrollment-device');
    const first = await d.send({ EnrollmentID: id, Status: 'Idle' });
    assert.equal(first.status, 200);
    assert.ok(first.plist?.CommandUUID, 'inventory queued for the User Enrollment device channel');
    const user = { EnrollmentID: id, EnrollmentUserID: 'USER-1', Topic: topic };
    assert.equal((await d.send({ MessageType: 'TokenUpdate', ...user, Token: d.token, PushMagic: 'ue-user' }, { checkin: true })).status, 200);
    assert.equal(enrollment(`${id}:USER-1`)!.type, 'user-enrollment-user');
    // Another device's certificate cannot speak for this enrollment.
    const other = await enrolled();
    assert.equal((await d.send({ EnrollmentID: id, Status: 'Idle' }, { identity: other.identity })).status, 400);
  });

  test('bad input: malformed plists, unknown MessageType, missing keys, oversized bodies get 400/413 and the server keeps serving', async () => {
    const d = await enrolled();
    const bad = [
      { body: Buffer.from('not a plist'), checkin: true },
      { body: Buffer.from('<plist><array><string>x</string></array></plist>'), checkin: true },
      { body: Buffer.from('<plist><dict><key>MessageType</key><string>Bogus</string><key>UDID</key><string>x</string></dict></plist>'), checkin: true },
      { body: Buffer.from('<plist><dict><key>MessageType</key><string>TokenUpdate</string><key>UDID</key><string>x</string></dict></plist>'), checkin: true },
      { body: Buffer.from('<plist><dict><key>Status</key><string>Weird</string><key>UDID</key><string>x</string></dict></plist>'), checkin: false },
      { body: crypto.randomBytes(500), checkin: false },
    ];
    for (const b of bad) assert.equal((await d.send({}, { body: b.body, checkin: b.checkin })).status, 400, b.body.toString().slice(0, 60));
    assert.equal(await sendOversized(`${server.url}/mdm`, 'PUT', 17 * 1024 * 1024), 413);
    assert.equal((await fetch(`${server.url}/mdm`, { method: 'GET' })).status, 404);
    assert.equal((await d.report('Idle')).status, 200);
  });
});


// Enrollment links and the signed enrollment profile, checked with openssl cms and plistutil,
// then used by a simulated device: SCEP with the profile's challenge, Authenticate, linked.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import * as plist from 'plist';
import { readSignedData } from '../src/pki/cms.ts';
import { AppleDevice } from './support/apple-device.ts';
import { peer } from './support/peers.ts';
import { writePushCertificate } from './support/push-cert.ts';
import { startServer, tempDir, type TestServer } from './support/server.ts';

type Dict = Record<string, any>;

describe('enrollment links and profiles', () => {
  let server: TestServer;
  let topic: string;
  const link = (...args: string[]) => {
    const r = server.cli(['enroll', 'create', ...args]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^http:\/\/127\.0\.0\.1:8080\/enroll\/[A-Za-z0-9_-]{32}\n$/);
    return new URL(r.stdout.trim()).pathname;
  };
  const profileOf = (der: Buffer): Dict => {
    const sd = readSignedData(der);
    return plist.parse(sd.eContent!.toString('utf8')) as Dict;
  };

  before(async () => {
    server = await startServer({ env: { MDM_SCEP_WORKERS: '0', MDM_ORGANIZATION: 'Acme' } });
  });
  after(async () => {
    await server.stop();
  });

  test('without a push certificate the page says so plainly and no profile is served', async () => {
    const p = link();
    const page = await fetch(`${server.url}${p}`);
    assert.equal(page.status, 503);
    assert.match(await page.text(), /no Apple push certificate is installed/);
    assert.equal((await fetch(`${server.url}${p}/profile`)).status, 503);
    // The link is not spent by that.
    const dir = tempDir();
    const pc = writePushCertificate(dir);
    const imported = server.cli(['push', 'import', '--cert', pc.cert, '--key', pc.key]);
    assert.equal(imported.status, 0, imported.stderr);
    topic = pc.topic;
    assert.equal((await fetch(`${server.url}${p}/profile`)).status, 200);
  });

  test('the page explains and offers the profile; the profile is signed, valid, and single-use', async () => {
    const p = link('--user', 'jane@example.com');
    const page = await fetch(`${server.url}${p}`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /Enroll in Acme/);
    assert.match(html, /jane@example\.com/);
    assert.ok(html.includes(`href="${p}/profile"`));

    const res = await fetch(`${server.url}${p}/profile`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/x-apple-aspen-config');
    const der = Buffer.from(await res.arrayBuffer());
    const profile = profileOf(der);
    assert.equal(profile.PayloadType, 'Configuration');
    const [root, scep, mdm] = profile.PayloadContent as Dict[];
    const caDer = Buffer.from(await (await fetch(`${server.url}/pki/ca`)).arrayBuffer());
    assert.equal(root!.PayloadType, 'com.apple.security.root');
    assert.ok(Buffer.from(root!.PayloadContent).equals(caDer));
    assert.equal(scep!.PayloadType, 'com.apple.security.scep');
    assert.equal(scep!.PayloadContent.URL, 'http://127.0.0.1:8080/scep');
    assert.match(scep!.PayloadContent.Challenge, /^[0-9a-f]{32}$/);
    assert.equal(scep!.PayloadContent.Keysize, 2048);
    assert.equal(scep!.PayloadContent['Key Usage'], 5);
    assert.ok(Buffer.from(scep!.PayloadContent.CAFingerprint).equals(crypto.createHash('sha1').update(caDer).digest()));
    assert.match(JSON.stringify(scep!.PayloadContent.Subject), /mdm-identity-/);
    assert.equal(mdm!.PayloadType, 'com.apple.mdm');
    assert.equal(mdm!.ServerURL, 'http://127.0.0.1:8080/mdm');
    assert.equal(mdm!.CheckInURL, 'http://127.0.0.1:8080/mdm/checkin');
    assert.equal(mdm!.Topic, topic);
    assert.equal(mdm!.IdentityCertificateUUID, scep!.PayloadUUID);
    assert.equal(mdm!.SignMessage, true);
    assert.equal(mdm!.CheckOutWhenRemoved, true);
    assert.deepEqual(mdm!.ServerCapabilities, ['com.apple.mdm.per-user-connections', 'com.apple.mdm.bootstraptoken']);
    assert.equal(mdm!.AccessRights, 8191);

    // Spent: a second download is refused.
    const again = await fetch(`${server.url}${p}/profile`);
    assert.equal(again.status, 410);
    assert.match(await again.text(), /already been used/);

    if (peer('openssl', ['version']).ok) {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, 'p.der'), der);
      fs.writeFileSync(path.join(dir, 'ca.pem'), await (await fetch(`${server.url}/pki/ca.pem`)).text());
      const v = spawnSync('openssl', ['cms', '-verify', '-inform', 'DER', '-in', 'p.der', '-CAfile', 'ca.pem', '-purpose', 'any', '-out', 'p.plist'], { cwd: dir, encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
      assert.match(v.stderr, /Verification successful/);
      if (peer('plistutil', ['-h']).ok) {
        const conv = spawnSync('plistutil', ['-i', 'p.plist', '-o', 'p.bin', '-f', 'bin'], { cwd: dir, encoding: 'utf8' });
        assert.equal(conv.status, 0, conv.stderr);
        const back = spawnSync('plistutil', ['-i', 'p.bin', '-o', '-', '-f', 'xml'], { cwd: dir, encoding: 'utf8' });
        assert.equal((plist.parse(back.stdout) as Dict).PayloadContent[2].Topic, topic);
      }
    }
  });

  test('a personal device gets every right but erase; unknown and expired links are refused', async () => {
    const profile = profileOf(Buffer.from(await (await fetch(`${server.url}${link('--ownership', 'personal')}/profile`)).arrayBuffer()));
    assert.equal((profile.PayloadContent as Dict[])[2]!.AccessRights, 8191 - 8);
    assert.equal((await fetch(`${server.url}/enroll/not-a-token`)).status, 404);
    const short = link('--ttl', '1s');
    await new Promise((r) => setTimeout(r, 1100));
    const expired = await fetch(`${server.url}${short}/profile`);
    assert.equal(expired.status, 410);
    assert.match(await expired.text(), /expired/);
    const bad = server.cli(['enroll', 'create', '--ownership', 'borrowed']);
    assert.equal(bad.status, 2);
  });

  test("a device enrolling with the profile's challenge is linked to the link's user and ownership", async () => {
    const profile = profileOf(Buffer.from(await (await fetch(`${server.url}${link('--user', 'sam@example.com', '--ownership', 'personal')}/profile`)).arrayBuffer()));
    const challenge = (profile.PayloadContent as Dict[])[1]!.PayloadContent.Challenge;
    const d = new AppleDevice(server.url);
    await d.scepEnroll(challenge);
    assert.equal((await d.authenticate()).status, 200);
    assert.equal((await d.tokenUpdate()).status, 200);
    const db = new Database(path.join(server.dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      const e = db.prepare('SELECT ownership, user_email, enrollment_token_id FROM apple_enrollments WHERE id = ?').get(d.udid) as Dict;
      assert.equal(e.ownership, 'personal');
      assert.equal(e.user_email, 'sam@example.com');
      const t = db.prepare('SELECT enrollment_id FROM enrollment_tokens WHERE id = ?').get(e.enrollment_token_id) as Dict;
      assert.equal(t.enrollment_id, d.udid);
    } finally {
      db.close();
    }
    // The challenge was one-time.
    const again = new AppleDevice(server.url);
    await assert.rejects(again.scepEnroll(challenge), /failInfo 2/);
  });
});

test('the server says at start that devices cannot enroll without a push certificate', async () => {
  const server = await startServer({ env: { MDM_SCEP_WORKERS: '0' } });
  try {
    const line = await server.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('no Apple push certificate yet'));
    assert.equal(line.level, 40);
  } finally {
    await server.stop();
  }
});

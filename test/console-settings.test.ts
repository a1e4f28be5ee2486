// Settings in the console over HTTP: the push certificate's lifecycle (CSR download, vendor
// identity, signed request, Apple's certificate with the topic-change refusal and its override),
// API tokens created, used and revoked, admins added and deleted; each audited, refusals changing
// nothing.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { serve, type RunningServer } from '../src/main.ts';
import { pemBlocks } from '../src/pki/x509.ts';
import { ConsoleClient } from './support/console.ts';
import { issueForCsr, vendorChain } from './support/push-cert.ts';
import { runCli, tempDir } from './support/server.ts';

const PASSWORD = 'a long enough password';

describe('settings in the console', () => {
  let server: RunningServer;
  let url: string;
  let dataDir: string;
  let admin: ConsoleClient;
  let viewer: ConsoleClient;

  const sql = <T = Record<string, any>,>(query: string, ...args: unknown[]): T[] => {
    const db = new Database(path.join(dataDir, 'mdm.sqlite'), { readonly: true });
    try {
      return db.prepare(query).all(...args) as T[];
    } finally {
      db.close();
    }
  };
  const actions = () => sql<{ action: string; actor_name: string; target_label: string | null }>('SELECT action, actor_name, target_label FROM audit_events ORDER BY id');
  const banner = (t: string) => /class="banner error"[^>]*>([^<]*)</.exec(t)?.[1];
  const topic = () => sql<{ topic: string }>("SELECT topic FROM push_certificates WHERE status = 'active'")[0]?.topic;

  before(async () => {
    dataDir = tempDir();
    const config = loadConfig({ MDM_DATA_DIR: dataDir, MDM_SCEP_WORKERS: '0' }, { 'http-port': '0', 'https-port': 'off', listen: '127.0.0.1', 'public-url': 'http://127.0.0.1:8080' });
    server = await serve(config, createLogger('silent'));
    url = `http://127.0.0.1:${server.http!.port}`;
    for (const [name, role] of [['root', 'admin'], ['viewer', 'read-only']]) {
      assert.equal(runCli(['admin', 'create', '--username', name!, '--password-stdin', '--role', role!], { MDM_DATA_DIR: dataDir, MDM_LOG_LEVEL: 'warn' }, PASSWORD + '\n').status, 0);
    }
    admin = new ConsoleClient(url);
    assert.equal((await admin.login('root', PASSWORD)).status, 303);
    viewer = new ConsoleClient(url);
    assert.equal((await viewer.login('viewer', PASSWORD)).status, 303);
  });
  after(async () => {
    await server?.close();
  });

  test('push certificate: CSR made and downloaded, vendor identity imported, signed request downloaded, certificate uploaded; a new topic refused unless forced', async () => {
    const start = actions().length;
    const empty = await admin.get('/settings');
    for (const id of ['csr-cn', 'csr-email', 'vendor-p12', 'vendor-password', 'vendor-cert', 'vendor-key', 'vendor-chain', 'push-cert', 'push-key', 'push-force']) {
      assert.match(empty.text, new RegExp(`<label[^>]* for="${id}"`), `a label for ${id}`);
    }
    assert.equal((await admin.get('/settings/push/csr.pem')).status, 404, 'no CSR yet');
    const noVendor = await admin.post('/settings/push/signed-request', {}, { csrf: true });
    assert.equal(noVendor.status, 404);
    assert.match(banner(noVendor.text)!, /no MDM vendor certificate is installed/);

    assert.equal((await admin.post('/settings/push/csr', { common_name: 'Example MDM', email: '' }, { csrf: true })).headers.get('location'), '/settings?done=csr');
    assert.match((await admin.get('/settings')).text, /data-testid="pending-csr">Pending: [^<]*Example MDM/);
    const csr = await admin.get('/settings/push/csr.pem');
    assert.equal(csr.status, 200);
    assert.match(csr.headers.get('content-disposition')!, /attachment; filename="push.csr"/);
    assert.match(csr.text, /^-----BEGIN CERTIFICATE REQUEST-----/);
    assert.equal((await viewer.get('/settings/push/csr.pem')).status, 403);
    assert.doesNotMatch((await viewer.get('/settings')).text, /action="\/settings\//, 'no forms for a read-only admin');

    const chain = vendorChain();
    const badVendor = await admin.upload('/settings/push/vendor', { password: '', passphrase: '' }, { certificate: ['vendor.pem', chain.vendor.pem] }, { csrf: true });
    assert.equal(badVendor.status, 400);
    assert.match(banner(badVendor.text)!, /the certificate and its private key/);
    const vendor = await admin.upload('/settings/push/vendor', { password: '', passphrase: '' }, { certificate: ['vendor.pem', chain.vendor.pem], private_key: ['vendor.key', chain.vendor.keyPem], chain: ['chain.pem', chain.wwdr.pem + chain.root.pem] }, { csrf: true });
    assert.equal(vendor.headers.get('location'), '/settings?done=vendor', banner(vendor.text));
    assert.match((await admin.get('/settings')).text, /Installed: [^<]*MDM Vendor: Example Corp/);

    const request = await admin.post('/settings/push/signed-request', {}, { csrf: true });
    assert.equal(request.status, 200);
    assert.match(request.headers.get('content-disposition')!, /filename="push-request.txt"/);
    assert.match(Buffer.from(request.text.trim(), 'base64').toString('utf8'), /PushCertRequestCSR/);

    const issued = issueForCsr(pemBlocks(csr.text, 'CERTIFICATE REQUEST')[0]!);
    const installed = await admin.upload('/settings/push/certificate', { passphrase: '' }, { certificate: ['MDM_Certificate.pem', issued.pem] }, { csrf: true });
    assert.equal(installed.headers.get('location'), '/settings?done=certificate', banner(installed.text));
    assert.equal(topic(), issued.topic);
    assert.match((await admin.get('/settings?done=certificate')).text, new RegExp(`<dd>${issued.topic}</dd>`));

    // Another certificate, for a new CSR, with another topic: devices would lose their pushes.
    await admin.post('/settings/push/csr', { common_name: '', email: '' }, { csrf: true });
    const other = issueForCsr(pemBlocks((await admin.get('/settings/push/csr.pem')).text, 'CERTIFICATE REQUEST')[0]!);
    const refused = await admin.upload('/settings/push/certificate', {}, { certificate: ['other.pem', other.pem] }, { csrf: true });
    assert.equal(refused.status, 409);
    assert.match(banner(refused.text)!.replace(/&quot;/g, '"').replace(/&#39;/g, "'"), /differs from the active certificate's[^]*tick "Replace even if the topic differs"/);
    assert.equal(topic(), issued.topic, 'the active certificate stays');
    const forced = await admin.upload('/settings/push/certificate', { force: '1' }, { certificate: ['other.pem', other.pem] }, { csrf: true });
    assert.equal(forced.status, 303);
    assert.equal(topic(), other.topic);

    assert.deepEqual(
      actions().slice(start).map((a) => [a.action, a.actor_name]),
      [
        ['push.csr.create', 'root'],
        ['push.vendor.import', 'root'],
        ['push.certificate.import', 'root'],
        ['push.csr.create', 'root'],
        ['push.certificate.import', 'root'],
      ],
    );
  });

  test('API tokens: created (the secret shown once), used, revoked, then refused', async () => {
    const start = actions().length;
    assert.equal((await admin.post('/settings/api-tokens', { name: '' }, { csrf: true })).status, 400);
    const made = await admin.post('/settings/api-tokens', { name: 'backup script' }, { csrf: true });
    assert.equal(made.status, 201);
    const token = /id="created-token" readonly="" value="(mdm_[A-Za-z0-9_-]{43})"/.exec(made.text)?.[1];
    assert.ok(token, 'the secret in the page');
    assert.doesNotMatch((await admin.get('/settings')).text, new RegExp(token), 'shown only once');
    const call = () => fetch(`${url}/api/v1/devices`, { headers: { authorization: `Bearer ${token}` } }).then(async (r) => (await r.arrayBuffer(), r.status));
    assert.equal(await call(), 200);
    const id = sql<{ id: string }>("SELECT id FROM api_tokens WHERE name = 'backup script'")[0]!.id;
    assert.equal((await viewer.post(`/settings/api-tokens/${id}/revoke`, {}, { csrf: true })).status, 403, 'read-only');
    assert.equal(await call(), 200);
    assert.equal((await admin.post(`/settings/api-tokens/${id}/revoke`, {}, { csrf: true })).headers.get('location'), '/settings?done=token-revoked');
    assert.equal(await call(), 401);
    assert.match((await admin.get('/settings')).text, /<td>backup script<\/td>[^]*?revoked/);
    assert.equal((await admin.post('/settings/api-tokens/no-such-token/revoke', {}, { csrf: true })).status, 404);
    assert.deepEqual(actions().slice(start).map((a) => [a.action, a.target_label]), [
      ['api_token.create', 'backup script'],
      ['api_token.revoke', 'backup script'],
    ]);
    assert.ok(!JSON.stringify(sql('SELECT * FROM audit_events')).includes(token));
  });

  test('admins: added, signs in, deleted (their session ends); nobody deletes themselves or the last admin', async () => {
    const weak = await admin.post('/settings/admins', { username: 'helper', password: 'short', role: 'read-only' }, { csrf: true });
    assert.equal(weak.status, 400);
    assert.match(banner(weak.text)!, /at least 12 characters/);
    assert.equal((await admin.post('/settings/admins', { username: 'helper', password: PASSWORD, role: 'boss' }, { csrf: true })).status, 400);
    assert.equal((await admin.post('/settings/admins', { username: 'helper', password: PASSWORD, role: 'read-only' }, { csrf: true })).headers.get('location'), '/settings?done=admin-created');
    assert.equal((await admin.post('/settings/admins', { username: 'helper', password: PASSWORD, role: 'admin' }, { csrf: true })).status, 409, 'the name is taken');
    const helper = new ConsoleClient(url);
    assert.equal((await helper.login('helper', PASSWORD)).status, 303);
    const ids = Object.fromEntries(sql<{ id: string; username: string }>('SELECT id, username FROM admins').map((a) => [a.username, a.id]));

    const self = await admin.post(`/settings/admins/${ids.root}/delete`, {}, { csrf: true });
    assert.equal(self.status, 409);
    assert.match(banner(self.text)!, /your own account/);
    assert.equal((await admin.post(`/settings/admins/${ids.helper}/reset-two-factor`, {}, { csrf: true })).status, 303);
    assert.equal((await admin.post(`/settings/admins/${ids.helper}/delete`, {}, { csrf: true })).headers.get('location'), '/settings?done=admin-deleted');
    assert.equal((await helper.get('/')).status, 303, "the deleted admin's session has ended");

    // A second admin may not delete the only other one who can change things either, once it is the last.
    assert.equal((await admin.post('/settings/admins', { username: 'second', password: PASSWORD, role: 'admin' }, { csrf: true })).status, 303);
    const second = new ConsoleClient(url);
    await second.login('second', PASSWORD);
    assert.equal((await second.post(`/settings/admins/${ids.root}/delete`, {}, { csrf: true })).status, 303);
    const last = await second.post(`/settings/admins/${sql<{ id: string }>("SELECT id FROM admins WHERE username = 'second'")[0]!.id}/delete`, {}, { csrf: true });
    assert.equal(last.status, 409, 'themselves, in any case');
    assert.deepEqual(
      actions().filter((a) => a.action.startsWith('admin.') && a.action !== 'admin.login' && a.actor_name !== 'cli').map((a) => [a.action, a.target_label]),
      [
        ['admin.create', 'helper'],
        ['admin.totp.reset', 'helper'],
        ['admin.delete', 'helper'],
        ['admin.create', 'second'],
        ['admin.delete', 'root'],
      ],
    );
  });
});

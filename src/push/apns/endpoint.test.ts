import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../config.ts';
import { apnsEndpoint } from './endpoint.ts';

const base = { MDM_DATA_DIR: os.tmpdir(), MDM_HTTP_PORT: '0' };

test('APNs settings: production by default, the sandbox switch, a URL of its own, extra trust roots', () => {
  assert.deepEqual(loadConfig(base).apns, { url: 'https://api.push.apple.com', caFile: null });
  assert.equal(loadConfig({ ...base, MDM_APNS_SANDBOX: 'true' }).apns.url, 'https://api.sandbox.push.apple.com');
  assert.equal(loadConfig({ ...base, MDM_APNS_URL: 'https://127.0.0.1:2197/' }).apns.url, 'https://127.0.0.1:2197');
  assert.equal(loadConfig(base, { 'apns-url': 'https://apns.test:443' }).apns.url, 'https://apns.test:443');

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-apns-ca-'));
  const ca = path.join(dir, 'ca.pem');
  fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n');
  const config = loadConfig({ ...base, MDM_APNS_URL: 'https://127.0.0.1:2197', MDM_APNS_CA: ca });
  assert.deepEqual(apnsEndpoint(config), { url: 'https://127.0.0.1:2197', ca: fs.readFileSync(ca, 'utf8') });
  assert.deepEqual(apnsEndpoint(loadConfig(base)), { url: 'https://api.push.apple.com' });
});

test('invalid APNs settings name themselves', () => {
  const refused = (env: Record<string, string>, re: RegExp) =>
    assert.throws(
      () => loadConfig({ ...base, ...env }),
      (e: unknown) => e instanceof ConfigError && re.test(e.message),
    );
  refused({ MDM_APNS_URL: 'http://api.push.apple.com' }, /MDM_APNS_URL \(--apns-url\): must be an https:\/\/ base URL/);
  refused({ MDM_APNS_URL: 'https://api.push.apple.com/3/device' }, /MDM_APNS_URL/);
  refused({ MDM_APNS_URL: 'not a url' }, /MDM_APNS_URL/);
  refused({ MDM_APNS_SANDBOX: 'maybe' }, /MDM_APNS_SANDBOX \(--apns-sandbox\): must be true or false/);
  refused({ MDM_APNS_CA: '/nonexistent/ca.pem' }, /MDM_APNS_CA \(--apns-ca\): file not readable/);
  refused({ MDM_APNS_SANDBOX: 'yes', MDM_APNS_URL: 'https://127.0.0.1:2197' }, /MDM_APNS_URL\/MDM_APNS_SANDBOX: set one or neither/);
});

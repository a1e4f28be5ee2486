// Device identity from a TLS client certificate on the HTTPS listener, and from a trusted
// reverse proxy's RFC 9440 Client-Cert header.
import assert from 'node:assert/strict';
import https from 'node:https';
import { after, before, describe, test } from 'node:test';
import * as plist from 'plist';
import { toPem } from '../src/pki/x509.ts';
import { AppleDevice } from './support/apple-device.ts';
import { newDevice } from './support/scep-client.ts';
import { startServer, type TestServer } from './support/server.ts';

const CHALLENGE = 'identity-test-challenge';

function tlsPut(port: number, caPem: string, body: Buffer, contentType: string, client?: { cert: Buffer; key: string }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: contentType.includes('checkin') ? '/mdm/checkin' : '/mdm',
        method: 'PUT',
        servername: 'localhost',
        ca: caPem,
        ...(client ? { cert: toPem('CERTIFICATE', client.cert), key: client.key } : {}),
        headers: { 'content-type': contentType, 'content-length': body.length },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe('identity through TLS client certificates', () => {
  let server: TestServer;
  let port: number;
  let caPem: string;
  before(async () => {
    server = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' }, args: ['--https-port', '0'] });
    port = server.logs.find((l) => l.msg === 'listening' && l.scheme === 'https')!.port as number;
    caPem = await (await fetch(`${server.url}/pki/ca.pem`)).text();
  });
  after(async () => {
    await server.stop();
  });

  test('a device presenting its identity in TLS needs no Mdm-Signature; a foreign certificate is refused', async () => {
    const d = new AppleDevice(server.url);
    await d.scepEnroll(CHALLENGE);
    const client = { cert: d.identity.cert.der, key: d.key.key.export({ type: 'pkcs8', format: 'pem' }) as string };
    const auth = Buffer.from(plist.build({ MessageType: 'Authenticate', UDID: d.udid, Topic: 'com.apple.mgmt.External.t' }));
    assert.equal(await tlsPut(port, caPem, auth, 'application/x-apple-aspen-mdm-checkin', client), 200);
    const tu = Buffer.from(plist.build({ MessageType: 'TokenUpdate', UDID: d.udid, Topic: 'com.apple.mgmt.External.t', Token: d.token, PushMagic: 'm' }));
    assert.equal(await tlsPut(port, caPem, tu, 'application/x-apple-aspen-mdm-checkin', client), 200);
    const idle = Buffer.from(plist.build({ UDID: d.udid, Status: 'Idle' }));
    assert.equal(await tlsPut(port, caPem, idle, 'application/x-apple-aspen-mdm', client), 200);
    assert.equal(await tlsPut(port, caPem, idle, 'application/x-apple-aspen-mdm'), 400, 'no identity at all');
    const rogue = newDevice();
    const rogueClient = { cert: rogue.selfSigned.cert.der, key: rogue.key.export({ type: 'pkcs8', format: 'pem' }) as string };
    assert.equal(await tlsPut(port, caPem, idle, 'application/x-apple-aspen-mdm', rogueClient), 400, 'self-signed');
  });
});

describe('identity through a trusted reverse proxy (RFC 9440 Client-Cert)', () => {
  test('believed from a trusted proxy address only', async () => {
    const trusting = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0', MDM_TRUSTED_PROXIES: '127.0.0.1' } });
    const wary = await startServer({ env: { MDM_SCEP_CHALLENGE: CHALLENGE, MDM_SCEP_WORKERS: '0' } });
    try {
      for (const [server, expected] of [
        [trusting, 200],
        [wary, 400],
      ] as const) {
        const d = new AppleDevice(server.url);
        await d.scepEnroll(CHALLENGE);
        const header = { 'client-cert': `:${d.identity.cert.der.toString('base64')}:` };
        assert.equal((await d.authenticate({ identity: null, headers: header })).status, expected);
      }
      const bad = new AppleDevice(trusting.url);
      await bad.scepEnroll(CHALLENGE);
      assert.equal((await bad.authenticate({ identity: null, headers: { 'client-cert': 'not-rfc9440' } })).status, 400);
    } finally {
      await trusting.stop();
      await wary.stop();
    }
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyConnectionError, classifyGoaway, classifyResponse, tokenRejected } from './failures.ts';

test("APNs's answers: 4xx permanent except 429 and IdleTimeout, 5xx transient", () => {
  const permanent = (status: number, reason: string) => classifyResponse(status, reason).permanent;
  for (const [s, r] of [
    [400, 'BadDeviceToken'],
    [400, 'BadTopic'],
    [400, 'MissingTopic'],
    [403, 'BadCertificate'],
    [403, 'Forbidden'],
    [404, 'BadPath'],
    [405, 'MethodNotAllowed'],
    [410, 'Unregistered'],
    [413, 'PayloadTooLarge'],
  ] as const) {
    assert.equal(permanent(s, r), true, r);
  }
  for (const [s, r] of [
    [400, 'IdleTimeout'],
    [429, 'TooManyRequests'],
    [500, 'InternalServerError'],
    [503, 'ServiceUnavailable'],
    [503, 'Shutdown'],
  ] as const) {
    assert.equal(permanent(s, r), false, r);
  }
  assert.deepEqual(classifyResponse(502, undefined), { ok: false, permanent: false, status: 502, reason: 'BadResponse' });
  assert.deepEqual(classifyResponse(410, 'Unregistered', 1_700_000_000_000), {
    ok: false,
    permanent: true,
    status: 410,
    reason: 'Unregistered',
    timestamp: 1_700_000_000_000,
  });
});

test('connection errors: certificate trouble is permanent, the rest transient', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  assert.deepEqual(classifyConnectionError(err('DEPTH_ZERO_SELF_SIGNED_CERT')), {
    ok: false,
    permanent: true,
    reason: 'ServerCertificateUntrusted',
    detail: 'DEPTH_ZERO_SELF_SIGNED_CERT',
  });
  assert.equal(classifyConnectionError(err('ERR_TLS_CERT_ALTNAME_INVALID')).reason, 'ServerCertificateUntrusted');
  assert.deepEqual(classifyConnectionError(err('ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED')), {
    ok: false,
    permanent: true,
    reason: 'BadCertificate',
    detail: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
  });
  assert.equal(classifyConnectionError(err('ERR_SSL_TLSV1_ALERT_UNKNOWN_CA')).reason, 'BadCertificate');
  assert.deepEqual(classifyConnectionError(err('ECONNRESET')), { ok: false, permanent: false, reason: 'ConnectionLost', detail: 'ECONNRESET' });
  assert.deepEqual(classifyConnectionError(err('ECONNREFUSED'), 'ConnectionFailed'), {
    ok: false,
    permanent: false,
    reason: 'ConnectionFailed',
    detail: 'ECONNREFUSED',
  });
  assert.deepEqual(classifyConnectionError(undefined), { ok: false, permanent: false, reason: 'ConnectionLost' });
});

test('a GOAWAY before the connection was usable: permanent only for certificate reasons', () => {
  assert.deepEqual(classifyGoaway('BadCertificateEnvironment'), { ok: false, permanent: true, reason: 'BadCertificateEnvironment' });
  assert.deepEqual(classifyGoaway('Shutdown'), { ok: false, permanent: false, reason: 'Goaway', detail: 'Shutdown' });
  assert.deepEqual(classifyGoaway(undefined), { ok: false, permanent: false, reason: 'Goaway' });
});

test('tokenRejected: only answers about the token, not about the certificate or the service', () => {
  const fail = (status: number | undefined, reason: string, permanent = true) => ({ ok: false as const, permanent, reason, attempts: 1, ...(status ? { status } : {}) });
  assert.equal(tokenRejected(fail(410, 'Unregistered')), true);
  assert.equal(tokenRejected(fail(410, 'ExpiredToken')), true);
  assert.equal(tokenRejected(fail(400, 'BadDeviceToken')), true);
  assert.equal(tokenRejected(fail(undefined, 'BadDeviceToken')), true);
  assert.equal(tokenRejected(fail(400, 'DeviceTokenNotForTopic')), true);
  assert.equal(tokenRejected(fail(403, 'BadCertificate')), false);
  assert.equal(tokenRejected(fail(400, 'TopicDisallowed')), false);
  assert.equal(tokenRejected(fail(503, 'ServiceUnavailable', false)), false);
  assert.equal(tokenRejected({ ok: true, status: 200, apnsId: 'x', attempts: 1 }), false);
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { peer } from '../../test/support/peers.ts';
import { vendorChain } from '../../test/support/push-cert.ts';
import { AppError } from '../errors.ts';
import { readPkcs12 } from './pkcs12.ts';

const ossl = peer('openssl', ['version']);

describe('PKCS#12 files written by openssl', ossl.ok ? {} : { skip: ossl.reason }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-p12-'));
  const chain = vendorChain();
  const files = { key: path.join(dir, 'vendor.key'), cert: path.join(dir, 'vendor.pem'), chain: path.join(dir, 'chain.pem') };
  before(() => {
    fs.writeFileSync(files.key, chain.vendor.keyPem);
    fs.writeFileSync(files.cert, chain.vendor.pem);
    fs.writeFileSync(files.chain, chain.wwdr.pem + chain.root.pem);
  });

  /** `openssl pkcs12 -export` with `args`; null when this openssl cannot (no legacy provider). */
  function p12(name: string, password: string, args: string[]): Buffer | null {
    const out = path.join(dir, `${name}.p12`);
    const r = spawnSync('openssl', ['pkcs12', '-export', '-inkey', files.key, '-in', files.cert, '-certfile', files.chain, '-out', out, '-passout', `pass:${password}`, ...args], {
      encoding: 'utf8',
    });
    if (r.status !== 0) return null;
    return fs.readFileSync(out);
  }

  const variants: Array<[name: string, args: string[], legacy: boolean]> = [
    ['OpenSSL 3 default (PBES2, PBKDF2 + AES-256-CBC, HMAC-SHA256)', [], false],
    ['PBES2 with AES-128 and a SHA-1 MAC', ['-keypbe', 'AES-128-CBC', '-certpbe', 'AES-128-CBC', '-macalg', 'sha1'], false],
    ['-legacy: 3DES key, 40-bit RC2 certificates, SHA-1 MAC', ['-legacy'], true],
    ['3DES throughout, as Keychain Access exports', ['-legacy', '-certpbe', 'PBE-SHA1-3DES', '-keypbe', 'PBE-SHA1-3DES'], true],
    ['2-key 3DES key, 128-bit RC2 certificates', ['-legacy', '-keypbe', 'PBE-SHA1-2DES', '-certpbe', 'PBE-SHA1-RC2-128'], true],
    ['no MAC', ['-nomac'], false],
    ['unencrypted bags', ['-keypbe', 'NONE', '-certpbe', 'NONE'], false],
  ];
  for (const [name, args, legacy] of variants) {
    test(name, (t) => {
      const der = p12(name.replace(/\W+/g, '-'), 'correct horse', args);
      if (!der) {
        assert.ok(legacy, `openssl pkcs12 ${args.join(' ')} failed`);
        t.skip('this openssl has no legacy provider');
        return;
      }
      const contents = readPkcs12(der, 'correct horse');
      assert.equal(contents.keys.length, 1);
      assert.ok(contents.keys[0]!.equals(chain.vendor.key));
      assert.deepEqual(
        contents.certificates.map((c) => c.toString('hex')).sort(),
        [chain.vendor.der, chain.wwdr.der, chain.root.der].map((c) => c.toString('hex')).sort(),
      );
      if (!args.includes('-nomac')) {
        assert.throws(() => readPkcs12(der, 'correct horse!'), refusal('pkcs12_bad_password', 422));
        assert.throws(() => readPkcs12(der, ''), refusal('pkcs12_bad_password', 422));
      }
    });
  }

  test('without a MAC, a wrong password still fails, at decryption', () => {
    const der = p12('nomac-wrong', 'correct horse', ['-nomac'])!;
    assert.throws(() => readPkcs12(der, 'wrong'), refusal('pkcs12_bad_password', 422));
  });

  test('an empty password opens a file exported with one', () => {
    const der = p12('empty', '', [])!;
    assert.ok(readPkcs12(der, '').keys[0]!.equals(chain.vendor.key));
    assert.throws(() => readPkcs12(der, 'x'), refusal('pkcs12_bad_password', 422));
  });

  test('RC4 is refused by name', (t) => {
    const der = p12('rc4', 'pw', ['-legacy', '-certpbe', 'PBE-SHA1-RC4-128']);
    if (!der) return t.skip('this openssl has no legacy provider');
    assert.throws(
      () => readPkcs12(der, 'pw'),
      (e: unknown) => refusal('pkcs12_unsupported', 422)(e) && /pbeWithSHAAnd128BitRC4/.test((e as Error).message),
    );
  });

  test('damaged or foreign input is unreadable, not a wrong password', () => {
    const der = p12('damaged', 'pw', [])!;
    for (const bad of [der.subarray(0, der.length - 40), Buffer.from('-----BEGIN CERTIFICATE-----'), chain.vendor.der, Buffer.alloc(0)]) {
      assert.throws(() => readPkcs12(bad, 'pw'), refusal('pkcs12_unreadable', 400));
    }
  });
});

function refusal(code: string, status: number) {
  return (e: unknown) => e instanceof AppError && e.code === code && e.status === status;
}

test('a file from the key alone has no certificates, and one from the certificate alone no key', { skip: ossl.ok ? false : ossl.reason }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdm-p12-'));
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const chain = vendorChain();
  fs.writeFileSync(path.join(dir, 'k.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  fs.writeFileSync(path.join(dir, 'c.pem'), chain.vendor.pem);
  const run = (args: string[]) => {
    const r = spawnSync('openssl', ['pkcs12', '-export', '-out', path.join(dir, 'x.p12'), '-passout', 'pass:pw', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return readPkcs12(fs.readFileSync(path.join(dir, 'x.p12')), 'pw');
  };
  const keyOnly = run(['-inkey', path.join(dir, 'k.pem'), '-nocerts']);
  assert.equal(keyOnly.keys.length, 1);
  assert.equal(keyOnly.certificates.length, 0);
  const certOnly = run(['-in', path.join(dir, 'c.pem'), '-nokeys']);
  assert.equal(certOnly.keys.length, 0);
  assert.deepEqual(certOnly.certificates, [chain.vendor.der]);
});

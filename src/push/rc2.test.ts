import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { peer } from '../../test/support/peers.ts';
import { rc2CbcDecrypt, rc2DecryptBlock } from './rc2.ts';

describe('RC2', () => {
  test('decrypts the RFC 2268 section 5 test vectors', () => {
    const vectors: Array<[key: string, bits: number, plain: string, cipher: string]> = [
      ['0000000000000000', 63, '0000000000000000', 'ebb773f993278eff'],
      ['ffffffffffffffff', 64, 'ffffffffffffffff', '278b27e42e2f0d49'],
      ['3000000000000000', 64, '1000000000000001', '30649edf9be7d2c2'],
      ['88', 64, '0000000000000000', '61a8a244adacccf0'],
      ['88bca90e90875a', 64, '0000000000000000', '6ccf4308974c267f'],
      ['88bca90e90875a7f0f79c384627bafb2', 64, '0000000000000000', '1a807d272bbe5db1'],
      ['88bca90e90875a7f0f79c384627bafb2', 128, '0000000000000000', '2269552ab0f85ca6'],
      ['88bca90e90875a7f0f79c384627bafb216f80a6f85920584c42fceb0be255daf1e', 129, '0000000000000000', '5b78d3a43dfff1f1'],
    ];
    for (const [key, bits, plain, cipher] of vectors) {
      assert.equal(rc2DecryptBlock(Buffer.from(key, 'hex'), bits, Buffer.from(cipher, 'hex')).toString('hex'), plain, `${key}/${bits}`);
    }
  });

  const ossl = peer('openssl', ['version']);
  test('decrypts what openssl encrypts with rc2-40-cbc and rc2-cbc, padding removed; a wrong key fails the padding', ossl.ok ? {} : { skip: ossl.reason }, (t) => {
    const plain = Buffer.from('a certificate bag is longer than one block, and not a multiple of eight');
    const iv = Buffer.from('0102030405060708', 'hex');
    for (const [cipher, key] of [
      ['rc2-40-cbc', Buffer.from('0a1b2c3d4e', 'hex')],
      ['rc2-cbc', Buffer.from('00112233445566778899aabbccddeeff', 'hex')],
    ] as const) {
      const r = spawnSync('openssl', ['enc', `-${cipher}`, '-provider', 'legacy', '-provider', 'default', '-K', key.toString('hex'), '-iv', iv.toString('hex')], { input: plain });
      if (r.status !== 0) {
        // Without OpenSSL's legacy provider there is no RC2 peer; the vectors above still ran.
        t.diagnostic(`openssl cannot ${cipher} here: ${r.stderr.toString().split('\n')[0]}`);
        continue;
      }
      assert.deepEqual(rc2CbcDecrypt(key, key.length * 8, iv, r.stdout), plain, cipher);
      const wrong = Buffer.from(key);
      wrong[0] = wrong[0]! ^ 0xff;
      assert.equal(rc2CbcDecrypt(wrong, key.length * 8, iv, r.stdout), null, `${cipher} with a wrong key`);
    }
  });

  test('refuses input that is not whole blocks', () => {
    assert.equal(rc2CbcDecrypt(Buffer.alloc(5), 40, Buffer.alloc(8), Buffer.alloc(12)), null);
    assert.equal(rc2CbcDecrypt(Buffer.alloc(5), 40, Buffer.alloc(8), Buffer.alloc(0)), null);
  });
});

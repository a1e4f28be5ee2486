// The access-token source against the fake's token endpoint: cached, renewed before expiry, per key.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEFAULT_RETRY } from '../src/android/amapi/retry.ts';
import { parseServiceAccountKey } from '../src/android/amapi/service-account.ts';
import { createTokenSource } from '../src/android/amapi/token.ts';
import { createLogger } from '../src/log.ts';
import { startFakeAmapi, type FakeAmapi } from './support/fake-amapi.ts';

let fake: FakeAmapi;
before(async () => {
  fake = await startFakeAmapi();
});
after(() => fake.close());

test('one token per key, reused until two minutes before it expires, then renewed; invalidate forgets it', async () => {
  // The fake checks the assertion's iat and exp against its real clock (exp not past, iat at most
  // five minutes ahead): starting 3400 s back keeps every assertion below within that window.
  let clock = Date.now() - 3_400_000;
  const tokens = createTokenSource({ log: createLogger('silent'), retry: DEFAULT_RETRY, wait: async () => {}, now: () => clock });
  const key = parseServiceAccountKey(fake.serviceAccountKey().json);
  const [a, b] = await Promise.all([tokens.get(key), tokens.get(key)]);
  assert.equal(a, b);
  assert.equal(fake.tokensIssued, 1, 'concurrent callers share one request');
  clock += 3600_000 - 121_000;
  assert.equal(await tokens.get(key), a);
  assert.equal(fake.tokensIssued, 1);
  clock += 2_000;
  const renewed = await tokens.get(key);
  assert.notEqual(renewed, a);
  assert.equal(fake.tokensIssued, 2);

  tokens.invalidate(renewed);
  assert.notEqual(await tokens.get(key), renewed);
  assert.equal(fake.tokensIssued, 3);

  const other = parseServiceAccountKey(fake.serviceAccountKey().json);
  await tokens.get(other);
  assert.equal(fake.tokensIssued, 4, 'another key gets its own token');
});

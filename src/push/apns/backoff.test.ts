import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, createDelays } from './backoff.ts';

const policy = { baseMs: 200, capMs: 30_000 };

test('backoff doubles per retry between half and all of its ceiling, and stops at the cap', () => {
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 0)),
    [100, 200, 400, 800],
  );
  assert.deepEqual(
    [1, 2, 3, 4].map((n) => backoffDelay(n, policy, () => 1)),
    [200, 400, 800, 1_600],
  );
  assert.equal(backoffDelay(20, policy, () => 1), 30_000);
  assert.equal(backoffDelay(20, policy, () => 0), 15_000);
  assert.equal(backoffDelay(3, policy, () => 0.5), 600);
});

test('cancelAll ends pending waits at once and makes later ones immediate', async () => {
  const delays = createDelays();
  const long = delays.wait(3_600_000);
  delays.cancelAll();
  await long;
  await delays.wait(3_600_000);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Fifo } from './fifo.ts';
import { Slots } from './slots.ts';

test('slots: granted up to the limit, then in arrival order as they are released; close turns waiters away', async () => {
  const slots = new Slots(2);
  assert.equal(await slots.acquire(), true);
  assert.equal(await slots.acquire(), true);
  const order: string[] = [];
  const a = slots.acquire().then((ok) => order.push(`a:${ok}`));
  const b = slots.acquire().then((ok) => order.push(`b:${ok}`));
  const c = slots.acquire().then((ok) => order.push(`c:${ok}`));
  assert.deepEqual({ inUse: slots.inUse, waiting: slots.waiting }, { inUse: 2, waiting: 3 });
  slots.release();
  slots.release();
  await Promise.all([a, b]);
  slots.close();
  await c;
  assert.deepEqual(order, ['a:true', 'b:true', 'c:false']);
  assert.equal(await slots.acquire(), false);
});

test('fifo: keeps order across its compaction', () => {
  const q = new Fifo<number>();
  const out: number[] = [];
  for (let i = 0; i < 5_000; i++) {
    q.push(i);
    if (i % 3 === 0) out.push(q.shift()!);
  }
  while (q.size) out.push(q.shift()!);
  assert.deepEqual(out, Array.from({ length: 5_000 }, (_, i) => i));
  assert.equal(q.shift(), undefined);
  q.push(1);
  q.push(2);
  assert.deepEqual(q.drain(), [1, 2]);
  assert.equal(q.size, 0);
});

// Events and disposables: every subscription can be counted and is gone after dispose.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DisposableStore, Emitter, Throttle } from '../../src/extension/events';

test('an emitter counts its listeners and forgets each one on dispose', () => {
  const e = new Emitter<number>();
  const seen: number[] = [];
  const a = e.event((n) => seen.push(n));
  const b = e.event((n) => seen.push(n * 10));
  assert.equal(e.listenerCount, 2);
  e.fire(1);
  a.dispose();
  e.fire(2);
  b.dispose();
  e.fire(3);
  assert.deepEqual(seen, [1, 10, 20]);
  assert.equal(e.listenerCount, 0);
});

test('a throwing listener does not stop the others', () => {
  const e = new Emitter<void>();
  let called = false;
  const errors = console.error;
  console.error = () => {};
  try {
    e.event(() => {
      throw new Error('boom');
    });
    e.event(() => (called = true));
    e.fire();
  } finally {
    console.error = errors;
  }
  assert.ok(called);
});

test('a store disposes newest first, once, and disposes what is added after it closed', () => {
  const order: string[] = [];
  const store = new DisposableStore();
  store.add({ dispose: () => order.push('a') });
  store.onDispose(() => order.push('b'));
  assert.equal(store.size, 2);
  store.dispose();
  store.dispose();
  assert.deepEqual(order, ['b', 'a']);
  store.add({ dispose: () => order.push('late') });
  assert.deepEqual(order, ['b', 'a', 'late']);
  assert.equal(store.size, 0);
});

test('a throttle merges the requests of one window into one call, and dispose cancels a pending one', async () => {
  let calls = 0;
  const t = new Throttle(() => calls++, 20);
  t.request();
  t.request();
  t.request();
  assert.equal(calls, 0, 'the call waits for the end of the window');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, 1);
  t.request();
  t.dispose();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, 1, 'disposed before its window ended');
});

test('a throttle\'s window can be chosen at each request', async () => {
  let calls = 0;
  let ms = 10;
  const t = new Throttle(() => calls++, () => ms);
  t.request();
  await new Promise((r) => setTimeout(r, 40));
  assert.equal(calls, 1, 'the short window ended');
  ms = 200;
  t.request();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(calls, 1, 'the long window, chosen at this request, has not');
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(calls, 2);
  t.dispose();
});

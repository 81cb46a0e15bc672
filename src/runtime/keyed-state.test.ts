import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StateStore } from './keyed-state.js';

describe('StateStore', () => {
  it('takes back the last batch applied: overwritten, deleted and new keys as before it', () => {
    const store = new StateStore();
    store.load(0, [
      ['a', '1'],
      ['b', '2'],
    ]);
    store.beginRecord(0);
    store.set('a', 10);
    store.delete('b');
    store.set('c', 3);
    store.beginRecord(1);
    store.set('x', 'new partition');
    store.applyBatch();
    assert.deepEqual(store.snapshot(0), { a: 10, c: 3 });
    store.revertBatch();
    assert.deepEqual(store.snapshot(0), { a: 1, b: 2 });
    assert.deepEqual(store.snapshot(1), {});
  });

  it('takes back only the last batch: the one before stays applied', () => {
    const store = new StateStore();
    store.beginRecord(0);
    store.set('a', 1);
    store.applyBatch();
    store.beginRecord(0);
    store.set('a', 2);
    store.set('a', 3);
    store.applyBatch();
    store.revertBatch();
    assert.deepEqual(store.snapshot(0), { a: 1 });
    store.revertBatch();
    assert.deepEqual(store.snapshot(0), { a: 1 }, 'a second revert changes nothing');
  });
});

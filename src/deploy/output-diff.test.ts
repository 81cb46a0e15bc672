// Issue 10, item 14.1: the shadow-diff line said `1670 identical` when 1478 of them changed in allowed fields.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareOutputs, type OutputPair } from './output-diff.js';

const order = (amountEur: number, tier = 'std', orderId = 'o-1'): string =>
  JSON.stringify({ orderId, amountEur, tier });

/** Blue's and green's output of the same inputs, by source: what each case changes on green's side. */
function pair(rows: Array<[source: string, blue: string | undefined, green: string | undefined]>): OutputPair {
  const live = new Map<string, string>();
  const shadow = new Map<string, string>();
  for (const [source, blue, green] of rows) {
    if (blue !== undefined) live.set(source, blue);
    if (green !== undefined) shadow.set(source, green);
  }
  return { topic: 'enriched-orders.v1', live, shadow };
}

describe('compareOutputs', () => {
  const rows: Array<[string, string | undefined, string | undefined]> = [
    ['orders.v1/0/0', order(10), order(10)], // byte for byte the same
    ['orders.v1/0/1', order(11), order(11)],
    ['orders.v1/0/2', order(12), order(13)], // amountEur changed: allowed
    ['orders.v1/0/3', order(14), order(15, 'vip')], // amountEur and tier: both allowed
    ['orders.v1/0/4', order(16), order(17, 'std', 'o-x')], // orderId changed too: unexpected
    ['orders.v1/0/5', order(18), undefined], // missing
    ['orders.v1/0/6', undefined, order(19)], // extra
  ];

  it('counts records that changed only in allowed fields apart from identical ones', () => {
    const diff = compareOutputs([pair(rows)], ['amountEur', 'tier']);
    assert.equal(diff.compared, 7);
    assert.equal(diff.identical, 2, 'byte-for-byte equal only');
    assert.equal(diff.changedAllowed, 2);
    assert.equal(diff.changed, 1);
    assert.equal(diff.missing, 1);
    assert.equal(diff.extra, 1);
    assert.equal(diff.identical + (diff.changedAllowed ?? 0) + diff.changed + diff.missing + diff.extra, diff.compared);
    assert.deepEqual(diff.changedFields, { amountEur: 3, tier: 1, orderId: 1 });
    assert.deepEqual(diff.allowedFields, ['amountEur', 'tier']);
    // The ratio counts only the unexpected: changed, missing, extra.
    assert.equal(diff.ratio, 3 / 7);
    assert.deepEqual(
      diff.examples.filter((e) => e.kind === 'changed'),
      [{ kind: 'changed', topic: 'enriched-orders.v1', source: 'orders.v1/0/4', fields: ['orderId', 'amountEur'] }],
    );
  });

  it('without allowed fields, every change is unexpected', () => {
    const diff = compareOutputs([pair(rows)]);
    assert.equal(diff.identical, 2);
    assert.equal(diff.changedAllowed, 0);
    assert.equal(diff.changed, 3);
    assert.equal(diff.ratio, 5 / 7);
    assert.deepEqual(diff.allowedFields, []);
  });

  it('counts a value re-serialised with the same content as identical, and compares across output datasets', () => {
    const other = pair([['orders.v1/1/0', '{"a":1,"b":2}', '{"b":2,"a":1}']]);
    const diff = compareOutputs([pair(rows.slice(0, 3)), { ...other, topic: 'other.v1' }], ['amountEur']);
    assert.equal(diff.compared, 4);
    assert.equal(diff.identical, 3);
    assert.equal(diff.changedAllowed, 1);
    assert.equal(diff.ratio, 0);
  });

  it('gives zeros when nothing was compared', () => {
    const diff = compareOutputs([]);
    assert.deepEqual([diff.compared, diff.identical, diff.changedAllowed, diff.changed, diff.ratio], [0, 0, 0, 0, 0]);
  });

  it('compares values that are not JSON text (Avro of a registry format, read as bytes) as a whole, without throwing', () => {
    const avroText = (bytes: number[]) => Buffer.from([0, 0, 0, 0, 7, ...bytes]).toString('utf8');
    const diff = compareOutputs([
      pair([
        ['orders.v1/0/0', avroText([2, 0x61, 4]), avroText([2, 0x61, 4])],
        ['orders.v1/0/1', avroText([2, 0x61, 4]), avroText([2, 0x61, 6])],
      ]),
    ]);
    assert.equal(diff.identical, 1);
    assert.equal(diff.changed, 1);
    assert.deepEqual(diff.changedFields, { '(value)': 1 });
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffSinkRows } from './sink-shadow.js';

const sink = {
  table: 'account_totals',
  columns: [
    { name: 'account', type: 'text', nullable: false, field: 'account' },
    { name: 'total', type: 'bigint', nullable: false, field: 'total' },
    { name: 'last_payment', type: 'text', nullable: false, field: 'lastPayment' },
  ],
};
const row = (account: string, total: number, lastPayment: string) =>
  JSON.stringify({ account, total, last_payment: lastPayment });

describe('the sink shadow diff', () => {
  const live = new Map([
    ['p.v1/0/10', row('a', 5, 'p-10')],
    ['p.v1/0/11', row('b', 7, 'p-11')],
    ['p.v1/1/3', row('c', 1, 'p-3')],
    ['p.v1/1/4', row('d', 2, 'p-4')],
  ]);
  const shadow = new Map([
    ['p.v1/0/10', row('a', 5, 'p-10')],
    ['p.v1/0/11', row('b', 7, 'payment p-11')],
    ['p.v1/1/3', row('c', 9, 'p-3')],
    ['p.v1/1/5', row('d', 2, 'p-5')],
  ]);

  it('matches rows by source: identical, changed per column, missing, extra', () => {
    const d = diffSinkRows(sink, live, shadow);
    assert.deepEqual(
      { compared: d.compared, identical: d.identical, changed: d.changed, missing: d.missing, extra: d.extra },
      { compared: 5, identical: 1, changed: 2, missing: 1, extra: 1 },
    );
    assert.deepEqual(d.changedFields, { last_payment: 1, total: 1 });
    assert.deepEqual(
      d.examples.map((e) => [e.kind, e.source, e.fields]),
      [
        ['changed', 'p.v1/0/11', ['last_payment']],
        ['changed', 'p.v1/1/3', ['total']],
        ['extra', 'p.v1/1/5', undefined],
        ['missing', 'p.v1/1/4', undefined],
      ],
    );
    assert.equal(d.ratio, 4 / 5);
  });

  it('takes allowed changes by column or by the field that fills it', () => {
    for (const allowed of [['lastPayment'], ['last_payment']]) {
      const d = diffSinkRows(sink, live, shadow, allowed);
      assert.equal(d.changedAllowed, 1);
      assert.equal(d.changed, 1);
      assert.deepEqual(d.allowedFields, ['last_payment']);
    }
  });
});

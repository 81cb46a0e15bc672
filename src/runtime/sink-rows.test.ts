import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineTable } from '../datastore/table.js';
import { tableSink } from '../pipeline/table-sink.js';
import { type SinkBatch, SinkRowError, SinkRows } from './sink-rows.js';

const totals = defineTable({
  name: 'totals',
  columns: {
    customer_id: { type: 'text', field: 'customerId', nullable: false },
    total: { type: 'double precision', nullable: false },
    note: 'text',
    extra: 'jsonb',
  },
  primaryKey: 'customer_id',
});
const lines = defineTable({
  name: 'lines',
  columns: { order_id: { type: 'text', nullable: false }, line: { type: 'bigint', nullable: false }, qty: 'bigint' },
  primaryKey: ['order_id', 'line'],
});

/** A batch as rows (arrays of column values) and deletes, sorted: the order of rows in a batch does not matter. */
function shape(batch: SinkBatch): { upserts: unknown[][]; deletes: unknown[][]; rows: number } {
  const rowsOf = (columns: unknown[][]): unknown[][] =>
    (columns[0] ?? []).map((_, i) => columns.map((c) => c[i])).sort((a, b) => (String(a) < String(b) ? -1 : 1));
  return { upserts: rowsOf(batch.upserts), deletes: rowsOf(batch.deletes), rows: batch.rows };
}

/**
 * Writes each record's operations, committing it, or rolling it back when the record says so. Record i's source
 * is `orders/0/i`.
 */
function run(rows: SinkRows, records: Array<{ ops: Array<['emit' | 'tombstone', unknown]>; fails?: boolean }>): void {
  for (const [i, r] of records.entries()) {
    for (const [op, value] of r.ops) op === 'emit' ? rows.emit(value, `orders/0/${i}`) : rows.tombstone(value);
    if (r.fails) rows.rollbackRecord();
    else rows.commitRecord();
  }
}

describe('SinkRows: a batch of rows for a table sink', () => {
  it('upsert: the last write of a key wins, tombstones included; a failed record leaves nothing', () => {
    const rows = new SinkRows(tableSink(totals, { deleteOnTombstone: true }));
    run(rows, [
      { ops: [['emit', { customerId: 'a', total: 1 }]] },
      { ops: [['emit', { customerId: 'b', total: 2, note: 'x', extra: { k: [1] } }]] },
      { ops: [['emit', { customerId: 'a', total: 3 }]] },
      { ops: [['tombstone', { customerId: 'b' }]] },
      { ops: [['tombstone', { customerId: 'c' }]] },
      { ops: [['emit', { customerId: 'c', total: 4 }]] },
      // A failed record: its writes (an overwrite of a, a delete of c, a new d) never reach the batch.
      {
        ops: [
          ['emit', { customerId: 'a', total: 99 }],
          ['tombstone', { customerId: 'c' }],
          ['emit', { customerId: 'd', total: 5 }],
        ],
        fails: true,
      },
      { ops: [['tombstone', { customerId: 'e' }]] },
      { ops: [['emit', { customerId: 'f', total: 6 }]] },
      { ops: [['tombstone', { customerId: 'f' }]] },
      // One record deleting then writing a key, and one writing then deleting another: its last write wins.
      {
        ops: [
          ['tombstone', { customerId: 'g' }],
          ['emit', { customerId: 'g', total: 8 }],
          ['emit', { customerId: 'h', total: 9 }],
          ['tombstone', { customerId: 'h' }],
        ],
      },
    ]);
    assert.deepEqual(shape(rows.takeBatch()), {
      upserts: [
        ['a', 3, null, null, 'orders/0/2'],
        ['c', 4, null, null, 'orders/0/5'],
        // g's row is its record's second write
        ['g', 8, null, null, 'orders/0/10#1'],
      ],
      deletes: [['b'], ['e'], ['f'], ['h']],
      rows: 7,
    });
    assert.deepEqual(shape(rows.takeBatch()), { upserts: [], deletes: [], rows: 0 }, 'a fresh start');
    rows.emit({ customerId: 'a', total: 7, extra: { deep: true } }, 'orders/1/40');
    assert.equal(rows.commitRecord(), 1);
    assert.deepEqual(shape(rows.takeBatch()).upserts, [['a', 7, null, '{"deep":true}', 'orders/1/40']]);
  });

  it('upsert with a primary key of two columns; one record writing a key twice keeps its last write', () => {
    const rows = new SinkRows(tableSink(lines, { deleteOnTombstone: true }));
    run(rows, [
      {
        ops: [
          ['emit', { order_id: 'o1', line: 1, qty: 1 }],
          ['emit', { order_id: 'o1', line: 2, qty: 2 }],
          ['emit', { order_id: 'o1', line: 1, qty: 3 }],
        ],
      },
      { ops: [['tombstone', { order_id: 'o1', line: 2 }]] },
      { ops: [['emit', { order_id: 'o2', line: 1 }]] },
    ]);
    assert.deepEqual(shape(rows.takeBatch()), {
      upserts: [
        ['o1', 1, 3, 'orders/0/0#2'],
        ['o2', 1, null, 'orders/0/2'],
      ],
      deletes: [['o1', 2]],
      rows: 3,
    });
  });

  it('append: every row, in order, duplicates included; a failed record leaves nothing', () => {
    const rows = new SinkRows(tableSink(lines, { mode: 'append' }));
    run(rows, [
      { ops: [['emit', { order_id: 'o1', line: 1, qty: 1 }]] },
      { ops: [['emit', { order_id: 'o1', line: 1, qty: 2 }]], fails: true },
      {
        ops: [
          ['emit', { order_id: 'o1', line: 1, qty: 3 }],
          ['emit', { order_id: 'o2', line: 1, qty: 4 }],
        ],
      },
    ]);
    const batch = rows.takeBatch();
    assert.deepEqual(batch.upserts, [
      ['o1', 'o1', 'o2'],
      [1, 1, 1],
      [1, 3, 4],
      ['orders/0/0', 'orders/0/2', 'orders/0/2#1'],
    ]);
    assert.deepEqual(batch.deletes, [[], []]);
    assert.equal(batch.rows, 3);
  });

  it('a wrong row or tombstone is a SinkRowError and leaves the record’s earlier writes to its rollback', () => {
    const rows = new SinkRows(tableSink(totals, { deleteOnTombstone: true }));
    run(rows, [{ ops: [['emit', { customerId: 'a', total: 1 }]] }]);
    rows.emit({ customerId: 'b', total: 2 }, 'orders/0/1');
    assert.throws(
      () => rows.emit({ customerId: 'c' }, 'orders/0/1'),
      SinkRowError,
      'a NOT NULL column without its field',
    );
    assert.throws(
      () => rows.emit({ customerId: 'c', total: 1, note: { x: 1 } }, 'orders/0/1'),
      SinkRowError,
      'an object into text',
    );
    assert.throws(() => rows.emit([1], 'orders/0/1'), SinkRowError);
    assert.throws(() => rows.tombstone({ total: 1 }), SinkRowError, 'no primary key field');
    rows.rollbackRecord();
    assert.deepEqual(shape(rows.takeBatch()).upserts, [['a', 1, null, null, 'orders/0/0']]);
    const noDeletes = new SinkRows(tableSink(totals));
    assert.throws(() => noDeletes.tombstone({ customerId: 'a' }), SinkRowError);
  });
});

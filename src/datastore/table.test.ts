import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import { defineDataset } from '../dataset/dataset.js';
import { connectDatastore } from './connection.js';
import { columnsFromSchema, createTableStatement, defineTable } from './table.js';

const orderTotals = defineDataset({
  name: 'order-totals',
  version: '1.0.0',
  key: 'customerId',
  schema: Type.Object({
    customerId: Type.String(),
    total: Type.Number(),
    orders: Type.Integer(),
    at: Type.String({ format: 'date-time' }),
    note: Type.Optional(Type.String()),
    tags: Type.Array(Type.String()),
  }),
});

describe('defineTable', () => {
  it('derives columns from a dataset schema, the primary key NOT NULL', () => {
    const table = defineTable({ name: 'order_totals', from: orderTotals, primaryKey: 'customer_id' });
    assert.deepEqual(
      table.columns.map((c) => [c.name, c.type, c.nullable, c.field]),
      [
        ['customer_id', 'text', false, 'customerId'],
        ['total', 'double precision', false, 'total'],
        ['orders', 'bigint', false, 'orders'],
        ['at', 'timestamptz', false, 'at'],
        ['note', 'text', true, 'note'],
        ['tags', 'jsonb', false, 'tags'],
      ],
    );
    assert.equal(table.datastore, 'main');
    assert.deepEqual(columnsFromSchema({ type: 'object' }), []);
  });

  it('refuses bad declarations with SLIPWAY_INVALID_DEFINITION naming the field', () => {
    const cases: Array<[Parameters<typeof defineTable>[0], string]> = [
      [{ name: 'Bad Name', columns: { a: 'text' }, primaryKey: 'a' }, 'name'],
      [{ name: 't', columns: { a: 'varchar' }, primaryKey: 'a' }, 'columns.a.type'],
      [{ name: 't', columns: { a: 'text' }, primaryKey: 'b' }, 'primaryKey'],
      [{ name: 't', primaryKey: 'a' }, 'columns'],
      [{ name: 't', columns: { a: 'text' }, primaryKey: 'a', migrations: [{ up: '' }] }, 'migrations[0].up'],
      [
        { name: 't', columns: { a: 'text' }, primaryKey: 'a', migrations: [{ version: 2, up: 'SELECT 1' }] },
        'migrations[0]',
      ],
    ];
    for (const [definition, field] of cases)
      assert.throws(
        () => defineTable(definition),
        (e: { code?: string; details?: { field?: string } }) =>
          e.code === 'SLIPWAY_INVALID_DEFINITION' && e.details?.field === field,
        field,
      );
  });

  describe('against PostgreSQL', () => {
    const schema = `slipway_table_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
    before(async () => {
      await client.connect();
      await client.query(`CREATE SCHEMA ${schema}`);
    });
    after(async () => {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    });

    it('creates the declared table (the implied first step)', async () => {
      const table = defineTable({
        name: 'order_totals',
        from: orderTotals,
        columns: { total: 'numeric(12,2)', region: { type: 'text', nullable: false } },
        primaryKey: ['customer_id', 'region'],
      });
      await client.query(createTableStatement(table, schema));
      await client.query(createTableStatement(table, schema)); // IF NOT EXISTS: a second run changes nothing
      const { rows } = await client.query(
        `SELECT column_name, data_type, is_nullable FROM information_schema.columns
          WHERE table_schema = $1 AND table_name = 'order_totals' ORDER BY ordinal_position`,
        [schema],
      );
      assert.deepEqual(
        rows.map((r) => `${r.column_name} ${r.data_type} ${r.is_nullable}`),
        [
          'customer_id text NO',
          'total numeric NO',
          'orders bigint NO',
          'at timestamp with time zone NO',
          'note text YES',
          'tags jsonb NO',
          'region text NO',
        ],
      );
    });
  });
});

describe('connectDatastore', () => {
  it('names the database it cannot reach with SLIPWAY_DATASTORE_UNAVAILABLE, retryable', async () => {
    await assert.rejects(
      connectDatastore(
        { kind: 'postgres', host: '127.0.0.1', port: 1, database: 'test', user: 'postgres', schema: 'public' },
        'test',
      ),
      (e: { code?: string; retryable?: boolean; message: string }) =>
        e.code === 'SLIPWAY_DATASTORE_UNAVAILABLE' && e.retryable === true && e.message.includes('127.0.0.1:1'),
    );
  });
});

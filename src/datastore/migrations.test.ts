import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { isSlipwayError } from '../errors.js';
import { applyMigrations, type MigrationEvent, undoMigrations } from './migration-apply.js';
import { readLedger } from './migration-ledger.js';
import { planDatastore } from './migration-plan.js';
import { defineTable, type TableDefinition } from './table.js';

const create = 'CREATE TABLE orders (id text PRIMARY KEY, total bigint NOT NULL)';
const addNote = {
  description: 'add note',
  up: 'ALTER TABLE orders ADD COLUMN note text',
  down: 'ALTER TABLE orders DROP COLUMN note',
};
const orders = (migrations: TableDefinition['migrations'], columns: TableDefinition['columns'] = {}) =>
  defineTable({
    name: 'orders',
    columns: { id: 'text', total: { type: 'bigint', nullable: false }, ...columns },
    primaryKey: 'id',
    migrations,
  });

describe('datastore migrations against PostgreSQL', () => {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  const schemas: string[] = [];
  const newSchema = (): string => {
    const s = `slipway_mig_${randomBytes(4).toString('hex')}`;
    schemas.push(s);
    return s;
  };
  before(() => client.connect());
  after(async () => {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.end();
  });
  const columns = async (schema: string, table = 'orders') =>
    (
      await client.query(
        `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
        [schema, table],
      )
    ).rows.map((r) => r.column_name);

  it('applies pending steps, records them, and never runs a recorded one again', async () => {
    const schema = newSchema();
    const v1 = orders([{ description: 'create', up: create }]);
    const before = await planDatastore(client, { schema, tables: [v1] });
    assert.deepEqual(
      before.tables[0]?.pending.map((p) => [p.version, p.safety]),
      [[1, 'additive']],
    );
    const events: MigrationEvent[] = [];
    const first = await applyMigrations(client, {
      schema,
      tables: [v1],
      appliedBy: 'test',
      onProgress: (e) => events.push(e),
    });
    assert.deepEqual(
      first.applied.map((a) => a.version),
      [1],
    );
    assert.deepEqual(
      events.map((e) => e.kind),
      ['table', 'step', 'committed'],
    );
    const v2 = orders([{ description: 'create', up: create }, addNote], { note: 'text' });
    const second = await applyMigrations(client, { schema, tables: [v2], appliedBy: 'test' });
    assert.deepEqual(
      second.applied.map((a) => a.version),
      [2],
    );
    // Step 2 is recorded: a third apply runs nothing (ADD COLUMN again would fail).
    const third = await applyMigrations(client, { schema, tables: [v2] });
    assert.deepEqual(third.applied, []);
    const ledger = await readLedger(client, schema, 'orders');
    assert.deepEqual(
      ledger.map((r) => [r.version, r.description, r.state, r.appliedBy]),
      [
        [1, 'create', 'applied', 'test'],
        [2, 'add note', 'applied', 'test'],
      ],
    );
    assert.ok(ledger.every((r) => r.checksum.startsWith('sha256:') && r.appliedAt !== undefined));
    const plan = await planDatastore(client, { schema, tables: [v2] });
    assert.deepEqual([plan.summary.pending, plan.summary.drift, plan.summary.edited], [0, 0, 0]);
    assert.deepEqual(await columns(schema), ['id', 'total', 'note']);
  });

  it('creates a table without migrations from its columns (the implied step 1)', async () => {
    const schema = newSchema();
    const table = defineTable({
      name: 'totals',
      columns: { k: 'text', n: 'numeric(12,2)', at: 'timestamptz' },
      primaryKey: 'k',
    });
    await applyMigrations(client, { schema, tables: [table] });
    assert.deepEqual(await columns(schema, 'totals'), ['k', 'n', 'at']);
    const plan = await planDatastore(client, { schema, tables: [table] });
    assert.deepEqual(plan.tables[0]?.drift, []);
  });

  it('reports drift: a column added, retyped, re-nulled by hand, and a declared column missing', async () => {
    const schema = newSchema();
    const table = orders([{ description: 'create', up: create }, addNote], { note: 'text' });
    await applyMigrations(client, { schema, tables: [table] });
    await client.query(`ALTER TABLE ${schema}.orders ADD COLUMN region text`);
    await client.query(`ALTER TABLE ${schema}.orders ALTER COLUMN total TYPE numeric(12,2)`);
    await client.query(`ALTER TABLE ${schema}.orders ALTER COLUMN total DROP NOT NULL`);
    await client.query(`ALTER TABLE ${schema}.orders DROP COLUMN note`);
    const plan = await planDatastore(client, { schema, tables: [table] });
    const drift = plan.tables[0]?.drift ?? [];
    assert.deepEqual(
      drift.map((d) => [d.problem, d.column, d.declared, d.actual]),
      [
        ['type', 'total', 'bigint', 'numeric(12,2)'],
        ['nullability', 'total', 'NOT NULL', 'NULL'],
        ['column-missing', 'note', 'text', undefined],
        ['column-extra', 'region', undefined, 'text'],
      ],
    );
    assert.equal(plan.summary.drift, 4);
  });

  it('rolls the whole table back when a step fails: nothing of it applied, nothing recorded', async () => {
    const schema = newSchema();
    const table = orders([
      { description: 'create', up: create },
      addNote,
      { description: 'broken', up: 'ALTER TABLE orders ADD COLUMN x no_such_type' },
    ]);
    await assert.rejects(
      applyMigrations(client, { schema, tables: [table] }),
      (e) => isSlipwayError(e, 'SLIPWAY_MIGRATION_FAILED') && e.details.version === 3,
    );
    assert.deepEqual(await columns(schema), []);
    assert.deepEqual(await readLedger(client, schema), []);
  });

  it('refuses a destructive step without allowDestructive (nothing changed), runs it with', async () => {
    const schema = newSchema();
    const v2 = orders([{ description: 'create', up: create }, addNote], { note: 'text' });
    await applyMigrations(client, { schema, tables: [v2] });
    const v3 = orders([
      { description: 'create', up: create },
      addNote,
      { description: 'drop note', up: 'ALTER TABLE orders DROP COLUMN note' },
    ]);
    const plan = await planDatastore(client, { schema, tables: [v3] });
    assert.deepEqual(
      plan.tables[0]?.pending.map((p) => [p.version, p.safety]),
      [[3, 'destructive']],
    );
    await assert.rejects(applyMigrations(client, { schema, tables: [v3] }), (e) =>
      isSlipwayError(e, 'SLIPWAY_DESTRUCTIVE_CHANGE'),
    );
    assert.deepEqual(await columns(schema), ['id', 'total', 'note']);
    await applyMigrations(client, { schema, tables: [v3], allowDestructive: true });
    assert.deepEqual(await columns(schema), ['id', 'total']);
  });

  it('reports a step edited after it was applied, and refuses to apply', async () => {
    const schema = newSchema();
    await applyMigrations(client, { schema, tables: [orders([{ description: 'create', up: create }, addNote])] });
    const edited = orders([
      { description: 'create', up: create },
      { description: 'add note', up: 'ALTER TABLE orders ADD COLUMN note varchar(10)' },
      { description: 'add x', up: 'ALTER TABLE orders ADD COLUMN x text' },
    ]);
    const plan = await planDatastore(client, { schema, tables: [edited] });
    assert.deepEqual(
      plan.tables[0]?.edited.map((e) => e.version),
      [2],
    );
    await assert.rejects(applyMigrations(client, { schema, tables: [edited] }), (e) =>
      isSlipwayError(e, 'SLIPWAY_MIGRATION_EDITED'),
    );
    assert.deepEqual(await columns(schema), ['id', 'total', 'note']);
  });

  it('goes down with the down steps, and refuses when one has none', async () => {
    const schema = newSchema();
    const table = orders([{ description: 'create', up: create }, addNote]);
    await applyMigrations(client, { schema, tables: [table] });
    await assert.rejects(undoMigrations(client, { schema, table, to: 0, allowDestructive: true }), (e) =>
      isSlipwayError(e, 'SLIPWAY_MIGRATION_IRREVERSIBLE'),
    );
    await assert.rejects(undoMigrations(client, { schema, table, to: 1 }), (e) =>
      isSlipwayError(e, 'SLIPWAY_DESTRUCTIVE_CHANGE'),
    );
    assert.deepEqual(await undoMigrations(client, { schema, table, to: 1, allowDestructive: true }), { undone: [2] });
    assert.deepEqual(await columns(schema), ['id', 'total']);
    assert.deepEqual(
      (await readLedger(client, schema)).map((r) => r.version),
      [1],
    );
  });
});

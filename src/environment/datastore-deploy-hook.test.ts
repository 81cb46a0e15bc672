import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { applyMigrations } from '../datastore/migration-apply.js';
import { readLedger } from '../datastore/migration-ledger.js';
import { planDatastore } from '../datastore/migration-plan.js';
import { defineTable, type Table, type TableDefinition } from '../datastore/table.js';
import type { ArtifactRef } from '../deploy/deployment.js';
import { isSlipwayError } from '../errors.js';
import { datastoreDeployHook } from './datastore-deploy-hook.js';
import { checkProject } from './project.js';

const create = 'CREATE TABLE orders (id text PRIMARY KEY, total bigint NOT NULL, legacy text)';
const orders = (migrations: TableDefinition['migrations'], columns: TableDefinition['columns']) =>
  defineTable({
    name: 'orders',
    columns: { id: 'text', total: { type: 'bigint', nullable: false }, ...columns },
    primaryKey: 'id',
    migrations,
  });
const v1 = orders([{ description: 'create', up: create }], { legacy: 'text' });
// The expand: a new column green writes besides the old one. The contract: the old column dropped.
const v2 = orders(
  [
    { description: 'create', up: create },
    { description: 'add amount', up: 'ALTER TABLE orders ADD COLUMN amount numeric' },
    { description: 'drop legacy', up: 'ALTER TABLE orders DROP COLUMN legacy' },
  ],
  { amount: 'numeric' },
);
const ref = (version: string): ArtifactRef => ({
  digest: `sha256:${version.replaceAll('.', '').padEnd(64, '0')}`,
  pipeline: 'orders-sink',
  version,
});

describe('datastoreDeployHook: migrations before a deployment starts green', () => {
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  const schemas: string[] = [];
  before(() => client.connect());
  after(async () => {
    for (const s of schemas) await client.query(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    await client.end();
  });
  const setUp = async (artifacts: Record<string, Table[]>) => {
    const schema = `slipway_hook_${randomBytes(4).toString('hex')}`;
    schemas.push(schema);
    const spec = checkProject({
      environments: {
        prod: {
          log: { engine: 'embedded' },
          datastores: { main: { kind: 'postgres', host: '127.0.0.1', database: 'test', user: 'postgres', schema } },
        },
      },
    });
    await applyMigrations(client, { schema, tables: [v1] });
    const hook = datastoreDeployHook({
      project: { spec, dir: '.' },
      tablesOf: async (a) => artifacts[a.version] ?? [],
    });
    const columns = async () =>
      (
        await client.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'orders' ORDER BY ordinal_position`,
          [schema],
        )
      ).rows.map((r) => r.column_name);
    return { schema, hook, columns };
  };

  it('runs the expand before green, records the contract as pending, which apply --allow-destructive runs later', async () => {
    const { schema, hook, columns } = await setUp({ '1.0.0': [v1], '2.0.0': [v2] });
    const result = await hook({ environment: 'prod', green: ref('2.0.0'), blue: ref('1.0.0') });
    const main = result.datastores[0];
    assert.deepEqual([main?.expand.map((s) => s.version), main?.contract.map((s) => s.version)], [[2], [3]]);
    assert.deepEqual(await columns(), ['id', 'total', 'legacy', 'amount']);
    const ledger = await readLedger(client, schema, 'orders');
    assert.deepEqual(
      ledger.map((r) => [r.version, r.state]),
      [
        [1, 'applied'],
        [2, 'applied'],
        [3, 'pending-contract'],
      ],
    );
    assert.match(ledger[1]?.appliedBy ?? '', /deployment of orders-sink 2\.0\.0/);
    const plan = await planDatastore(client, { schema, tables: [v2] });
    assert.ok(plan.tables[0]?.pending[0]?.pendingContract?.includes('orders-sink 2.0.0'));
    // Blue retired: the contract runs with the flag, and is then recorded as applied.
    await applyMigrations(client, { schema, tables: [v2], allowDestructive: true });
    assert.deepEqual(await columns(), ['id', 'total', 'amount']);
    assert.deepEqual(
      (await readLedger(client, schema, 'orders')).map((r) => r.state),
      ['applied', 'applied', 'applied'],
    );
  });

  it('refuses a deployment whose green needs a destructive step blue cannot run with: nothing changes', async () => {
    // Blue fills legacy NOT NULL; green no longer writes it and drops it: green cannot insert until it is gone.
    const strict = orders(
      [
        { description: 'create', up: create },
        { description: 'legacy required', up: 'ALTER TABLE orders ALTER COLUMN legacy SET NOT NULL' },
      ],
      { legacy: { type: 'text', nullable: false } },
    );
    const green = orders(
      [
        { description: 'create', up: create },
        { description: 'legacy required', up: 'ALTER TABLE orders ALTER COLUMN legacy SET NOT NULL' },
        { description: 'add amount', up: 'ALTER TABLE orders ADD COLUMN amount numeric' },
        { description: 'drop legacy', up: 'ALTER TABLE orders DROP COLUMN legacy' },
      ],
      { amount: 'numeric' },
    );
    const { schema, hook, columns } = await setUp({ '1.0.0': [strict], '2.0.0': [green] });
    await applyMigrations(client, { schema, tables: [strict], allowDestructive: true });
    await assert.rejects(hook({ environment: 'prod', green: ref('2.0.0'), blue: ref('1.0.0') }), (e) =>
      isSlipwayError(e, 'SLIPWAY_MIGRATION_BLOCKS_DEPLOY'),
    );
    assert.deepEqual(await columns(), ['id', 'total', 'legacy']);
    assert.deepEqual(
      (await readLedger(client, schema, 'orders')).map((r) => r.version),
      [1, 2],
    );
  });
});

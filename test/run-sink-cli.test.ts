import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { openEmbeddedLog } from 'slipway';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { produceOrders } from './helpers/orders.js';

// Issue 16: `slipway run` runs a pipeline whose output is a table, with the datastore the environment declares
// (as `slipway deploy` gets it); without one, a clear error with its code.
const schema = `slipway_run_sink_${randomBytes(4).toString('hex')}`;
const project = copyExampleProject({ prefix: 'slipway-run-sink-', tsx: true });
const cli = (args: string[]) =>
  runCli(args, { cwd: project.dir, env: { SLIPWAY_ENV: '', SLIPWAY_PROJECT: '', ORDERS_DB_PASSWORD: 'unused' } });
const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });

const sinkPipeline = `import { definePipeline, defineTable, tableSink } from 'slipway';
import { orders } from './datasets.js';
export const customerOrders = defineTable({
  name: 'customer_orders',
  columns: { customer_id: { type: 'text', field: 'customerId', nullable: false }, orders: { type: 'bigint', nullable: false } },
  primaryKey: 'customer_id',
});
export const countOrders = definePipeline({
  name: 'count-orders',
  version: '1.0.0',
  inputs: [orders],
  sink: tableSink(customerOrders),
  process(order, ctx) {
    const n = (ctx.state.get<number>(order.customerId) ?? 0) + 1;
    ctx.state.set(order.customerId, n);
    ctx.emit(customerOrders, { customerId: order.customerId, orders: n });
  },
});
`;
const config = `import { defineProject } from 'slipway';
export { orders } from './datasets.js';
export { customerOrders, countOrders } from './sink.js';
export const project = defineProject({
  environments: {
    local: {
      log: { engine: 'embedded', path: '.slipway/log.db' },
      datastores: {
        main: { kind: 'postgres', host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', schema: '${schema}', password: { env: 'ORDERS_DB_PASSWORD' } },
      },
    },
  },
});
`;

before(async () => {
  writeFileSync(join(project.dir, 'sink.ts'), sinkPipeline);
  writeFileSync(join(project.dir, 'slipway.config.ts'), config);
  await client.connect();
});
after(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  project.remove();
});

describe('slipway run: a sink pipeline', () => {
  it('writes the table in the environment’s datastore, each order once; no datastore is SLIPWAY_DATASTORE_NOT_DECLARED', async () => {
    mkdirSync(join(project.dir, '.slipway'), { recursive: true });
    const log = await openEmbeddedLog({ path: join(project.dir, '.slipway/log.db') });
    await produceOrders(log, 0, 300);
    await log.close();
    const run = await cli(['run', 'sink.ts', '--env', 'local', '--until-caught-up', '--batch-size', '50']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`→ table customer_orders in postgres://postgres@127\\.0\\.0\\.1:5432/test \\(schema ${schema}\\)`),
    );
    const { rows } = await client.query(`SELECT sum(orders)::int AS n FROM ${schema}.customer_orders`);
    assert.equal(rows[0].n, 300, 'each customer’s count of orders: every order once');
    const offsets = await client.query(`SELECT sum(next_offset)::int AS n FROM ${schema}.slipway_sink_offsets`);
    assert.equal(offsets.rows[0].n, 300, 'the input offsets committed in the datastore');

    // No environment, so no datastore: refused before anything runs.
    const refused = await cli(['run', 'sink.ts', '--until-caught-up']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /SLIPWAY_DATASTORE_NOT_DECLARED/, refused.stderr);
    assert.match(refused.stderr, /run it with --env <environment>.*declares datastores\.main/);
  });
});

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';

// Issue 16: `slipway datastores plan|apply|down --env <env>` on a project declaring a datastore and tables:
// the plan shows pending steps, apply runs and records them (a second apply runs nothing), a column changed by
// hand shows as drift, a destructive step is refused without the flag, down undoes with the down steps.
const schema = `slipway_cli_${randomBytes(4).toString('hex')}`;
const project = copyExampleProject({ prefix: 'slipway-datastores-', tsx: true });
const cli = (args: string[]) =>
  runCli(args, {
    cwd: project.dir,
    env: { SLIPWAY_ENV: '', SLIPWAY_PROJECT: '', ORDERS_DB_PASSWORD: 'unused-with-trust-auth' },
  });
const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });

const config = (steps: string[]) => `import { defineProject, defineTable } from 'slipway';
export const orderTotals = defineTable({
  name: 'order_totals',
  columns: { customer_id: 'text', total: { type: 'double precision', nullable: false }${steps.length > 1 ? ", note: 'text'" : ''} },
  primaryKey: 'customer_id',
  migrations: [${steps.join(', ')}],
});
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
const create = `{ description: 'create', up: 'CREATE TABLE order_totals (customer_id text PRIMARY KEY, total double precision NOT NULL)' }`;
const addNote = `{ description: 'add note', up: 'ALTER TABLE order_totals ADD COLUMN note text', down: 'ALTER TABLE order_totals DROP COLUMN note' }`;
const dropNote = `{ description: 'drop note', up: 'ALTER TABLE order_totals DROP COLUMN note' }`;

before(() => client.connect());
after(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await client.end();
  project.remove();
});

describe('slipway datastores', () => {
  it('plans, applies once, reports drift, refuses destructive steps, goes down', async () => {
    writeFileSync(join(project.dir, 'slipway.config.ts'), config([create, addNote]));
    const plan = await cli(['datastores', 'plan', '--env', 'local', '--json']);
    assert.equal(plan.code, 0, plan.stderr);
    const planned = JSON.parse(plan.stdout);
    assert.deepEqual(
      planned.datastores[0].plan.tables[0].pending.map((p: { version: number; safety: string }) => [
        p.version,
        p.safety,
      ]),
      [
        [1, 'additive'],
        [2, 'additive'],
      ],
    );

    const apply = await cli(['datastores', 'apply', '--env', 'local']);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stderr, /applying step 2 add note/);
    assert.match(apply.stdout, /2 steps applied/);
    const again = await cli(['datastores', 'apply', '--env', 'local', '--json']);
    assert.deepEqual(JSON.parse(again.stdout).datastores[0].applied, []);

    await client.query(`ALTER TABLE ${schema}.order_totals ADD COLUMN region text`);
    await client.query(`ALTER TABLE ${schema}.order_totals ALTER COLUMN total TYPE numeric(12,2)`);
    const drifted = await cli(['datastores', 'plan', '--env', 'local', '--detailed-exitcode']);
    assert.equal(drifted.code, 2, drifted.stderr);
    assert.match(
      drifted.stdout,
      /drift: column total: type numeric\(12,2\) in the database, declared double precision/,
    );
    assert.match(drifted.stdout, /drift: column region: not declared/);
    await client.query(`ALTER TABLE ${schema}.order_totals DROP COLUMN region`);
    await client.query(`ALTER TABLE ${schema}.order_totals ALTER COLUMN total TYPE double precision`);

    writeFileSync(join(project.dir, 'slipway.config.ts'), config([create, addNote, dropNote]));
    const refused = await cli(['datastores', 'apply', '--env', 'local']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /SLIPWAY_DESTRUCTIVE_CHANGE/);
    writeFileSync(join(project.dir, 'slipway.config.ts'), config([create, addNote]));
    const down = await cli([
      'datastores',
      'down',
      'order_totals',
      '--to',
      '1',
      '--env',
      'local',
      '--allow-destructive',
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /back at version 1/);
    const { rows } = await client.query(`SELECT version FROM ${schema}.slipway_migrations ORDER BY version`);
    assert.deepEqual(
      rows.map((r) => r.version),
      [1],
    );
  });
});

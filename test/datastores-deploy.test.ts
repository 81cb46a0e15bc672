import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { ArtifactStore, buildArtifact, defineProject, InProcessSupervisor, isSlipwayError, openLog } from 'slipway';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { readLedger } from '../src/datastore/migration-ledger.js';
import { copyExampleProject } from './helpers/example-project.js';
import { produceOrders } from './helpers/orders.js';

// Issue 16, migrations with deployments: a control plane serving a project whose environment declares a
// datastore deploys artifacts that export a table. The first deployment creates it; blue-green to a version
// whose table adds a column (expand) and drops an old nullable one (contract) runs the expand before green
// starts and records the contract as pending — still pending during the bake and after a rollback (blue may
// come back) — and runs the contract once a deployment of it completes and blue is retired; a version that needs a destructive step blue cannot run with
// is refused before anything starts, and changes nothing.
const schema = `slipway_deploy_${randomBytes(4).toString('hex')}`;
const project = copyExampleProject({ prefix: 'slipway-datastores-deploy-', tsx: true });
const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
after(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => {});
  await client.end().catch(() => {});
  project.remove();
});

const create = `{ description: 'create', up: 'CREATE TABLE customer_totals (customer_id text PRIMARY KEY, total double precision NOT NULL, legacy text)' }`;
const addEur = `{ description: 'add total_eur', up: 'ALTER TABLE customer_totals ADD COLUMN total_eur double precision' }`;
const dropLegacy = `{ description: 'drop legacy', up: 'ALTER TABLE customer_totals DROP COLUMN legacy' }`;
const retype = `{ description: 'total as text', up: 'ALTER TABLE customer_totals ALTER COLUMN total TYPE text' }`;
/** An entry exporting the pipeline of `from` and the customer_totals table with these steps and columns. */
function entry(file: string, from: string, steps: string[], columns: string): string {
  writeFileSync(
    join(project.dir, file),
    `import { defineTable } from 'slipway';
export * from '${from}';
export const customerTotals = defineTable({ name: 'customer_totals', columns: { ${columns} }, primaryKey: 'customer_id', migrations: [${steps.join(', ')}] });
`,
  );
  return file;
}

describe('datastore migrations with deployments (expand-and-contract)', () => {
  it('expands before green, runs the contract only after blue is retired, refuses what blue cannot live with', async () => {
    await client.connect();
    const paths = daemonPaths(join(project.dir, '.slipway'));
    const store = new ArtifactStore({ dir: paths.artifactsDir });
    const build = async (file: string) => (await buildArtifact({ entry: file, cwd: project.dir, store })).digest;
    const blueColumns = "customer_id: 'text', total: { type: 'double precision', nullable: false }, legacy: 'text'";
    const v1 = await build(entry('t-v1.ts', './pipeline.js', [create], blueColumns));
    const v2 = await build(
      entry(
        't-v2.ts',
        './versions/v2.js',
        [create, addEur, dropLegacy],
        "customer_id: 'text', total: { type: 'double precision', nullable: false }, total_eur: 'double precision'",
      ),
    );
    const v3 = await build(
      entry(
        't-v3.ts',
        './versions/v3-broken.js',
        [create, addEur, dropLegacy, retype],
        "customer_id: 'text', total: { type: 'text', nullable: false }, total_eur: 'double precision'",
      ),
    );
    const spec = defineProject({
      environments: {
        dev: {
          log: { engine: 'embedded' },
          allowUntested: true,
          datastores: { main: { kind: 'postgres', host: '127.0.0.1', database: 'test', user: 'postgres', schema } },
        },
      },
    }).spec;
    const daemon = await startDaemon({
      paths,
      project: { spec, dir: project.dir },
      supervisorFor: () => new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    try {
      const log = await openLog({ engine: 'embedded', path: join(project.dir, '.slipway', 'dev', 'log.db') });
      await produceOrders(log, 0, 200);
      await log.close();
      const deploy = async (digest: string) => {
        const record = await daemon.plane.deploy('dev', digest, { bakeMs: 100, allowUntested: true });
        return daemon.plane.controller('dev').wait(record.id);
      };
      assert.equal((await deploy(v1)).status, 'completed');
      assert.deepEqual(
        (await readLedger(client, schema)).map((r) => [r.version, r.state]),
        [[1, 'applied']],
      );

      // v2 expands (total_eur) before green starts; its contract (drop legacy) waits while blue (v1) may come
      // back: during the bake, and after a rollback, it is still pending and legacy is still there.
      const columns = async () =>
        (
          await client.query(
            `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'customer_totals' ORDER BY ordinal_position`,
            [schema],
          )
        ).rows.map((r) => r.column_name);
      const ledger = async () => (await readLedger(client, schema)).map((r) => [r.version, r.state]);
      const expanded = [
        [1, 'applied'],
        [2, 'applied'],
        [3, 'pending-contract'],
      ];
      const controller = daemon.plane.controller('dev');
      const baking = await daemon.plane.deploy('dev', v2, { bakeMs: 60_000, allowUntested: true });
      for (let i = 0; ; i++) {
        const d = await daemon.plane.store.getDeployment(baking.id);
        if (d?.step === 'bake') break;
        assert.ok(i < 600 && d?.status === 'running', `deployment reached no bake: ${JSON.stringify(d)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(await ledger(), expanded);
      assert.deepEqual(await columns(), ['customer_id', 'total', 'legacy', 'total_eur']);
      await controller.rollback(baking.pipeline);
      const back = await controller.wait(baking.id);
      assert.equal(back.status, 'rolled_back');
      assert.equal(back.summary.contract, undefined);
      assert.deepEqual(await ledger(), expanded);
      assert.deepEqual(await columns(), ['customer_id', 'total', 'legacy', 'total_eur']);

      // Deployed again and completed: blue retired, the contract runs, recorded in the ledger and the events.
      const second = await deploy(v2);
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      assert.deepEqual(await ledger(), [
        [1, 'applied'],
        [2, 'applied'],
        [3, 'applied'],
      ]);
      const step3 = (await readLedger(client, schema)).find((r) => r.version === 3);
      assert.match(step3?.appliedBy ?? '', new RegExp(`deployment ${second.id} .*contract`));
      assert.deepEqual(await columns(), ['customer_id', 'total', 'total_eur']);
      assert.deepEqual(second.summary.contract, {
        applied: [{ datastore: 'main', table: 'customer_totals', version: 3, description: 'drop legacy' }],
      });
      const events = (await daemon.plane.store.events(second.id)).filter((e) => e.step === 'contract');
      assert.deepEqual(
        events.map((e) => e.kind),
        ['begin', 'end'],
      );
      // The contract ran after the bake ended, i.e. after blue was stopped.
      const all = await daemon.plane.store.events(second.id);
      const bakeEnd = all.findIndex((e) => e.step === 'bake' && e.kind === 'end');
      assert.ok(bakeEnd >= 0 && all.findIndex((e) => e.step === 'contract') > bakeEnd);

      // v3 retypes total (blue writes it as double precision): refused before anything starts.
      await assert.rejects(daemon.plane.deploy('dev', v3, { bakeMs: 100, allowUntested: true }), (e) =>
        isSlipwayError(e, 'SLIPWAY_MIGRATION_BLOCKS_DEPLOY'),
      );
      assert.equal((await readLedger(client, schema)).length, 3);
      assert.deepEqual(await columns(), ['customer_id', 'total', 'total_eur']);
    } finally {
      await daemon.close();
    }
  });
});

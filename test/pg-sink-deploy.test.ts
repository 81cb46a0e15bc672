import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ArtifactStore,
  buildArtifact,
  Controller,
  InProcessSupervisor,
  type Log,
  openEmbeddedLog,
  openSqliteControlStore,
} from 'slipway';
import { expectedTotals, producePayments, startPaymentLoad, tableRows, tempSchema } from './helpers/pg-sink.js';

const TOPIC = 'payments-deploy.v1';
const ACCOUNTS = 211;
const CLOSE_EVERY = 89;

/** The load the deployments run under. */
function startLoad(log: Log): { stop(): Promise<number> } {
  return startPaymentLoad(log, TOPIC, { batch: 150, pauseMs: 15, accounts: ACCOUNTS, closeEvery: CLOSE_EVERY });
}

describe('deployments of a sink pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-sink-deploy-'));
  let pg: Awaited<ReturnType<typeof tempSchema>>;
  before(async () => {
    pg = await tempSchema('slipway_deploy');
  });
  after(async () => {
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('blue-green under load and a rollback: every payment exactly once in the table', async () => {
    const artifactsDir = join(dir, 'artifacts');
    const store = new ArtifactStore({ dir: artifactsDir });
    const cwd = resolve('test/fixtures/sink');
    const v1 = (await buildArtifact({ entry: 'v1.ts', cwd, store })).digest;
    const v2 = (await buildArtifact({ entry: 'v2.ts', cwd, store })).digest;
    const control = await openSqliteControlStore({ path: join(dir, 'control.db') });
    const logPath = join(dir, 'log.db');
    const log = await openEmbeddedLog({ path: logPath });
    await producePayments(log, TOPIC, 0, 0, ACCOUNTS);
    const controller = new Controller({
      store: control,
      supervisor: new InProcessSupervisor({ artifactsDir }),
      artifacts: store,
      log: { engine: 'embedded', path: logPath },
      datastoreOf: (_pipeline, name) => (name === 'main' ? { datastore: pg.datastore } : undefined),
    });
    await controller.start();
    const load = startLoad(log);
    let produced = 0;
    try {
      const first = await controller.wait((await controller.deploy(v1, { bakeMs: 300 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));
      await new Promise((r) => setTimeout(r, 500));

      const second = await controller.wait((await controller.deploy(v2, { bakeMs: 600 })).id);
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      await new Promise((r) => setTimeout(r, 500));

      // Back to v1, rolled back during its bake: v1.1.0 (blue) takes over again at green's committed offsets.
      const third = await controller.deploy(v1, { bakeMs: 60_000 });
      for (let i = 0; ; i++) {
        const d = await control.getDeployment(third.id);
        if (d?.step === 'bake') break;
        assert.ok(i < 600 && d?.status === 'running', `deployment reached no bake: ${JSON.stringify(d)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 400));
      await controller.rollback('account-totals');
      assert.equal((await controller.wait(third.id)).status, 'rolled_back');
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      produced = await load.stop();
      // The live runner catches up; then the table must hold every payment once, as an independent replay says.
      for (let i = 0; ; i++) {
        const { rows } = await pg.client
          .query(
            `SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${pg.schema}.slipway_sink_offsets WHERE pipeline_group = 'slipway.account-totals'`,
          )
          .catch(() => ({ rows: [{ n: -1 }] }));
        if (rows[0].n < 0) break;
        if (rows[0].n >= produced || i > 600) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await controller.close();
      await control.close();
    }
    {
      assert.deepEqual(await tableRows(pg.client, pg.schema), expectedTotals(produced, ACCOUNTS, CLOSE_EVERY));
      // The log's own group offsets were never used: the handoffs read and fenced in the database.
      assert.deepEqual(await log.committedOffsets('slipway.account-totals'), []);
      const { rows } = await pg.client.query(`SELECT owner, epoch FROM ${pg.schema}.slipway_sink_owners`);
      assert.ok(
        rows.some((r) => r.owner === 'slipway.account-totals' && Number(r.epoch) >= 3),
        JSON.stringify(rows),
      );
      await log.close();
    }
  });
});

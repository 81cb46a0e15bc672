import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ArtifactStore,
  buildArtifact,
  Controller,
  type DeploymentRecord,
  InProcessSupervisor,
  type Log,
  openEmbeddedLog,
  openSqliteControlStore,
} from 'slipway';
import { expectedTotals, producePayments, startPaymentLoad, tableRows, tempSchema } from './helpers/pg-sink.js';

// Issue 16 item 3, the shadow of a sink pipeline: green in shadow mode writes account_totals__shadow_<id>,
// diffed with the live table row by row by source (the input record that wrote each row), under load with
// upserts and tombstones, through the same diff gate as topic outputs.
const TOPIC = 'payments-deploy.v1';
const ACCOUNTS = 97;
const CLOSE_EVERY = 53;

/** The load the deployments run under. */
function startLoad(log: Log): { stop(): Promise<number> } {
  return startPaymentLoad(log, TOPIC, { batch: 100, pauseMs: 20, accounts: ACCOUNTS, closeEvery: CLOSE_EVERY });
}

describe('the shadow of a sink pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-sink-shadow-'));
  let pg: Awaited<ReturnType<typeof tempSchema>>;
  before(async () => {
    pg = await tempSchema('slipway_shadow');
  });
  after(async () => {
    await pg.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('diffs a shadow table with the live table by source; a changed column fails the gate; the live table is untouched', async () => {
    const artifactsDir = join(dir, 'artifacts');
    const store = new ArtifactStore({ dir: artifactsDir });
    const cwd = resolve('test/fixtures/sink');
    const build = async (entry: string) => (await buildArtifact({ entry, cwd, store })).digest;
    const [v1, v2, changed] = [await build('v1.ts'), await build('v2.ts'), await build('v3-changed.ts')];
    const control = await openSqliteControlStore({ path: join(dir, 'control.db') });
    const logPath = join(dir, 'log.db');
    const log = await openEmbeddedLog({ path: logPath });
    await producePayments(log, TOPIC, 0, 500, ACCOUNTS, CLOSE_EVERY);
    const controller = new Controller({
      store: control,
      supervisor: new InProcessSupervisor({ artifactsDir }),
      artifacts: store,
      log: { engine: 'embedded', path: logPath },
      datastoreOf: (_pipeline, name) => (name === 'main' ? { datastore: pg.datastore } : undefined),
    });
    await controller.start();
    const shadowTables = async (): Promise<string[]> =>
      (
        await pg.client.query(`SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename LIKE '%shadow%'`, [
          pg.schema,
        ])
      ).rows.map((r) => r.tablename);
    const deploy = async (digest: string, options: object): Promise<DeploymentRecord> =>
      controller.wait((await controller.deploy(digest, { bakeMs: 200, ...options })).id);
    const shadow = { records: 200, timeoutMs: 8000 };
    const load = startLoad(log);
    let produced = 0;
    try {
      assert.equal((await deploy(v1, {})).status, 'completed');

      // The same logic as a new version: every row the shadow wrote is the live row of the same source.
      const same = await deploy(v2, { shadow });
      assert.equal(same.status, 'completed', JSON.stringify(same.summary));
      const d = same.summary.diff;
      assert.ok(d !== undefined && d.compared > 0, JSON.stringify(d));
      assert.deepEqual(
        { changed: d.changed, missing: d.missing, extra: d.extra },
        { changed: 0, missing: 0, extra: 0 },
      );
      assert.equal(d.identical, d.compared);
      assert.deepEqual(await shadowTables(), [], 'the shadow table is dropped when the shadow ends');

      // A version writing last_payment otherwise: the column shows changed, the diff gate fails, nothing cut over.
      const bad = await deploy(changed, { shadow });
      assert.equal(bad.status, 'aborted', JSON.stringify(bad.summary));
      const b = bad.summary.diff;
      assert.ok(b !== undefined && b.changed > 0, JSON.stringify(b));
      assert.deepEqual(Object.keys(b.changedFields), ['last_payment']);
      assert.equal(b.missing + b.extra, 0, JSON.stringify(b));
      assert.deepEqual(b.examples.find((e) => e.kind === 'changed')?.fields, ['last_payment']);
      assert.equal(bad.summary.shadowGates?.find((g) => g.gate === 'diff-ratio')?.status, 'fail');
      assert.equal((await control.getRelease('account-totals', 'local'))?.artifact.digest, v2);
      assert.deepEqual(await shadowTables(), []);
      // Its shadow wrote only its own table: no live row has the changed version's last_payment.
      const { rows: touched } = await pg.client.query(
        `SELECT count(*)::int AS n FROM ${pg.schema}.account_totals WHERE last_payment LIKE 'payment %'`,
      );
      assert.equal(touched[0].n, 0);
    } finally {
      produced = await load.stop();
      for (let i = 0; i < 600; i++) {
        const { rows } = await pg.client.query(
          `SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${pg.schema}.slipway_sink_offsets WHERE pipeline_group = 'slipway.account-totals'`,
        );
        if (rows[0].n >= produced) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      await controller.close();
      await control.close();
    }
    // The live table holds every payment exactly once, as an independent replay says: the shadows never wrote it.
    assert.deepEqual(await tableRows(pg.client, pg.schema), expectedTotals(produced, ACCOUNTS, CLOSE_EVERY));
    const { rows } = await pg.client.query(
      `SELECT count(*)::int AS n FROM ${pg.schema}.slipway_sink_offsets WHERE pipeline_group LIKE '%shadow%'`,
    );
    assert.equal(rows[0].n, 0, 'the shadows’ offsets are removed');
    await log.close();
  });
});

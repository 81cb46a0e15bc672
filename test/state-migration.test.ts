import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArtifactStore, buildArtifact, type Controller, isSlipwayError, type Log, SOURCE_HEADER } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { type LogConfig, openLog } from '../src/log/open-log.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { customerCounts, NAME } from './fixtures/state-migration/counts.js';
import { startTestController } from './helpers/controller.js';
import { deleteRunTopics } from './helpers/kafka-run.js';
import { OrderLoad } from './helpers/load.js';
import { readAll } from './helpers/orders.js';
import { waitForCaughtUp } from './helpers/versions.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-state-migration-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const GROUP = `slipway.${NAME}`;

/** The four versions of the counter, built into the controller's artifact store. */
async function buildCounters(artifactsDir: string) {
  const store = new ArtifactStore({ dir: artifactsDir });
  const cwd = resolve('test/fixtures/state-migration');
  const digest = async (entry: string) => (await buildArtifact({ entry, cwd, store })).digest;
  return {
    v1: await digest('v1.ts'),
    v2: await digest('v2.ts'),
    v2OneWay: await digest('v2-one-way.ts'),
    v3: await digest('v3-no-migration.ts'),
  };
}

/** What a clean run of either version computes for each input: the customer's count so far, by source. */
async function cleanCounts(log: Log): Promise<Map<string, number>> {
  const bySource = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const r of await readAll(log, orders.topic)) {
    const customer = String(r.key);
    const n = (counts.get(customer) ?? 0) + 1;
    counts.set(customer, n);
    bySource.set(`${r.topic}/${r.partition}/${r.offset}`, n);
  }
  return bySource;
}

/** Each customer's final count (a clean run's state). */
async function finalCounts(log: Log): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await readAll(log, orders.topic)) counts.set(String(r.key), (counts.get(String(r.key)) ?? 0) + 1);
  return counts;
}

/** The committed keyed state of the pipeline, by customer (Slipway's own keys left out). */
async function keyedState(log: Log): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (let p = 0; p < orders.partitions; p++)
    for (const [k, v] of await log.readState(NAME, p)) if (!k.startsWith('\u0000')) out.set(k, JSON.parse(v));
  return out;
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err) => {
    assert.ok(isSlipwayError(err, code as never), `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/** Waits until the live runner of the pipeline runs `version` and has processed `records` inputs. */
async function liveProcessed(controller: Controller, version: string, records: number): Promise<void> {
  for (;;) {
    const live = controller.liveRunners().find((l) => l.pipeline === NAME);
    if (live?.artifact.version === version && (await live.runner.stats()).inputs >= records) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * v1 live under load → refusals → v2 blue-green (green migrates at activation) → rollback with down → v2
 * without down, with irreversibleState. Outputs, keyed state and exactly-once checked against a clean run.
 */
async function scenario(runDir: string, log: LogConfig, rate: number): Promise<void> {
  const t = await startTestController(runDir, { log });
  const { controller, store } = t;
  const v = await buildCounters(join(runDir, 'artifacts'));
  const load = new OrderLoad(log, rate);
  await load.start();
  try {
    const first = await controller.wait((await controller.deploy(v.v1, { bakeMs: 300 })).id);
    assert.equal(first.status, 'completed', JSON.stringify(first.summary));
    await liveProcessed(controller, '1.0.0', 300);

    // Refused before anything starts: a layout change without a migration, one without down (no flag), a canary.
    await rejectsWithCode(controller.deploy(v.v3), 'SLIPWAY_STATE_MIGRATION_MISSING');
    await rejectsWithCode(controller.deploy(v.v2OneWay), 'SLIPWAY_STATE_IRREVERSIBLE');
    await rejectsWithCode(controller.deploy(v.v2, { strategy: 'canary' }), 'SLIPWAY_DEPLOY_REFUSED');

    // v2 blue-green under load: green migrates every customer's count at activation, after blue paused at N.
    const second = await controller.deploy(v.v2, { bakeMs: 60_000 });
    await liveProcessed(controller, '2.0.0', 500);
    await controller.rollback(NAME);
    const back = await controller.wait(second.id);
    assert.equal(back.status, 'rolled_back', JSON.stringify(back.summary));
    assert.equal((await store.getRelease(NAME, 'local'))?.artifact.version, '1.0.0');
    const notes = (await store.events(second.id))
      .filter((e) => e.step === 'state-migration')
      .map((e) => e.data as { what: string; from: number; to: number; partitions?: number });
    assert.deepEqual(
      notes.map((n) => [n.what, n.from, n.to]),
      [
        ['planned', 1, 2],
        ['reverse', 2, 1],
      ],
    );
    assert.equal(notes[1]?.partitions, orders.partitions);
    await liveProcessed(controller, '1.0.0', 300);
    await load.stop();

    const reader = await openLog(log);
    try {
      await waitForCaughtUp(reader, GROUP, orders.topic, orders.partitions);
      // Exactly once by source across both handoffs, and each output what a clean run computes for it.
      const report = await checkExactlyOnce(reader, { input: orders.topic, outputs: [customerCounts.topic] });
      assert.equal(report.inputs, load.sent);
      assert.deepEqual([report.lost, report.duplicated], [0, 0], JSON.stringify(report.examples));
      const clean = await cleanCounts(reader);
      const byVersion = new Map<number, number>();
      for (const r of await readAll(reader, customerCounts.topic)) {
        const value = JSON.parse(r.value) as { count: number; version: number };
        const source = r.headers[SOURCE_HEADER] as string;
        assert.equal(value.count, clean.get(source), `${source} by v${value.version}`);
        byVersion.set(value.version, (byVersion.get(value.version) ?? 0) + 1);
      }
      assert.ok((byVersion.get(2) ?? 0) >= 500, 'green processed under load');
      // The state after the rollback is v1's layout: each customer's count, as a clean v1 run leaves it.
      const expected = await finalCounts(reader);
      assert.deepEqual(await keyedState(reader), expected);

      // With the flag, the one-way version deploys (it says so first); its state is a clean v2 run's.
      const oneWay = await controller.wait(
        (await controller.deploy(v.v2OneWay, { bakeMs: 200, irreversibleState: true })).id,
      );
      assert.equal(oneWay.status, 'completed', JSON.stringify(oneWay.summary));
      const planned = (await store.events(oneWay.id)).find((e) => e.step === 'state-migration');
      assert.deepEqual(planned?.data, { what: 'planned', from: 1, to: 2, direction: 'up', reversible: false });
      await waitForCaughtUp(reader, GROUP, orders.topic, orders.partitions);
      assert.deepEqual(await keyedState(reader), new Map([...expected].map(([k, n]) => [k, { orders: n }])));
    } finally {
      await reader.close();
    }
  } finally {
    await load.stop().catch(() => {});
    await t.close();
  }
}

describe('state migrations, end to end under load', () => {
  it('embedded log: migrates blue-green, rolls back with down; outputs and state equal a clean run', async () => {
    const runDir = join(dir, 'embedded');
    mkdirSync(runDir);
    await scenario(runDir, { engine: 'embedded', path: join(runDir, 'log.db') }, 1000);
  });

  it('kafka: migrates blue-green, rolls back with down; outputs and state equal a clean run', async () => {
    const runDir = join(dir, 'kafka');
    mkdirSync(runDir);
    const id = randomUUID().slice(0, 8);
    const brokers = kafkaBrokers();
    // Every topic, group, owner and state changelog of this run under its own namespace on the shared broker.
    try {
      await scenario(runDir, { engine: 'kafka', brokers, namespace: `sm${id}.` }, 400);
    } finally {
      await deleteRunTopics(brokers, id, []).catch(() => {});
    }
  });
});

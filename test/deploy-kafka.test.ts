import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { enrichedOrders, orders } from '../examples/orders/datasets.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { type LogConfig, openLog } from '../src/log/open-log.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { startTestController } from './helpers/controller.js';
import { isolateDataset } from './helpers/isolate.js';
import { OrderLoad } from './helpers/load.js';
import { assertNoShadowLeft } from './helpers/shadow-left.js';
import { waitForCaughtUp } from './helpers/versions.js';

// Deployments on a real Kafka broker (the environment's log config chooses the engine; the pipeline
// modules are the example's, under names of this run so that a shared broker keeps runs apart).
const id = randomUUID().slice(0, 8);
process.env.SLIPWAY_TEST_ISOLATION = id;
const pipeline = `enrich-orders-${id}`;
const input = isolateDataset(orders, id);
const output = isolateDataset(enrichedOrders, id);

const dir = mkdtempSync(join(tmpdir(), 'slipway-deploy-kafka-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('deployments on Kafka under continuous load', () => {
  it('blue-green with a shadow diff, a gate-triggered rollback and a canary: nothing lost, nothing twice', async () => {
    const log: LogConfig = { engine: 'kafka', brokers: kafkaBrokers() };
    const t = await startTestController(dir, { log, isolated: true });
    const { controller, store } = t;
    const { v1, v2, v3 } = t.versions;
    const load = new OrderLoad(log, 400, 200, input);
    await load.start();
    const reader = await openLog(log);
    try {
      const first = await controller.wait((await controller.deploy(v1, { strategy: 'blue-green', bakeMs: 500 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));

      const second = await controller.wait(
        (
          await controller.deploy(v2, {
            strategy: 'blue-green',
            shadow: { records: 300, timeoutMs: 30_000 },
            bakeMs: 1000,
            gates: { allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'] },
          })
        ).id,
      );
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      const diff = second.summary.diff as { compared: number; changed: number; missing: number; extra: number };
      assert.ok(diff.compared >= 300, `compared ${diff.compared}`);
      assert.equal(diff.changed + diff.missing + diff.extra, 0, JSON.stringify(diff));
      // The shadow run removed its topics, consumer group, owner and state changelog (issue 10, item 12).
      await assertNoShadowLeft(reader, pipeline, second.id);

      const third = await controller.wait(
        (await controller.deploy(v3, { strategy: 'blue-green', bakeMs: 8000, gates: { maxDlqRatio: 0.01 } })).id,
      );
      assert.equal(third.status, 'rolled_back', JSON.stringify(third.summary));
      assert.equal((await store.getRelease(pipeline, 'local'))?.artifact.version, '1.1.0');

      const fourth = await controller.wait(
        (await controller.deploy(v1, { strategy: 'canary', canary: { steps: [25, 100], stepMs: 1000 }, bakeMs: 500 }))
          .id,
      );
      assert.equal(fourth.status, 'completed', JSON.stringify(fourth.summary));
      assert.equal((await store.getRelease(pipeline, 'local'))?.artifact.version, '1.0.0');
    } finally {
      const sent = await load.stop();
      // The live runner catches up with everything appended, then the runners stop.
      await waitForCaughtUp(reader, `slipway.${pipeline}`, input.topic, input.partitions);
      await controller.close();
      const report = await checkExactlyOnce(reader, {
        input: input.topic,
        outputs: [output.topic],
        dlq: `${input.topic}.dlq`,
      });
      await reader.close();
      await store.close();
      assert.equal(report.inputs, sent);
      assert.equal(report.lost, 0, JSON.stringify(report.examples));
      assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
      assert.ok(report.deadLettered > 0, 'the broken version dead-lettered records before the rollback');
    }
  });
});

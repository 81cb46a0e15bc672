import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from 'slipway';
import { enrichedOrders, orders } from '../examples/orders/datasets.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { type LogConfig, openLog } from '../src/log/open-log.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { runCli } from './helpers/cli.js';
import { startTestController } from './helpers/controller.js';
import { isolateDataset } from './helpers/isolate.js';
import { OrderLoad } from './helpers/load.js';
import { waitForCaughtUp } from './helpers/versions.js';

// A replay of a rolled-back version's dead letters on a real Kafka broker: outputs, state changelog and the
// replay markers in one Kafka transaction under the live owner's transactional id; names of this run only.
const id = randomUUID().slice(0, 8);
process.env.SLIPWAY_TEST_ISOLATION = id;
const pipeline = `enrich-orders-${id}`;
const input = isolateDataset(orders, id);
const output = isolateDataset(enrichedOrders, id);

const dir = mkdtempSync(join(tmpdir(), 'slipway-dlq-kafka-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('dead-letter replay on Kafka', () => {
  it('replays a rolled-back version’s dead letters through the live version exactly once by source, and not twice', async () => {
    const log: LogConfig = { engine: 'kafka', brokers: kafkaBrokers() };
    const t = await startTestController(dir, { log, isolated: true });
    const { controller } = t;
    const load = new OrderLoad(log, 300, 100, input);
    await load.start();
    const reader = await openLog(log);
    let dead = 0;
    try {
      const live = await controller.wait(
        (await controller.deploy(t.versions.v2, { strategy: 'blue-green', bakeMs: 500 })).id,
      );
      assert.equal(live.status, 'completed', JSON.stringify(live.summary));
      const broken = await controller.wait(
        (await controller.deploy(t.versions.v3, { strategy: 'blue-green', bakeMs: 8000, gates: { maxDlqRatio: 0.01 } }))
          .id,
      );
      assert.equal(broken.status, 'rolled_back', JSON.stringify(broken.summary));
      dead = broken.summary.deadLettered ?? 0;
      assert.ok(dead > 0, 'the broken version dead-lettered records');

      const listed = await runCli(['dlq', '--kafka', kafkaBrokers().join(','), input.topic, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const groups = JSON.parse(listed.stdout).groups as Array<{ version: string; deployment: string; count: number }>;
      assert.deepEqual(
        groups.filter((g) => g.deployment === broken.id && g.version === '1.2.0').map((g) => g.count),
        [dead],
      );

      const { deployment } = await controller.replayDeadLetters(pipeline, { deployment: broken.id });
      assert.ok(deployment !== null);
      const replay = await controller.wait(deployment.id);
      assert.equal(replay.status, 'completed', JSON.stringify(replay.summary));
      assert.deepEqual([replay.summary.replay?.replayed, replay.summary.replay?.failedAgain], [dead, 0]);
      await assert.rejects(controller.replayDeadLetters(pipeline, { deployment: broken.id }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_NOTHING_TO_REPLAY'),
      );
    } finally {
      await load.stop();
      await waitForCaughtUp(reader, `slipway.${pipeline}`, input.topic, input.partitions);
      await t.close();
      const report = await checkExactlyOnce(reader, {
        input: input.topic,
        outputs: [output.topic],
        dlq: `${input.topic}.dlq`,
      });
      await reader.close();
      assert.equal(report.lost, 0, JSON.stringify(report.examples));
      assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
      assert.equal(report.deadLettered, dead);
      assert.equal(report.replayed, dead);
    }
  });
});

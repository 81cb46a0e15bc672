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
import { RunnerGroup } from '../src/supervisor/runner-group.js';
import { startTestController } from './helpers/controller.js';
import { isolateDataset } from './helpers/isolate.js';
import { OrderLoad } from './helpers/load.js';
import { waitForCaughtUp } from './helpers/versions.js';

// Scale-out: the live version runs as several runner processes, each owning a share of the input
// partitions that the controller assigns; scaling 1 → 3 → 1 (and a blue-green deployment at 3
// runners) under continuous load loses and duplicates nothing. The same test on both engines.
const id = randomUUID().slice(0, 8);
process.env.SLIPWAY_TEST_ISOLATION = id;
const pipeline = `enrich-orders-${id}`;
const input = isolateDataset(orders, id);
const output = isolateDataset(enrichedOrders, id);

const dir = mkdtempSync(join(tmpdir(), 'slipway-scale-'));
after(() => rmSync(dir, { recursive: true, force: true }));

for (const engine of ['embedded', 'kafka'] as const) {
  describe(`scale-out on the ${engine} log`, () => {
    it('scales 1 → 3 → 1 runners and deploys at 3 under load: every input exactly once', async () => {
      const log: LogConfig =
        engine === 'kafka'
          ? { engine: 'kafka', brokers: kafkaBrokers() }
          : { engine: 'embedded', path: join(dir, 'log.db') };
      const t = await startTestController(join(dir, engine), { log, isolated: true });
      const { controller, store } = t;
      const artifact = (v: 'v1' | 'v2', _version: string): string => t.versions[v];
      const load = new OrderLoad(log, 400, 200, input);
      await load.start();
      const reader = await openLog(log);
      const live = () => controller.liveRunners().find((r) => r.pipeline === pipeline)?.runner;
      try {
        const first = await controller.wait(
          (await controller.deploy(artifact('v1', '1.0.0'), { strategy: 'blue-green', bakeMs: 300 })).id,
        );
        assert.equal(first.status, 'completed', JSON.stringify(first.summary));
        assert.equal(live()?.size, 1);

        await assert.rejects(controller.scale(pipeline, 5), { code: 'SLIPWAY_USAGE', message: /from 1 to 4/ });
        const up = await controller.wait((await controller.scale(pipeline, 3)).id);
        assert.equal(up.status, 'completed', JSON.stringify(up.summary));
        assert.equal((await store.getRelease(pipeline, 'local'))?.runners, 3);
        const group = live();
        assert.ok(group instanceof RunnerGroup, 'three runners');
        assert.equal(group.size, 3);
        const shares = group.members.map((m) => (m.spec.assignment ?? []).map((tp) => tp.partition));
        assert.deepEqual(shares, [[0, 3], [1], [2]], 'the controller deals partitions round-robin');
        assert.equal(new Set(group.members.map((m) => m.spec.id)).size, 3);
        assert.equal(new Set(group.owners).size, 3, 'an owner (a transactional id on Kafka) per runner');
        // Every runner commits its own partitions (60 s is a liveness bound, not a timing check).
        for (const m of group.members) {
          const deadline = Date.now() + 60_000;
          while ((await m.stats()).commits === 0) {
            assert.ok(Date.now() < deadline, `${m.spec.id} never committed`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
        const status = await group.stats();
        assert.equal(status.offsets.length, 4);

        const deployed = await controller.wait(
          (
            await controller.deploy(artifact('v2', '1.1.0'), {
              strategy: 'blue-green',
              bakeMs: 500,
              gates: { allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'] },
            })
          ).id,
        );
        assert.equal(deployed.status, 'completed', JSON.stringify(deployed.summary));
        assert.equal(live()?.size, 3, 'green started as many runners as blue had');
        await assert.rejects(controller.deploy(artifact('v1', '1.0.0'), { strategy: 'canary' }), {
          code: 'SLIPWAY_DEPLOY_REFUSED',
          message: /runs as 3 runners/,
        });

        const down = await controller.wait((await controller.scale(pipeline, 1)).id);
        assert.equal(down.status, 'completed', JSON.stringify(down.summary));
        assert.equal(live()?.size, 1);
        assert.equal((await store.getRelease(pipeline, 'local'))?.runners, 1);
      } finally {
        const sent = await load.stop();
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
      }
    });
  });
}

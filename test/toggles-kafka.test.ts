// Toggles on the Kafka log: a toggle changed at run time is picked up by a running runner, every output carries
// the toggles header, and outputs stay exactly once across toggle changes and a takeover by a second runner
// (which fences the first mid-stream and goes on from the committed offsets and toggle barriers).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseTogglesHeader, Runner, setToggle, TOGGLES_HEADER } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { orders } from '../examples/orders/datasets.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { namespaceLog } from '../src/log/namespaced-log.js';
import { pricedOrders, priceOrders } from './fixtures/toggled-orders.js';
import { deleteRunTopics, kafkaLogOptions, runId } from './helpers/kafka-run.js';
import { produceOrders, readAll } from './helpers/orders.js';
import { checkToggledOutputs } from './helpers/toggle-check.js';

const id = runId();
const prefix = `t${id}.`;

describe('toggles on Kafka', () => {
  let brokers: string[] = [];
  before(() => {
    brokers = kafkaBrokers();
  });
  after(async () => {
    if (brokers.length > 0) await deleteRunTopics(brokers, id, [`${prefix}slipway.price-orders`]);
  });

  it('a runner on Kafka picks up toggle changes at run time; outputs carry the header and stay exactly once', async () => {
    const kafka = await openKafkaLog(kafkaLogOptions(brokers, id));
    // Every topic, group, owner and state namespace of this run carries its id on the shared cluster.
    const log = namespaceLog(kafka, prefix);
    const runners: Runner[] = [];
    try {
      await produceOrders(log, 0, 2000);
      await setToggle(log, { toggle: 'new-pricing', setting: { percent: 30 }, by: 'kafka-test' });
      const first = new Runner({ pipeline: priceOrders, log, batchSize: 200, idleWaitMs: 50, toggleRefreshMs: 50 });
      runners.push(first);
      await first.start();
      await first.activate();
      const seen: number[] = [];
      first.on('toggles', (v: number) => seen.push(v));

      // Changes while it runs: a share raised, a guarded output turned on for EUR, a fixed branch.
      const changes = [
        { toggle: 'new-pricing', setting: { percent: 70 } },
        { toggle: 'eu-output', setting: { where: [{ field: 'currency', op: 'eq' as const, value: 'EUR' }] } },
        { toggle: 'fast-lane', setting: { fixed: 'on' } },
      ];
      let produced = 2000;
      for (const change of changes) {
        const { version } = await setToggle(log, { ...change, by: 'kafka-test' });
        await produceOrders(log, produced, 1000);
        produced += 1000;
        const deadline = Date.now() + 30_000;
        while (first.toggleVersion < version) {
          assert.ok(Date.now() < deadline, `the running runner picks up toggle version ${version}`);
          assert.equal(first.state, 'running');
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      assert.ok(seen.length >= changes.length, `toggle versions seen while running: ${seen.join(', ')}`);

      // A second runner takes over (fencing the first wherever it is) after one more change, and drains.
      await setToggle(log, { toggle: 'new-pricing', setting: null, by: 'kafka-test' });
      await produceOrders(log, produced, 1000);
      produced += 1000;
      const second = new Runner({ pipeline: priceOrders, log, batchSize: 500, idleWaitMs: 50 });
      runners.push(second);
      await second.start();
      await second.activate();
      await second.pause();
      await second.drain();

      const check = await checkToggledOutputs(log);
      assert.equal(check.inputs, produced);
      assert.ok(check.versions.length >= 3, `outputs from toggle versions ${check.versions.join(', ')}`);
      const priced = await readAll(log, pricedOrders.topic);
      for (const r of priced) assert.ok(parseTogglesHeader(r.headers[TOGGLES_HEADER]) !== undefined);
      assert.equal(await log.endOffset(`${orders.topic}.dlq`, 0), 0, 'nothing dead-lettered');
    } finally {
      for (const r of runners) await r.stop().catch(() => {});
      await kafka.close();
    }
  });
});

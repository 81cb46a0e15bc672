import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError, Runner } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { produceOrders, tempLog } from '../../test/helpers/orders.js';

describe('runUntil barriers', () => {
  it('runs each named partition to its barrier and the others not at all; refuses a barrier behind the runner', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 200, 10);
      const runner = new Runner({ pipeline: enrichOrders, log: t.log, batchSize: 16 });
      await runner.start();
      const at = await runner.runUntil([{ topic: orders.topic, partition: 0, offset: 5 }]);
      for (const o of at) assert.equal(o.offset, o.partition === 0 ? 5 : 0, `${o.topic}/${o.partition}`);
      assert.equal(runner.state, 'paused');
      await assert.rejects(runner.runUntil([{ topic: orders.topic, partition: 0, offset: 3 }]), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_INVALID_STATE'));
        assert.match(err.message, /already at .*\/0@5, past the barrier 3/);
        assert.deepEqual(err.details, { topic: orders.topic, partition: 0, position: 5, target: 3 });
        return true;
      });
      assert.equal(runner.state, 'paused');
      const ends = await runner.drain();
      assert.equal(
        ends.reduce((n, o) => n + o.offset, 0),
        200,
      );
      await runner.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('a refused barrier on a running runner sets none: every partition goes on processing', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 200, 10);
      const runner = new Runner({ pipeline: enrichOrders, log: t.log, batchSize: 16, idleWaitMs: 10 });
      await runner.start();
      await runner.activate();
      const settle = async (want: number) => {
        const deadline = Date.now() + 10_000;
        while ((await runner.stats()).processed < want && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        return (await runner.stats()).processed;
      };
      assert.equal(await settle(200), 200);
      // The last partition in order is past offset 0: the barrier is refused after the partitions before it.
      const positions = await runner.offsets();
      const last = positions.reduce((a, b) => (b.partition > a.partition ? b : a));
      assert.ok(last.offset > 0);
      await assert.rejects(
        runner.runUntil([{ topic: orders.topic, partition: last.partition, offset: 0 }]),
        (err: unknown) => isSlipwayError(err, 'SLIPWAY_INVALID_STATE'),
      );
      assert.equal(runner.state, 'running');
      // Nothing may stop at a barrier of the refused call: new records on every partition are all processed.
      await produceOrders(t.log, 200, 200, 10);
      assert.equal(await settle(400), 400, 'a partition stopped at a barrier the refused runUntil left behind');
      await runner.stop();
    } finally {
      await t.cleanup();
    }
  });
});

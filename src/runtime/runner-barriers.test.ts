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
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Runner, readToggleBarriers, setToggle } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { priceOrders } from '../../test/fixtures/toggled-orders.js';
import { produceOrders, tempLog } from '../../test/helpers/orders.js';
import { checkToggledOutputs } from '../../test/helpers/toggle-check.js';

async function caughtUp(runner: Runner): Promise<void> {
  while ((await runner.lag()).some((p) => p.lag > 0)) await new Promise((r) => setTimeout(r, 20));
}

function nextToggles(runner: Runner, version: number): Promise<void> {
  return new Promise((resolve) => {
    const on = (v: number) => {
      if (v >= version) {
        runner.off('toggles', on);
        resolve();
      }
    };
    runner.on('toggles', on);
  });
}

describe('toggles in a running pipeline', () => {
  it('a change on the log is picked up by the running runner without a restart, at an offset barrier committed per partition', async () => {
    const t = await tempLog('slipway-toggles-');
    try {
      await produceOrders(t.log, 0, 2000);
      const runner = new Runner({ pipeline: priceOrders, log: t.log, batchSize: 300, idleWaitMs: 50 });
      await runner.start();
      await runner.activate();
      await caughtUp(runner);
      assert.equal(runner.toggleVersion, 0);

      const picked = nextToggles(runner, 2);
      await setToggle(t.log, { toggle: 'new-pricing', setting: { fixed: 'new' }, by: 'ana' });
      await setToggle(t.log, {
        toggle: 'eu-output',
        setting: { where: [{ field: 'currency', op: 'eq', value: 'EUR' }] },
        by: 'ana',
      });
      await picked;
      await produceOrders(t.log, 2000, 2000);
      await caughtUp(runner);
      const picked2 = nextToggles(runner, 3);
      await setToggle(t.log, { toggle: 'fast-lane', setting: { percent: 50 }, by: 'bo' });
      await picked2;
      await produceOrders(t.log, 4000, 2000);
      await caughtUp(runner);
      await runner.stop();

      const check = await checkToggledOutputs(t.log);
      assert.equal(check.inputs, 6000);
      assert.ok(check.versions.includes(0) && check.versions.includes(3), `versions ${check.versions}`);
      assert.ok(check.euOutputs > 0 && check.euOutputs < 4000, 'EUR orders only, after the change');
      for (let p = 0; p < orders.partitions; p++) {
        const barriers = await readToggleBarriers(t.log, 'price-orders', orders.topic, p);
        assert.equal(barriers[0]?.from, 0, 'the first batch records the version it ran with');
        assert.ok(barriers.some((b) => b.version === 3));
      }

      // A restart goes on with the committed version: no new barrier until the toggles change again.
      const again = new Runner({ pipeline: priceOrders, log: t.log, batchSize: 300, idleWaitMs: 50 });
      await again.start();
      await produceOrders(t.log, 6000, 500);
      await again.drain();
      await again.stop();
      const after = await checkToggledOutputs(t.log);
      assert.equal(after.barriers, check.barriers, 'no barrier without a change');
      assert.equal(after.inputs, 6500);
    } finally {
      await t.cleanup();
    }
  });
});

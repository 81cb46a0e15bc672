import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { startTestController } from './helpers/controller.js';

const samples = resolve('examples/orders/samples');

const dir = mkdtempSync(join(tmpdir(), 'slipway-sample-shadow-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('shadow phase without live traffic', () => {
  it('diffs the versions on the project sample instead, and aborts a broken one before cutover', async () => {
    const t = await startTestController(dir);
    const { controller, store } = t;
    const { v1, v2, v3 } = t.versions;
    try {
      const first = await controller.wait((await controller.deploy(v1, { strategy: 'blue-green', bakeMs: 200 })).id);
      assert.equal(first.status, 'completed');

      const shadow = { records: 500, timeoutMs: 1500, samples };
      const second = await controller.wait(
        (
          await controller.deploy(v2, {
            strategy: 'blue-green',
            shadow,
            bakeMs: 200,
            gates: { allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'] },
          })
        ).id,
      );
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      assert.equal((second.summary.diff as { compared: number }).compared, 0, 'no live input arrived');
      const sampleDiff = second.summary.sampleDiff as {
        samples: string[];
        records: number;
        compared: number;
        changedFields: Record<string, number>;
      };
      assert.deepEqual(sampleDiff.samples, ['orders.v1/default']);
      assert.equal(sampleDiff.records, 200);
      assert.equal(sampleDiff.compared, 200);
      assert.ok((sampleDiff.changedFields.amountEur ?? 0) > 0, 'the sample shows v2 changing amountEur');

      const third = await controller.wait(
        (await controller.deploy(v3, { strategy: 'blue-green', shadow, bakeMs: 200 })).id,
      );
      assert.equal(third.status, 'aborted', JSON.stringify(third.summary));
      const gates = third.summary.gates as Array<{ gate: string; ok: boolean }>;
      assert.deepEqual(
        gates.filter((g) => !g.ok).map((g) => g.gate),
        ['sample-diff-ratio'],
      );
      assert.equal((await store.getRelease('enrich-orders', 'local'))?.artifact.version, '1.1.0');
    } finally {
      await t.close();
    }
  });
});

// Integration: the pipeline on a real log (an embedded file, or the environment `slipway test --env` names), run as `slipway run --until-caught-up` runs it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { produceRecords, readRecords, runPipeline, withTestLog } from 'slipway/testing';
import { enrichedOrders, orders } from '../../datasets.js';
import { enrichOrders } from '../../pipeline.js';

const order = (i: number) => ({
  orderId: `o-${i}`,
  customerId: `c${i % 10}`,
  amount: i === 7 ? 5_000_000 : 10 + i,
  currency: 'EUR' as const,
  items: 1,
  createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
});

describe('enrich-orders on the embedded log', () => {
  it('processes everything once, resumes from its committed offsets, and dead-letters the fraud', async () => {
    // A throwaway embedded log; under `slipway test --env <workspace>`, a namespace of its own in the workspace.
    await withTestLog(async (log) => {
      await produceRecords(
        log,
        orders,
        Array.from({ length: 100 }, (_, i) => order(i)),
      );
      const first = await runPipeline({ pipeline: enrichOrders, log, until: 'caught-up', batchSize: 30 });
      assert.equal(first.inputs, 100);
      assert.equal(first.outputs, 99);
      assert.equal(first.dlq, 1);
      // Batches read while a commit is in flight join the next commit (group commit): at least the first batch's
      // commit and one more.
      assert.ok(first.commits >= 2, `batches of 30 make more than one commit, got ${first.commits}`);

      await produceRecords(
        log,
        orders,
        Array.from({ length: 20 }, (_, i) => order(100 + i)),
      );
      const second = await runPipeline({ pipeline: enrichOrders, log, until: 'caught-up' });
      assert.equal(second.inputs, 20, 'only what arrived since the last run');

      const enriched = await readRecords(log, enrichedOrders);
      assert.equal(enriched.length, 119);
      assert.equal(new Set(enriched.map((e) => e.orderId)).size, 119, 'no output twice');
      const c3 = enriched.filter((e) => e.customerId === 'c3');
      assert.deepEqual(
        c3.map((e) => e.customerOrders),
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      assert.equal(
        second.offsets.reduce((n, o) => n + o.offset, 0),
        120,
      );
    });
  });
});

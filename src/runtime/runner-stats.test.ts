import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Log, partitionFor, Runner } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { makeOrder, tempLog } from '../../test/helpers/orders.js';

/** Appends orders `from..from+count` with the given append timestamps (ms since the epoch). */
async function appendAt(log: Log, from: number, timestamps: number[], poison = new Set<number>()): Promise<void> {
  await log.createTopic(orders.topic, { partitions: orders.partitions });
  await log.append(
    orders.topic,
    timestamps.map((timestamp, i) => {
      const order = makeOrder(from + i, 40);
      if (poison.has(i)) order.amount = 5_000_000; // over the fraud limit: enrichOrders throws
      return {
        partition: partitionFor(order.customerId, orders.partitions),
        key: order.customerId,
        value: JSON.stringify(order),
        timestamp,
      };
    }),
  );
}

/** Within `relative` of `expected`. */
function near(actual: number | null, expected: number, relative: number, what: string): void {
  assert.ok(actual !== null, `${what}: null`);
  assert.ok(
    Math.abs(actual - expected) <= expected * relative,
    `${what}: ${actual}, expected ${expected} ±${relative}`,
  );
}

describe('Runner.stats (issue 10, item 6)', () => {
  it('reports p99 as null before any record appended after activation: a backlog says nothing of this version', async () => {
    const x = await tempLog();
    let now = 1_000_000;
    // The backlog: appended long before the runner was activated.
    await appendAt(
      x.log,
      0,
      Array.from({ length: 300 }, (_, i) => 500_000 + i),
    );
    const runner = new Runner({ pipeline: enrichOrders, log: x.log, batchSize: 200, clock: () => now });
    await runner.start();
    const fresh = await runner.stats();
    assert.equal(fresh.state, 'standby');
    assert.equal(fresh.p99LatencyMs, null);
    assert.equal(fresh.p50LatencyMs, null);
    assert.equal(fresh.latencySamples, 0);
    await runner.activate(); // at 1_000_000
    await runner.drain();
    now += 50;
    const stats = await runner.stats();
    assert.equal(stats.state, 'paused');
    assert.equal(stats.inputs, 300);
    assert.equal(stats.processed, 300);
    assert.equal(stats.outputs, 300);
    assert.equal(stats.dlq, 0);
    assert.equal(stats.lag, 0);
    assert.ok(stats.commits >= 2);
    assert.equal(stats.lastCommitAt, 1_000_000);
    assert.equal(stats.p99LatencyMs, null, 'never 0 for "no data"');
    assert.equal(stats.latencySamples, 0);
    await runner.stop();
    await x.cleanup();
  });

  it('gives the same figures when read twice in a row, and p99 tracks a known distribution within the histogram error', async () => {
    const x = await tempLog();
    let now = 1_000_000;
    const runner = new Runner({ pipeline: enrichOrders, log: x.log, batchSize: 200, clock: () => now });
    await runner.start();
    await runner.activate(); // first activation at 1_000_000
    await runner.pause();
    // 1,000 records appended after activation whose latencies at commit time are exactly 1..1000 ms
    // (every record is sampled: a batch of at most 256 records is sampled whole).
    now = 2_000_000;
    const latencies = Array.from({ length: 1000 }, (_, i) => ((i * 337) % 1000) + 1);
    await appendAt(
      x.log,
      0,
      latencies.map((l) => now - l),
      new Set([3, 250, 500, 750, 999]),
    );
    await runner.drain();
    const first = await runner.stats();
    const second = await runner.stats();
    assert.deepEqual(second, first, 'reading changes nothing');
    assert.equal(first.latencySamples, 1000);
    near(first.p99LatencyMs, 990, 0.05, 'p99');
    near(first.p50LatencyMs, 500, 0.05, 'p50');
    assert.equal(first.processed, 1000);
    assert.equal(first.dlq, 5);
    assert.equal(first.outputs, 995);
    assert.deepEqual(first.recent, { windowMs: 60_000, processed: 1000, dlq: 5 });
    // Polling a hundred times (a bake at 100 ms, /api/status) steals nothing.
    for (let i = 0; i < 100; i++) await runner.stats();
    assert.deepEqual(await runner.stats(), first);
    // The recent window slides with time; the counters and the histogram do not.
    now += 61_000;
    const later = await runner.stats();
    assert.deepEqual(later.recent, { windowMs: 60_000, processed: 0, dlq: 0 });
    assert.equal(later.processed, 1000);
    assert.equal(later.p99LatencyMs, first.p99LatencyMs);
    await runner.stop();
    await x.cleanup();
  });
});

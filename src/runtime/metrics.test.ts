import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AggregatorRegistry } from 'prom-client';
import { RunnerMetrics } from './metrics.js';

const labels = { pipeline: 'p', version: '1.0.0' };
const commit = (committedAt: number, appendedAt: number) => ({
  inputs: [{ topic: 'in', count: 1 }],
  outputs: [],
  batch: [{ timestamp: appendedAt }],
  committedAt,
  durationMs: 1,
});

describe('RunnerMetrics', () => {
  it('keeps the time of the last commit (or activation), and a group reports its latest, not a sum', async () => {
    const a = new RunnerMetrics();
    const b = new RunnerMetrics();
    a.activated(labels, 1_000_000);
    assert.equal((await a.lastCommit.get()).values[0]?.value, 1000);
    a.recordCommit(labels, commit(2_000_000, 1_999_000));
    b.recordCommit(labels, commit(3_000_000, 2_999_000));
    assert.equal((await a.lastCommit.get()).values[0]?.value, 2000);
    const group = AggregatorRegistry.aggregate([
      await a.registry.getMetricsAsJSON(),
      await b.registry.getMetricsAsJSON(),
    ]);
    const text = await group.metrics();
    assert.match(text, /^slipway_last_commit_timestamp_seconds\{pipeline="p",version="1.0.0"\} 3000$/m);
    assert.match(text, /^slipway_records_in_total\{pipeline="p",version="1.0.0",topic="in"\} 2$/m);
  });

  it('buckets end-to-end latency up to 10 minutes', async () => {
    const m = new RunnerMetrics();
    m.recordCommit(labels, commit(500_000, 0)); // 500 s
    const text = await m.registry.metrics();
    assert.match(text, /slipway_end_to_end_latency_seconds_bucket\{le="300",pipeline="p",version="1.0.0"\} 0/);
    assert.match(text, /slipway_end_to_end_latency_seconds_bucket\{le="600",pipeline="p",version="1.0.0"\} 1/);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, isSlipwayError } from 'slipway';
import { type TempLog, tempLog } from '../../test/helpers/orders.js';
import { captureSample } from './capture.js';
import { allocate, PriorityReservoir, recordPriority } from './reservoir.js';

/** Pearson's χ² of observed counts against equal expected counts. */
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

const events = defineDataset({
  name: 'clicks',
  version: '2.1.0',
  key: 'user',
  partitions: 4,
  schema: Type.Object(
    { seq: Type.Integer(), user: Type.String(), type: Type.String(), ms: Type.Integer() },
    { additionalProperties: false },
  ),
});

/** 90% view, 9.5% cart, 0.5% refund; every 97th record is invalid (a string seq). */
function event(i: number): Record<string, unknown> {
  const r = i % 200;
  const type = r === 0 ? 'refund' : r < 20 ? 'cart' : 'view';
  return { seq: i % 97 === 5 ? 'bad' : i, user: `u${i % 500}`, type, ms: i };
}

describe('sampling', () => {
  let t: TempLog;
  const N = 20_000;
  const T0 = Date.UTC(2026, 0, 1);
  before(async () => {
    t = await tempLog('slipway-reservoir-');
    await t.log.createTopic(events.topic, { partitions: 4 });
    for (let start = 0; start < N; start += 5000) {
      const batch = [];
      for (let i = start; i < start + 5000; i++) {
        // Partitions of very different sizes: the sample must still be uniform over all records.
        const partition = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : i % 10 < 9 ? 2 : 3;
        batch.push({ partition, key: `u${i % 500}`, value: JSON.stringify(event(i)), timestamp: T0 + i * 1000 });
      }
      await t.log.append(events.topic, batch);
    }
  });
  after(async () => t.cleanup());

  it('gives priorities uniform in [0, 1)', () => {
    const bins = new Array<number>(20).fill(0);
    for (let p = 0; p < 4; p++) {
      for (let o = 0; o < 25_000; o++) {
        const u = recordPriority(7, p, o);
        assert.ok(u >= 0 && u < 1);
        bins[Math.floor(u * 20)] = (bins[Math.floor(u * 20)] as number) + 1;
      }
    }
    // df = 19: the 99.99th percentile is about 50.
    assert.ok(chiSquare(bins) < 50, `χ² ${chiSquare(bins)}`);
  });

  it('keeps the k smallest priorities', () => {
    const r = new PriorityReservoir<number>();
    const values = Array.from({ length: 1000 }, (_, i) => recordPriority(1, 0, i));
    for (const v of values) if (v < r.max || r.size < 10) r.add(v, v, 10);
    assert.deepEqual(r.sorted(), [...values].sort((a, b) => a - b).slice(0, 10));
  });

  it('samples uniformly over all partitions and the whole time range, skipping invalid records', async () => {
    const sample = await captureSample({ log: t.log, dataset: events, size: 2000, seed: 3 });
    assert.equal(sample.records.length, 2000);
    const bins = new Array<number>(10).fill(0);
    for (const r of sample.records as Array<{ seq: number }>) {
      assert.equal(typeof r.seq, 'number');
      bins[Math.floor((r.seq / N) * 10)] = (bins[Math.floor((r.seq / N) * 10)] as number) + 1;
    }
    // df = 9: the 99.9th percentile is 27.9 (a loose bound, with a fixed seed: deterministic).
    assert.ok(chiSquare(bins) < 27.9, `χ² ${chiSquare(bins)} over ${bins.join(',')}`);
    const byPartition = sample.manifest.source.partitions.map((p) => p.to - p.from);
    assert.deepEqual(byPartition, [10_000, 6000, 2000, 2000]);
    // Records come oldest first.
    const seqs = (sample.records as Array<{ seq: number }>).map((r) => r.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    const v = sample.manifest.validation;
    assert.ok(v.invalid > 0 && v.examined < N / 2, `only candidates are parsed: ${JSON.stringify(v)}`);
    assert.ok(Math.abs(v.estimatedInvalidTotal - N / 97) < N / 97 / 2, JSON.stringify(v));
  });

  it('picks the same records for the same seed, and others for another seed', async () => {
    const a = await captureSample({ log: t.log, dataset: events, size: 300, seed: 11 });
    const b = await captureSample({ log: t.log, dataset: events, size: 300, seed: 11 });
    const c = await captureSample({ log: t.log, dataset: events, size: 300, seed: 12 });
    assert.deepEqual(b.records, a.records);
    assert.notDeepEqual(c.records, a.records);
  });

  it('stratifies by a field in proportion, with every stratum present', async () => {
    const sample = await captureSample({ log: t.log, dataset: events, size: 1000, stratifyBy: { field: 'type' } });
    const count = (type: string) => (sample.records as Array<{ type: string }>).filter((r) => r.type === type).length;
    assert.equal(sample.records.length, 1000);
    assert.ok(Math.abs(count('view') - 900) <= 1, `view ${count('view')}`);
    assert.ok(Math.abs(count('cart') - 95) <= 1, `cart ${count('cart')}`);
    assert.ok(Math.abs(count('refund') - 5) <= 1, `refund ${count('refund')}`);
    const strata = sample.manifest.stratification;
    assert.equal(strata.by, 'field');
    if (strata.by === 'field')
      assert.deepEqual(
        strata.strata.map((s) => s.stratum),
        ['cart', 'refund', 'view'],
      );
    // A tiny sample still holds the rare stratum.
    const tiny = await captureSample({ log: t.log, dataset: events, size: 10, stratifyBy: { field: 'type' } });
    assert.ok((tiny.records as Array<{ type: string }>).some((r) => r.type === 'refund'));
  });

  it('stratifies by key hash buckets', async () => {
    const sample = await captureSample({ log: t.log, dataset: events, size: 800, stratifyBy: { keyHashBuckets: 8 } });
    const strata = sample.manifest.stratification;
    assert.equal(strata.by, 'keyHash');
    if (strata.by !== 'keyHash') return;
    assert.equal(strata.strata.length, 8);
    for (const s of strata.strata) {
      const expected = (800 * s.population) / N;
      assert.ok(Math.abs(s.kept - expected) <= 1, `${s.stratum}: kept ${s.kept}, expected ${expected}`);
    }
  });

  it('refuses to stratify by a field with too many values', async () => {
    await assert.rejects(
      captureSample({ log: t.log, dataset: events, size: 10, stratifyBy: { field: 'ms' } }),
      (err) => isSlipwayError(err, 'SLIPWAY_USAGE') && /--key-buckets/.test(err.message),
    );
  });

  it('samples only a time window', async () => {
    const since = T0 + 15_000 * 1000;
    const sample = await captureSample({ log: t.log, dataset: events, size: 500, since, until: T0 + 17_999 * 1000 });
    assert.equal(sample.manifest.source.scanned, 3000);
    for (const r of sample.records as Array<{ seq: number }>) assert.ok(r.seq >= 15_000 && r.seq < 18_000);
    assert.ok(
      sample.manifest.source.partitions.every((p) => p.from > 0),
      'the window start is found without reading from 0',
    );
  });

  it('allocates by largest remainder with a floor per stratum', () => {
    const s = (population: number, available = population) => ({ population, available });
    assert.deepEqual(allocate([s(900), s(95), s(5)], 100, 1), [90, 9, 1]);
    assert.deepEqual(allocate([s(998), s(1), s(1)], 10, 1), [8, 1, 1]);
    assert.deepEqual(allocate([s(5), s(5)], 100, 1), [5, 5]);
    assert.deepEqual(allocate([s(500, 3), s(500)], 10, 0), [3, 7]);
  });
});

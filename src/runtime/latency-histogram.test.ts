import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  countAbove,
  HISTOGRAM_MAX_MS,
  HISTOGRAM_MIN_MS,
  HISTOGRAM_RELATIVE_ERROR,
  LatencyHistogram,
  mergeHistograms,
  quantile,
} from './latency-histogram.js';

/** A deterministic uniform (0, 1) stream (a 32-bit LCG). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s + 0.5) / 2 ** 32;
  };
}

/** The exact value of rank ⌊q·(n−1)⌋, as the histogram defines its quantiles. */
function exact(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
}

const distributions: Array<{ name: string; values: () => number[] }> = [
  { name: 'uniform 1..10,000 ms', values: () => Array.from({ length: 10_000 }, (_, i) => i + 1) },
  {
    name: 'exponential, mean 40 ms',
    values: () => {
      const u = uniform(7);
      return Array.from({ length: 50_000 }, () => -40 * Math.log(u()));
    },
  },
  {
    name: 'log-normal over five decades (0.3 ms to 30 s)',
    values: () => {
      const u = uniform(11);
      return Array.from({ length: 50_000 }, () => {
        const z = Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
        return Math.exp(Math.log(100) + 2 * z);
      });
    },
  },
  {
    name: 'bimodal: 98 % fast, 2 % slow (a GC pause)',
    values: () => {
      const u = uniform(3);
      return Array.from({ length: 20_000 }, () => (u() < 0.98 ? 2 + u() * 3 : 800 + u() * 400));
    },
  },
];

describe('LatencyHistogram', () => {
  for (const d of distributions) {
    it(`reads quantiles of ${d.name} within ${HISTOGRAM_RELATIVE_ERROR * 100} %`, () => {
      const values = d.values();
      const h = new LatencyHistogram();
      for (const v of values) h.record(v);
      const snap = h.snapshot();
      assert.equal(snap.samples, values.length);
      const sorted = [...values].sort((a, b) => a - b);
      for (const q of [0, 0.5, 0.9, 0.99, 0.999, 1]) {
        const want = exact(sorted, q);
        const got = quantile(snap, q) as number;
        const within = want < HISTOGRAM_MIN_MS ? HISTOGRAM_MIN_MS : want * HISTOGRAM_RELATIVE_ERROR;
        assert.ok(Math.abs(got - want) <= within + 1e-9, `q${q}: ${got} vs ${want}`);
      }
      assert.ok(snap.buckets.length <= 176);
    });
  }

  it('has no quantile without samples: null, never 0', () => {
    const snap = new LatencyHistogram().snapshot();
    assert.deepEqual(snap, { buckets: [], samples: 0, minMs: null, maxMs: null });
    assert.equal(quantile(snap, 0.99), null);
    assert.equal(quantile(snap, 0.5), null);
  });

  it('keeps values outside its range in its end buckets: the lowest read back as 0.1 ms, the overflow as the largest seen', () => {
    const h = new LatencyHistogram();
    h.record(-3); // clock skew between the producer and the runner
    h.record(0);
    h.record(0.05);
    h.record(HISTOGRAM_MAX_MS * 3);
    const snap = h.snapshot();
    assert.equal(snap.samples, 4);
    assert.equal(quantile(snap, 0), HISTOGRAM_MIN_MS);
    assert.equal(quantile(snap, 0.5), HISTOGRAM_MIN_MS);
    assert.equal(snap.minMs, -3);
    assert.equal(quantile(snap, 1), HISTOGRAM_MAX_MS * 3);
  });

  it('counts the samples slower than a limit, and merges snapshots as if one histogram had them all', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    const all = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) {
      (i % 3 === 0 ? a : b).record(i);
      all.record(i);
    }
    const slow = countAbove(all.snapshot(), 900);
    // Exactly 100 are above 900; the limit's own bucket (900 ± 10 %) is not counted.
    assert.ok(slow <= 100 && slow >= 100 - 0.11 * 900, `${slow}`);
    assert.equal(countAbove(all.snapshot(), 5000), 0);
    assert.equal(countAbove(all.snapshot(), 0), 1000);
    assert.deepEqual(mergeHistograms([a.snapshot(), b.snapshot()]), all.snapshot());
    assert.deepEqual(mergeHistograms([]), new LatencyHistogram().snapshot());
  });
});

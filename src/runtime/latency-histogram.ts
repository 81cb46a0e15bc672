// A log-bucketed latency histogram (the DDSketch layout, with a fixed range): every bucket is 10.5 %
// wider than the one below it, so any quantile read from it is within 5 % of the true value, from
// 0.1 ms to an hour, in 176 counters. Recording is one log and one increment: cheap enough for the
// runner's commit path. Snapshots are plain JSON, so figures cross processes and merge (a runner group).

/** The most relative error of a quantile read from the histogram (for values in its range). */
export const HISTOGRAM_RELATIVE_ERROR = 0.05;
/** Values at or below this land in the lowest bucket (read back as this value), ms. */
export const HISTOGRAM_MIN_MS = 0.1;
/** Values above this land in the overflow bucket (read back as the largest value seen), ms. */
export const HISTOGRAM_MAX_MS = 3_600_000;

const GAMMA = (1 + HISTOGRAM_RELATIVE_ERROR) / (1 - HISTOGRAM_RELATIVE_ERROR);
const INV_LOG_GAMMA = 1 / Math.log(GAMMA);
/** Bucket 0: ≤ MIN; bucket i in 1..TOP: (MIN·γ^(i-1), MIN·γ^i]; bucket TOP+1: > MAX. */
const TOP = Math.ceil(Math.log(HISTOGRAM_MAX_MS / HISTOGRAM_MIN_MS) * INV_LOG_GAMMA);
const BUCKETS = TOP + 2;

/** A histogram as plain JSON: the counts of its non-empty buckets, and the extremes seen. */
export interface LatencyHistogramSnapshot {
  /** `[bucket, count]` of every non-empty bucket, lowest first. */
  buckets: Array<[bucket: number, count: number]>;
  /** Values recorded. */
  samples: number;
  /** Smallest and largest values recorded, ms (null when empty). */
  minMs: number | null;
  maxMs: number | null;
}

/** The bucket of a value, ms (anything not above the minimum — 0, negative clock skew, NaN — is the lowest). */
export function histogramBucket(ms: number): number {
  if (!(ms > HISTOGRAM_MIN_MS)) return 0;
  if (ms > HISTOGRAM_MAX_MS) return BUCKETS - 1;
  return Math.min(TOP, Math.max(1, Math.ceil(Math.log(ms / HISTOGRAM_MIN_MS) * INV_LOG_GAMMA)));
}

/** The value a bucket reads back as: within the relative error of every value in it. */
function bucketValue(bucket: number): number {
  if (bucket <= 0) return HISTOGRAM_MIN_MS;
  return (2 * HISTOGRAM_MIN_MS * GAMMA ** bucket) / (GAMMA + 1);
}

/**
 * End-to-end latencies, ms, in log-spaced buckets (≤ 5 % relative error from 0.1 ms to an hour).
 * Recording allocates nothing; reading changes nothing.
 *
 * @example
 * const h = new LatencyHistogram()
 * h.record(12.5)
 * quantile(h.snapshot(), 0.99) // ≈ 12.5
 */
export class LatencyHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #samples = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = Number.NEGATIVE_INFINITY;

  /** Values recorded so far. */
  get samples(): number {
    return this.#samples;
  }

  record(ms: number): void {
    const b = histogramBucket(ms);
    this.#counts[b] = (this.#counts[b] as number) + 1;
    this.#samples++;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  snapshot(): LatencyHistogramSnapshot {
    const buckets: Array<[number, number]> = [];
    const counts = this.#counts;
    for (let i = 0; i < BUCKETS; i++) if ((counts[i] as number) > 0) buckets.push([i, counts[i] as number]);
    return {
      buckets,
      samples: this.#samples,
      minMs: this.#samples === 0 ? null : this.#min,
      maxMs: this.#samples === 0 ? null : this.#max,
    };
  }
}

/**
 * The `q`-quantile (0..1) of a snapshot, ms, within 5 % of the true value (clamped to the extremes
 * seen); null when it holds no sample — never 0 for "no data".
 */
export function quantile(h: LatencyHistogramSnapshot, q: number): number | null {
  if (h.samples === 0 || h.minMs === null || h.maxMs === null) return null;
  // The value of rank ⌊q·(n−1)⌋ (0-based): p99 of 1..1000 is the 990th value.
  const rank = Math.floor(Math.min(1, Math.max(0, q)) * (h.samples - 1));
  let seen = 0;
  for (const [bucket, count] of h.buckets) {
    seen += count;
    if (seen > rank) {
      // Above the range nothing is known but the largest value seen.
      if (bucket >= BUCKETS - 1) return h.maxMs;
      return Math.min(h.maxMs, Math.max(h.minMs, bucketValue(bucket)));
    }
  }
  return h.maxMs;
}

/**
 * How many samples of a snapshot are slower than `ms`: those in buckets wholly above the bucket of
 * `ms` (values within 10 % above it may go uncounted — a gate using it leans towards passing).
 */
export function countAbove(h: LatencyHistogramSnapshot, ms: number): number {
  const limit = histogramBucket(ms);
  let n = 0;
  for (const [bucket, count] of h.buckets) if (bucket > limit) n += count;
  return n;
}

/** One snapshot of the samples of several (the runners of a group). */
export function mergeHistograms(all: ReadonlyArray<LatencyHistogramSnapshot>): LatencyHistogramSnapshot {
  const counts = new Map<number, number>();
  let samples = 0;
  let min: number | null = null;
  let max: number | null = null;
  for (const h of all) {
    for (const [bucket, count] of h.buckets) counts.set(bucket, (counts.get(bucket) ?? 0) + count);
    samples += h.samples;
    if (h.minMs !== null) min = min === null ? h.minMs : Math.min(min, h.minMs);
    if (h.maxMs !== null) max = max === null ? h.maxMs : Math.max(max, h.maxMs);
  }
  return { buckets: [...counts].sort((a, b) => a[0] - b[0]), samples, minMs: min, maxMs: max };
}

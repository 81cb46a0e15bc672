import { fmix32, hash32 } from '../dataset/key-hash.js';
import { SlipwayError } from '../errors.js';

/**
 * Sampling by priorities: every record gets a pseudo-random priority in [0, 1) and a sample of size k keeps the
 * k records with the smallest priorities. That is a uniform sample (every k-subset equally likely), like
 * Algorithm R, with two properties capture relies on:
 * - the priority is a hash of (seed, partition, offset), so the same seed picks the same records whatever
 *   order partitions are read in, and a re-capture of a grown log keeps most of the earlier sample;
 * - a record is a *candidate* only when its priority beats the current k-th smallest, which is rare
 *   (about k·ln(N/k) of N records), so only candidates are parsed and validated, and an invalid candidate is
 *   simply not kept: the result is a uniform sample of the valid records.
 * The per-record cost is one hash and one comparison: O(1).
 */

/** The key-hash bucket of a record key, in 0..buckets-1 (a stable hash of its characters). */
export function keyBucket(key: string, buckets: number): number {
  return hash32(key) % buckets;
}

/** The priority of a record: a hash of seed, partition and offset, uniform in [0, 1) with 53 bits. */
export function recordPriority(seed: number, partition: number, offset: number): number {
  const lo = offset >>> 0;
  const hi = Math.floor(offset / 4294967296);
  const a = fmix32(lo ^ fmix32(seed ^ 0x9e3779b9));
  const b = fmix32(a ^ Math.imul(partition + 1, 0x9e3779b1) ^ Math.imul(hi + 1, 0x85ebca77));
  const c = fmix32(b ^ lo ^ 0x6a09e667);
  return ((b >>> 11) * 4294967296 + c) / 9007199254740992;
}

/** A bounded max-heap of (priority, item): keeps the items with the smallest priorities. */
export class PriorityReservoir<T> {
  readonly #pri: number[] = [];
  readonly #items: T[] = [];

  get size(): number {
    return this.#pri.length;
  }

  /** The largest priority kept (the one the next entrant must beat once the reservoir is full). */
  get max(): number {
    return this.#pri.length === 0 ? Number.POSITIVE_INFINITY : (this.#pri[0] as number);
  }

  /** Adds an item; when `size` then exceeds `capacity`, removes the largest priority. */
  add(priority: number, item: T, capacity: number): void {
    const pri = this.#pri;
    const items = this.#items;
    let i = pri.length;
    pri.push(priority);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((pri[parent] as number) >= priority) break;
      pri[i] = pri[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    pri[i] = priority;
    items[i] = item;
    while (pri.length > capacity) this.#popMax();
  }

  /** Drops the largest priorities until at most `capacity` remain. */
  shrinkTo(capacity: number): void {
    while (this.#pri.length > capacity) this.#popMax();
  }

  #popMax(): void {
    const pri = this.#pri;
    const items = this.#items;
    const lastP = pri.pop() as number;
    const lastI = items.pop() as T;
    const n = pri.length;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && (pri[r] as number) > (pri[l] as number) ? r : l;
      if ((pri[c] as number) <= lastP) break;
      pri[i] = pri[c] as number;
      items[i] = items[c] as T;
      i = c;
    }
    pri[i] = lastP;
    items[i] = lastI;
  }

  /** The items, smallest priority first. */
  sorted(): T[] {
    const order = this.#pri.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
    return order.map(([, i]) => this.#items[i] as T);
  }
}

/** One stratum's running counts. */
export interface Stratum<T> {
  readonly name: string;
  /** Records of the stratum seen (valid or not). */
  population: number;
  readonly reservoir: PriorityReservoir<T>;
}

export interface StratifiedReservoirOptions {
  /** Records wanted in all. */
  size: number;
  /** Every stratum seen gets at least this many records (or all it has). Default 1, so rare strata show up. */
  minPerStratum?: number;
  /** More distinct strata than this is a usage error (a stratum field should be a category). Default 1000. */
  maxStrata?: number;
  /** Names the stratification in errors: `field 'type'`. */
  describe?: string;
}

/** What one stratum contributed to the sample. */
export interface StratumCount {
  stratum: string;
  population: number;
  kept: number;
}

/**
 * Stratified sampling with proportional allocation: each stratum gets its share of `size` by its share of the
 * records seen (largest remainder), but at least `minPerStratum`. With one stratum it is a plain uniform sample.
 * Each stratum keeps a reservoir bounded by the largest share it could still end up with, given how many
 * records are left to read (`remaining`), so memory stays near `size` even with many strata.
 */
export class StratifiedReservoir<T> {
  readonly size: number;
  readonly minPerStratum: number;
  readonly #maxStrata: number;
  readonly #describe: string;
  readonly #strata = new Map<string, Stratum<T>>();
  /** Records seen, all strata. */
  seen = 0;
  /** An upper bound of the records still to read; the caller updates it. Infinity when unknown. */
  remaining = Number.POSITIVE_INFINITY;

  constructor(options: StratifiedReservoirOptions) {
    this.size = options.size;
    this.minPerStratum = options.minPerStratum ?? 1;
    this.#maxStrata = options.maxStrata ?? 1000;
    this.#describe = options.describe ?? 'the stratum';
  }

  /** The stratum of that name, created on first use. */
  stratum(name: string): Stratum<T> {
    let s = this.#strata.get(name);
    if (s === undefined) {
      if (this.#strata.size >= this.#maxStrata) {
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `Stratifying by ${this.#describe} found more than ${this.#maxStrata} distinct values. Stratify by a category (an event type, a country), or by key hash buckets (--key-buckets 16).`,
          { details: { strata: this.#strata.size } },
        );
      }
      s = { name, population: 0, reservoir: new PriorityReservoir<T>() };
      this.#strata.set(name, s);
    }
    return s;
  }

  /** The most records a stratum can still need: its largest possible final share, plus one. */
  #capacity(s: Stratum<T>): number {
    const r = this.remaining;
    if (!Number.isFinite(r)) return this.size;
    const share = (s.population + r) / (this.seen + r);
    return Math.min(this.size, Math.max(this.minPerStratum, Math.ceil(this.size * share)) + 1);
  }

  /**
   * Counts one record of stratum `s` and tells whether it is a candidate (its priority would be kept).
   * Only candidates need parsing and validating; pass the valid ones to {@link add}.
   */
  consider(s: Stratum<T>, priority: number): boolean {
    s.population++;
    this.seen++;
    const res = s.reservoir;
    if (priority < res.max) return true;
    return res.size < this.size && res.size < this.#capacity(s);
  }

  /** Keeps a valid candidate. */
  add(s: Stratum<T>, priority: number, item: T): void {
    s.reservoir.add(priority, item, this.#capacity(s));
  }

  /** The sample: each stratum's allocation of its smallest priorities, and the per-stratum counts. */
  finish(): { items: T[]; strata: StratumCount[] } {
    const strata = [...this.#strata.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const allocation = allocate(
      strata.map((s) => ({ population: s.population, available: s.reservoir.size })),
      this.size,
      this.minPerStratum,
    );
    const items: T[] = [];
    const counts: StratumCount[] = [];
    strata.forEach((s, i) => {
      const take = allocation[i] as number;
      items.push(...s.reservoir.sorted().slice(0, take));
      counts.push({ stratum: s.name, population: s.population, kept: take });
    });
    return { items, strata: counts };
  }
}

/**
 * Splits `size` over strata in proportion to their populations (largest remainder), giving each at least
 * `minPer` (or all it has), never more than it has available.
 */
export function allocate(
  strata: ReadonlyArray<{ population: number; available: number }>,
  size: number,
  minPer: number,
): number[] {
  const totalAvailable = strata.reduce((n, s) => n + s.available, 0);
  if (totalAvailable <= size) return strata.map((s) => s.available);
  const total = strata.reduce((n, s) => n + s.population, 0);
  const quota = strata.map((s) => (total === 0 ? 0 : (size * s.population) / total));
  const floor = strata.map((s) => Math.min(s.available, minPer));
  const a = strata.map((s, i) => Math.min(s.available, Math.max(floor[i] as number, Math.floor(quota[i] as number))));
  let sum = a.reduce((n, x) => n + x, 0);
  while (sum < size) {
    let best = -1;
    for (let i = 0; i < a.length; i++) {
      if ((a[i] as number) >= (strata[i] as { available: number }).available) continue;
      if (best === -1 || (quota[i] as number) - (a[i] as number) > (quota[best] as number) - (a[best] as number))
        best = i;
    }
    if (best === -1) break;
    a[best] = (a[best] as number) + 1;
    sum++;
  }
  while (sum > size) {
    let best = -1;
    for (let i = 0; i < a.length; i++) {
      if ((a[i] as number) <= (floor[i] as number)) continue;
      if (best === -1 || (a[i] as number) - (quota[i] as number) > (a[best] as number) - (quota[best] as number))
        best = i;
    }
    if (best === -1) break;
    a[best] = (a[best] as number) - 1;
    sum--;
  }
  return a;
}

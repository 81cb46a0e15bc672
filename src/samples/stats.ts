import { DistinctCounter } from './distinct-counter.js';
import { type JsonType, jsonTypeOf, walkFields } from './field-paths.js';
import { ShapeAccumulator, type StringShape } from './string-shape.js';

/**
 * Statistics of a set of records, per field path — what `<name>.stats.json` holds beside a sample, what drift is
 * measured on, and what shapes synthetic records.
 *
 * `<name>.stats.json` (format `slipway.sample-stats`, version 1):
 * ```json
 * {
 *   "format": "slipway.sample-stats", "version": 1,
 *   "sample": { …the manifest: dataset, schema digest, size, captured at, source offsets, masking… },
 *   "records": 10000,                               // records the stats describe
 *   "fields": {
 *     "amount": {
 *       "present": 10000, "presence": 1,              // records holding the field (null counts), and the fraction
 *       "count": 10000,                               // occurrences (more than `present` under arrays)
 *       "types": { "number": 10000 },                 // occurrences by JSON type
 *       "distinct": 4873, "distinctExact": true,      // scalar values; estimated (HyperLogLog) past 100,000
 *       "top": [{ "value": 12.5, "count": 31 }],      // ≤ 10 most common scalars (count ≥ 2, or all when ≤ 10 distinct)
 *       "numeric": { "count": 10000, "min": 0, "max": 499.99, "mean": 250.1, "decimals": 2,
 *                    "quantiles": { "p0": 0, "p10": 50, "p25": 125, "p50": 250, "p75": 375, "p90": 450, "p100": 499.99 },
 *                    "percentiles": [0, 5, 10, …, 499.99] },  // p0, p1 … p100: drift's PSI and synth draw on them
 *       "length": { "min": 3, "max": 12, "mean": 7.5 }, // strings only
 *       "shape": { "lengths": …, "classes": …, "prefixes": …, "dates": 0, "sketch": … }  // strings only, see string-shape.ts
 *     },
 *     "lines": { … }, "lines[]": { … }, "lines[].sku": { … }   // nested fields: a.b, array items: a[]
 *   }
 * }
 * ```
 */
export interface SampleStats {
  format: 'slipway.sample-stats';
  version: 1;
  /** Records the stats describe. */
  records: number;
  /** By field path, sorted. */
  fields: Record<string, FieldStats>;
}

export type ScalarValue = string | number | boolean;

export interface TopValue {
  value: ScalarValue;
  count: number;
}

export interface NumericStats {
  count: number;
  min: number;
  max: number;
  mean: number;
  /** Most decimal places seen (capped at 10): synthetic values are rounded to it. */
  decimals: number;
  quantiles: { p0: number; p10: number; p25: number; p50: number; p75: number; p90: number; p100: number };
  /** p0, p1, …, p100 (101 values): fine enough that ties (small whole numbers) keep their shares within 1%. */
  percentiles: number[];
}

export interface FieldStats {
  present: number;
  presence: number;
  count: number;
  types: Partial<Record<JsonType, number>>;
  distinct?: number;
  distinctExact?: boolean;
  top?: TopValue[];
  numeric?: NumericStats;
  length?: { min: number; max: number; mean: number };
  /** Strings only: lengths, kinds of characters, prefixes and a sketch of the values (absent in stats made before it). */
  shape?: StringShape;
}

/** Past this many distinct values per field, counting switches to an estimate. */
export const DISTINCT_EXACT_LIMIT = 100_000;
const TOP = 10;
const TOP_MAX_LENGTH = 200;

interface Accumulator {
  present: number;
  lastRecord: number;
  count: number;
  types: Partial<Record<JsonType, number>>;
  values: Map<ScalarValue, number> | undefined;
  hll: DistinctCounter | undefined;
  scalars: number;
  numbers: number[];
  decimals: number;
  lenMin: number;
  lenMax: number;
  lenSum: number;
  strings: number;
  shape: ShapeAccumulator | undefined;
}

function decimalsOf(n: number): number {
  if (Number.isInteger(n) || !Number.isFinite(n)) return 0;
  const s = String(n);
  const e = s.indexOf('e-');
  if (e !== -1) return Math.min(10, Number(s.slice(e + 2)) + Math.max(0, e - s.indexOf('.') - 1));
  return Math.min(10, s.length - s.indexOf('.') - 1);
}

/** Rounds away binary noise (0.30000000000000004) so stats files stay readable and diff well. */
function tidy(n: number): number {
  return Number.isFinite(n) ? Number(n.toPrecision(12)) : n;
}

/** Quantile of sorted values at `q` in [0, 1], linear between closest ranks. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (pos - lo);
}

/**
 * Computes per-field statistics of records (presence, types, distinct counts, numeric quantiles, top values,
 * string lengths). Nested fields are `a.b`, array items `a[]`.
 *
 * @example
 * const stats = computeStats(records)
 * stats.fields.amount?.numeric?.quantiles.p50
 */
export function computeStats(records: readonly unknown[]): SampleStats {
  const acc = new Map<string, Accumulator>();
  let index = 0;
  const visit = (path: string, value: unknown): undefined => {
    let a = acc.get(path);
    if (a === undefined) {
      a = {
        present: 0,
        lastRecord: -1,
        count: 0,
        types: {},
        values: new Map(),
        hll: undefined,
        scalars: 0,
        numbers: [],
        decimals: 0,
        lenMin: Number.POSITIVE_INFINITY,
        lenMax: 0,
        lenSum: 0,
        strings: 0,
        shape: undefined,
      };
      acc.set(path, a);
    }
    if (a.lastRecord !== index) {
      a.lastRecord = index;
      a.present++;
    }
    a.count++;
    const type = jsonTypeOf(value);
    a.types[type] = (a.types[type] ?? 0) + 1;
    if (type === 'string' || type === 'number' || type === 'boolean') {
      const v = value as ScalarValue;
      a.scalars++;
      if (a.values !== undefined) {
        const c = a.values.get(v);
        if (c !== undefined) a.values.set(v, c + 1);
        else if (a.values.size < DISTINCT_EXACT_LIMIT) a.values.set(v, 1);
        else {
          a.hll = new DistinctCounter();
          for (const k of a.values.keys()) a.hll.add(k);
          a.hll.add(v);
          a.values = undefined;
        }
      } else a.hll?.add(v);
      if (type === 'number') {
        a.numbers.push(v as number);
        const d = decimalsOf(v as number);
        if (d > a.decimals) a.decimals = d;
      } else if (type === 'string') {
        const len = (v as string).length;
        if (len < a.lenMin) a.lenMin = len;
        if (len > a.lenMax) a.lenMax = len;
        a.lenSum += len;
        a.strings++;
        a.shape ??= new ShapeAccumulator();
        a.shape.add(v as string);
      }
    }
    return undefined;
  };
  for (; index < records.length; index++) walkFields(records[index], visit);

  const fields: Record<string, FieldStats> = {};
  const n = records.length;
  for (const path of [...acc.keys()].sort()) {
    const a = acc.get(path) as Accumulator;
    const f: FieldStats = {
      present: a.present,
      presence: n === 0 ? 0 : tidy(a.present / n),
      count: a.count,
      types: Object.fromEntries(Object.entries(a.types).sort(([x], [y]) => x.localeCompare(y))),
    };
    if (a.scalars > 0) {
      if (a.values !== undefined) {
        f.distinct = a.values.size;
        f.distinctExact = true;
        f.top = topValues(a.values);
      } else {
        f.distinct = (a.hll as DistinctCounter).estimate();
        f.distinctExact = false;
      }
    }
    if (a.numbers.length > 0) f.numeric = numericStats(a.numbers, a.decimals);
    if (a.strings > 0) f.length = { min: a.lenMin, max: a.lenMax, mean: tidy(a.lenSum / a.strings) };
    if (a.shape !== undefined) f.shape = a.shape.result();
    fields[path] = f;
  }
  return { format: 'slipway.sample-stats', version: 1, records: n, fields };
}

function topValues(values: Map<ScalarValue, number>): TopValue[] {
  const all = values.size <= TOP;
  const out: TopValue[] = [];
  for (const [value, count] of values) {
    if (!all && count < 2) continue;
    if (typeof value === 'string' && value.length > TOP_MAX_LENGTH) continue;
    out.push({ value, count });
  }
  out.sort((a, b) => b.count - a.count || compareScalars(a.value, b.value));
  return out.slice(0, TOP);
}

function compareScalars(a: ScalarValue, b: ScalarValue): number {
  if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
  return typeof a < typeof b ? -1 : 1;
}

function numericStats(values: number[], decimals: number): NumericStats {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const v of sorted) sum += v;
  const q = (p: number): number => tidy(quantile(sorted, p));
  const percentiles = Array.from({ length: 101 }, (_, i) => q(i / 100));
  return {
    count: sorted.length,
    min: sorted[0] as number,
    max: sorted[sorted.length - 1] as number,
    mean: tidy(sum / sorted.length),
    decimals,
    quantiles: {
      p0: percentiles[0] as number,
      p10: percentiles[10] as number,
      p25: percentiles[25] as number,
      p50: percentiles[50] as number,
      p75: percentiles[75] as number,
      p90: percentiles[90] as number,
      p100: percentiles[100] as number,
    },
    percentiles,
  };
}

/** True when `value` looks like stats made by {@link computeStats} (as read from a file). */
export function isSampleStats(value: unknown): value is SampleStats {
  const v = value as Partial<SampleStats> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.format === 'slipway.sample-stats' &&
    typeof v.records === 'number' &&
    typeof v.fields === 'object'
  );
}

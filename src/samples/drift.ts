import { compareStringShapes } from './shape-drift.js';
import { chiSquareCritical, zTwoProportions } from './significance.js';
import type { FieldStats, SampleStats, ScalarValue, TopValue } from './stats.js';

export { chiSquareCritical } from './significance.js';

/**
 * Drift: how the data described by `current` stats differs from `base` (a stored sample), field by field.
 * A difference counts only when it is both large (the thresholds below) and unlikely to be sampling noise
 * (a z or χ² test at about p < 0.001), so two samples of unchanged data report nothing.
 */
export interface DriftThresholds {
  /** Presence (fraction of records holding the field) moved by at least this much. Default 0.05. */
  presenceDelta: number;
  /** A JSON type appearing or vanishing counts when it is at least this share of the values. Default 0.01. */
  typeShare: number;
  /** Population Stability Index over the base's decile bins, for numbers. Default 0.2 (0.1–0.25 is "moderate"). */
  psi: number;
  /** The share of one common value moved by at least this much. Default 0.1. */
  topShareDelta: number;
  /** z-score a change must reach to count as more than noise. Default 3.5 (p ≈ 0.0005 per test; a field runs several). */
  z: number;
  /** Fewer values than this on either side and distributions are not compared. Default 20. */
  minCount: number;
  /**
   * Strings: the shares of lengths, kinds of characters or prefixes moved this far apart (total variation
   * distance, 0–1). Default 0.15.
   */
  shapeShift: number;
  /**
   * Strings: the share of values the sample holds fell this far below what the sample's own repeats predict
   * (or values repeat this much more often). Default 0.5: a field whose values all changed, not one that churns.
   */
  valueShift: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = Object.freeze({
  presenceDelta: 0.05,
  typeShare: 0.01,
  psi: 0.2,
  topShareDelta: 0.1,
  z: 3.5,
  minCount: 20,
  shapeShift: 0.15,
  valueShift: 0.5,
});

export type FieldDriftStatus = 'unchanged' | 'drifted' | 'new' | 'missing';

export interface FieldDrift {
  path: string;
  status: FieldDriftStatus;
  /** Why it drifted, one readable line each (no raw values but the common ones of the stats). */
  reasons: string[];
  /** Presence in base and current (0 where absent). */
  presence: [base: number, current: number];
  /** PSI of the numeric distribution, when both sides have one. */
  psi?: number;
  /** The common value whose share moved most, when both sides list common values. */
  topShift?: { value: ScalarValue; base: number; current: number };
}

export interface DriftReport {
  /** True when any field is drifted, new or missing. */
  drifted: boolean;
  baseRecords: number;
  currentRecords: number;
  /** Every field of either side (children of a new or missing field are folded into it), sorted by path. */
  fields: FieldDrift[];
  counts: Record<FieldDriftStatus, number>;
  thresholds: DriftThresholds;
}

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;
const num = (x: number): string => String(Number(x.toPrecision(4)));

/**
 * Compares the stats of a sample (`base`) with newer stats (`current`: a fresh capture of live data, or a newer
 * sample) and reports per field: `new`, `missing`, `drifted` (presence, type, numeric distribution, common
 * values' shares, or — for strings — shape or values changed, see compareStringShapes) or `unchanged`.
 *
 * @example
 * const report = compareStats(sample.stats, live.stats)
 * for (const f of report.fields) if (f.status !== 'unchanged') console.log(f.path, f.status, f.reasons.join('; '))
 */
export function compareStats(
  base: SampleStats,
  current: SampleStats,
  thresholds: Partial<DriftThresholds> = {},
): DriftReport {
  const t: DriftThresholds = { ...DEFAULT_DRIFT_THRESHOLDS, ...thresholds };
  const paths = [...new Set([...Object.keys(base.fields), ...Object.keys(current.fields)])].sort();
  const fields: FieldDrift[] = [];
  const folded: string[] = [];
  const under = (path: string, parent: string): boolean =>
    path.startsWith(`${parent}.`) || path.startsWith(`${parent}[]`);
  for (const path of paths) {
    if (folded.some((p) => under(path, p))) continue;
    const b = base.fields[path];
    const c = current.fields[path];
    if (b === undefined && c !== undefined) {
      fields.push({
        path,
        status: 'new',
        reasons: [`new field, in ${pct(c.presence)} of records (${typesText(c)})`],
        presence: [0, c.presence],
      });
      folded.push(path);
      continue;
    }
    if (b !== undefined && c === undefined) {
      const expected = b.presence * current.records;
      if (expected >= 3) {
        fields.push({
          path,
          status: 'missing',
          reasons: [`not seen any more (was in ${pct(b.presence)} of records)`],
          presence: [b.presence, 0],
        });
        folded.push(path);
      } else {
        fields.push({ path, status: 'unchanged', reasons: [], presence: [b.presence, 0] });
      }
      continue;
    }
    fields.push(compareField(path, b as FieldStats, c as FieldStats, base.records, current.records, t));
  }
  const counts: Record<FieldDriftStatus, number> = { unchanged: 0, drifted: 0, new: 0, missing: 0 };
  for (const f of fields) counts[f.status]++;
  return {
    drifted: counts.drifted + counts.new + counts.missing > 0,
    baseRecords: base.records,
    currentRecords: current.records,
    fields,
    counts,
    thresholds: t,
  };
}

function typesText(f: FieldStats): string {
  return Object.keys(f.types).join('|') || 'no values';
}

function compareField(
  path: string,
  b: FieldStats,
  c: FieldStats,
  nb: number,
  nc: number,
  t: DriftThresholds,
): FieldDrift {
  const reasons: string[] = [];
  const out: FieldDrift = { path, status: 'unchanged', reasons, presence: [b.presence, c.presence] };

  const dp = c.presence - b.presence;
  if (Math.abs(dp) >= t.presenceDelta && zTwoProportions(b.presence, nb, c.presence, nc) >= t.z) {
    reasons.push(`presence ${pct(b.presence)} → ${pct(c.presence)}`);
  }

  for (const type of new Set([...Object.keys(b.types), ...Object.keys(c.types)]) as Set<keyof FieldStats['types']>) {
    const sb = (b.types[type] ?? 0) / Math.max(1, b.count);
    const sc = (c.types[type] ?? 0) / Math.max(1, c.count);
    if (sb === 0 && sc >= t.typeShare && (c.types[type] ?? 0) >= 2)
      reasons.push(`new type ${type} (${pct(sc)} of values)`);
    else if (sc === 0 && sb >= t.typeShare && sb * c.count >= 3)
      reasons.push(`type ${type} no longer seen (was ${pct(sb)})`);
  }

  if (
    b.numeric !== undefined &&
    c.numeric !== undefined &&
    b.numeric.count >= t.minCount &&
    c.numeric.count >= t.minCount
  ) {
    const { psi, bins } = psiFromPercentiles(b.numeric.percentiles, c.numeric.percentiles);
    out.psi = Number(psi.toFixed(4));
    const neff = (b.numeric.count * c.numeric.count) / (b.numeric.count + c.numeric.count);
    if (psi >= t.psi && psi * neff > chiSquareCritical(Math.max(1, bins - 1), t.z)) {
      reasons.push(
        `distribution shifted: PSI ${psi.toFixed(2)}, median ${num(b.numeric.quantiles.p50)} → ${num(c.numeric.quantiles.p50)}, p90 ${num(b.numeric.quantiles.p90)} → ${num(c.numeric.quantiles.p90)}`,
      );
    }
  }

  const shift = topShift(b, c);
  if (shift !== undefined) {
    out.topShift = shift;
    const sb = scalarCount(b);
    const sc = scalarCount(c);
    if (
      sb >= t.minCount &&
      sc >= t.minCount &&
      Math.abs(shift.current - shift.base) >= t.topShareDelta &&
      zTwoProportions(shift.base, sb, shift.current, sc) >= t.z
    ) {
      reasons.push(`share of ${JSON.stringify(shift.value)} ${pct(shift.base)} → ${pct(shift.current)}`);
    }
  }

  // Strings: shape (lengths, kinds of characters, prefixes) and the values themselves, through the sketches.
  // Stats made before shapes were kept have none: those fields are compared as above only.
  if (b.shape !== undefined && c.shape !== undefined) reasons.push(...compareStringShapes(b.shape, c.shape, t));

  if (reasons.length > 0) out.status = 'drifted';
  return out;
}

function scalarCount(f: FieldStats): number {
  return (f.types.string ?? 0) + (f.types.number ?? 0) + (f.types.boolean ?? 0);
}

/** True when the top list names every distinct value (so an unlisted value has share 0). */
function complete(f: FieldStats): boolean {
  return f.distinctExact === true && f.top !== undefined && f.distinct === f.top.length;
}

/** The common value whose share moved most; values unlisted on an incomplete side are not compared. */
function topShift(b: FieldStats, c: FieldStats): FieldDrift['topShift'] {
  if (b.top === undefined || c.top === undefined) return undefined;
  const sb = scalarCount(b);
  const sc = scalarCount(c);
  if (sb === 0 || sc === 0) return undefined;
  const key = (v: ScalarValue): string => `${typeof v}:${String(v)}`;
  const index = (top: TopValue[]): Map<string, TopValue> => new Map(top.map((x) => [key(x.value), x]));
  const ib = index(b.top);
  const ic = index(c.top);
  let best: FieldDrift['topShift'];
  for (const k of new Set([...ib.keys(), ...ic.keys()])) {
    const xb = ib.get(k);
    const xc = ic.get(k);
    if ((xb === undefined && !complete(b)) || (xc === undefined && !complete(c))) continue;
    const shareB = (xb?.count ?? 0) / sb;
    const shareC = (xc?.count ?? 0) / sc;
    if (best === undefined || Math.abs(shareC - shareB) > Math.abs(best.current - best.base)) {
      best = { value: (xb ?? xc)?.value as ScalarValue, base: shareB, current: shareC };
    }
  }
  return best;
}

/** The cumulative distribution at x, interpolated between evenly spaced quantiles (right-continuous at ties). */
function cdfFromQuantiles(q: readonly number[], x: number): number {
  const last = q.length - 1;
  if (x < (q[0] as number)) return 0;
  if (x >= (q[last] as number)) return 1;
  // The largest j with q[j] ≤ x: binary search (q is sorted).
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if ((q[mid] as number) <= x) lo = mid;
    else hi = mid;
  }
  const a = q[lo] as number;
  const b = q[lo + 1] as number;
  return (lo + (b > a ? (x - a) / (b - a) : 0)) / last;
}

/**
 * Population Stability Index of `current` against `base`, both given as percentiles (p0…p100), over ten bins
 * cut at base's distinct deciles (fewer when values tie), plus everything below and above.
 */
export function psiFromPercentiles(base: readonly number[], current: readonly number[]): { psi: number; bins: number } {
  const step = (base.length - 1) / 10;
  const cuts: number[] = [];
  for (let i = 1; i < 10; i++) cuts.push(base[Math.round(i * step)] as number);
  const edges = [...new Set(cuts)].sort((x, y) => x - y);
  const eps = 1e-4;
  let psi = 0;
  let prevB = 0;
  let prevC = 0;
  for (let i = 0; i <= edges.length; i++) {
    const fb = i < edges.length ? cdfFromQuantiles(base, edges[i] as number) : 1;
    const fc = i < edges.length ? cdfFromQuantiles(current, edges[i] as number) : 1;
    const pb = Math.max(eps, fb - prevB);
    const pc = Math.max(eps, fc - prevC);
    psi += (pc - pb) * Math.log(pc / pb);
    prevB = fb;
    prevC = fc;
  }
  return { psi, bins: edges.length + 1 };
}

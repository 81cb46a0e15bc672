// The gates a deployment is judged by, as pure functions of figures: green's (a RunnerStats has them),
// blue's counts over comparable input, and the shadow diff. No I/O, no clock: the controller reads the
// figures, calls these, records the results and acts on `ok`. See GATES-README.md for the reasoning.
import { type Static, Type } from '@sinclair/typebox';
import { countAbove, type LatencyHistogramSnapshot } from '../runtime/latency-histogram.js';
import { differenceLowerBound, wilsonLowerBound } from './gate-statistics.js';
import type { OutputDiff } from './output-diff.js';

/** The thresholds of the gates; every field is optional (defaults in {@link GATE_DEFAULTS}). */
export const GateConfigSchema = Type.Object(
  {
    /** Most dead letters per processed record green may have (default 0.01); it fails when the evidence says its true ratio is above. */
    maxDlqRatio: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'most dead letters per processed record (default 0.01)' }),
    ),
    /** How much green's DLQ ratio may exceed blue's, over comparable input (default 0.005: half a point). */
    maxDlqRatioIncrease: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: "most green's DLQ ratio may exceed blue's (default 0.005)" }),
    ),
    /** Records green must process before a DLQ gate may fail (default 500); until then it is pending. */
    minRecords: Type.Optional(
      Type.Integer({ minimum: 0, description: 'records processed before a DLQ gate may fail (default 500)' }),
    ),
    /** Highest p99 end-to-end latency of green's records, ms (default 5000). */
    maxP99LatencyMs: Type.Optional(Type.Number({ minimum: 0, description: 'highest p99 latency, ms (default 5000)' })),
    /** Latency samples needed before the latency gate may fail (default 200). */
    minLatencySamples: Type.Optional(
      Type.Integer({ minimum: 0, description: 'latency samples before the latency gate may fail (default 200)' }),
    ),
    /** Most records green may be behind at the end of the bake (default 100000). */
    maxLag: Type.Optional(
      Type.Integer({ minimum: 0, description: 'most records behind at the end of bake (default 100000)' }),
    ),
    /** Most unexpected differences per compared output in the shadow diff (default 0). */
    maxDiffRatio: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1,
        description: 'most unexpected differences per compared shadow output (default 0)',
      }),
    ),
    /** Output fields the release is expected to change: differences in them do not count. */
    allowChangedFields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'output fields the new version is expected to change' }),
    ),
    /** Fail a gate that saw too little to judge by the end of the bake, instead of passing it as inconclusive (default false). */
    requireConclusive: Type.Optional(
      Type.Boolean({ description: 'fail gates that saw too little to judge, instead of passing them (default false)' }),
    ),
  },
  { additionalProperties: false },
);

/** The thresholds of the gates (see {@link GateConfigSchema}). */
export type GateConfig = Static<typeof GateConfigSchema>;

/** Every threshold's default. */
export const GATE_DEFAULTS = {
  maxDlqRatio: 0.01,
  maxDlqRatioIncrease: 0.005,
  minRecords: 500,
  maxP99LatencyMs: 5000,
  minLatencySamples: 200,
  maxLag: 100_000,
  maxDiffRatio: 0,
  requireConclusive: false,
} as const;

export type GateName =
  | 'runner'
  | 'dlq-ratio'
  | 'dlq-vs-blue'
  | 'p99-latency'
  | 'lag'
  | 'diff-ratio'
  | 'sample-diff-ratio';

/**
 * `pass`: judged and within its limit. `fail`: judged and past it (or, with `requireConclusive`, too
 * little seen by the end). `pending`: too little seen yet — not a failure, the bake goes on.
 * `inconclusive`: the bake ended with too little seen; it passes, marked so.
 */
export type GateStatus = 'pass' | 'fail' | 'pending' | 'inconclusive';

/** One gate's judgement, as every function here returns it. */
export interface GateVerdict {
  gate: GateName;
  /** False only when the gate failed: pending and inconclusive gates are ok. */
  ok: boolean;
  status: GateStatus;
  /** The figure judged (a ratio, ms, records behind, a state); null when there is none yet. */
  value: number | string | null;
  limit: number | string;
  /** Records (or latency samples, or compared outputs) the judgement rests on; null when it counts none. */
  records: number | null;
  /** Blue's records it was compared with; null when it compares with none. */
  baselineRecords: number | null;
  /** True when the verdict rests on fewer records than the gate needs (pending, or passed/failed at the end for lack of them). */
  inconclusive: boolean;
  /** For a human, in the deployment's output: `dlq-ratio 0.6 % of 1,930 records (blue 0.5 % of 2,010): within 1 %`. */
  message: string;
}

/**
 * A gate result as the strategies build it by hand today. Transitional: every function here returns
 * the full {@link GateVerdict}; once no result is built by hand, this becomes `GateVerdict`.
 */
export type GateResult = Omit<GateVerdict, 'status' | 'records' | 'baselineRecords' | 'inconclusive' | 'value'> &
  Partial<Pick<GateVerdict, 'status' | 'records' | 'baselineRecords' | 'inconclusive'>> & {
    value: number | string | null;
  };

/** Green's figures the gates judge: a `RunnerStats` has every one. */
export interface GateFigures {
  /** The runner's state (`running`, `paused`, …, `failed`, `fenced`, `stopped`). */
  state: string;
  /** Input records processed (in its key share). */
  processed: number;
  /** Of those, dead-lettered. */
  dlq: number;
  /** p99 end-to-end latency of records appended after activation, ms; null before any. */
  p99LatencyMs: number | null;
  latencySamples: number;
  /** The latency histogram: lets the latency gate count records slower than the limit. */
  latency?: LatencyHistogramSnapshot;
  /** Records behind. */
  lag: number;
}

/**
 * Blue's counts over input comparable to green's: for blue-green, blue's `recent` window read just
 * before the cutover; for a canary, the growth of blue's `processed` and `dlq` since green's activation
 * (the same period, on blue's share of keys) — see {@link countsSince}.
 */
export interface BaselineCounts {
  processed: number;
  dlq: number;
}

export interface GateInput {
  /** Green's figures; undefined when they could not be read (green exited). */
  green: GateFigures | undefined;
  /** Blue's counts to compare green's DLQ ratio with; without them only the absolute limit applies. */
  baseline?: BaselineCounts | undefined;
  /** The last look of the bake (or a one-shot judgement, as the shadow's): pending gates become inconclusive, lag is judged. */
  final: boolean;
}

/**
 * Every gate on green's figures: `runner`, `dlq-ratio`, `dlq-vs-blue` (with a baseline),
 * `p99-latency`, and `lag` on the final look.
 *
 * @example
 * const results = evaluateGates({ green: await green.stats(), baseline: blueBefore.recent, final }, options.gates)
 * if (results.some((g) => !g.ok)) rollBack()
 */
export function evaluateGates(input: GateInput, config: GateConfig = {}): GateVerdict[] {
  const { green, baseline, final } = input;
  const results = [runnerGate(green?.state, final)];
  if (green === undefined) return results;
  results.push(dlqRatioGate(green, config, final, baseline));
  if (baseline !== undefined) results.push(dlqVsBlueGate(green, baseline, config, final));
  results.push(latencyGate(green, config, final));
  if (final) results.push(lagGate(green.lag, config));
  return results;
}

/** What a set of gate results adds up to: failed when one failed; settled when none is pending. */
export function gatesOutcome(results: ReadonlyArray<GateResult>): {
  ok: boolean;
  settled: boolean;
  failed: GateResult[];
  inconclusive: GateResult[];
} {
  return {
    ok: results.every((g) => g.ok),
    settled: results.every((g) => g.status !== 'pending'),
    failed: results.filter((g) => !g.ok),
    inconclusive: results.filter((g) => g.inconclusive === true),
  };
}

/** Blue's counts over a period: what it has now less what it had at the start (a canary's baseline). */
export function countsSince(now: BaselineCounts, atStart: BaselineCounts): BaselineCounts {
  return { processed: Math.max(0, now.processed - atStart.processed), dlq: Math.max(0, now.dlq - atStart.dlq) };
}

const HEALTHY = new Set(['running', 'pausing', 'paused', 'standby']);

/** `runner`: green must be alive — it fails when green exited, failed, was fenced or stopped during the bake. */
export function runnerGate(state: string | undefined, final = false): GateVerdict {
  const base = { gate: 'runner' as const, limit: 'running', records: null, baselineRecords: null };
  if (state === undefined) {
    return {
      ...base,
      ok: false,
      status: 'fail',
      value: 'exited',
      inconclusive: false,
      message: 'runner: green exited',
    };
  }
  if (HEALTHY.has(state)) {
    return {
      ...base,
      ok: true,
      status: 'pass',
      value: state,
      inconclusive: false,
      message: `runner: green is ${state}`,
    };
  }
  if ((state === 'created' || state === 'starting') && !final) {
    return {
      ...base,
      ok: true,
      status: 'pending',
      value: state,
      inconclusive: true,
      message: `runner: green is ${state}`,
    };
  }
  return {
    ...base,
    ok: false,
    status: 'fail',
    value: state,
    inconclusive: false,
    message: `runner: green is ${state}`,
  };
}

/**
 * `dlq-ratio`: green's dead letters per processed record against `maxDlqRatio`. It fails only when the
 * 99 % Wilson lower bound of green's ratio is above the limit (the evidence says the true ratio is), and
 * only once green processed `minRecords`.
 */
export function dlqRatioGate(
  green: BaselineCounts,
  config: GateConfig = {},
  final = false,
  baseline?: BaselineCounts,
): GateVerdict {
  const limit = config.maxDlqRatio ?? GATE_DEFAULTS.maxDlqRatio;
  const need = config.minRecords ?? GATE_DEFAULTS.minRecords;
  const n = green.processed;
  const ratio = n === 0 ? null : green.dlq / n;
  const blue = baseline === undefined ? '' : ` (blue ${ratioOf(baseline)})`;
  const head = `dlq-ratio ${ratioOf(green)}${blue}`;
  const base = {
    gate: 'dlq-ratio' as const,
    value: ratio === null ? null : round4(ratio),
    limit,
    records: n,
    baselineRecords: baseline?.processed ?? null,
  };
  if (n < need) return tooFew(base, head, `${need.toLocaleString('en-US')} records`, config, final);
  const lower = wilsonLowerBound(green.dlq, n);
  if (lower > limit) {
    return {
      ...base,
      ok: false,
      status: 'fail',
      inconclusive: false,
      message: `${head}: above the ${pct(limit)} limit (at least ${pct(lower)} with 99 % confidence)`,
    };
  }
  const within = (ratio ?? 0) <= limit ? `within ${pct(limit)}` : `above ${pct(limit)}, but not beyond chance`;
  return { ...base, ok: true, status: 'pass', inconclusive: false, message: `${head}: ${within}` };
}

/**
 * `dlq-vs-blue`: green's DLQ ratio against blue's over comparable input. It fails when, with 99 %
 * confidence, green's ratio exceeds blue's by more than `maxDlqRatioIncrease` (a one-sided test on the
 * difference of the two ratios), once both processed `minRecords`. A green as poisoned as blue passes.
 */
export function dlqVsBlueGate(
  green: BaselineCounts,
  baseline: BaselineCounts,
  config: GateConfig = {},
  final = false,
): GateVerdict {
  const tolerance = config.maxDlqRatioIncrease ?? GATE_DEFAULTS.maxDlqRatioIncrease;
  const need = config.minRecords ?? GATE_DEFAULTS.minRecords;
  const head = `dlq-vs-blue ${ratioOf(green)} vs blue ${ratioOf(baseline)}`;
  const diff = green.processed === 0 || baseline.processed === 0 ? null : ratio(green) - ratio(baseline);
  const base = {
    gate: 'dlq-vs-blue' as const,
    value: diff === null ? null : round4(diff),
    limit: tolerance,
    records: green.processed,
    baselineRecords: baseline.processed,
  };
  if (green.processed < need || baseline.processed < need) {
    return tooFew(base, head, `${need.toLocaleString('en-US')} records on each side`, config, final);
  }
  const lower = differenceLowerBound(green.dlq, green.processed, baseline.dlq, baseline.processed);
  if (lower > tolerance) {
    return {
      ...base,
      ok: false,
      status: 'fail',
      inconclusive: false,
      message: `${head}: higher than blue's by more than ${pts(tolerance)} (at least ${pts(lower)} with 99 % confidence)`,
    };
  }
  return {
    ...base,
    ok: true,
    status: 'pass',
    inconclusive: false,
    message: `${head}: not above blue's by more than ${pts(tolerance)}`,
  };
}

/**
 * `p99-latency`: green's end-to-end latency of records appended after its activation against
 * `maxP99LatencyMs`. With the histogram, it fails when, with 99 % confidence, more than 1 % of green's
 * records were slower than the limit (its true p99 is above it) — a few slow records (a GC pause) do
 * not fail it. Needs `minLatencySamples`; no sample is pending, never a pass at 0.
 */
export function latencyGate(
  green: Pick<GateFigures, 'p99LatencyMs' | 'latencySamples' | 'latency'>,
  config: GateConfig = {},
  final = false,
): GateVerdict {
  const limit = config.maxP99LatencyMs ?? GATE_DEFAULTS.maxP99LatencyMs;
  const need = config.minLatencySamples ?? GATE_DEFAULTS.minLatencySamples;
  const n = green.latencySamples;
  const p99 = green.p99LatencyMs;
  const base = {
    gate: 'p99-latency' as const,
    value: p99 === null ? null : round1(p99),
    limit,
    records: n,
    baselineRecords: null,
  };
  const head = p99 === null ? 'p99-latency: no record timed yet' : `p99-latency ${ms(p99)} over ${count(n, 'sample')}`;
  if (p99 === null || n < need) return tooFew(base, head, `${need.toLocaleString('en-US')} samples`, config, final);
  let failed: string | undefined;
  if (green.latency !== undefined) {
    const slow = countAbove(green.latency, limit);
    const lower = wilsonLowerBound(slow, n);
    if (lower > 0.01)
      failed = `above ${ms(limit)} (${pct(slow / n)} of records slower; at least ${pct(lower)} with 99 % confidence)`;
  } else if (p99 > limit) {
    failed = `above ${ms(limit)}`;
  }
  if (failed !== undefined)
    return { ...base, ok: false, status: 'fail', inconclusive: false, message: `${head}: ${failed}` };
  const within = p99 <= limit ? `within ${ms(limit)}` : `above ${ms(limit)}, but not beyond chance`;
  return { ...base, ok: true, status: 'pass', inconclusive: false, message: `${head}: ${within}` };
}

/** `lag`: records green is behind at the end of the bake, against `maxLag`. */
export function lagGate(lag: number, config: GateConfig = {}): GateVerdict {
  const limit = config.maxLag ?? GATE_DEFAULTS.maxLag;
  const ok = lag <= limit;
  return {
    gate: 'lag',
    ok,
    status: ok ? 'pass' : 'fail',
    value: lag,
    limit,
    records: null,
    baselineRecords: null,
    inconclusive: false,
    message: `lag ${count(lag, 'record')} behind: ${ok ? 'within' : 'above'} ${limit.toLocaleString('en-US')}`,
  };
}

/**
 * `diff-ratio` (or `sample-diff-ratio`): the shadow diff's unexpected differences (changed + missing +
 * extra) per compared output against `maxDiffRatio`. Nothing compared is inconclusive.
 */
export function diffGate(
  diff: OutputDiff,
  config: GateConfig = {},
  gate: 'diff-ratio' | 'sample-diff-ratio' = 'diff-ratio',
): GateVerdict {
  const limit = config.maxDiffRatio ?? GATE_DEFAULTS.maxDiffRatio;
  const base = { gate, value: round4(diff.ratio), limit, records: diff.compared, baselineRecords: null };
  if (diff.compared === 0) {
    return tooFew(base, `${gate}: nothing to compare (no input arrived during the shadow run)`, 'one', config, true);
  }
  const ok = diff.ratio <= limit;
  return {
    ...base,
    ok,
    status: ok ? 'pass' : 'fail',
    inconclusive: false,
    message: `${gate} ${diff.identical} identical, ${diff.changedAllowed ?? 0} changed as allowed, ${diff.changed} changed, ${diff.missing} missing, ${diff.extra} extra of ${diff.compared}: ${ok ? 'within' : 'above'} ${pct(limit)}`,
  };
}

/** Transitional (the strategies call it today): {@link diffGate}. */
export function checkDiffGate(diff: OutputDiff, gates: GateConfig = {}): GateVerdict {
  return diffGate(diff, gates);
}

/**
 * Transitional (the strategies call it today, with the child-process host's figures): {@link evaluateGates}
 * without a baseline. The host's p99 is a number with no sample count (0 when its window was empty): 0
 * counts as no sample, any other value as judged.
 */
export function checkRunnerGates(
  stats: Omit<GateFigures, 'latencySamples' | 'p99LatencyMs'> & {
    p99LatencyMs: number | null;
    latencySamples?: number;
    inputs?: number;
  },
  gates: GateConfig = {},
  final = false,
): GateVerdict[] {
  const p99 = stats.p99LatencyMs === 0 && stats.latencySamples === undefined ? null : stats.p99LatencyMs;
  const samples =
    stats.latencySamples ?? (p99 === null ? 0 : (gates.minLatencySamples ?? GATE_DEFAULTS.minLatencySamples));
  return evaluateGates({ green: { ...stats, p99LatencyMs: p99, latencySamples: samples }, final }, gates);
}

/** Pending while the bake goes on; at its end inconclusive (passing), or failed with `requireConclusive`. */
function tooFew(
  base: Omit<GateVerdict, 'ok' | 'status' | 'inconclusive' | 'message'>,
  head: string,
  needs: string,
  config: GateConfig,
  final: boolean,
): GateVerdict {
  if (!final)
    return {
      ...base,
      ok: true,
      status: 'pending',
      inconclusive: true,
      message: `${head}: too few to judge yet (needs ${needs})`,
    };
  if (config.requireConclusive === true) {
    return {
      ...base,
      ok: false,
      status: 'fail',
      inconclusive: true,
      message: `${head}: too few to judge (needs ${needs}), and the gates require a conclusive judgement`,
    };
  }
  return {
    ...base,
    ok: true,
    status: 'inconclusive',
    inconclusive: true,
    message: `${head}: too few to judge (needs ${needs}); passed as inconclusive`,
  };
}

function ratio(c: BaselineCounts): number {
  return c.processed === 0 ? 0 : c.dlq / c.processed;
}

/** `0.6 % of 1,930 records`. */
function ratioOf(c: BaselineCounts): string {
  return c.processed === 0 ? 'no records' : `${pct(ratio(c))} of ${count(c.processed, 'record')}`;
}

function count(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

/** A ratio as a percentage with two significant digits: `0.6 %`, `1.5 %`, `30 %`. */
function pct(r: number): string {
  return `${Number((r * 100).toPrecision(2))} %`;
}

/** A difference of ratios in percentage points. */
function pts(r: number): string {
  return `${Number((r * 100).toPrecision(2))} points`;
}

function ms(v: number): string {
  return v >= 100 ? `${Math.round(v).toLocaleString('en-US')} ms` : `${Number(v.toPrecision(2))} ms`;
}

function round4(v: number): number {
  return Math.round(v * 10_000) / 10_000;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

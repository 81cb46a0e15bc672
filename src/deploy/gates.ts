import { type Static, Type } from '@sinclair/typebox';
import type { RunnerStats } from '../supervisor/supervisor.js';
import type { OutputDiff } from './output-diff.js';

/** Thresholds of the gates a deployment is judged by; every field is optional (defaults below). */
export const GateConfigSchema = Type.Object(
  {
    maxDlqRatio: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'most DLQ records per input record' }),
    ),
    maxP99LatencyMs: Type.Optional(Type.Number({ minimum: 0, description: 'highest p99 end-to-end latency, ms' })),
    maxLag: Type.Optional(Type.Integer({ minimum: 0, description: 'most records behind at the end of bake' })),
    maxDiffRatio: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'most unexpected differences per compared shadow output' }),
    ),
    allowChangedFields: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'output fields the new version is expected to change' }),
    ),
  },
  { additionalProperties: false },
);
export type GateConfig = Static<typeof GateConfigSchema>;

export interface GateResult {
  gate: 'dlq-ratio' | 'p99-latency' | 'lag' | 'diff-ratio' | 'sample-diff-ratio' | 'runner';
  ok: boolean;
  value: number | string;
  limit: number | string;
  message: string;
}

export const DEFAULT_GATES: Required<Omit<GateConfig, 'allowChangedFields'>> = {
  maxDlqRatio: 0.01,
  maxP99LatencyMs: 5000,
  maxLag: 100_000,
  maxDiffRatio: 0,
};

/** Gates on a runner's live figures (bake, shadow): DLQ ratio, p99 latency, runner health; lag when `final`. */
export function checkRunnerGates(stats: RunnerStats, gates: GateConfig = {}, final = false): GateResult[] {
  const g = { ...DEFAULT_GATES, ...gates };
  const results: GateResult[] = [];
  const healthy = stats.state === 'running' || stats.state === 'paused' || stats.state === 'standby';
  results.push({
    gate: 'runner',
    ok: healthy,
    value: stats.state,
    limit: 'running',
    message: healthy ? 'runner healthy' : `runner is ${stats.state}`,
  });
  // Of the records the runner processed: a canary passes over the keys outside its share.
  const processed = stats.processed ?? stats.inputs;
  const ratio = processed === 0 ? 0 : stats.dlq / processed;
  results.push({
    gate: 'dlq-ratio',
    ok: ratio <= g.maxDlqRatio,
    value: Math.round(ratio * 10_000) / 10_000,
    limit: g.maxDlqRatio,
    message: `${stats.dlq} of ${processed} records went to the DLQ`,
  });
  results.push({
    gate: 'p99-latency',
    ok: stats.p99LatencyMs === null || stats.p99LatencyMs <= g.maxP99LatencyMs,
    value: stats.p99LatencyMs ?? 'no samples yet',
    limit: g.maxP99LatencyMs,
    message: `p99 end-to-end latency ${stats.p99LatencyMs} ms`,
  });
  if (final) {
    results.push({
      gate: 'lag',
      ok: stats.lag <= g.maxLag,
      value: stats.lag,
      limit: g.maxLag,
      message: `${stats.lag} records behind`,
    });
  }
  return results;
}

/** The shadow diff gate: changed + missing + extra per compared output. */
export function checkDiffGate(diff: OutputDiff, gates: GateConfig = {}): GateResult {
  const limit = gates.maxDiffRatio ?? DEFAULT_GATES.maxDiffRatio;
  return {
    gate: 'diff-ratio',
    ok: diff.ratio <= limit,
    value: Math.round(diff.ratio * 10_000) / 10_000,
    limit,
    message:
      diff.compared === 0
        ? 'nothing to compare: no input arrived during the shadow run'
        : `${diff.identical} identical, ${diff.changed} changed, ${diff.missing} missing, ${diff.extra} extra of ${diff.compared}`,
  };
}

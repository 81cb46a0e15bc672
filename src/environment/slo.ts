import type { GateConfig } from '../deploy/gates.js';
import { durationMs, type ProjectSpec } from './project.js';
import { resolveEnvironment } from './resolve.js';

/** How long an SLO must be breached before its alert fires, when the SLO does not say: 5 minutes. */
export const DEFAULT_ALERT_AFTER_MS = 5 * 60_000;

/**
 * A pipeline's service levels in one environment: the project's `slos[pipeline]`, each field
 * overridden by the environment's `pipelines[pipeline].slo`. Durations in ms. A field left out is
 * not watched (no alert, and the gate keeps its own default).
 */
export interface ResolvedSlo {
  readonly pipeline: string;
  readonly environment: string;
  /** Most records behind, summed over the input partitions. */
  readonly maxLag?: number;
  /** Highest p99 end-to-end latency, ms. */
  readonly p99LatencyMs?: number;
  /** Most dead letters per input record. */
  readonly maxDlqRatio?: number;
  /** Longest time without a commit while input waits, ms. */
  readonly freshnessMs?: number;
  /** How long a breach lasts before its alert fires, ms (default 5 minutes). */
  readonly alertAfterMs: number;
}

/**
 * The SLOs of every pipeline that has one in `environment` (declared for the project or for the
 * environment), by pipeline name, in declaration order. Refuses an undeclared environment with
 * `SLIPWAY_UNKNOWN_ENVIRONMENT`.
 *
 * @example
 * const slos = resolveSlos(project.spec, 'prod')
 * slos['enrich-orders']?.maxLag // prod's override, else the project's
 */
export function resolveSlos(project: ProjectSpec, environment: string): Record<string, ResolvedSlo> {
  // Only to refuse an unknown environment the way every other command does.
  resolveEnvironment(project, environment, '.');
  const overrides = project.environments[environment]?.pipelines ?? {};
  const names = [...new Set([...Object.keys(project.slos ?? {}), ...Object.keys(overrides)])];
  const out: Record<string, ResolvedSlo> = {};
  for (const pipeline of names) {
    const base = project.slos?.[pipeline];
    const over = overrides[pipeline]?.slo;
    if (base === undefined && over === undefined) continue;
    const slo = { ...base, ...over };
    out[pipeline] = Object.freeze({
      pipeline,
      environment,
      ...(slo.maxLag === undefined ? {} : { maxLag: slo.maxLag }),
      ...(slo.p99LatencyMs === undefined ? {} : { p99LatencyMs: slo.p99LatencyMs }),
      ...(slo.maxDlqRatio === undefined ? {} : { maxDlqRatio: slo.maxDlqRatio }),
      ...(slo.freshness === undefined ? {} : { freshnessMs: durationMs(slo.freshness) }),
      alertAfterMs: durationMs(slo.alertAfter, DEFAULT_ALERT_AFTER_MS),
    });
  }
  return out;
}

/** One pipeline's SLOs in an environment, or undefined when none is declared for it. */
export function pipelineSlo(project: ProjectSpec, environment: string, pipeline: string): ResolvedSlo | undefined {
  return resolveSlos(project, environment)[pipeline];
}

/**
 * The bake gates' thresholds a pipeline's SLOs set: its lag, p99 latency and DLQ ratio limits (what
 * the SLO leaves out keeps the gate's default). Thresholds given explicitly in the deployment
 * policy or request go on top of these.
 *
 * @example
 * const gates = { ...sloGateDefaults(slo), ...policy.gates }
 */
export function sloGateDefaults(slo: ResolvedSlo | undefined): Partial<GateConfig> {
  if (slo === undefined) return {};
  return {
    ...(slo.maxLag === undefined ? {} : { maxLag: slo.maxLag }),
    ...(slo.p99LatencyMs === undefined ? {} : { maxP99LatencyMs: slo.p99LatencyMs }),
    ...(slo.maxDlqRatio === undefined ? {} : { maxDlqRatio: slo.maxDlqRatio }),
  };
}

import { durationMs, type ProjectSpec } from './project.js';
import { type ResolvedSlo, resolveSlos } from './slo.js';

// Prometheus alert rules generated from a project's SLOs, one group per environment. Every expression
// reads the metrics the control plane serves at GET /metrics (labels environment, pipeline, version,
// colour, runner) and judges the side that writes the real outputs: the live runner, and a canary's new
// side while it shares the keys. Runners of a group are summed; a lag is counted once per partition.

/** One alerting rule, as Prometheus reads it. */
export interface AlertRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** A rule group, as Prometheus reads it. */
export interface AlertRuleGroup {
  name: string;
  interval?: string;
  rules: AlertRule[];
}

export interface AlertRuleOptions {
  /** The window rates (latency, DLQ ratio) are taken over: a duration (default 5m; at least 4 scrape intervals). */
  rateWindow?: number | string;
  /** How often Prometheus evaluates the group (default: its global evaluation interval). */
  evaluationInterval?: number | string;
  /** The `severity` label of every rule (default `warning`). */
  severity?: string;
}

/** The alert names, one per SLO field. */
export const SLO_ALERTS = {
  maxLag: 'SlipwayLagAboveSlo',
  p99LatencyMs: 'SlipwayP99LatencyAboveSlo',
  maxDlqRatio: 'SlipwayDlqRatioAboveSlo',
  freshness: 'SlipwayOutputStale',
} as const;

/** A duration in ms as Prometheus writes one (`5m`, `90s`, `1500ms`). */
export function promDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const)
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** A PromQL string literal. */
const str = (s: string): string => JSON.stringify(s);

/** The selector of a pipeline's writing runners in an environment. */
export function sloSelector(environment: string, pipeline: string): string {
  return `{environment=${str(environment)},pipeline=${str(pipeline)},colour=~"live|canary"}`;
}

/** Records behind, summed over input partitions (each partition once: a group's members share them out). */
export function lagExpr(sel: string): string {
  return `sum by (environment, pipeline) (max by (environment, pipeline, topic, partition) (slipway_lag_records${sel}))`;
}

export function p99Expr(sel: string, window: string): string {
  return `histogram_quantile(0.99, sum by (environment, pipeline, le) (rate(slipway_end_to_end_latency_seconds_bucket${sel}[${window}])))`;
}

export function dlqRatioExpr(sel: string, window: string): string {
  return `sum by (environment, pipeline) (rate(slipway_dlq_total${sel}[${window}])) / sum by (environment, pipeline) (rate(slipway_records_in_total${sel}[${window}]))`;
}

/** Seconds since the pipeline last committed (or was activated). */
export function staleExpr(sel: string): string {
  return `time() - max by (environment, pipeline) (slipway_last_commit_timestamp_seconds${sel})`;
}

function pipelineRules(slo: ResolvedSlo, window: string, severity: string): AlertRule[] {
  const sel = sloSelector(slo.environment, slo.pipeline);
  const where = `${slo.pipeline} in ${slo.environment}`;
  const base = { for: promDuration(slo.alertAfterMs) };
  const labels = (field: string) => ({
    severity,
    slo: field,
    environment: slo.environment,
    pipeline: slo.pipeline,
  });
  const hint = `\`slipway status --env ${slo.environment}\` shows its runners; the SLO is declared in slipway.config.ts.`;
  const rules: AlertRule[] = [];
  if (slo.maxLag !== undefined)
    rules.push({
      alert: SLO_ALERTS.maxLag,
      expr: `${lagExpr(sel)} > ${slo.maxLag}`,
      ...base,
      labels: labels('maxLag'),
      annotations: {
        summary: `${where} is {{ $value | humanize }} records behind (SLO: at most ${slo.maxLag})`,
        description: `Consumer lag of ${where}, summed over its input partitions, has been above ${slo.maxLag} records for ${base.for}. ${hint}`,
      },
    });
  if (slo.p99LatencyMs !== undefined)
    rules.push({
      alert: SLO_ALERTS.p99LatencyMs,
      expr: `${p99Expr(sel, window)} > ${slo.p99LatencyMs / 1000}`,
      ...base,
      labels: labels('p99LatencyMs'),
      annotations: {
        summary: `${where}: p99 end-to-end latency {{ $value | humanizeDuration }} (SLO: at most ${slo.p99LatencyMs} ms)`,
        description: `The p99 latency from input append to output commit of ${where}, over ${window}, has been above ${slo.p99LatencyMs} ms for ${base.for}. ${hint}`,
      },
    });
  if (slo.maxDlqRatio !== undefined)
    rules.push({
      alert: SLO_ALERTS.maxDlqRatio,
      expr: `${dlqRatioExpr(sel, window)} > ${slo.maxDlqRatio}`,
      ...base,
      labels: labels('maxDlqRatio'),
      annotations: {
        summary: `${where} dead-letters {{ $value | humanizePercentage }} of its input (SLO: at most ${Number((slo.maxDlqRatio * 100).toPrecision(6))}%)`,
        description: `Dead letters per input record of ${where}, over ${window}, have been above ${slo.maxDlqRatio} for ${base.for}. \`slipway dlq --env ${slo.environment}\` lists them.`,
      },
    });
  if (slo.freshnessMs !== undefined)
    rules.push({
      alert: SLO_ALERTS.freshness,
      // Only while input waits: a pipeline with nothing to read is idle, not stale.
      expr: `(${staleExpr(sel)} > ${slo.freshnessMs / 1000}) and on (environment, pipeline) (${lagExpr(sel)} > 0)`,
      ...base,
      labels: labels('freshness'),
      annotations: {
        summary: `${where} has committed nothing for {{ $value | humanizeDuration }} while input waits (SLO: ${promDuration(slo.freshnessMs)})`,
        description: `${where} has input to read but no commit for longer than ${promDuration(slo.freshnessMs)}, for ${base.for}: stuck, paused or failing. ${hint}`,
      },
    });
  return rules;
}

/**
 * The Prometheus alert rules of an environment's SLOs: one group, `slipway-<environment>`, with a rule
 * per declared SLO field of each pipeline — `SlipwayLagAboveSlo`, `SlipwayP99LatencyAboveSlo`,
 * `SlipwayDlqRatioAboveSlo`, `SlipwayOutputStale` (only while input waits) — each firing after the
 * SLO's `alertAfter`. Refuses an undeclared environment with `SLIPWAY_UNKNOWN_ENVIRONMENT`.
 *
 * @example
 * writeFileSync('slipway-prod.rules.yml', alertRulesYaml(alertRuleGroups(project.spec, 'prod')))
 */
export function alertRuleGroups(
  project: ProjectSpec,
  environment: string,
  options: AlertRuleOptions = {},
): AlertRuleGroup[] {
  const window = promDuration(durationMs(options.rateWindow, 5 * 60_000));
  const severity = options.severity ?? 'warning';
  const rules = Object.values(resolveSlos(project, environment)).flatMap((slo) => pipelineRules(slo, window, severity));
  return [
    {
      name: `slipway-${environment}`,
      ...(options.evaluationInterval === undefined
        ? {}
        : { interval: promDuration(durationMs(options.evaluationInterval)) }),
      rules,
    },
  ];
}

const q = (s: string): string => JSON.stringify(s);

/** Rule groups as a Prometheus rules file (YAML; every string double-quoted, so nothing in it is read as YAML syntax). */
export function alertRulesYaml(groups: ReadonlyArray<AlertRuleGroup>, header?: string): string {
  const lines: string[] = [];
  if (header !== undefined) for (const l of header.split('\n')) lines.push(`# ${l}`);
  lines.push('groups:');
  if (groups.length === 0) lines[lines.length - 1] = 'groups: []';
  for (const g of groups) {
    lines.push(`  - name: ${q(g.name)}`);
    if (g.interval !== undefined) lines.push(`    interval: ${q(g.interval)}`);
    if (g.rules.length === 0) lines.push('    rules: []');
    else lines.push('    rules:');
    for (const r of g.rules) {
      lines.push(`      - alert: ${q(r.alert)}`, `        expr: ${q(r.expr)}`, `        for: ${q(r.for)}`);
      for (const key of ['labels', 'annotations'] as const) {
        const entries = Object.entries(r[key]);
        if (entries.length === 0) continue;
        lines.push(`        ${key}:`);
        for (const [k, v] of entries) lines.push(`          ${k}: ${q(v)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

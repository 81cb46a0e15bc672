import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { SupervisedRunner } from '../deploy/runner-colour.js';

/** What `/metrics` reads runners from: a controller (one per environment), or anything that lists runners so. */
export interface MetricsSource {
  readonly environment: string;
  supervisedRunners(): SupervisedRunner[];
}

/** The Prometheus text exposition format's content type. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** How long a runner may take to answer for its metrics before the scrape goes on without them, ms. */
const RUNNER_METRICS_TIMEOUT_MS = 2000;

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

interface Family {
  help: string;
  type: string;
  samples: string[];
}

const escapeLabel = (v: string): string => v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n').replaceAll('"', '\\"');
const escapeHelp = (v: string): string => v.replaceAll('\\', '\\\\').replaceAll('\n', '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(v);
}

function sample(name: string, labels: Record<string, string | number>, value: number): string {
  const text = Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabel(typeof v === 'number' ? formatValue(v) : String(v))}"`)
    .join(',');
  return `${name}{${text}} ${formatValue(value)}`;
}

function timeout<T>(ms: number, what: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    what,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The metrics of every runner the sources supervise, in Prometheus' text format: each runner's own
 * metrics (records in and out, dead letters, lag, latency, last commit, …) labelled with its
 * `environment`, `pipeline`, `version`, `colour` (live, blue, green, shadow, canary) and `runner` id,
 * and `slipway_runners` counting runners by those labels and state. A runner that does not answer in
 * time (a hung or exiting process) is counted in `slipway_runners` and left out of the rest; the
 * scrape still succeeds. Metrics come through the supervisor (`RunnerHandle.metrics`), never from
 * runtime code loaded here.
 */
export async function runnerMetricsText(sources: Iterable<MetricsSource>): Promise<string> {
  const runners = [...sources].flatMap((s) => s.supervisedRunners().map((r) => ({ environment: s.environment, ...r })));
  const families = new Map<string, Family>();
  const family = (name: string, help: string, type: string): Family => {
    let f = families.get(name);
    if (f === undefined) {
      f = { help, type, samples: [] };
      families.set(name, f);
    }
    return f;
  };
  const count = family(
    'slipway_runners',
    'Runners the control plane supervises, by environment, pipeline, version, colour and state (a group counts its members)',
    'gauge',
  );
  const counted = new Map<string, { labels: Record<string, string>; n: number }>();
  const answers = await Promise.all(
    runners.map(async (r) => {
      const key = [r.environment, r.pipeline, r.version, r.colour, r.runner.state].join('\u0000');
      const c = counted.get(key) ?? {
        labels: {
          environment: r.environment,
          pipeline: r.pipeline,
          version: r.version,
          colour: r.colour,
          state: r.runner.state,
        },
        n: 0,
      };
      c.n += r.runner.size;
      counted.set(key, c);
      if (r.runner.state === 'exited') return { r, metrics: [] as MetricJson[] };
      const metrics = await timeout(RUNNER_METRICS_TIMEOUT_MS, r.runner.metrics()).catch(() => [] as MetricJson[]);
      return { r, metrics };
    }),
  );
  for (const { labels, n } of counted.values()) count.samples.push(sample('slipway_runners', labels, n));
  for (const { r, metrics } of answers) {
    const ours = {
      environment: r.environment,
      pipeline: r.pipeline,
      version: r.version,
      colour: r.colour,
      runner: r.runner.spec.id,
    };
    for (const m of metrics) {
      const f = family(m.name, m.help, String(m.type));
      for (const v of m.values) {
        const { pipeline: _p, version: _v, ...own } = v.labels as Record<string, string | number>;
        const name = (v as { metricName?: string }).metricName ?? m.name;
        f.samples.push(sample(name, { ...ours, ...own }, v.value));
      }
    }
  }
  const lines: string[] = [];
  for (const [name, f] of families) {
    lines.push(`# HELP ${name} ${escapeHelp(f.help)}`, `# TYPE ${name} ${f.type}`, ...f.samples);
  }
  return `${lines.join('\n')}\n`;
}

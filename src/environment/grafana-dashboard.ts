import { dlqRatioExpr, lagExpr, p99Expr, sloSelector, staleExpr } from './alert-rules.js';
import type { ProjectSpec } from './project.js';
import { type ResolvedSlo, resolveSlos } from './slo.js';

/** A Grafana dashboard as JSON (the model Grafana imports: `uid`, `title`, `panels`, `templating`, …). */
export type GrafanaDashboard = Record<string, unknown> & {
  uid: string;
  title: string;
  panels: GrafanaPanel[];
};

export interface GrafanaPanel {
  id: number;
  type: 'row' | 'timeseries';
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  [key: string]: unknown;
}

/** The data source chosen on import: Grafana's `${datasource}` variable. */
const DATASOURCE = { type: 'prometheus', uid: `$${'{datasource}'}` } as const;

function timeseries(
  id: number,
  title: string,
  gridPos: GrafanaPanel['gridPos'],
  targets: Array<{ expr: string; legendFormat: string }>,
  unit: string,
  threshold: number | undefined,
  description: string,
): GrafanaPanel {
  return {
    id,
    type: 'timeseries',
    title,
    description,
    gridPos,
    datasource: DATASOURCE,
    targets: targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, ...t })),
    fieldConfig: {
      defaults: {
        unit,
        min: 0,
        thresholds: {
          mode: 'absolute',
          steps: [
            { color: 'green', value: null },
            ...(threshold === undefined ? [] : [{ color: 'red', value: threshold }]),
          ],
        },
        custom: { thresholdsStyle: { mode: threshold === undefined ? 'off' : 'line+area' } },
      },
      overrides: [],
    },
    options: { legend: { displayMode: 'list', placement: 'bottom' }, tooltip: { mode: 'multi', sort: 'none' } },
  };
}

const sloNote = (what: string, value: string | undefined): string =>
  value === undefined ? `${what}: no SLO declared.` : `${what}; the red line is the SLO (${value}).`;

/**
 * The Grafana dashboard of an environment: a row per pipeline (those with SLOs, and those the
 * environment configures), each with lag, p99 end-to-end latency, DLQ ratio, seconds since the last
 * commit (output freshness), throughput, and runners by colour — the SLOs drawn as thresholds. The
 * Prometheus data source is a variable (`datasource`), chosen on import. Refuses an undeclared
 * environment with `SLIPWAY_UNKNOWN_ENVIRONMENT`.
 *
 * @example
 * writeFileSync('slipway-prod.dashboard.json', JSON.stringify(grafanaDashboard(project.spec, 'prod'), null, 2))
 */
export function grafanaDashboard(project: ProjectSpec, environment: string): GrafanaDashboard {
  const slos = resolveSlos(project, environment);
  const pipelines = [
    ...new Set([
      ...Object.keys(slos),
      ...Object.keys(project.slos ?? {}),
      ...Object.keys(project.environments[environment]?.pipelines ?? {}),
    ]),
  ];
  const panels: GrafanaPanel[] = [];
  let id = 1;
  let y = 0;
  const env = JSON.stringify(environment);
  for (const pipeline of pipelines) {
    const slo: ResolvedSlo | undefined = slos[pipeline];
    const sel = sloSelector(environment, pipeline);
    const all = `{environment=${env},pipeline=${JSON.stringify(pipeline)}}`;
    panels.push({
      id: id++,
      type: 'row',
      title: pipeline,
      collapsed: false,
      panels: [],
      gridPos: { h: 1, w: 24, x: 0, y },
    });
    y += 1;
    const at = (i: number) => ({ h: 8, w: 8, x: (i % 3) * 8, y: y + Math.floor(i / 3) * 8 });
    panels.push(
      timeseries(
        id++,
        'Consumer lag',
        at(0),
        [{ expr: lagExpr(sel), legendFormat: 'records behind' }],
        'short',
        slo?.maxLag,
        sloNote('Records not yet committed, summed over input partitions', slo?.maxLag?.toString()),
      ),
      timeseries(
        id++,
        'p99 end-to-end latency',
        at(1),
        [{ expr: p99Expr(sel, '$__rate_interval'), legendFormat: 'p99' }],
        's',
        slo?.p99LatencyMs === undefined ? undefined : slo.p99LatencyMs / 1000,
        sloNote(
          'From input append to output commit',
          slo?.p99LatencyMs === undefined ? undefined : `${slo.p99LatencyMs} ms`,
        ),
      ),
      timeseries(
        id++,
        'DLQ ratio',
        at(2),
        [{ expr: dlqRatioExpr(sel, '$__rate_interval'), legendFormat: 'dead letters / input' }],
        'percentunit',
        slo?.maxDlqRatio,
        sloNote('Dead letters per input record', slo?.maxDlqRatio?.toString()),
      ),
      timeseries(
        id++,
        'Output freshness (since last commit)',
        at(3),
        [{ expr: staleExpr(sel), legendFormat: 'seconds since last commit' }],
        's',
        slo?.freshnessMs === undefined ? undefined : slo.freshnessMs / 1000,
        sloNote(
          'Time since the last commit (alerts only while input waits)',
          slo?.freshnessMs === undefined ? undefined : `${slo.freshnessMs / 1000} s`,
        ),
      ),
      timeseries(
        id++,
        'Throughput',
        at(4),
        [
          {
            expr: `sum by (colour) (rate(slipway_records_in_total${all}[$__rate_interval]))`,
            legendFormat: 'in {{colour}}',
          },
          {
            expr: `sum by (colour) (rate(slipway_records_out_total${all}[$__rate_interval]))`,
            legendFormat: 'out {{colour}}',
          },
        ],
        'rps',
        undefined,
        'Input records processed and output records committed per second, by colour.',
      ),
      timeseries(
        id++,
        'Runners',
        at(5),
        [{ expr: `sum by (colour, version) (slipway_runners${all})`, legendFormat: '{{colour}} {{version}}' }],
        'short',
        undefined,
        'Runners supervised by the control plane, by colour (live, blue, green, shadow, canary) and version.',
      ),
    );
    y += 16;
  }
  return {
    uid: `slipway-${environment}`.slice(0, 40),
    title: `Slipway — ${environment}`,
    description: `Pipelines of the ${environment} environment against their SLOs. Generated by \`slipway observability export --env ${environment}\` from slipway.config.ts: edit the SLOs there.`,
    tags: ['slipway', environment],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-1h', to: 'now' },
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Prometheus',
          type: 'datasource',
          query: 'prometheus',
          current: {},
          hide: 0,
          refresh: 1,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}

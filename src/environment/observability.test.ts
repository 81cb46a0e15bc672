import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { alertRuleGroups, alertRulesYaml, promDuration } from './alert-rules.js';
import { type GrafanaPanel, grafanaDashboard } from './grafana-dashboard.js';
import { exportObservability } from './observability-export.js';
import { checkProject } from './project.js';

const project = checkProject({
  slos: { 'enrich-orders': { maxLag: 10_000, p99LatencyMs: 2000, maxDlqRatio: 0.01, freshness: '10m' } },
  environments: {
    dev: { log: { engine: 'embedded' }, pipelines: { 'enrich-orders': { slo: { alertAfter: '30s' } } } },
    prod: {
      log: { engine: 'kafka', brokers: ['kafka:9092'] },
      topicPrefix: 'prod.',
      pipelines: { 'enrich-orders': { slo: { maxLag: 500 } }, audit: { slo: { maxDlqRatio: 0.001 } }, quiet: {} },
    },
  },
});

const dir = mkdtempSync(join(tmpdir(), 'slipway-observability-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('alert rules from SLOs', () => {
  it('has one rule per declared SLO field, each for its environment and pipeline, after alertAfter', () => {
    const [group, ...more] = alertRuleGroups(project, 'prod');
    assert.equal(more.length, 0);
    assert.equal(group?.name, 'slipway-prod');
    const rules = group?.rules ?? [];
    assert.deepEqual(
      rules.map((r) => `${r.labels.pipeline} ${r.alert} ${r.for}`),
      [
        'enrich-orders SlipwayLagAboveSlo 5m',
        'enrich-orders SlipwayP99LatencyAboveSlo 5m',
        'enrich-orders SlipwayDlqRatioAboveSlo 5m',
        'enrich-orders SlipwayOutputStale 5m',
        'audit SlipwayDlqRatioAboveSlo 5m',
      ],
    );
    for (const r of rules) {
      assert.match(r.expr, /environment="prod",pipeline="[a-z-]+",colour=~"live\|canary"/, r.expr);
      assert.equal(r.labels.environment, 'prod');
      assert.ok(r.labels.severity !== undefined && r.annotations.summary !== undefined && r.annotations.description);
    }
    const [lag, p99, dlq, stale] = rules;
    assert.match(lag?.expr ?? '', /slipway_lag_records\{.*\}\)\) > 500$/, 'the override');
    assert.match(
      p99?.expr ?? '',
      /histogram_quantile\(0\.99, .*slipway_end_to_end_latency_seconds_bucket.*\[5m\]\)\)\) > 2$/,
    );
    assert.match(dlq?.expr ?? '', /slipway_dlq_total.* \/ .*slipway_records_in_total.* > 0\.01$/);
    assert.match(
      stale?.expr ?? '',
      /slipway_last_commit_timestamp_seconds.* > 600\) and on \(environment, pipeline\) .* > 0\)$/,
    );
    assert.equal(alertRuleGroups(project, 'dev')[0]?.rules[0]?.for, '30s');
  });

  it('writes durations as Prometheus does, and a rate window and interval given as options', () => {
    assert.deepEqual([0, 1500, 30_000, 300_000, 7_200_000, 86_400_000].map(promDuration), [
      '0s',
      '1500ms',
      '30s',
      '5m',
      '2h',
      '1d',
    ]);
    const [group] = alertRuleGroups(project, 'prod', { rateWindow: '1m', evaluationInterval: 15_000 });
    assert.equal(group?.interval, '15s');
    assert.match(group?.rules[1]?.expr ?? '', /\[1m\]/);
  });

  it('writes a rules file whose every string is quoted, and an empty group when no SLO is declared', () => {
    const yaml = alertRulesYaml(alertRuleGroups(project, 'prod'), 'generated\nedit the SLOs');
    assert.match(
      yaml,
      /^# generated\n# edit the SLOs\ngroups:\n {2}- name: "slipway-prod"\n {4}rules:\n {6}- alert: "SlipwayLagAboveSlo"\n {8}expr: "sum by/,
    );
    assert.match(yaml, /\n {8}for: "5m"\n {8}labels:\n {10}severity: "warning"\n/);
    const none = checkProject({ environments: { dev: { log: { engine: 'embedded' } } } });
    assert.equal(alertRulesYaml(alertRuleGroups(none, 'dev')), 'groups:\n  - name: "slipway-dev"\n    rules: []\n');
  });

  it('refuses an environment the project does not declare', () => {
    assert.throws(
      () => alertRuleGroups(project, 'qa'),
      (e: unknown) => isSlipwayError(e, 'SLIPWAY_UNKNOWN_ENVIRONMENT'),
    );
  });
});

describe('the Grafana dashboard of an environment', () => {
  const board = grafanaDashboard(project, 'prod');
  const byTitle = (row: string) => {
    const i = board.panels.findIndex((p) => p.type === 'row' && p.title === row);
    assert.ok(i >= 0, `a row for ${row}`);
    return board.panels.slice(i + 1, i + 7);
  };
  const threshold = (p: GrafanaPanel | undefined): unknown => {
    const config = p?.fieldConfig as { defaults: { thresholds: { steps: Array<{ value: unknown }> } } } | undefined;
    return config?.defaults.thresholds.steps[1]?.value;
  };

  it('has a row per pipeline with lag, p99, DLQ ratio, freshness, throughput and runners, the SLOs as thresholds', () => {
    assert.equal(board.uid, 'slipway-prod');
    assert.deepEqual(
      board.panels.filter((p) => p.type === 'row').map((p) => p.title),
      ['enrich-orders', 'audit', 'quiet'],
    );
    const panels = byTitle('enrich-orders');
    assert.deepEqual(
      panels.map((p) => p.title),
      [
        'Consumer lag',
        'p99 end-to-end latency',
        'DLQ ratio',
        'Output freshness (since last commit)',
        'Throughput',
        'Runners',
      ],
    );
    assert.deepEqual(panels.map(threshold), [500, 2, 0.01, 600, undefined, undefined]);
    assert.deepEqual(byTitle('audit').map(threshold), [undefined, undefined, 0.001, undefined, undefined, undefined]);
    for (const p of panels) {
      const targets = p.targets as Array<{ expr: string }>;
      assert.ok(targets.length > 0);
      for (const t of targets) assert.match(t.expr, /environment="prod",pipeline="enrich-orders"/);
    }
  });

  it('lays panels out without overlaps', () => {
    const cells = new Set<string>();
    for (const p of board.panels)
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          const cell = `${x},${y}`;
          assert.ok(!cells.has(cell), `panel ${p.id} overlaps at ${cell}`);
          assert.ok(x < 24);
          cells.add(cell);
        }
    assert.equal(new Set(board.panels.map((p) => p.id)).size, board.panels.length, 'unique panel ids');
  });
});

describe('exportObservability', () => {
  it('writes the rules file and the dashboard into the folder, and says what it wrote', () => {
    const out = exportObservability(project, 'prod', { outDir: join(dir, 'nested', 'out') });
    assert.equal(out.rulesPath, join(dir, 'nested', 'out', 'slipway-prod.rules.yml'));
    assert.equal(out.dashboardPath, join(dir, 'nested', 'out', 'slipway-prod.dashboard.json'));
    assert.deepEqual(out.pipelines, ['enrich-orders', 'audit']);
    assert.equal(out.alerts.length, 5);
    assert.match(readFileSync(out.rulesPath, 'utf8'), /^# Alert rules of the SLOs of environment prod/);
    assert.deepEqual(JSON.parse(readFileSync(out.dashboardPath, 'utf8')), grafanaDashboard(project, 'prod'));
  });
});

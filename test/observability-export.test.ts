import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from './helpers/cli.js';

// `slipway observability export` on a user's project, and the rules it writes checked by Prometheus' own
// tool: `promtool check rules` (they load), and `promtool test rules` on synthetic series (each alert fires
// when its SLO is breached for alertAfter, and not before; shadow runners and idle pipelines do not count).

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** promtool, from Debian's `prometheus` package (.ci/run installs it): a missing one is a failure, not a skip. */
function promtool(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error !== undefined)
    throw new Error(`promtool is not installed (apt-get install -y prometheus): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const PROJECT = `import { defineProject } from 'slipway';

export const project = defineProject({
  slos: {
    'enrich-orders': { maxLag: 10000, p99LatencyMs: 500, maxDlqRatio: 0.01, freshness: '2m', alertAfter: '1m' },
  },
  environments: {
    dev: { log: { engine: 'embedded' } },
    prod: {
      log: { engine: 'kafka', brokers: ['127.0.0.1:9092'] },
      topicPrefix: 'prod.',
      pipelines: {
        'enrich-orders': { slo: { maxLag: 1000 } },
        idle: { slo: { freshness: '2m', alertAfter: '1m' } },
      },
    },
  },
});
`;

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'slipway-observability-export-'));
  mkdirSync(join(dir, 'node_modules'));
  symlinkSync(ROOT, join(dir, 'node_modules/slipway'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  writeFileSync(join(dir, 'slipway.config.ts'), PROJECT);
});
after(() => rmSync(dir, { recursive: true, force: true }));

const series = (name: string, labels: Record<string, string>, values: string) => ({
  series: `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}}`,
  values,
});

describe('slipway observability export', () => {
  it('writes the rules and the dashboard of an environment, and the rules pass promtool check rules', async () => {
    const res = await runCli(['observability', 'export', '--env', 'prod', '--out', 'obs'], { cwd: dir });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^wrote obs\/slipway-prod\.rules\.yml {2}\(5 alert rules for 2 pipelines in prod\)$/m);
    for (const alert of ['SlipwayLagAboveSlo', 'SlipwayP99LatencyAboveSlo', 'SlipwayDlqRatioAboveSlo'])
      assert.match(res.stdout, new RegExp(`^  ${alert}  enrich-orders$`, 'm'));
    assert.match(res.stdout, /^ {2}SlipwayOutputStale {2}idle$/m);
    assert.match(res.stdout, /^wrote obs\/slipway-prod\.dashboard\.json {2}\(14 panels\)$/m);
    const dashboard = JSON.parse(readFileSync(join(dir, 'obs/slipway-prod.dashboard.json'), 'utf8'));
    assert.equal(dashboard.uid, 'slipway-prod');

    const check = promtool(['check', 'rules', 'obs/slipway-prod.rules.yml'], dir);
    assert.equal(check.code, 0, check.out);
    assert.match(check.out, /SUCCESS: 5 rules found/);

    // The check can fail: a broken expression is refused.
    const broken = readFileSync(join(dir, 'obs/slipway-prod.rules.yml'), 'utf8').replace('> 1000"', '> > 1000"');
    writeFileSync(join(dir, 'broken.rules.yml'), broken);
    assert.equal(promtool(['check', 'rules', 'broken.rules.yml'], dir).code, 1);
  });

  it('each alert fires on synthetic series past its SLO after alertAfter (promtool test rules)', () => {
    const live = { environment: 'prod', pipeline: 'enrich-orders', version: '1.0.0', colour: 'live', runner: 'r1' };
    const idle = { environment: 'prod', pipeline: 'idle', version: '1.0.0', colour: 'live', runner: 'r3' };
    const input = [
      // 2,500 behind on partition 0 and none on 1; a shadow run far behind must not count.
      series('slipway_lag_records', { ...live, topic: 'orders.v1', partition: '0' }, '2500x15'),
      series('slipway_lag_records', { ...live, topic: 'orders.v1', partition: '1' }, '0x15'),
      series(
        'slipway_lag_records',
        { ...live, colour: 'shadow', runner: 'r2', topic: 'orders.v1', partition: '0' },
        '900000x15',
      ),
      // Every record between 100 ms and 1 s: p99 ≈ 991 ms, above 500 ms.
      series('slipway_end_to_end_latency_seconds_bucket', { ...live, le: '0.1' }, '0x15'),
      series('slipway_end_to_end_latency_seconds_bucket', { ...live, le: '1' }, '0+100x15'),
      series('slipway_end_to_end_latency_seconds_bucket', { ...live, le: '+Inf' }, '0+100x15'),
      // 5 dead letters per 100 input records.
      series('slipway_dlq_total', { ...live, topic: 'orders.v1', reason: 'error' }, '0+5x15'),
      series('slipway_records_in_total', { ...live, topic: 'orders.v1' }, '0+100x15'),
      // No commit since the epoch while input waits: stale. The idle pipeline has nothing to read: not stale.
      series('slipway_last_commit_timestamp_seconds', live, '0x15'),
      series('slipway_lag_records', { ...idle, topic: 'audit.v1', partition: '0' }, '0x15'),
      series('slipway_last_commit_timestamp_seconds', idle, '0x15'),
    ];
    const hint = '`slipway status --env prod` shows its runners; the SLO is declared in slipway.config.ts.';
    const fires = (alertname: string, slo: string, summary: string, description: string) => ({
      eval_time: '10m',
      alertname,
      exp_alerts: [
        {
          exp_labels: { severity: 'warning', slo, environment: 'prod', pipeline: 'enrich-orders' },
          exp_annotations: { summary, description },
        },
      ],
    });
    const tests = {
      rule_files: ['obs/slipway-prod.rules.yml'],
      evaluation_interval: '1m',
      tests: [
        {
          interval: '1m',
          input_series: input,
          alert_rule_test: [
            // Breached from the start, but not yet for alertAfter (1m): pending, not firing.
            { eval_time: '30s', alertname: 'SlipwayLagAboveSlo', exp_alerts: [] },
            fires(
              'SlipwayLagAboveSlo',
              'maxLag',
              'enrich-orders in prod is 2.5k records behind (SLO: at most 1000)',
              `Consumer lag of enrich-orders in prod, summed over its input partitions, has been above 1000 records for 1m. ${hint}`,
            ),
            fires(
              'SlipwayP99LatencyAboveSlo',
              'p99LatencyMs',
              'enrich-orders in prod: p99 end-to-end latency 991ms (SLO: at most 500 ms)',
              `The p99 latency from input append to output commit of enrich-orders in prod, over 5m, has been above 500 ms for 1m. ${hint}`,
            ),
            fires(
              'SlipwayDlqRatioAboveSlo',
              'maxDlqRatio',
              'enrich-orders in prod dead-letters 5% of its input (SLO: at most 1%)',
              'Dead letters per input record of enrich-orders in prod, over 5m, have been above 0.01 for 1m. `slipway dlq --env prod` lists them.',
            ),
            fires(
              'SlipwayOutputStale',
              'freshness',
              'enrich-orders in prod has committed nothing for 10m 0s while input waits (SLO: 2m)',
              `enrich-orders in prod has input to read but no commit for longer than 2m, for 1m: stuck, paused or failing. ${hint}`,
            ),
          ],
        },
      ],
    };
    // JSON is YAML: promtool reads it as is.
    writeFileSync(join(dir, 'rules.test.yml'), JSON.stringify(tests, null, 2));
    const run = promtool(['test', 'rules', 'rules.test.yml'], dir);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /SUCCESS/);

    // The test can fail: with the lag under its SLO, the lag alert the test expects does not fire.
    const calm = {
      ...tests,
      tests: [{ ...tests.tests[0], input_series: input.map((s, i) => (i === 0 ? { ...s, values: '10x15' } : s)) }],
    };
    writeFileSync(join(dir, 'calm.test.yml'), JSON.stringify(calm));
    const failed = promtool(['test', 'rules', 'calm.test.yml'], dir);
    assert.equal(failed.code, 1, failed.out);
    assert.match(failed.out, /alertname: SlipwayLagAboveSlo, time: 10m/);
  });

  it('refuses an undeclared environment, a missing --env and a missing project with their codes', async () => {
    const unknown = await runCli(['observability', 'export', '--env', 'qa'], { cwd: dir });
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /error SLIPWAY_UNKNOWN_ENVIRONMENT: The project declares no environment 'qa' .*\(environments: dev, prod; workspaces: none\)/,
    );
    const noEnv = await runCli(['observability', 'export'], { cwd: dir, env: { SLIPWAY_ENV: '' } });
    assert.equal(noEnv.code, 2);
    assert.match(
      noEnv.stderr,
      /error SLIPWAY_USAGE: slipway observability export needs an environment: pass --env <name>/,
    );
    const empty = mkdtempSync(join(tmpdir(), 'slipway-observability-none-'));
    mkdirSync(join(empty, 'node_modules'));
    symlinkSync(join(ROOT, 'node_modules/tsx'), join(empty, 'node_modules/tsx'), 'dir');
    try {
      const noProject = await runCli(['observability', 'export', '--env', 'prod'], { cwd: empty });
      assert.equal(noProject.code, 1);
      assert.match(noProject.stderr, /error SLIPWAY_FILE_NOT_FOUND: No project file here/);
      const named = await runCli(['observability', 'export', '--env', 'prod', '--project', 'nope.ts'], { cwd: empty });
      assert.match(named.stderr, /error SLIPWAY_FILE_NOT_FOUND: nope\.ts does not exist/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
    const badWindow = await runCli(['observability', 'export', '--env', 'prod', '--rate-window', 'soon'], { cwd: dir });
    assert.equal(badWindow.code, 2);
    assert.match(badWindow.stderr, /error SLIPWAY_USAGE: --rate-window 'soon' is not a duration/);
  });

  it('gives an environment without overrides the SLOs of the project', async () => {
    const res = await runCli(['observability', 'export', '--env', 'dev', '--out', 'obs-dev'], { cwd: dir });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /wrote obs-dev\/slipway-dev\.rules\.yml {2}\(4 alert rules for 1 pipeline in dev\)/);
    const check = promtool(['check', 'rules', 'obs-dev/slipway-dev.rules.yml'], dir);
    assert.equal(check.code, 0, check.out);
    const rules = readFileSync(join(dir, 'obs-dev/slipway-dev.rules.yml'), 'utf8');
    assert.match(rules, /slipway_lag_records\{environment=\\"dev\\",pipeline=\\"enrich-orders\\".*> 10000"/);
    assert.doesNotMatch(rules, /idle/, "prod's own pipeline is not dev's");
  });
});

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkProject, exportObservability, InProcessSupervisor, type Log, openEmbeddedLog } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { embeddedLogPath } from '../src/environment/resolve.js';
import { produceOrders } from './helpers/orders.js';
import { buildVersions, waitForCaughtUp } from './helpers/versions.js';

// A real Prometheus (Debian's `prometheus` package) on loopback scrapes a real control plane's /metrics —
// one job for both environments it serves — and evaluates the exported SLO rules of each: a pipeline that
// falls behind fires SlipwayLagAboveSlo (and, with input waiting and nothing committed, SlipwayOutputStale)
// in its environment only; while it keeps up, nothing fires.

const dir = mkdtempSync(join(tmpdir(), 'slipway-observability-prometheus-'));
let prometheus: ChildProcess | undefined;
after(() => {
  if (prometheus?.exitCode === null) prometheus.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
});

const project = checkProject({
  slos: { 'enrich-orders': { maxLag: 1000, freshness: '3s', alertAfter: '2s' } },
  environments: { obs: { log: { engine: 'embedded' } }, calm: { log: { engine: 'embedded' } } },
});
const ENVIRONMENTS = ['obs', 'calm'] as const;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  return typeof address === 'object' && address !== null ? address.port : 0;
}

interface Alert {
  labels: Record<string, string>;
  state: string;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('a real Prometheus scraping the control plane', () => {
  it('fires the lag alert when a pipeline falls behind its SLO, in its environment only, and not while it keeps up', async () => {
    const paths = daemonPaths(join(dir, '.slipway'));
    const versions = await buildVersions(paths.artifactsDir);
    const daemon = await startDaemon({
      paths,
      project: { spec: project, dir },
      supervisorFor: () => new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    const logs: Record<string, Log> = {};
    try {
      for (const env of ENVIRONMENTS) {
        const log = await openEmbeddedLog({ path: embeddedLogPath(dir, env, undefined) });
        logs[env] = log;
        const controller = daemon.plane.controller(env);
        await produceOrders(log, 0, 500);
        const deployed = await controller.wait((await controller.deploy(versions.v1, { bakeMs: 100 })).id);
        assert.equal(deployed.status, 'completed', JSON.stringify(deployed.summary));
        await waitForCaughtUp(log, 'slipway.enrich-orders', orders.topic, orders.partitions);
      }
      const log = logs.obs as Log;
      const calm = logs.calm as Log;
      const controller = daemon.plane.controller('obs');
      const ruleFiles = ENVIRONMENTS.map(
        (env) => exportObservability(project, env, { outDir: join(dir, 'rules'), rateWindow: '10s' }).rulesPath,
      );
      const port = await freePort();
      const target = new URL(daemon.url).host;
      writeFileSync(
        join(dir, 'prometheus.yml'),
        JSON.stringify({
          global: { scrape_interval: '1s', evaluation_interval: '1s' },
          rule_files: ruleFiles,
          scrape_configs: [{ job_name: 'slipway', metrics_path: '/metrics', static_configs: [{ targets: [target] }] }],
        }),
      );
      let prometheusLog = '';
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.on('error', (err) => {
        prometheusLog += `prometheus did not start (apt-get install -y prometheus): ${err.message}\n`;
      });
      prometheus.stderr?.on('data', (d) => {
        prometheusLog += d;
      });
      const api = `http://127.0.0.1:${port}/api/v1`;
      const get = async <T>(path: string): Promise<T> => {
        const res = await fetch(`${api}${path}`);
        if (!res.ok) throw new Error(`${path}: ${res.status}`);
        return ((await res.json()) as { data: T }).data;
      };
      const firing = async (): Promise<Alert[]> =>
        (await get<{ alerts: Alert[] }>('/alerts')).alerts.filter((a) => a.state === 'firing');

      // Prometheus scrapes both environments' live runners in its one job, and has loaded the rules of each.
      const runners = await until('a scrape of both live runners', 30_000, async () => {
        const r = await get<{ result: Array<{ metric: Record<string, string>; value: [number, string] }> }>(
          `/query?query=${encodeURIComponent('slipway_runners{job="slipway",colour="live"}')}`,
        );
        return r.result.length === 2 ? r.result : undefined;
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${prometheusLog.slice(-2000)}`);
      });
      assert.deepEqual(runners.map((r) => r.metric.environment).sort(), ['calm', 'obs']);
      for (const r of runners) assert.equal(`${r.metric.pipeline}@${r.metric.version}`, 'enrich-orders@1.0.0');
      const rules = await get<{ groups: Array<{ name: string; rules: Array<{ name: string }> }> }>('/rules');
      assert.deepEqual(
        rules.groups.map((g) => [g.name, g.rules.map((r) => r.name)]).sort(),
        ENVIRONMENTS.map((env) => [`slipway-${env}`, ['SlipwayLagAboveSlo', 'SlipwayOutputStale']]).sort(),
      );

      // Caught up and idle for longer than freshness + alertAfter: nothing fires (an idle pipeline is not stale).
      await new Promise((r) => setTimeout(r, 7000));
      assert.deepEqual(await firing(), [], 'no alert while the pipeline keeps up');

      // obs's live runner stops reading (paused) while 3,000 orders arrive: 3,000 behind, above the SLO of
      // 1,000. calm gets as many and keeps up.
      const live = controller.liveRunners()[0]?.runner;
      assert.ok(live !== undefined);
      await live.pause();
      const behindSince = Date.now();
      await produceOrders(log, 500, 3000);
      await produceOrders(calm, 500, 3000);
      const alerts = await until('SlipwayLagAboveSlo and SlipwayOutputStale firing', 60_000, async () => {
        const now = await firing();
        const names = new Set(now.map((a) => a.labels.alertname));
        return names.has('SlipwayLagAboveSlo') && names.has('SlipwayOutputStale') ? now : undefined;
      });
      const firedAfterMs = Date.now() - behindSince;
      assert.deepEqual([...new Set(alerts.map((a) => a.labels.environment))], ['obs'], 'calm keeps up: no alert there');
      const lag = alerts.find((a) => a.labels.alertname === 'SlipwayLagAboveSlo');
      assert.equal(lag?.labels.environment, 'obs');
      assert.equal(lag?.labels.pipeline, 'enrich-orders');
      assert.equal(lag?.labels.slo, 'maxLag');
      assert.ok(firedAfterMs >= 2000, `not before alertAfter (fired after ${firedAfterMs} ms)`);
      const value = await get<{ result: Array<{ value: [number, string] }> }>(
        `/query?query=${encodeURIComponent('sum(slipway_lag_records{environment="obs",colour="live"})')}`,
      );
      assert.equal(Number(value.result[0]?.value[1]), 3000);
      console.log(`# lag and stale alerts firing ${firedAfterMs} ms after the pipeline fell behind`);

      // Running again, it catches up and the alerts resolve.
      await live.activate();
      await waitForCaughtUp(log, 'slipway.enrich-orders', orders.topic, orders.partitions);
      await until('the alerts to resolve', 30_000, async () => ((await firing()).length === 0 ? true : undefined));
    } finally {
      if (prometheus?.exitCode === null) prometheus.kill('SIGTERM');
      for (const l of Object.values(logs)) await l.close();
      await daemon.close();
    }
  });
});

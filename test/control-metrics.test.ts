import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArtifactStore, Controller, InProcessSupervisor } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { createApi } from '../src/control/api.js';
import { ControlPlane } from '../src/control/control-plane.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { startTestController } from './helpers/controller.js';
import { produceOrders } from './helpers/orders.js';
import { waitForCaughtUp } from './helpers/versions.js';

// GET /metrics on the control plane: every runner it supervises, labelled with its environment, pipeline,
// version and colour, in a format Prometheus reads (checked by promtool), over several controllers.

const dir = mkdtempSync(join(tmpdir(), 'slipway-control-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The samples of a metric whose labels include every one given, as [labels text, value]. */
function samples(text: string, name: string, labels: Record<string, string> = {}): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (m === null || m[1] !== name) continue;
    const have = m[2] as string;
    if (Object.entries(labels).every(([k, v]) => have.includes(`${k}="${v}"`))) out.push([have, Number(m[3])]);
  }
  return out;
}
const sum = (s: Array<[string, number]>): number => s.reduce((n, [, v]) => n + v, 0);

function promtoolCheckMetrics(text: string): { code: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error !== undefined)
    throw new Error(`promtool is not installed (apt-get install -y prometheus): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the control plane serves /metrics for every runner it supervises', () => {
  it('labels each runner by environment, pipeline, version and colour, through a handoff, across controllers', async () => {
    const t = await startTestController(join(dir, 'a'), { environment: 'staging' });
    const { controller } = t;
    // A second environment on its own log, sharing the stores: what a control plane serving several
    // environments holds.
    const other = new Controller({
      store: t.store,
      supervisor: new InProcessSupervisor({ artifactsDir: join(dir, 'a', 'artifacts') }),
      artifacts: new ArtifactStore({ dir: join(dir, 'a', 'artifacts') }),
      log: { engine: 'embedded', path: join(dir, 'b-log.db') },
      environment: 'prod',
    });
    await other.start();
    try {
      await produceOrders(controller.log, 0, 1000);
      const first = await controller.wait((await controller.deploy(t.versions.v1, { bakeMs: 100 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));
      await waitForCaughtUp(controller.log, 'slipway.enrich-orders', orders.topic, orders.partitions);

      const plane = (controllers: Controller[]) =>
        new ControlPlane({
          store: t.store,
          artifacts: t.artifacts,
          controllers: new Map(controllers.map((c) => [c.environment, c])),
        });
      const api = createApi(plane([controller]));
      const scrape = async (app = api) => {
        const res = await app.request('/metrics');
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        return res.text();
      };
      let text = await scrape();
      const live = { environment: 'staging', pipeline: 'enrich-orders', version: '1.0.0', colour: 'live' };
      assert.deepEqual(samples(text, 'slipway_runners'), [
        ['environment="staging",pipeline="enrich-orders",version="1.0.0",colour="live",state="running"', 1],
      ]);
      assert.equal(sum(samples(text, 'slipway_records_in_total', live)), 1000);
      assert.equal(sum(samples(text, 'slipway_lag_records', live)), 0);
      assert.match(text, /slipway_records_in_total\{[^}]*runner="enrich-orders@1\.0\.0:[a-z]+:[0-9a-f]{6}"/);
      const lastCommit = samples(text, 'slipway_last_commit_timestamp_seconds', live);
      assert.equal(lastCommit.length, 1);
      assert.ok(Math.abs((lastCommit[0]?.[1] ?? 0) - Date.now() / 1000) < 120, `a recent commit: ${lastCommit[0]}`);
      assert.equal(sum(samples(text, 'slipway_end_to_end_latency_seconds_bucket', { ...live, le: '600' })) > 0, true);
      const check = promtoolCheckMetrics(text);
      assert.equal(check.code, 0, `promtool check metrics:\n${check.out}`);

      // A deployment in its bake: v1.1.0 live, v1.0.0 kept warm as blue.
      const second = await controller.deploy(t.versions.v2, { bakeMs: 60_000 });
      for (let i = 0; ; i++) {
        const d = await t.store.getDeployment(second.id);
        if (d?.step === 'bake') break;
        assert.ok(i < 600 && d?.status === 'running', `deployment reached no bake: ${JSON.stringify(d)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      text = await scrape();
      const runners = samples(text, 'slipway_runners').map(([l]) => l.replace(/,state="[a-z]+"/, ''));
      assert.deepEqual(runners.sort(), [
        'environment="staging",pipeline="enrich-orders",version="1.0.0",colour="blue"',
        'environment="staging",pipeline="enrich-orders",version="1.1.0",colour="live"',
      ]);
      await controller.rollback('enrich-orders');
      assert.equal((await controller.wait(second.id)).status, 'rolled_back');

      // Both environments of a control plane in one scrape, each runner once.
      await produceOrders(other.log, 0, 300);
      assert.equal((await other.wait((await other.deploy(t.versions.v1, { bakeMs: 100 })).id)).status, 'completed');
      await waitForCaughtUp(other.log, 'slipway.enrich-orders', orders.topic, orders.partitions);
      text = await scrape(createApi(plane([controller, other])));
      const envs = samples(text, 'slipway_runners', { colour: 'live' }).map(
        ([l]) => /environment="([a-z]+)"/.exec(l)?.[1],
      );
      assert.deepEqual(envs.sort(), ['prod', 'staging']);
      assert.equal(sum(samples(text, 'slipway_records_in_total', { environment: 'prod', colour: 'live' })), 300);
      assert.equal(promtoolCheckMetrics(text).code, 0);
      // Read-only and outside /api: served to any address (the loopback rule is for changes).
      assert.equal((await api.request('/metrics', { method: 'POST' })).status, 404);
    } finally {
      await other.close();
      await t.close();
    }
  });

  it('serves /metrics to another address (read-only), while changes stay loopback-only', async () => {
    let outside: string | undefined;
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) outside ??= a.address;
    assert.ok(outside !== undefined, 'this machine has no non-loopback IPv4 address to test from');
    const daemon = await startDaemon({ paths: daemonPaths(join(dir, 'bound')), host: '0.0.0.0' });
    const port = Number(new URL(daemon.url).port);
    const call = (method: string, path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request({ host: outside, port, method, path, localAddress: outside }, (res) => {
          let body = '';
          res.on('data', (d) => {
            body += d;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const metrics = await call('GET', '/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^# TYPE slipway_runners gauge$/m);
      assert.equal((await call('POST', '/api/shutdown')).status, 403);
    } finally {
      await daemon.close();
    }
  });
});

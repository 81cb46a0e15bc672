import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { defineProject, InProcessSupervisor, isSlipwayError, type LogConfig, openLog } from 'slipway';
import { enrichedOrders, orders } from '../examples/orders/datasets.js';
import { ControlPlaneClient } from '../src/control/client.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { environmentLog } from '../src/environment/resolve.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { OrderLoad } from './helpers/load.js';
import { buildVersions, waitForCaughtUp } from './helpers/versions.js';

// Issue 12: one control plane, dev on an embedded log, staging and prod on the real Kafka broker under
// prefixes of this run; one build; promotion dev → staging → prod with each refusal's code; exactly
// once in every environment under continuous load; a rollback in prod by re-promoting the previous digest.
const id = randomUUID().slice(0, 8);
const dir = mkdtempSync(join(tmpdir(), 'slipway-environments-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const PIPELINE = 'enrich-orders';
const THRESHOLD = { dev: 1000, staging: 500, prod: 2000 } as const;

async function refusal(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isSlipwayError(err, 'SLIPWAY_PROMOTION_REFUSED'), String(err));
    assert.equal(err.details.reason, reason, err.message);
    return true;
  });
}

describe('environments as code: one artifact promoted dev → staging → prod', () => {
  it('promotes the same bytes with each environment config, refuses with reasons, rolls back by re-promoting', async () => {
    const brokers = kafkaBrokers();
    const kafka = { engine: 'kafka' as const, brokers };
    const project = defineProject({
      slos: { [PIPELINE]: { maxDlqRatio: 0.01 } },
      environments: {
        dev: {
          log: { engine: 'embedded' },
          allowUntested: true,
          policy: { bake: '500ms' },
          pipelines: { [PIPELINE]: { config: { vipThresholdEur: THRESHOLD.dev } } },
        },
        qa: {
          log: { engine: 'embedded' },
          promotion: { from: 'dev' },
          pipelines: { [PIPELINE]: { config: { vipThresholdEur: -5 } } },
        },
        staging: {
          log: kafka,
          topicPrefix: `stg-${id}.`,
          promotion: { from: 'dev' },
          policy: { bake: '500ms' },
          pipelines: { [PIPELINE]: { config: { vipThresholdEur: THRESHOLD.staging } } },
        },
        prod: {
          log: kafka,
          topicPrefix: `prod-${id}.`,
          promotion: { from: 'staging', soak: '3s', approval: true },
          policy: { bake: '500ms' },
          pipelines: { [PIPELINE]: { config: { vipThresholdEur: THRESHOLD.prod } } },
        },
      },
    });
    const paths = daemonPaths(join(dir, '.slipway'));
    // Built once: every environment runs these digests.
    const versions = await buildVersions(paths.artifactsDir);
    const daemon = await startDaemon({
      paths,
      project: { spec: project.spec, dir },
      supervisorFor: () => new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    const plane = new ControlPlaneClient(daemon.url);
    const env = (name: string) => new ControlPlaneClient(daemon.url, name);
    const wait = (environment: string, deployment: string) => daemon.plane.controller(environment).wait(deployment);
    const logs: Record<'dev' | 'staging' | 'prod', LogConfig> = {
      dev: environmentLog(dir, 'dev', project.spec.environments.dev as never),
      staging: environmentLog(dir, 'staging', project.spec.environments.staging as never),
      prod: environmentLog(dir, 'prod', project.spec.environments.prod as never),
    };
    const loads = Object.fromEntries(
      Object.entries(logs).map(([name, log]) => [name, new OrderLoad(log, 150, 40)]),
    ) as Record<keyof typeof logs, OrderLoad>;
    for (const load of Object.values(loads)) await load.start();
    const passed = (digest: string) =>
      plane.putTestReport({
        digest,
        passed: true,
        layers: {
          unit: { passed: 1, failed: 0, skipped: 0, files: 1 },
          integration: { passed: 0, failed: 0, skipped: 0, files: 0 },
          e2e: { passed: 0, failed: 0, skipped: 0, files: 0 },
        },
        failures: [],
        startedAt: Date.now(),
        durationMs: 1,
      });
    try {
      assert.deepEqual((await plane.health()).environments, ['dev', 'qa', 'staging', 'prod']);
      // A deploy with no environment named is refused by a control plane serving several.
      await assert.rejects(plane.deploy({ artifact: versions.v1 }), /name the environment/);

      // v1: tested, deployed to dev, promoted to staging.
      await passed(versions.v1);
      const d1 = await env('dev').deploy({ artifact: versions.v1 });
      assert.equal((await wait('dev', d1.id)).status, 'completed');
      const s1 = await plane.promote(PIPELINE, 'staging');
      assert.equal(s1.artifact.digest, versions.v1);
      assert.deepEqual(s1.options.promotion, { from: 'dev' });
      assert.equal((await wait('staging', s1.id)).status, 'completed');

      // prod: soak in staging first, then an approval.
      await refusal(plane.promote(PIPELINE, 'prod'), 'soaking');
      for (let i = 0; i < 100; i++) {
        const cell = (await plane.matrix()).cells.find((c) => c.environment === 'staging');
        if (cell?.state === 'verified') break;
        await new Promise((r) => setTimeout(r, 200));
      }
      await refusal(plane.promote(PIPELINE, 'prod'), 'approval-missing');
      const approval = await env('prod').approve({ pipeline: PIPELINE, environment: 'prod', by: 'alice' });
      assert.equal(approval.digest, versions.v1);
      const p1 = await plane.promote(PIPELINE, 'prod');
      assert.equal(p1.options.promotion?.approvedBy, 'alice');
      assert.equal((await wait('prod', p1.id)).status, 'completed');

      // v2 deployed untested in dev (allowed there) is not promoted until it has a passing report.
      const d2 = await env('dev').deploy({ artifact: versions.v2, allowUntested: true });
      assert.equal((await wait('dev', d2.id)).status, 'completed');
      await refusal(plane.promote(PIPELINE, 'staging'), 'untested');
      // Untested deploys are refused where the environment does not allow them.
      await assert.rejects(env('staging').deploy({ artifact: versions.v3, allowUntested: true }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_RELEASE_GATE'),
      );

      // v3 fails its gates in dev and is rolled back: never verified, never promoted.
      const d3 = await env('dev').deploy({
        artifact: versions.v3,
        allowUntested: true,
        bakeMs: 4000,
        gates: { maxDlqRatio: 0.01 },
      });
      assert.equal((await wait('dev', d3.id)).status, 'rolled_back');
      await refusal(plane.promote(PIPELINE, 'staging', versions.v3), 'not-verified');

      // qa's declared config does not fit the artifact's schema: refused before anything starts.
      await passed(versions.v2);
      await refusal(plane.promote(PIPELINE, 'qa'), 'config-invalid');
      assert.equal((await daemon.plane.store.listDeployments({ environment: 'qa' })).length, 0);

      // v2 through staging into prod.
      const s2 = await plane.promote(PIPELINE, 'staging');
      assert.equal(s2.artifact.digest, versions.v2);
      assert.equal((await wait('staging', s2.id)).status, 'completed');
      await new Promise((r) => setTimeout(r, 3200));
      await env('prod').approve({ pipeline: PIPELINE, environment: 'prod', by: 'bob', note: 'rate change' });
      const p2 = await plane.promote(PIPELINE, 'prod');
      assert.equal(p2.artifact.digest, versions.v2);
      assert.equal((await wait('prod', p2.id)).status, 'completed');

      // Rollback in prod with nothing in progress: the previously verified digest (v1) is promoted again.
      const back = await env('prod').rollback(PIPELINE);
      assert.equal(back.repromoted, versions.v1);
      const rolled = await wait('prod', back.deployment);
      assert.equal(rolled.status, 'completed');
      assert.equal(rolled.options.promotion?.rollbackOf, versions.v2);

      const matrix = await plane.matrix();
      const cell = (e: string) => matrix.cells.find((c) => c.environment === e);
      assert.equal(cell('dev')?.digest, versions.v2);
      assert.equal(cell('staging')?.digest, versions.v2);
      assert.equal(cell('prod')?.digest, versions.v1);
      assert.equal(cell('qa'), undefined);
      // The same bytes everywhere: every deployment in every environment ran one of the three digests built.
      const built = new Set(Object.values(versions));
      for (const d of await daemon.plane.store.listDeployments({ limit: 100 }))
        assert.ok(built.has(d.artifact.digest), `${d.environment} ran ${d.artifact.digest}`);
    } finally {
      const sent = Object.fromEntries(
        await Promise.all(Object.entries(loads).map(async ([name, load]) => [name, await load.stop()] as const)),
      );
      for (const [name, log] of Object.entries(logs)) {
        const reader = await openLog(log);
        try {
          await waitForCaughtUp(reader, `slipway.${PIPELINE}`, orders.topic, orders.partitions);
        } finally {
          await reader.close();
        }
        void name;
      }
      await daemon.close();
      for (const [name, log] of Object.entries(logs) as Array<[keyof typeof logs, LogConfig]>) {
        const reader = await openLog(log);
        try {
          const report = await checkExactlyOnce(reader, {
            input: orders.topic,
            outputs: [enrichedOrders.topic],
            dlq: `${orders.topic}.dlq`,
          });
          assert.equal(report.inputs, sent[name], `${name}: every record sent was read`);
          assert.equal(report.lost, 0, `${name}: ${JSON.stringify(report.examples)}`);
          assert.equal(report.duplicated, 0, `${name}: ${JSON.stringify(report.examples)}`);
          // Each environment's runners ran with its own config: every tier follows its threshold.
          let outputs = 0;
          for (let p = 0; p < enrichedOrders.partitions; p++) {
            for (let offset = 0; ; ) {
              const records = await reader.read(enrichedOrders.topic, p, offset, 5000);
              if (records.length === 0) break;
              for (const r of records) {
                const v = JSON.parse(r.value) as { customerTotalEur: number; tier: string };
                const expected = v.customerTotalEur >= THRESHOLD[name] ? 'vip' : 'standard';
                assert.equal(v.tier, expected, `${name}: ${r.value}`);
                outputs++;
              }
              offset = (records.at(-1)?.offset ?? offset) + 1;
            }
          }
          assert.ok(outputs > 0, `${name} has outputs`);
        } finally {
          await reader.close();
        }
      }
    }
  });
});

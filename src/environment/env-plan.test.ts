import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import { openEmbeddedLog } from '../log/embedded/embedded-log.js';
import type { Log } from '../log/log.js';
import { namespaceLog } from '../log/namespaced-log.js';
import { readRecordedSettings, recordSettings } from '../topics/recorded-settings.js';
import { configSection } from './config-section.js';
import { applyEnvironment, destructiveRefusal, planEnvironment } from './env-plan.js';
import { topicSection } from './topic-section.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-env-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const schema = Type.Object({ id: Type.String() });
const orders = defineDataset({ name: 'orders', version: '1.0.0', key: 'id', schema, partitions: 4, retention: '7d' });
const payments = defineDataset({
  name: 'payments',
  version: '2.0.0',
  key: 'id',
  schema,
  partitions: 2,
  retention: '1d',
});
const refunds = defineDataset({ name: 'refunds', version: '1.0.0', key: 'id', schema, partitions: 2 });

let n = 0;
async function freshLog(): Promise<Log> {
  return openEmbeddedLog({ path: join(dir, `log-${++n}.db`) });
}

describe('env plan: topics', () => {
  it('finds a missing topic, too few partitions, another retention and an old dataset version; apply makes them, then the plan is empty', async () => {
    const log = await freshLog();
    try {
      // orders.v1 is missing; payments.v2 has 1 partition, not 2, and 3d, not 1d; refunds.v1 is as declared;
      // payments.v1 (an old version) has records and nothing declares it.
      await log.createTopic('payments.v2', { partitions: 1 });
      await recordSettings(log, [['payments.v2', { retentionMs: 3 * 86_400_000 }]]);
      await log.createTopic('refunds.v1', { partitions: 2 });
      await log.createTopic('payments.v1', { partitions: 2 });
      await log.append('payments.v1', [{ partition: 1, key: 'a', value: '{"id":"a"}' }]);
      // Internal and shadow topics are never the plan's.
      await log.createTopic('orders.v1.shadow.d-1', { partitions: 1 });

      const sections = [topicSection(log, [orders, payments, refunds])];
      const plan = await planEnvironment('dev', 'embedded', sections);
      const byTarget = new Map(plan.changes.map((c) => [c.target, c]));
      assert.deepEqual([...byTarget.keys()].sort(), ['orders.v1', 'payments.v1', 'payments.v2']);
      assert.equal(byTarget.get('orders.v1')?.action, 'create');
      const grow = byTarget.get('payments.v2');
      assert.equal(grow?.action, 'update');
      assert.deepEqual(grow?.fields, [
        { field: 'partitions', from: 1, to: 2 },
        { field: 'retention', from: '3d', to: '1d' },
      ]);
      // Recorded retention is not enforced on the embedded log: shortening it loses nothing.
      assert.equal(grow?.destructive, false);
      const old = byTarget.get('payments.v1');
      assert.equal(old?.action, 'delete');
      assert.equal(old?.destructive, true);
      assert.deepEqual(old?.fields, [
        { field: 'partitions', from: 2 },
        { field: 'records', from: 1 },
      ]);
      assert.deepEqual(plan.summary, { create: 1, update: 1, delete: 1, unchanged: 1 });
      // Planning changed nothing.
      assert.equal(await log.describeTopic('orders.v1'), undefined);

      // Without the flag: everything but the deletion is made, and the deletion is refused with its code.
      const applied = await applyEnvironment('dev', 'embedded', sections);
      assert.deepEqual(applied.applied.map((c) => c.target).sort(), ['orders.v1', 'payments.v2']);
      assert.deepEqual(
        applied.refused.map((c) => c.target),
        ['payments.v1'],
      );
      const refusal = destructiveRefusal(applied);
      assert.ok(isSlipwayError(refusal, 'SLIPWAY_DESTRUCTIVE_CHANGE'));
      assert.match(refusal.message, /delete payments\.v1/);
      assert.equal((await log.describeTopic('payments.v1'))?.partitions, 2, 'the old topic is still there');
      assert.equal(await log.countRecords('payments.v1', 1), 1);
      assert.equal((await log.describeTopic('orders.v1'))?.partitions, 4);
      assert.equal((await log.describeTopic('payments.v2'))?.partitions, 2);
      assert.equal((await readRecordedSettings(log)).get('payments.v2')?.retentionMs, 86_400_000);
      assert.equal((await readRecordedSettings(log)).get('orders.v1')?.retentionMs, 7 * 86_400_000);
      // A grown partition takes records.
      await log.append('payments.v2', [{ partition: 1, key: 'k', value: '{"id":"k"}' }]);
      assert.equal(await log.endOffset('payments.v2', 1), 1);
      assert.deepEqual(
        applied.changes.map((c) => c.target),
        ['payments.v1'],
      );

      const all = await applyEnvironment('dev', 'embedded', sections, { allowDestructive: true });
      assert.deepEqual(
        all.applied.map((c) => `${c.action} ${c.target}`),
        ['delete payments.v1'],
      );
      assert.equal(destructiveRefusal(all), undefined);
      assert.equal(await log.describeTopic('payments.v1'), undefined);
      const after = await planEnvironment('dev', 'embedded', sections);
      assert.deepEqual(after.changes, []);
      assert.deepEqual(after.summary, { create: 0, update: 0, delete: 0, unchanged: 3 });
    } finally {
      await log.close();
    }
  });

  it('reports partitions that cannot shrink as a change apply does not make, with what to do', async () => {
    const log = await freshLog();
    try {
      await log.createTopic('refunds.v1', { partitions: 6 });
      const sections = [topicSection(log, [refunds])];
      const result = await applyEnvironment('dev', 'embedded', sections);
      assert.equal(result.applied.length, 0);
      assert.equal(result.manual.length, 1);
      assert.equal(result.manual[0]?.applicable, false);
      assert.match(
        result.manual[0]?.fix ?? '',
        /cannot shrink: declare 6 partitions for refunds, or make a new dataset version/,
      );
      assert.equal((await log.describeTopic('refunds.v1'))?.partitions, 6);
    } finally {
      await log.close();
    }
  });

  it("sees only its namespace, and never plans to delete another environment's or workspace's topics", async () => {
    const base = await freshLog();
    const log = namespaceLog(base, 'stg.');
    try {
      await base.createTopic('stg.payments.v1', { partitions: 1 }); // this environment's old version
      await base.createTopic('stg.ws-ana.payments.v1', { partitions: 1 }); // inside its namespace, not its own
      await base.createTopic('prod.payments.v1', { partitions: 1 }); // another namespace
      const plan = await planEnvironment('staging', 'embedded', [
        topicSection(log, [refunds], { othersPrefixes: ['ws-ana.'] }),
      ]);
      assert.deepEqual(
        plan.changes.map((c) => `${c.action} ${c.target}`),
        ['create refunds.v1', 'delete payments.v1'],
      );
    } finally {
      await log.close();
      await base.close();
    }
  });
});

describe('env plan: config drift', () => {
  const spec = {
    log: { engine: 'embedded' as const },
    pipelines: { enrich: { config: { vipThresholdEur: 800, currency: 'EUR' } }, same: { config: { y: 2 } }, other: {} },
  };
  it('compares each live release of the environment with the declared config, and says how to fix a drift', async () => {
    const section = configSection('staging', spec, async () => [
      {
        pipeline: 'enrich',
        environment: 'staging',
        artifact: { digest: 'sha256:abc', version: '1.2.0' },
        config: { vipThresholdEur: 500, currency: 'EUR', debug: true },
      },
      // Its config is not declared here (given at deploy time): not compared.
      { pipeline: 'other', environment: 'staging', artifact: { digest: 'sha256:def' }, config: { x: 1 } },
      { pipeline: 'same', environment: 'staging', artifact: { digest: 'sha256:123' }, config: { y: 2 } },
      // Another environment's release is not this plan's.
      { pipeline: 'enrich', environment: 'prod', artifact: { digest: 'sha256:abc' }, config: { x: 1 } },
    ]);
    const plan = await planEnvironment('staging', 'embedded', [section]);
    assert.equal(plan.changes.length, 1);
    const drift = plan.changes[0];
    assert.equal(drift?.target, 'pipeline enrich');
    assert.equal(drift?.applicable, false);
    assert.deepEqual(drift?.fields, [
      { field: 'config/debug', from: true },
      { field: 'config/vipThresholdEur', from: 500, to: 800 },
    ]);
    assert.equal(
      drift?.fix,
      `slipway deploy sha256:abc --env staging --config '{"vipThresholdEur":800,"currency":"EUR"}'`,
    );
    assert.equal(plan.summary.unchanged, 1);
    // Apply cannot make it: it is left for the user, with the command.
    const applied = await applyEnvironment('staging', 'embedded', [section]);
    assert.equal(applied.applied.length, 0);
    assert.equal(applied.manual.length, 1);
  });

  it('says it could not look when no control plane answers, instead of reporting no drift', async () => {
    const plan = await planEnvironment('staging', 'embedded', [
      configSection('staging', spec, async () => ({ skipped: 'no control plane is running' })),
    ]);
    assert.deepEqual(plan.changes, []);
    assert.equal(plan.sections[0]?.skipped, 'no control plane is running');
  });
});

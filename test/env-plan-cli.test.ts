import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog } from '../src/log/embedded/embedded-log.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import type { Log } from '../src/log/log.js';
import { openLog } from '../src/log/open-log.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { deleteRunTopics } from './helpers/kafka-run.js';

// Issue 12, point 5: `slipway env plan/apply <env>` on Kafka and on the embedded log: a topic missing, too few
// partitions, a retention that differs (longer: made; shorter on Kafka: destructive), an old dataset version
// nothing declares (destructive); apply makes the safe side, refuses the destructive one without the flag, and
// a plan after shows no changes. Then config drift against a live control plane.
const id = randomUUID().slice(0, 8);
const brokers = kafkaBrokers();
const project = copyExampleProject({ prefix: 'slipway-env-plan-', tsx: true });
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { SLIPWAY_ENV: '', SLIPWAY_PROJECT: '' } });
after(async () => {
  await cli(['down']);
  project.remove();
  await deleteRunTopics(brokers, id, []);
});

const DAY = 86_400_000;
writeFileSync(
  join(project.dir, 'slipway.config.ts'),
  `import { Type } from '@sinclair/typebox';
import { defineDataset, defineProject } from 'slipway';
export { enrichedOrders, orders } from './datasets.js';
export { enrichOrders } from './pipeline.js';
const schema = Type.Object({ id: Type.String() });
export const alpha = defineDataset({ name: 'alpha', version: '1.0.0', key: 'id', schema, partitions: 3, retention: '7d' });
export const beta = defineDataset({ name: 'beta', version: '1.0.0', key: 'id', schema, partitions: 4, retention: '2d' });
export const gamma = defineDataset({ name: 'gamma', version: '1.0.0', key: 'id', schema, partitions: 1, retention: '1h' });
export const project = defineProject({
  environments: {
    local: {
      log: { engine: 'embedded', path: '.slipway/log.db' },
      allowUntested: true,
      pipelines: { 'enrich-orders': { config: { vipThresholdEur: 800 } } },
    },
    staging: { log: { engine: 'kafka', brokers: ${JSON.stringify(brokers)} }, topicPrefix: 'stg-${id}.', promotion: { from: 'local' } },
  },
});
`,
);

async function prepare(log: Log, retention: boolean): Promise<void> {
  // beta: 2 partitions (4 declared), retention 1d (2d declared); gamma: 1d (1h declared); legacy.v1: undeclared.
  await log.createTopic('beta.v1', { partitions: 2, ...(retention ? { retentionMs: DAY } : {}) });
  await log.createTopic('gamma.v1', { partitions: 1, ...(retention ? { retentionMs: DAY } : {}) });
  await log.createTopic('legacy.v1', { partitions: 1 });
  await log.append('legacy.v1', [{ partition: 0, key: 'k', value: '{"id":"k"}' }]);
}

describe('slipway env plan / apply', () => {
  it('on Kafka: plans like Terraform, applies the safe changes, deletes and shortens only with --allow-destructive', async () => {
    const log = await openLog({ engine: 'kafka', brokers, namespace: `stg-${id}.` });
    try {
      await prepare(log, true);
    } finally {
      await log.close();
    }
    const plan = await cli(['env', 'plan', 'staging']);
    assert.equal(plan.code, 0, plan.stderr);
    const out = plan.stdout;
    assert.match(out, new RegExp(`^staging \\(Kafka at .*namespace stg-${id}\\.\\):`, 'm'));
    assert.match(out, /^ {2}\+ topic alpha\.v1\s+partitions 3, retention 7d$/m);
    assert.match(out, /^ {2}~ topic beta\.v1\s+partitions 2 → 4, retention 1d → 2d$/m);
    assert.match(out, /^ {2}~ topic gamma\.v1\s+retention 1d → 1h {2}\[destructive: only with --allow-destructive\]$/m);
    assert.match(
      out,
      /^ {2}- topic legacy\.v1\s+partitions 1, records 1 {2}\[destructive: only with --allow-destructive\]$/m,
    );
    assert.match(out, /config: not checked: no control plane is running/);
    // The example's own datasets are missing too (nothing ran in staging).
    assert.match(out, /^Plan: 3 to create, 2 to change, 1 to delete \(2 destructive\); 0 unchanged\.$/m);

    const detailed = await cli(['env', 'plan', 'staging', '--detailed-exitcode', '--json']);
    assert.equal(detailed.code, 2, detailed.stderr);
    const json = JSON.parse(detailed.stdout) as { changes: Array<{ target: string; action: string }> };
    assert.deepEqual(json.changes.map((c) => `${c.action} ${c.target}`).sort(), [
      'create alpha.v1',
      'create enriched-orders.v1',
      'create orders.v1',
      'delete legacy.v1',
      'update beta.v1',
      'update gamma.v1',
    ]);

    const apply = await cli(['env', 'apply', 'staging']);
    assert.equal(apply.code, 1, apply.stdout);
    assert.match(apply.stdout, /Apply complete: 3 created, 1 changed, 0 deleted\./);
    assert.match(
      apply.stderr,
      /error SLIPWAY_DESTRUCTIVE_CHANGE: 2 changes in staging would lose records and were not made: update gamma\.v1, delete legacy\.v1 \(the 4 other changes were made\)/,
    );
    const check = await openLog({ engine: 'kafka', brokers, namespace: `stg-${id}.` });
    try {
      assert.equal((await check.describeTopic('alpha.v1'))?.partitions, 3);
      assert.equal((await check.topicSettings?.('alpha.v1'))?.retentionMs, 7 * DAY);
      assert.equal((await check.describeTopic('beta.v1'))?.partitions, 4);
      assert.equal((await check.topicSettings?.('beta.v1'))?.retentionMs, 2 * DAY);
      assert.equal((await check.topicSettings?.('gamma.v1'))?.retentionMs, DAY, 'not shortened without the flag');
      assert.equal(await check.countRecords('legacy.v1', 0), 1, 'not deleted without the flag');
    } finally {
      await check.close();
    }

    const pending = await cli(['env', 'plan', 'staging', '--detailed-exitcode']);
    assert.equal(pending.code, 2);
    assert.match(pending.stdout, /^Plan: 0 to create, 1 to change, 1 to delete \(2 destructive\); 4 unchanged\.$/m);

    const all = await cli(['env', 'apply', 'staging', '--allow-destructive']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /Apply complete: 0 created, 1 changed, 1 deleted\. staging is as declared\./);
    const none = await cli(['env', 'plan', 'staging', '--detailed-exitcode']);
    assert.equal(none.code, 0, none.stdout);
    assert.match(none.stdout, /^No changes: staging is as declared \(5 checked\)\.$/m);
    const gone = await openLog({ engine: 'kafka', brokers, namespace: `stg-${id}.` });
    try {
      assert.equal(await gone.describeTopic('legacy.v1'), undefined);
      assert.equal((await gone.topicSettings?.('gamma.v1'))?.retentionMs, 3_600_000);
    } finally {
      await gone.close();
    }
  });

  it('on the embedded log: a plan creates no file; apply grows partitions and records retention; then no changes', async () => {
    const file = join(project.dir, '.slipway/log.db');
    const first = await cli(['env', 'plan', 'local', '--detailed-exitcode']);
    assert.equal(first.code, 2, first.stderr);
    assert.match(first.stdout, /^Plan: 5 to create, 0 to change, 0 to delete; 0 unchanged\.$/m);
    assert.equal(existsSync(file), false, 'planning created no log');

    const log = await openEmbeddedLog({ path: file });
    try {
      await prepare(log, false);
    } finally {
      await log.close();
    }
    const plan = await cli(['env', 'plan', 'local']);
    assert.equal(plan.code, 0, plan.stderr);
    // Retention is recorded, not enforced, here: recording it is no loss.
    assert.match(plan.stdout, /^ {2}~ topic beta\.v1\s+partitions 2 → 4, retention 2d$/m);
    assert.match(plan.stdout, /^ {6}records of a key may go to a new partition/m);
    assert.match(plan.stdout, /^ {2}~ topic gamma\.v1\s+retention 1h$/m);
    assert.match(plan.stdout, /^ {2}- topic legacy\.v1\s+partitions 1, records 1 {2}\[destructive/m);

    const apply = await cli(['env', 'apply', 'local']);
    assert.equal(apply.code, 1);
    assert.match(
      apply.stderr,
      /SLIPWAY_DESTRUCTIVE_CHANGE: 1 change in local would lose records and was not made: delete legacy\.v1/,
    );
    const all = await cli(['env', 'apply', 'local', '--allow-destructive', '--json']);
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual((JSON.parse(all.stdout) as { changes: unknown[] }).changes, []);
    const none = await cli(['env', 'plan', 'local', '--detailed-exitcode']);
    assert.equal(none.code, 0, none.stdout);
    assert.match(none.stdout, /No changes: local is as declared \(5 checked\)/);
    const check = await openEmbeddedLog({ path: file });
    try {
      assert.equal((await check.describeTopic('beta.v1'))?.partitions, 4);
      assert.equal(await check.describeTopic('legacy.v1'), undefined);
    } finally {
      await check.close();
    }
  });

  it("shows a live release's config drift with the deployment that fixes it", async () => {
    const up = await cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    const deployed = await cli([
      '--env',
      'local',
      'deploy',
      'pipeline.ts',
      '--allow-untested',
      '--bake',
      '200',
      '--config',
      '{"vipThresholdEur":500}',
    ]);
    assert.equal(deployed.code, 0, deployed.stderr);
    const plan = await cli(['env', 'plan', 'local', '--detailed-exitcode']);
    assert.equal(plan.code, 2, plan.stderr);
    assert.match(
      plan.stdout,
      /^ {2}~ pipeline enrich-orders\s+config\/vipThresholdEur 500 → 800 {2}\[apply does not make this\]$/m,
    );
    assert.match(
      plan.stdout,
      /^ {6}to fix: slipway deploy sha256:[0-9a-f]{64} --env local --config '\{"vipThresholdEur":800\}'$/m,
    );
    const apply = await cli(['env', 'apply', 'local']);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, /Left for you \(apply does not make these\):\n {2}~ pipeline enrich-orders/);
  });
});

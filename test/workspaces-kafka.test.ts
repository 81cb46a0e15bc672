import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { namespaceLog } from '../src/log/namespaced-log.js';
import { openLog } from '../src/log/open-log.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { deleteRunTopics } from './helpers/kafka-run.js';

// Issue 12, point 6: two developers' workspaces derived from staging, on the same Kafka broker at the same
// time, run the same pipeline over their own records; each sees only its own; `workspace down` removes every
// topic and consumer group a workspace made (checked through Kafka's admin API) and says what it removed.
const id = randomUUID().slice(0, 8);
const brokers = kafkaBrokers();
const project = copyExampleProject({ prefix: 'slipway-workspaces-', tsx: true });
const a = `a${id}`;
const b = `b${id}`;
const prefixOf = (ws: string) => `ws-${ws}.stg-${id}.`;
after(async () => {
  project.remove();
  await deleteRunTopics(brokers, id, []);
});

writeFileSync(
  join(project.dir, 'slipway.config.ts'),
  `import { defineProject } from 'slipway';
export { enrichedOrders, orders } from './datasets.js';
export { enrichOrders } from './pipeline.js';
export const project = defineProject({
  environments: {
    dev: { log: { engine: 'embedded' } },
    staging: {
      log: { engine: 'kafka', brokers: ${JSON.stringify(brokers)} },
      topicPrefix: 'stg-${id}.',
      promotion: { from: 'dev' },
      workspaceBase: true,
    },
  },
});
`,
);

const order = (who: string, i: number) =>
  JSON.stringify({
    orderId: `${who}-${i}`,
    customerId: `${who}-c${i % 5}`,
    amount: 10 + i,
    currency: 'EUR',
    items: 1,
    createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  });
writeFileSync(join(project.dir, 'a.jsonl'), `${Array.from({ length: 30 }, (_, i) => order('A', i)).join('\n')}\n`);
writeFileSync(join(project.dir, 'b.jsonl'), `${Array.from({ length: 50 }, (_, i) => order('B', i)).join('\n')}\n`);

const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { SLIPWAY_ENV: '', SLIPWAY_PROJECT: '' } });

/** Every topic (internal ones too) and consumer group on the broker whose name carries `text`. */
async function onBroker(text: string): Promise<{ topics: string[]; groups: string[] }> {
  const admin = new Admin({ clientId: `slipway-ws-test-${id}`, bootstrapBrokers: brokers });
  try {
    const topics = (await admin.listTopics({ includeInternals: true })).filter((t) => t.includes(text));
    const groups = [...(await admin.listGroups({ types: ['classic', 'consumer'] })).keys()].filter((g) =>
      g.includes(text),
    );
    return { topics, groups };
  } finally {
    await admin.close();
  }
}

/** The orderIds of a workspace's output, read through its namespace. */
async function outputs(ws: string): Promise<string[]> {
  const log = namespaceLog(await openLog({ engine: 'kafka', brokers }), prefixOf(ws));
  try {
    const out: string[] = [];
    for (let p = 0; p < 4; p++)
      for (const r of await log.read('enriched-orders.v1', p, 0, 10_000))
        out.push((JSON.parse(r.value) as { orderId: string }).orderId);
    return out.sort();
  } finally {
    await log.close();
  }
}

describe('workspaces on a shared Kafka broker', () => {
  it('run the same pipeline side by side, each on its own records, and go without leaving a topic or group behind', async () => {
    const [upA, upB] = await Promise.all([cli(['workspace', 'up', a]), cli(['workspace', 'up', b])]);
    assert.equal(upA.code, 0, upA.stderr);
    assert.equal(upB.code, 0, upB.stderr);
    assert.match(
      upA.stdout,
      new RegExp(`workspace ${a} made: from staging, on the Kafka at .*namespace ws-${a}\\.stg-${id}\\.`),
    );
    assert.match(upA.stdout, /created 2 topics: enriched-orders\.v1, orders\.v1/);
    const recorded = JSON.parse(readFileSync(join(project.dir, '.slipway/workspaces.json'), 'utf8'));
    assert.deepEqual(Object.keys(recorded.workspaces).sort(), [a, b]);
    assert.equal(recorded.workspaces[a].topicPrefix, prefixOf(a));

    const listed = await cli(['workspace', 'list']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`^${b}\\s+staging\\s+Kafka at`, 'm'));

    // The same dataset, different records in each.
    const [prodA, prodB] = await Promise.all([
      cli(['--env', a, 'produce', 'orders', '--file', 'a.jsonl']),
      cli(['--env', b, 'produce', 'orders', '--file', 'b.jsonl']),
    ]);
    assert.equal(prodA.code, 0, prodA.stderr);
    assert.equal(prodB.code, 0, prodB.stderr);
    assert.match(prodA.stderr, /produced 30 records to orders\.v1/);

    // The same pipeline, in both at the same time.
    const [runA, runB] = await Promise.all([
      cli(['--env', a, 'run', 'pipeline.ts', '--until-caught-up']),
      cli(['--env', b, 'run', 'pipeline.ts', '--until-caught-up']),
    ]);
    assert.equal(runA.code, 0, runA.stderr);
    assert.equal(runB.code, 0, runB.stderr);
    assert.match(runA.stderr, new RegExp(`namespace ws-${a}\\.stg-${id}\\.`));
    assert.match(runA.stderr, /30 in, 30 out, 0 to the DLQ/);
    assert.match(runB.stderr, /50 in, 50 out, 0 to the DLQ/);
    assert.deepEqual(await outputs(a), Array.from({ length: 30 }, (_, i) => `A-${i}`).sort());
    assert.deepEqual(await outputs(b), Array.from({ length: 50 }, (_, i) => `B-${i}`).sort());
    // staging itself got nothing.
    assert.deepEqual(
      (await onBroker(`stg-${id}.`)).topics.filter((t) => t.startsWith(`stg-${id}.`)),
      [],
    );

    // The project's integration suite, in workspace a: in a namespace of its own inside a's.
    const tested = await cli(['--env', a, 'test', '--layer', 'integration']);
    assert.equal(tested.code, 0, `${tested.stdout}\n${tested.stderr}`);
    assert.match(tested.stderr, new RegExp(`testing in ${a}: Kafka at .*namespace ws-${a}\\.stg-${id}\\.`));
    assert.match(tested.stdout, /passed: 1 tests/);
    const base = namespaceLog(await openLog({ engine: 'kafka', brokers }), prefixOf(a));
    try {
      const made = await base.inventory();
      assert.ok(
        made.groups.some((g) => /^t-[0-9a-f]{8}\.slipway\.enrich-orders$/.test(g)),
        `the test ran in the workspace: ${made.groups.join(', ')}`,
      );
      assert.ok(!made.topics.some((t) => t.startsWith('t-')), `the test removed its topics: ${made.topics.join(', ')}`);
    } finally {
      await base.close();
    }

    assert.ok((await onBroker(prefixOf(a))).topics.length > 0);
    const downA = await cli(['workspace', 'down', a]);
    assert.equal(downA.code, 0, downA.stderr);
    assert.match(downA.stdout, new RegExp(`workspace ${a} removed from the Kafka at`));
    assert.match(downA.stdout, /removed 3 topics: enriched-orders\.v1, orders\.v1, orders\.v1\.dlq/);
    assert.match(downA.stdout, /removed \d+ consumer groups?: .*slipway\.enrich-orders/);
    assert.match(downA.stdout, /removed \d+ state namespaces?: .*enrich-orders/);
    assert.deepEqual(await onBroker(prefixOf(a)), { topics: [], groups: [] }, 'nothing of a is left on the broker');
    // b is untouched.
    assert.equal((await outputs(b)).length, 50);
    assert.ok((await onBroker(prefixOf(b))).groups.length > 0);

    const downB = await cli(['workspace', 'down', b]);
    assert.equal(downB.code, 0, downB.stderr);
    assert.deepEqual(await onBroker(prefixOf(b)), { topics: [], groups: [] }, 'nothing of b is left on the broker');
    const left = JSON.parse(readFileSync(join(project.dir, '.slipway/workspaces.json'), 'utf8'));
    assert.deepEqual(left.workspaces, {});

    const again = await cli(['workspace', 'down', b]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /SLIPWAY_WORKSPACE_NOT_FOUND/);
  });
});

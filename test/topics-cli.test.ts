// `slipway topics plan` / `slipway topics apply`: the datasets of a project against the embedded log and a
// real Kafka broker.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { openEmbeddedLog } from '../src/log/embedded/embedded-log.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-topics-cli-'));
const logPath = join(dir, 'log.db');
const project = join(dir, 'slipway.config.ts');
const slipway = JSON.stringify(resolve('src/index.ts'));
const id = randomUUID().slice(0, 8);
const events = `tcli-events-${id}`;
const users = `tcli-users-${id}`;

function writeProject(eventsPartitions: number, eventsRetention: string): void {
  writeFileSync(
    project,
    `import { defineDataset } from ${slipway};
const schema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
export const events = defineDataset({ name: '${events}', version: '1.0.0', key: 'id', partitions: ${eventsPartitions}, retention: '${eventsRetention}', schema });
export const users = defineDataset({ name: '${users}', version: '2.0.0', key: 'id', partitions: 1, schema });
`,
  );
}

// From the repository (where tsx resolves), naming the project file in the temporary folder.
const cli = (args: string[]) =>
  runCli(['--log', logPath, ...args, ...(args[1] === 'plan' || args[1] === 'apply' ? ['--project', project] : [])], {
    cwd: resolve('.'),
  });

after(() => rmSync(dir, { recursive: true, force: true }));

describe('slipway topics plan / apply', () => {
  it('plans, creates, reports ok, then reports a mismatch without changing the topic (embedded log)', async () => {
    writeProject(3, '7d');
    // `plan` only reads, so it refuses a log that does not exist (issue 10, item 14.3): start with an empty one.
    await (await openEmbeddedLog({ path: logPath })).close();
    const plan = await cli(['topics', 'plan']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^STATUS\s+DATASET\s+TOPIC\s+PARTITIONS\s+RETENTION$/m);
    assert.match(plan.stdout, new RegExp(`^missing\\s+${events}@1\\.0\\.0\\s+${events}\\.v1\\s+3\\s+7d$`, 'm'));
    assert.match(
      plan.stdout,
      new RegExp(`^missing\\s+${users}@2\\.0\\.0\\s+${users}\\.v2\\s+1\\s+\\(not declared\\)$`, 'm'),
    );
    assert.match(plan.stderr, /embedded log: 2 missing \(retention is recorded by Slipway, not enforced/);

    const apply = await cli(['topics', 'apply']);
    assert.equal(apply.code, 0, apply.stderr);
    assert.match(apply.stdout, new RegExp(`^created\\s+${events}@1\\.0\\.0`, 'm'));

    const json = await cli(['topics', 'plan', '--json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout) as { engine: string; entries: Array<{ topic: string; status: string }> };
    assert.equal(parsed.engine, 'embedded');
    assert.deepEqual(
      parsed.entries.map((e) => [e.topic, e.status]),
      [
        [`${events}.v1`, 'ok'],
        [`${users}.v2`, 'ok'],
      ],
    );

    const list = await cli(['topics', '--json']);
    assert.deepEqual(
      (JSON.parse(list.stdout) as Array<{ name: string; partitions: number }>).map((t) => [t.name, t.partitions]),
      [
        [`${events}.v1`, 3],
        [`${users}.v2`, 1],
      ],
      'the list shows the created topics and hides the recorded settings',
    );

    writeProject(4, '1d');
    const mismatch = await cli(['topics', 'apply']);
    assert.equal(mismatch.code, 1);
    assert.match(
      mismatch.stdout,
      new RegExp(`^mismatch\\s+${events}@1\\.0\\.0\\s+${events}\\.v1\\s+4 \\(actual 3\\)\\s+1d \\(actual 7d\\)$`, 'm'),
    );
    assert.match(
      mismatch.stderr,
      new RegExp(
        `error SLIPWAY_TOPIC_MISMATCH: 1 topic differs from its dataset declaration: ${events}\\.v1: partitions declared 4, actual 3; ${events}\\.v1: retention declared 1d, actual 7d\\. Slipway does not change existing topics`,
      ),
    );
    const after = JSON.parse((await cli(['topics', '--json'])).stdout) as Array<{ name: string; partitions: number }>;
    assert.equal(after.find((t) => t.name === `${events}.v1`)?.partitions, 3, 'left as it was');
  });

  it('plans and applies against Kafka with --kafka', async () => {
    const brokers = kafkaBrokers();
    const admin = new Admin({ clientId: 'slipway-topics-cli-test', bootstrapBrokers: brokers });
    try {
      writeProject(2, '2d');
      const apply = await cli(['topics', 'apply', '--kafka', brokers.join(',')]);
      assert.equal(apply.code, 0, apply.stderr);
      assert.match(apply.stdout, new RegExp(`^created\\s+${events}@1\\.0\\.0\\s+${events}\\.v1\\s+2\\s+2d$`, 'm'));
      assert.match(apply.stderr, /kafka log: 2 created/);
      writeProject(2, '3d');
      const plan = await cli(['topics', 'plan', '--kafka', brokers.join(',')]);
      assert.equal(plan.code, 1);
      assert.match(
        plan.stdout,
        new RegExp(`^mismatch\\s+${events}@1\\.0\\.0\\s+${events}\\.v1\\s+2\\s+3d \\(actual 2d\\)$`, 'm'),
      );
      assert.match(
        plan.stdout,
        new RegExp(`^ok\\s+${users}@2\\.0\\.0\\s+${users}\\.v2\\s+1\\s+\\(not declared; actual \\w+\\)$`, 'm'),
      );
      assert.match(plan.stderr, /error SLIPWAY_TOPIC_MISMATCH: .*retention declared 3d, actual 2d/);
    } finally {
      await admin.deleteTopics({ topics: [`${events}.v1`, `${users}.v2`] }).catch(() => undefined);
      await admin.close();
    }
  });
});

// Topics as code against a real Kafka broker and on the embedded log: missing topics are created with their
// declared partitions and retention; a topic that differs is reported as a mismatch and left as it is.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { Type } from '@sinclair/typebox';
import { type Dataset, defineDataset, isSlipwayError, type Log, openEmbeddedLog } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { createDatasetTopic } from '../src/topics/dataset-topic.js';
import { SETTINGS_TOPIC } from '../src/topics/recorded-settings.js';
import { applyTopics, planTopics, type TopicPlan, topicMismatchError } from '../src/topics/topic-plan.js';

const schema = Type.Object({ id: Type.String() });
const DAY = 86_400_000;

function dataset(name: string, partitions: number, retention?: string | number): Dataset {
  return defineDataset({
    name,
    version: '1.0.0',
    key: 'id',
    partitions,
    ...(retention === undefined ? {} : { retention }),
    schema,
  });
}

const statuses = (plan: TopicPlan) => Object.fromEntries(plan.entries.map((e) => [e.topic, e.status]));

/** The same scenario on every engine; `retentionOf` reads what the engine really has. */
function topicsAsCode(
  engine: string,
  open: () => Promise<Log>,
  created: string[],
  retentionOf: (log: Log, topic: string) => Promise<number | undefined>,
): void {
  describe(`topics as code (${engine})`, () => {
    const logs: Log[] = [];
    const openLog = async () => {
      const log = await open();
      logs.push(log);
      return log;
    };
    const unique = (prefix: string) => {
      const name = `${prefix}-${randomUUID().slice(0, 8)}`;
      created.push(`${name}.v1`);
      return name;
    };
    after(async () => {
      for (const log of logs) await log.close();
    });

    it('plans missing topics, creates them with partitions and retention, then reports them ok', async () => {
      const log = await openLog();
      const a = dataset(unique('tac-a'), 3, '2d');
      const b = dataset(unique('tac-b'), 2);
      const plan = await planTopics(log, [a, b]);
      assert.deepEqual(statuses(plan), { [a.topic]: 'missing', [b.topic]: 'missing' });
      assert.equal(await log.describeTopic(a.topic), undefined, 'plan changes nothing');

      const applied = await applyTopics(log, [a, b]);
      assert.deepEqual(statuses(applied), { [a.topic]: 'created', [b.topic]: 'created' });
      assert.equal(topicMismatchError(applied), undefined);
      assert.equal((await log.describeTopic(a.topic))?.partitions, 3);
      assert.equal((await log.describeTopic(b.topic))?.partitions, 2);
      assert.equal(await retentionOf(log, a.topic), 2 * DAY);

      const again = await applyTopics(log, [a, b]);
      assert.deepEqual(statuses(again), { [a.topic]: 'ok', [b.topic]: 'ok' });
      const entry = again.entries.find((e) => e.topic === a.topic);
      assert.deepEqual(entry?.declared, { partitions: 3, retentionMs: 2 * DAY });
      assert.equal(entry?.actual?.retentionMs, 2 * DAY);
    });

    it('reports a partition or retention mismatch with a stable error, and changes nothing', async () => {
      const log = await openLog();
      const name = unique('tac-m');
      await applyTopics(log, [dataset(name, 4, '1d')]);
      const fewer = dataset(name, 2, '1d');
      const shorter = dataset(name, 4, '12h');

      const plan = await applyTopics(log, [fewer]);
      assert.deepEqual(statuses(plan), { [fewer.topic]: 'mismatch' });
      assert.deepEqual(plan.entries[0]?.differences, [{ field: 'partitions', declared: 2, actual: 4 }]);
      const err = topicMismatchError(plan);
      assert.equal(err?.code, 'SLIPWAY_TOPIC_MISMATCH');
      assert.match(err?.message ?? '', new RegExp(`${fewer.topic}: partitions declared 2, actual 4`));

      const retention = await planTopics(log, [shorter]);
      assert.deepEqual(retention.entries[0]?.differences, [{ field: 'retention', declared: DAY / 2, actual: DAY }]);
      assert.match(topicMismatchError(retention)?.message ?? '', /retention declared 12h, actual 1d/);
      await applyTopics(log, [shorter]);

      assert.equal((await log.describeTopic(fewer.topic))?.partitions, 4, 'partitions unchanged');
      assert.equal(await retentionOf(log, fewer.topic), DAY, 'retention unchanged');
    });

    it('binds a dataset to an existing topic: never creates or changes it, reports one missing or different', async () => {
      const log = await openLog();
      const topic = `tac-x-${randomUUID().slice(0, 8)}-web.clicks`;
      created.push(topic);
      const clicks = defineDataset({ name: 'clicks', version: '1.0.0', key: 'id', partitions: 3, schema, topic });
      assert.equal(clicks.topic, topic);
      const missing = await applyTopics(log, [clicks]);
      assert.deepEqual(statuses(missing), { [topic]: 'missing' });
      assert.equal(await log.describeTopic(topic), undefined, 'apply never creates a topic a dataset names');
      assert.equal(topicMismatchError(missing)?.code, 'SLIPWAY_TOPIC_NOT_FOUND');
      // What runners and produce use: the same refusal.
      await assert.rejects(createDatasetTopic(log, clicks), (e: unknown) =>
        isSlipwayError(e, 'SLIPWAY_TOPIC_NOT_FOUND'),
      );
      assert.equal(await log.describeTopic(topic), undefined);

      // Another team's producer created it, with 2 partitions.
      await log.createTopic(topic, { partitions: 2 });
      const different = await applyTopics(log, [clicks]);
      assert.deepEqual(statuses(different), { [topic]: 'mismatch' });
      assert.equal(topicMismatchError(different)?.code, 'SLIPWAY_TOPIC_MISMATCH');
      await assert.rejects(createDatasetTopic(log, clicks), (e: unknown) =>
        isSlipwayError(e, 'SLIPWAY_TOPIC_MISMATCH'),
      );
      assert.equal((await log.describeTopic(topic))?.partitions, 2, 'unchanged');

      const declared = defineDataset({ name: 'clicks', version: '1.0.0', key: 'id', partitions: 2, schema, topic });
      assert.equal(await createDatasetTopic(log, declared), false);
      assert.equal(topicMismatchError(await applyTopics(log, [declared])), undefined);
      assert.throws(
        () => defineDataset({ name: 'clicks', version: '1.0.0', key: 'id', schema, topic: '__internal' }),
        (e: unknown) => isSlipwayError(e, 'SLIPWAY_INVALID_DEFINITION'),
      );
    });

    it('leaves undeclared retention alone, and refuses two datasets declaring one topic differently', async () => {
      const log = await openLog();
      const name = unique('tac-u');
      await applyTopics(log, [dataset(name, 1, '3d')]);
      const plan = await planTopics(log, [dataset(name, 1)]);
      assert.deepEqual(statuses(plan), { [`${name}.v1`]: 'ok' });
      await assert.rejects(planTopics(log, [dataset(name, 1), dataset(name, 2)]), {
        code: 'SLIPWAY_INVALID_DEFINITION',
      });
    });
  });
}

const brokers = kafkaBrokers();
const kafkaTopics: string[] = [];
topicsAsCode(
  'kafka',
  () => openKafkaLog({ brokers, clientId: 'slipway-topics-test' }),
  kafkaTopics,
  async (_log, t) => {
    // Read straight from Kafka, not through the code under test.
    const admin = new Admin({ clientId: 'slipway-topics-test-admin', bootstrapBrokers: brokers });
    try {
      const [config] = await admin.describeConfigs({
        resources: [{ resourceType: 2, resourceName: t, configurationKeys: ['retention.ms'] }],
      });
      const value = config?.configs.find((c) => c.name === 'retention.ms')?.value;
      return value === undefined || value === null ? undefined : Number(value);
    } finally {
      await admin.close();
    }
  },
);
after(async () => {
  const admin = new Admin({ clientId: 'slipway-topics-test-cleanup', bootstrapBrokers: brokers });
  try {
    await admin.deleteTopics({ topics: [...new Set(kafkaTopics)] });
  } finally {
    await admin.close();
  }
});

const dir = mkdtempSync(join(tmpdir(), 'slipway-topics-'));
after(() => rmSync(dir, { recursive: true, force: true }));
topicsAsCode(
  'embedded',
  () => openEmbeddedLog({ path: join(dir, 'log.db') }),
  [],
  async (log, t) => {
    const { readRecordedSettings } = await import('../src/topics/recorded-settings.js');
    return (await readRecordedSettings(log)).get(t)?.retentionMs;
  },
);

describe('topics as code (embedded specifics)', () => {
  it('records a first retention declaration for a topic created without one (plain createTopic, or an older Slipway)', async () => {
    const log = await openEmbeddedLog({ path: join(dir, 'first.db') });
    try {
      const d = dataset(`tac-f-${randomUUID().slice(0, 8)}`, 2, '5d');
      await log.createTopic(d.topic, { partitions: 2 });
      const plan = await planTopics(log, [d]);
      assert.deepEqual(statuses(plan), { [d.topic]: 'ok' });
      assert.equal(plan.entries[0]?.actual?.retentionMs, undefined, 'nothing recorded yet');
      const applied = await applyTopics(log, [d]);
      assert.equal(applied.entries[0]?.status, 'ok');
      assert.equal(applied.entries[0]?.actual?.retentionMs, 5 * DAY);
      const changed = await planTopics(log, [dataset(d.name, 2, '6d')]);
      assert.equal(changed.entries[0]?.status, 'mismatch', 'once recorded, a different declaration is a mismatch');
      assert.ok((await log.describeTopic(SETTINGS_TOPIC)) !== undefined);
    } finally {
      await log.close();
    }
  });
});

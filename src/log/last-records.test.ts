import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { openKafkaLog } from './kafka/kafka-log.js';
import { kafkaBrokers } from './kafka/test-broker.js';
import { lastRecords } from './last-records.js';
import type { Log } from './log.js';
import { openMemoryLog } from './memory/memory-log.js';

const values = (records: ReadonlyArray<{ value: string }>) => records.map((r) => r.value);

describe('lastRecords', () => {
  it('gives the last n records, all of them when there are fewer, none for n = 0 (memory log)', async () => {
    const log = await openMemoryLog();
    await log.createTopic('t', { partitions: 2 });
    await log.append(
      't',
      Array.from({ length: 30 }, (_, i) => ({ partition: 0, key: null, value: `v${i}` })),
    );
    assert.deepEqual(values((await lastRecords(log, 't', 0, 3)).records), ['v27', 'v28', 'v29']);
    assert.equal((await lastRecords(log, 't', 0, 100)).records.length, 30);
    assert.deepEqual(await lastRecords(log, 't', 0, 0), { records: [], end: 30 });
    assert.deepEqual(await lastRecords(log, 't', 1, 5), { records: [], end: 0 });
  });

  describe('on Kafka, across transaction markers and a log start moved by retention', () => {
    const brokers = kafkaBrokers();
    const topic = `last-records-${randomUUID().slice(0, 8)}`;
    const admin = new Admin({ clientId: 'slipway-test-last-records', bootstrapBrokers: brokers });
    let log: Log | undefined;
    after(async () => {
      await log?.close();
      await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
      await admin.close();
    });

    it('reads back past markers and stops at the log start', async () => {
      log = await openKafkaLog({ brokers, clientId: 'slipway-test-last-records' });
      await log.createTopic(topic, { partitions: 1 });
      const owner = `last-records-${randomUUID().slice(0, 8)}`;
      const epoch = await log.fence(owner);
      // Ten commits of one record: records at 0, 2, …, 18, a marker after each.
      for (let i = 0; i < 10; i++) {
        await log.commit({
          owner,
          epoch,
          outputs: [{ topic, records: [{ partition: 0, key: null, value: `v${i}` }] }],
        });
      }
      assert.deepEqual(values((await lastRecords(log, topic, 0, 4)).records), ['v6', 'v7', 'v8', 'v9']);
      // Retention (here DeleteRecords) removes everything before offset 12: v6 … v9 are left.
      await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 0, offset: 12n }] }] });
      const { records, end } = await lastRecords(log, topic, 0, 8);
      assert.deepEqual(values(records), ['v6', 'v7', 'v8', 'v9']);
      assert.equal(end, 19);
      assert.equal(await log.countRecords(topic, 0), 4);
      await log.forgetOwners([owner]);
    });
  });
});

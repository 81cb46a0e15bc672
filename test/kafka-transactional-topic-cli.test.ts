// Issue 10: on a transactional topic (every runner output on Kafka: each commit leaves a marker that takes an
// offset) `slipway tail -n N` showed fewer than N records, and `slipway topics --kafka` showed end offsets as
// the RECORDS column.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { openKafkaLog } from '../src/log/kafka/kafka-log.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import type { Log } from '../src/log/log.js';
import { runCli } from './helpers/cli.js';

const brokers = kafkaBrokers();
const id = randomUUID().slice(0, 8);
const topic = `txn-cli-${id}`;
const owner = `txn-cli-owner-${id}`;
const kafka = ['--kafka', brokers.join(',')];

describe('CLI on a transactional Kafka topic', () => {
  let log: Log;
  before(async () => {
    log = await openKafkaLog({ brokers, clientId: 'slipway-test-txn-cli' });
    await log.createTopic(topic, { partitions: 2 });
    // Partition 0: eight commits of one record each, as a runner commits: offsets 0, 2, 4, …, 14 (a marker after
    // each). Partition 1: three plain appends and one commit of two records: offsets 0, 1, 2, 3, 4 (marker at 5).
    const epoch = await log.fence(owner);
    for (let i = 0; i < 8; i++) {
      await log.commit({
        owner,
        epoch,
        outputs: [{ topic, records: [{ partition: 0, key: `k${i}`, value: `p0-${i}` }] }],
      });
    }
    await log.append(
      topic,
      [0, 1, 2].map((i) => ({ partition: 1, key: `a${i}`, value: `p1-${i}` })),
    );
    await log.commit({
      owner,
      epoch,
      outputs: [{ topic, records: [3, 4].map((i) => ({ partition: 1, key: `c${i}`, value: `p1-${i}` })) }],
    });
  });
  after(async () => {
    await log.forgetOwners([owner]);
    await log.close();
    const admin = new Admin({ clientId: 'slipway-test-txn-cli', bootstrapBrokers: brokers });
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.close();
  });

  it('tail -n N shows exactly the last N records of each partition', async () => {
    const five = await runCli(['tail', topic, '-n', '5', '--partition', '0', '--values', ...kafka]);
    assert.equal(five.code, 0, five.stderr);
    assert.deepEqual(five.stdout.trim().split('\n'), ['p0-3', 'p0-4', 'p0-5', 'p0-6', 'p0-7']);

    const all = await runCli(['tail', topic, '-n', '3', ...kafka]);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { partition: number; offset: number; value: string });
    assert.deepEqual(
      lines.map((l) => [l.partition, l.offset, l.value]),
      [
        [0, 10, 'p0-5'],
        [0, 12, 'p0-6'],
        [0, 14, 'p0-7'],
        [1, 2, 'p1-2'],
        [1, 3, 'p1-3'],
        [1, 4, 'p1-4'],
      ],
    );

    const more = await runCli(['tail', topic, '-n', '50', '--partition', '0', '--values', ...kafka]);
    assert.equal(more.stdout.trim().split('\n').length, 8, 'asking for more than there are shows them all');
  });

  it('topics --kafka shows the number of records, not end offsets', async () => {
    const json = await runCli(['topics', '--json', ...kafka]);
    assert.equal(json.code, 0, json.stderr);
    const row = (JSON.parse(json.stdout) as Array<{ name: string; records: number; endOffsets: number[] }>).find(
      (t) => t.name === topic,
    );
    assert.equal(row?.records, 13, '8 + 5 records');
    assert.deepEqual(row?.endOffsets, [15, 5], 'the end offsets are still shown, as offsets');

    const table = await runCli(['topics', ...kafka]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, new RegExp(`^${topic}\\s+2\\s+13$`, 'm'));
  });
});

/**
 * Other producers: a pipeline bound to an existing topic written by kcat (librdkafka). With
 * `-X partitioner=murmur2_random` every record is where Slipway (murmur2) expects it and all are processed; with
 * kcat's default partitioner (CRC32) the records on another partition are dead-lettered (reason `wrong-partition`)
 * or processed with a warning, as the dataset declares, and counted in `slipway_wrong_partition_total`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, definePipeline, type Log, partitionFor, Runner, type WrongPartitionEvent } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { deleteRunTopics } from './helpers/kafka-run.js';
import { readAll } from './helpers/orders.js';

const RECORDS = 400;
const USERS = 100;
const PARTITIONS = 4;

describe('a pipeline on an existing topic produced by kcat', () => {
  const id = randomUUID().replaceAll('-', '').slice(0, 10);
  let brokers: string[] = [];
  const logs: Log[] = [];
  before(() => {
    brokers = kafkaBrokers();
  });
  after(async () => {
    for (const log of logs) await log.close();
    if (brokers.length > 0) await deleteRunTopics(brokers, id, []);
  });

  /** Writes RECORDS clicks of USERS users with kcat, keyed by user, with its default or murmur2 partitioner. */
  const kcat = (topic: string, partitioner?: string) => {
    const lines = Array.from(
      { length: RECORDS },
      (_, i) => `u${i % USERS}|${JSON.stringify({ user: `u${i % USERS}`, n: i })}`,
    );
    execFileSync(
      'kcat',
      [
        '-P',
        '-b',
        brokers.join(','),
        '-t',
        topic,
        '-K|',
        ...(partitioner === undefined ? [] : ['-X', `partitioner=${partitioner}`]),
      ],
      { input: `${lines.join('\n')}\n` },
    );
  };

  const run = async (policy: 'dead-letter' | 'warn' | undefined, partitioner: string | undefined) => {
    const topic = `web.clicks-${id}-${policy ?? 'default'}-${partitioner ?? 'crc32'}`;
    const clicks = defineDataset({
      name: 'clicks',
      version: '1.0.0',
      key: 'user',
      partitions: PARTITIONS,
      topic,
      ...(policy === undefined ? {} : { wrongPartition: policy }),
      schema: Type.Object({ user: Type.String(), n: Type.Integer() }),
    });
    const counts = defineDataset({
      name: `click-counts-${id}-${policy ?? 'default'}-${partitioner ?? 'crc32'}`,
      version: '1.0.0',
      key: 'user',
      partitions: PARTITIONS,
      schema: Type.Object({ user: Type.String(), count: Type.Integer() }),
    });
    const pipeline = definePipeline({
      name: `count-clicks-${id}-${policy ?? 'default'}-${partitioner ?? 'crc32'}`,
      version: '1.0.0',
      inputs: [clicks],
      outputs: [counts],
      process(click, ctx) {
        const count = ((ctx.state.get(click.user) as number | undefined) ?? 0) + 1;
        ctx.state.set(click.user, count);
        ctx.emit(counts, { user: click.user, count });
      },
    });
    const log = await openKafkaLog({ brokers, clientId: `slipway-test-${id}` });
    logs.push(log);
    // The other team's topic: created and written outside Slipway.
    await log.createTopic(topic, { partitions: PARTITIONS });
    kcat(topic, partitioner);
    const runner = new Runner({ pipeline, log, batchSize: 100 });
    const warned: WrongPartitionEvent[] = [];
    runner.on('wrong-partition', (e: WrongPartitionEvent) => warned.push(e));
    await runner.start();
    await runner.drain();
    await runner.stop();
    const inputs = await readAll(log, topic);
    const misplaced = inputs.filter((r) => partitionFor(r.key as string, PARTITIONS) !== r.partition).length;
    const metric = (await runner.metrics.wrongPartition.get()).values.reduce((sum, v) => sum + v.value, 0);
    return {
      inputs: inputs.length,
      misplaced,
      out: (await readAll(log, counts.topic)).length,
      dlq: (await readAll(log, `${topic}.dlq`)).map((r) => JSON.parse(r.value) as { reason: string }),
      metric,
      warned: warned.length,
    };
  };

  it('with partitioner=murmur2_random every record is processed; none is on a wrong partition', async () => {
    const r = await run(undefined, 'murmur2_random');
    assert.equal(r.inputs, RECORDS);
    assert.equal(r.misplaced, 0, 'librdkafka murmur2_random places keys as Slipway does');
    assert.equal(r.out, RECORDS);
    assert.equal(r.dlq.length, 0);
    assert.equal(r.metric, 0);
  });

  it("with kcat's default partitioner the misplaced records are dead-lettered (the default for an existing topic) and counted", async () => {
    const r = await run(undefined, undefined);
    assert.equal(r.inputs, RECORDS);
    assert.ok(r.misplaced > 0, 'CRC32 puts some keys on another partition than murmur2');
    assert.equal(r.metric, r.misplaced);
    assert.equal(r.dlq.length, r.misplaced);
    assert.ok(r.dlq.every((d) => d.reason === 'wrong-partition'));
    assert.equal(r.out, RECORDS - r.misplaced, 'only the records on their own partition are processed');
  });

  it("with wrongPartition: 'warn' they are processed, counted and reported", async () => {
    const r = await run('warn', undefined);
    assert.ok(r.misplaced > 0);
    assert.equal(r.out, RECORDS);
    assert.equal(r.dlq.length, 0);
    assert.equal(r.metric, r.misplaced);
    assert.equal(r.warned, r.misplaced);
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../../errors.js';
import { runLogContract } from '../contract.js';
import type { Log } from '../log.js';
import { Isolation, KafkaClient, OffsetSpec, offsetKey } from './kafka-client.js';
import { openKafkaLog } from './kafka-log.js';
import { TransactionalProducer } from './kafka-transactions.js';
import { kafkaBrokers } from './test-broker.js';

const brokers = kafkaBrokers();

runLogContract('kafka', { open: () => openKafkaLog({ brokers }) });

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('Kafka log', () => {
  const handles: Log[] = [];
  const clients: KafkaClient[] = [];
  const open = async (): Promise<Log> => {
    const log = await openKafkaLog({ brokers, clientId: 'slipway-test' });
    handles.push(log);
    return log;
  };
  after(async () => {
    for (const h of handles) await h.close();
    for (const c of clients) await c.close();
  });

  it('never shows a zombie fenced mid-transaction: no outputs, state or offsets of it', async () => {
    const a = await open();
    const b = await open();
    const reader = await open();
    const output = unique('out');
    const input = unique('in');
    const group = unique('g');
    const owner = unique('owner');
    const ns = unique('ns');
    await reader.createTopic(output, { partitions: 1 });
    await reader.createTopic(input, { partitions: 1 });
    await reader.append(input, [{ partition: 0, key: 'k', value: 'v' }]);
    const epochA = await a.fence(owner);
    await a.commit({
      owner,
      epoch: epochA,
      state: { namespace: ns, writes: [{ partition: 0, key: 'k', value: 'a0' }] },
    });

    // The zombie is A's session driven step by step through the engine's own transaction code,
    // so B can fence it while its transaction is open.
    const client = new KafkaClient({ brokers, clientId: 'zombie', requestTimeoutMs: 30_000, connectTimeoutMs: 5_000 });
    clients.push(client);
    const zombie = await TransactionalProducer.adopt(
      client,
      { owner, transactionalId: `slipway-${owner}`, transactionTimeoutMs: 10_000 },
      epochA,
    );
    let epochB = 0;
    const zombieRun = zombie.run(async (tx) => {
      const records = [
        { topic: output, partition: 0, key: null, value: Buffer.from('zombie'), headers: new Map(), timestamp: 1n },
        {
          topic: `__slipway-state.${ns}`,
          partition: 0,
          key: Buffer.from('k'),
          value: Buffer.from('zombie'),
          headers: new Map(),
          timestamp: 1n,
        },
      ];
      await tx.addPartitions(records);
      await tx.produce(records);
      await tx.commitOffsets(group, [{ topic: input, partition: 0, offset: 1 }]);
      epochB = await b.fence(owner);
    });
    await rejectsWithCode(zombieRun, 'SLIPWAY_FENCED');
    assert.ok(epochB > epochA, `epochs grow: ${epochA} then ${epochB}`);
    const written = await client.listOffsets(Isolation.READ_UNCOMMITTED, OffsetSpec.LATEST, [
      { topic: output, partition: 0 },
    ]);
    assert.ok((written.get(offsetKey(output, 0)) ?? 0n) > 0n, 'the zombie did write (aborted) records');
    assert.deepEqual(await reader.read(output, 0, 0, 10), []);
    assert.equal(await reader.endOffset(output, 0), 0, 'aborted records and markers are not data');
    assert.deepEqual(await reader.readState(ns, 0), [['k', 'a0']]);
    assert.deepEqual(await reader.committedOffsets(group), []);
    await rejectsWithCode(
      a.commit({
        owner,
        epoch: epochA,
        outputs: [{ topic: output, records: [{ partition: 0, key: null, value: 'a' }] }],
      }),
      'SLIPWAY_FENCED',
    );

    const result = await b.commit({
      owner,
      epoch: epochB,
      outputs: [{ topic: output, records: [{ partition: 0, key: null, value: 'b' }] }],
      state: { namespace: ns, writes: [{ partition: 0, key: 'k', value: 'b0' }] },
      offsets: { group, offsets: [{ topic: input, partition: 0, offset: 1 }] },
    });
    const read = await reader.read(output, 0, 0, 10);
    assert.deepEqual(
      read.map((r) => r.value),
      ['b'],
    );
    assert.deepEqual(
      read.map((r) => r.offset),
      result.offsets[output],
    );
    assert.deepEqual(await reader.readState(ns, 0), [['k', 'b0']]);
    assert.deepEqual(await reader.committedOffsets(group), [{ topic: input, partition: 0, offset: 1 }]);
  });

  it('rebuilds state from the changelog after several commits with deletes, on any handle', async () => {
    const writer = await open();
    const owner = unique('owner');
    const ns = unique('ns');
    const epoch = await writer.fence(owner);
    const commit = (writes: Array<{ partition: number; key: string; value: string | null }>) =>
      writer.commit({ owner, epoch, state: { namespace: ns, writes } });
    await commit([
      { partition: 0, key: 'b', value: '1' },
      { partition: 0, key: 'a', value: '1' },
      { partition: 0, key: 'c', value: '1' },
    ]);
    await commit([
      { partition: 0, key: 'a', value: '2' },
      { partition: 0, key: 'b', value: null },
      { partition: 2, key: 'x', value: 'p2' },
    ]);
    await commit([
      { partition: 0, key: 'b', value: '3' },
      { partition: 0, key: 'c', value: null },
      { partition: 0, key: 'c', value: '4' },
      { partition: 0, key: 'd', value: '5' },
      { partition: 0, key: 'd', value: null },
    ]);
    const fresh = await open();
    assert.deepEqual(await fresh.readState(ns, 0), [
      ['a', '2'],
      ['b', '3'],
      ['c', '4'],
    ]);
    assert.deepEqual(await fresh.readState(ns, 1), []);
    assert.deepEqual(await fresh.readState(ns, 2), [['x', 'p2']]);
    assert.deepEqual(await fresh.readState(ns, 3), []);
    assert.deepEqual(await fresh.readState(unique('never'), 0), []);
  });

  it('lets one other handle commit with an epoch fenced elsewhere, and fences the rest', async () => {
    const controller = await open();
    const runner = await open();
    const other = await open();
    const output = unique('out');
    const owner = unique('owner');
    await controller.createTopic(output, { partitions: 1 });
    const out = (value: string) => [{ topic: output, records: [{ partition: 0, key: null, value }] }];
    const epoch = await controller.fence(owner);
    await runner.commit({ owner, epoch, outputs: out('runner-1') });
    await runner.commit({ owner, epoch, outputs: out('runner-2') });
    await rejectsWithCode(other.commit({ owner, epoch, outputs: out('other') }), 'SLIPWAY_FENCED');
    await rejectsWithCode(controller.commit({ owner, epoch, outputs: out('controller') }), 'SLIPWAY_FENCED');
    await rejectsWithCode(runner.commit({ owner, epoch: epoch - 1, outputs: out('stale') }), 'SLIPWAY_FENCED');
    const next = await other.fence(owner);
    assert.ok(next > epoch);
    assert.equal(await runner.currentEpoch(owner), next);
    await rejectsWithCode(runner.commit({ owner, epoch, outputs: out('runner-3') }), 'SLIPWAY_FENCED');
    await other.commit({ owner, epoch: next, outputs: out('other-1') });
    assert.deepEqual(
      (await controller.read(output, 0, 0, 100)).map((r) => r.value),
      ['runner-1', 'runner-2', 'other-1'],
    );
  });

  it('skips commit markers: offsets have gaps, endOffset is just past the last record', async () => {
    const log = await open();
    const output = unique('out');
    const owner = unique('owner');
    await log.createTopic(output, { partitions: 1 });
    const epoch = await log.fence(owner);
    const out = (...values: string[]) => [
      { topic: output, records: values.map((value) => ({ partition: 0, key: null, value })) },
    ];
    assert.deepEqual((await log.commit({ owner, epoch, outputs: out('a', 'b') })).offsets[output], [0, 1]);
    assert.deepEqual((await log.commit({ owner, epoch, outputs: out('c') })).offsets[output], [3]);
    assert.deepEqual(await log.append(output, [{ partition: 0, key: null, value: 'd' }]), [5]);
    assert.equal(await log.endOffset(output, 0), 6);
    assert.deepEqual(
      (await log.read(output, 0, 0, 100)).map((r) => [r.offset, r.value]),
      [
        [0, 'a'],
        [1, 'b'],
        [3, 'c'],
        [5, 'd'],
      ],
    );
    assert.deepEqual(
      (await log.read(output, 0, 2, 1)).map((r) => r.offset),
      [3],
    );
    await log.commit({ owner, epoch, outputs: out('e') });
    assert.equal(await log.endOffset(output, 0), 7, 'the marker after the last record is not counted');
    assert.deepEqual(await log.read(output, 0, 7, 100), []);
  });

  it('waitForChange wakes when another handle commits, once the commit is readable', async () => {
    const reader = await open();
    const writer = await open();
    const output = unique('out');
    const owner = unique('owner');
    await writer.createTopic(output, { partitions: 2 });
    assert.deepEqual(await reader.read(output, 1, 0, 10), []);
    const epoch = await writer.fence(owner);
    const waiting = reader.waitForChange({ timeoutMs: 10_000 });
    await writer.commit({
      owner,
      epoch,
      outputs: [{ topic: output, records: [{ partition: 1, key: 'k', value: 'v' }] }],
    });
    assert.equal(await waiting, true);
    assert.deepEqual(
      (await reader.read(output, 1, 0, 10)).map((r) => r.value),
      ['v'],
    );
    assert.equal(await reader.waitForChange({ timeoutMs: 100 }), false, 'nothing new after reading to the end');
  });

  it('reads in small steps across transaction markers, from the fetch it kept, the same as in one read', async () => {
    const log = await open();
    const topic = unique('ahead');
    const owner = unique('owner');
    await log.createTopic(topic, { partitions: 1 });
    await log.append(
      topic,
      [0, 1, 2, 3].map((i) => ({ partition: 0, key: `k${i}`, value: `a${i}` })),
    );
    const epoch = await log.fence(owner);
    for (const batch of [
      [4, 5, 6],
      [7, 8],
    ]) {
      await log.commit({
        owner,
        epoch,
        outputs: [{ topic, records: batch.map((i) => ({ partition: 0, key: `k${i}`, value: `t${i}` })) }],
      });
    }
    await log.append(topic, [{ partition: 0, key: 'k9', value: 'a9' }]);
    const whole = await log.read(topic, 0, 0, 100);
    assert.equal(whole.length, 10);

    const stepped: typeof whole = [];
    for (let from = 0; ; ) {
      const records = await log.read(topic, 0, from, 3);
      if (records.length === 0) break;
      assert.ok(records.length <= 3);
      stepped.push(...records);
      from = (records.at(-1) as { offset: number }).offset + 1;
    }
    assert.deepEqual(stepped, whole);
    // Another position (not where a read stopped) is read afresh.
    assert.deepEqual(await log.read(topic, 0, whole[2]?.offset as number, 2), whole.slice(2, 4));
    // After reading to the end, new records are found.
    await log.append(topic, [{ partition: 0, key: 'k10', value: 'a10' }]);
    const more = await log.read(topic, 0, (whole.at(-1)?.offset as number) + 1, 3);
    assert.deepEqual(
      more.map((r) => r.value),
      ['a10'],
    );
  });

  it('commits more into one partition than one record batch may hold (message.max.bytes, 1 MiB)', async () => {
    const log = await open();
    const topic = unique('big');
    const group = unique('g');
    const owner = unique('owner');
    await log.createTopic(topic, { partitions: 1 });
    const epoch = await log.fence(owner);
    // 3,000 records of ~1 KB: 3 MB into partition 0 in one transaction (a runner's group of batches can be this).
    const records = Array.from({ length: 3000 }, (_, i) => ({
      partition: 0,
      key: `k${i}`,
      value: `${i}:${'x'.repeat(1000)}`,
    }));
    await log.commit({
      owner,
      epoch,
      outputs: [{ topic, records }],
      offsets: { group, offsets: [{ topic, partition: 0, offset: 7 }] },
    });
    assert.equal(await log.countRecords(topic, 0), 3000);
    const read: string[] = [];
    for (let from = 0; ; ) {
      const got = await log.read(topic, 0, from, 5000);
      if (got.length === 0) break;
      for (const r of got) read.push(r.value.slice(0, r.value.indexOf(':')));
      from = (got.at(-1)?.offset as number) + 1;
    }
    assert.deepEqual(
      read,
      records.map((_, i) => String(i)),
    );
    assert.deepEqual(await log.committedOffsets(group), [{ topic, partition: 0, offset: 7 }]);
  });

  it('refuses bad options, naming the field', async () => {
    await rejectsWithCode(openKafkaLog({ brokers: [] }), 'SLIPWAY_USAGE');
    await rejectsWithCode(openKafkaLog({ brokers: ['no-port'] }), 'SLIPWAY_USAGE');
    await rejectsWithCode(openKafkaLog({ brokers, requestTimeoutMs: -1 }), 'SLIPWAY_USAGE');
  });

  it('reports an unreachable cluster as SLIPWAY_KAFKA_UNAVAILABLE (retryable)', async () => {
    await assert.rejects(
      openKafkaLog({ brokers: ['127.0.0.1:1'], requestTimeoutMs: 300, connectTimeoutMs: 100 }),
      (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_KAFKA_UNAVAILABLE'), String(err));
        assert.equal(err.retryable, true);
        return true;
      },
    );
  });
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { openKafkaLog } from '../log/kafka/kafka-log.js';
import { kafkaBrokers } from '../log/kafka/test-broker.js';
import type { Log } from '../log/log.js';
import { partitionFor } from '../log/partitioner.js';
import { definePipeline } from '../pipeline/pipeline.js';
import { checkExactlyOnce } from './exactly-once-check.js';
import { Runner } from './runner.js';

// A warm standby on Kafka (issue 17, item 4): green keeps its state current from the changelog before the cutover
// and reads only the last delta at activation; a paused blue stays warm the same way for a rollback.

const brokers = kafkaBrokers();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function countingPipeline(id: string) {
  const input = defineDataset({
    name: `warm-in-${id}`,
    version: '1.0.0',
    key: 'user',
    partitions: 2,
    schema: Type.Object({ user: Type.String(), n: Type.Integer() }),
  });
  const output = defineDataset({
    name: `warm-out-${id}`,
    version: '1.0.0',
    key: 'user',
    partitions: 2,
    schema: Type.Object({ user: Type.String(), count: Type.Integer() }),
  });
  const pipeline = definePipeline({
    name: `warm-count-${id}`,
    version: '1.0.0',
    inputs: [input],
    outputs: [output],
    process(r: { user: string; n: number }, ctx) {
      const count = (ctx.state.get<number>(r.user) ?? 0) + 1;
      // Every tenth record of a user deletes its count: the warm copy must apply deletes too.
      if (count % 10 === 0) ctx.state.delete(r.user);
      else ctx.state.set(r.user, count);
      ctx.emit(output, { user: r.user, count });
    },
  });
  return { input, output, pipeline };
}

/** The state the pipeline holds after `total` records over `users` users, per partition. */
function expectedState(total: number, users: number, partitions: number): Array<Record<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const user = `u${i % users}`;
    const count = (counts.get(user) ?? 0) + 1;
    counts.set(user, count % 10 === 0 ? 0 : count);
  }
  const out = Array.from({ length: partitions }, () => ({}) as Record<string, number>);
  for (const [user, count] of counts) {
    if (count !== 0) (out[partitionFor(user, partitions)] as Record<string, number>)[user] = count;
  }
  return out;
}

async function produce(log: Log, topic: string, from: number, count: number, users: number): Promise<void> {
  const records = [];
  for (let i = from; i < from + count; i++) {
    const user = `u${i % users}`;
    records.push({ partition: partitionFor(user, 2), key: user, value: JSON.stringify({ user, n: i }) });
  }
  await log.append(topic, records);
}

async function caughtUp(runner: Runner): Promise<void> {
  for (;;) {
    if ((await runner.lag()).every((p) => p.lag === 0)) return;
    await sleep(50);
  }
}

async function warm(runner: Runner): Promise<void> {
  while ((await runner.stats()).warming === true) await sleep(20);
}

describe('a warm standby on Kafka', () => {
  const logs: Log[] = [];
  after(async () => {
    for (const l of logs) await l.close();
  });
  const open = async () => {
    const log = await openKafkaLog({ brokers, clientId: 'slipway-test-warm' });
    logs.push(log);
    return log;
  };

  it('readStateChanges: the last write per key from a position, deletes as null, -1 for the end', async () => {
    const log = await open();
    const ns = `warm-ns-${randomUUID().slice(0, 8)}`;
    const owner = `warm-owner-${randomUUID().slice(0, 8)}`;
    assert.deepEqual(await log.readStateChanges?.(ns, 0, 0), { changes: [], next: 0 });
    const epoch = await log.fence(owner);
    const first = await log.commit({
      owner,
      epoch,
      state: {
        namespace: ns,
        writes: [
          { partition: 0, key: 'a', value: '1' },
          { partition: 0, key: 'b', value: '2' },
        ],
      },
    });
    const at = first.stateNext?.[0] as number;
    assert.ok(at > 0, JSON.stringify(first));
    await log.commit({
      owner,
      epoch,
      state: {
        namespace: ns,
        writes: [
          { partition: 0, key: 'a', value: null },
          { partition: 0, key: 'c', value: '3' },
          { partition: 0, key: 'c', value: '4' },
        ],
      },
    });
    const all = await log.readStateChanges?.(ns, 0, 0);
    assert.deepEqual(all?.changes, [
      ['a', null],
      ['b', '2'],
      ['c', '4'],
    ]);
    const delta = await log.readStateChanges?.(ns, 0, at);
    assert.deepEqual(delta?.changes, [
      ['a', null],
      ['c', '4'],
    ]);
    assert.equal(delta?.next, all?.next);
    const end = await log.readStateChanges?.(ns, 0, -1);
    assert.deepEqual(end, { changes: [], next: all?.next });
    assert.deepEqual(await log.readStateChanges?.(ns, 0, all?.next as number), { changes: [], next: all?.next });
    await log.deleteStateNamespaces([ns]);
    await log.forgetOwners([owner]);
  });

  it('green takes over with exactly the state blue committed, and blue, paused, takes it back warm', async () => {
    const id = randomUUID().slice(0, 8);
    const { input, output, pipeline } = countingPipeline(id);
    const users = 37;
    const [producer, blueLog, greenLog, controller] = [await open(), await open(), await open(), await open()];
    await producer.createTopic(input.topic, { partitions: 2 });
    await produce(producer, input.topic, 0, 400, users);

    const blue = new Runner({ pipeline, log: blueLog, batchSize: 50 });
    await blue.start();
    await blue.activate();
    await caughtUp(blue);

    // Green starts in standby while blue runs: it reads the changelog now and follows it.
    const green = new Runner({ pipeline, log: greenLog, batchSize: 50 });
    await green.start();
    await warm(green);
    await produce(producer, input.topic, 400, 300, users);
    await caughtUp(blue);
    await sleep(300); // green's copy follows blue's commits meanwhile

    let offsets = await blue.pause();
    let epoch = await controller.fence(blue.owner);
    await green.activate({ offsets, epoch });
    const expectedAt700 = expectedState(700, users, 2);
    for (let p = 0; p < 2; p++) assert.deepEqual(green.stateSnapshot(p), expectedAt700[p], `partition ${p} at 700`);
    await produce(producer, input.topic, 700, 300, users);
    await caughtUp(green);

    // Rollback: blue, paused since the cutover, kept its state current from green's commits.
    offsets = await green.pause();
    epoch = await controller.fence(blue.owner);
    await blue.activate({ offsets, epoch });
    const expectedAt1000 = expectedState(1000, users, 2);
    for (let p = 0; p < 2; p++) assert.deepEqual(blue.stateSnapshot(p), expectedAt1000[p], `partition ${p} at 1000`);
    await produce(producer, input.topic, 1000, 200, users);
    await caughtUp(blue);
    await blue.pause();
    const expectedAt1200 = expectedState(1200, users, 2);
    for (let p = 0; p < 2; p++) {
      assert.deepEqual(blue.stateSnapshot(p), expectedAt1200[p], `partition ${p} at 1200`);
      assert.deepEqual(
        Object.fromEntries((await controller.readState(pipeline.name, p)).map(([k, v]) => [k, JSON.parse(v)])),
        expectedAt1200[p],
      );
    }
    const report = await checkExactlyOnce(controller, { input: input.topic, outputs: [output.topic] });
    assert.equal(report.lost, 0, JSON.stringify(report));
    assert.equal(report.duplicated, 0, JSON.stringify(report));
    await blue.stop();
    await green.stop();
    await controller.deleteTopics([input.topic, output.topic, `${input.topic}.dlq`]);
    await controller.deleteStateNamespaces([pipeline.name]);
    await controller.forgetOwners([blue.owner]);
  });
});

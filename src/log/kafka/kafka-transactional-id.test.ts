// Issue 10: the transactional id of a runner's owner read `slipway-slipway.<pipeline>`. It is `<prefix>-<owner>`,
// or the owner itself when the owner already starts with `<prefix>.`, and an upgrade from the doubled id still
// fences a zombie that holds a session of the old id.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { isSlipwayError } from '../../errors.js';
import type { Log } from '../log.js';
import { KafkaClient } from './kafka-client.js';
import { openKafkaLog } from './kafka-log.js';
import { describeSession, TransactionalProducer } from './kafka-transactions.js';
import { kafkaBrokers } from './test-broker.js';

const brokers = kafkaBrokers();

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

describe('Kafka transactional ids', () => {
  const handles: Log[] = [];
  const clients: KafkaClient[] = [];
  const topics: string[] = [];
  const owners: string[] = [];
  const open = async (): Promise<Log> => {
    const log = await openKafkaLog({ brokers, clientId: 'slipway-test-txn-id' });
    handles.push(log);
    return log;
  };
  const client = (): KafkaClient => {
    const c = new KafkaClient({
      brokers,
      clientId: 'slipway-test-txn-id',
      requestTimeoutMs: 30_000,
      connectTimeoutMs: 5_000,
    });
    clients.push(c);
    return c;
  };
  after(async () => {
    await handles[0]?.forgetOwners(owners);
    for (const h of handles) await h.close();
    for (const c of clients) await c.close();
    const admin = new Admin({ clientId: 'slipway-test-txn-id', bootstrapBrokers: brokers });
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.close();
  });

  it('names the session of owner slipway.<pipeline> `slipway.<pipeline>`, not `slipway-slipway.<pipeline>`', async () => {
    const log = await open();
    const kafka = client();
    const output = unique('txn-id-out');
    topics.push(output);
    await log.createTopic(output, { partitions: 1 });
    const runnerOwner = `slipway.${unique('txn-id-pipeline')}`;
    const plainOwner = unique('txn-id-owner');
    owners.push(runnerOwner, plainOwner);
    for (const owner of [runnerOwner, plainOwner]) {
      const epoch = await log.fence(owner);
      await log.commit({
        owner,
        epoch,
        outputs: [{ topic: output, records: [{ partition: 0, key: null, value: owner }] }],
      });
    }
    assert.ok(await describeSession(kafka, runnerOwner), `a session named ${runnerOwner}`);
    assert.equal(await describeSession(kafka, `slipway-${runnerOwner}`), undefined, 'no doubled slipway-slipway.… id');
    assert.ok(
      await describeSession(kafka, `slipway-${plainOwner}`),
      `an owner without the prefix gets slipway-${plainOwner}`,
    );
  });

  it('fences a zombie of an older Slipway that holds the doubled transactional id', async () => {
    const log = await open();
    const reader = await open();
    const kafka = client();
    const output = unique('txn-id-zombie');
    topics.push(output);
    await log.createTopic(output, { partitions: 1 });
    const owner = `slipway.${unique('txn-id-upgrade')}`;
    owners.push(owner);
    // The older Slipway: its session of `slipway-<owner>`, and the owners record it wrote (no transactional id in it).
    const zombie = await TransactionalProducer.fence(kafka, {
      owner,
      transactionalId: `slipway-${owner}`,
      transactionTimeoutMs: 10_000,
    });
    await zombie.run(async (tx) => {
      const record = {
        topic: '__slipway-owners',
        partition: 0,
        key: Buffer.from(owner),
        value: Buffer.from(JSON.stringify({ epoch: zombie.epoch, fencedAt: new Date().toISOString() })),
        headers: new Map(),
        timestamp: BigInt(Date.now()),
      };
      await tx.addPartitions([record]);
      await tx.produce([record]);
    });
    assert.equal(await log.currentEpoch(owner), zombie.epoch);

    const epoch = await log.fence(owner);
    assert.ok(epoch > zombie.epoch, `epochs grow across the upgrade: ${zombie.epoch} then ${epoch}`);
    const write = (value: string) => [
      { topic: output, partition: 0, key: null, value: Buffer.from(value), headers: new Map(), timestamp: 1n },
    ];
    await assert.rejects(
      zombie.run(async (tx) => {
        await tx.addPartitions(write('zombie'));
        await tx.produce(write('zombie'));
      }),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_FENCED'),
    );
    await log.commit({
      owner,
      epoch,
      outputs: [{ topic: output, records: [{ partition: 0, key: null, value: 'new' }] }],
    });
    assert.deepEqual(
      (await reader.read(output, 0, 0, 10)).map((r) => r.value),
      ['new'],
    );
  });
});

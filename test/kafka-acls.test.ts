/**
 * A pipeline runs as a SCRAM user with exactly the ACLs `kafkaAcls` (what `slipway kafka acls` prints) lists, over
 * the broker's SASL_SSL listener with the StandardAuthorizer: every input processed once, across a restart. Then,
 * with one ACL removed, the runner fails with `SLIPWAY_KAFKA_NOT_AUTHORIZED` naming the resource type and what was
 * refused — it does not hang. Never skips (see `securedKafka`).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { isSlipwayError, type Log, partitionFor, Runner, SOURCE_HEADER } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { type KafkaAcl, kafkaAcls } from '../src/log/kafka/kafka-acls.js';
import { kafkaBrokers, securedKafka } from '../src/log/kafka/test-broker.js';
import { isolatedOrders } from './helpers/kafka-orders.js';
import { deleteRunTopics, internalPrefix, runId, transactionalIdPrefix } from './helpers/kafka-run.js';
import { createAcls, createScramUser, deleteAcls } from './helpers/kafka-users.js';
import { makeOrder, readAll } from './helpers/orders.js';

const CUSTOMERS = 50;

describe('a pipeline as a user with exactly the ACLs slipway lists', () => {
  const id = runId();
  const { orders, enriched, pipeline } = isolatedOrders(id);
  const user = `app-${id}`;
  const password = randomBytes(12).toString('hex');
  let plain: string[] = [];
  const logs: Log[] = [];
  let acls: KafkaAcl[] = [];

  before(() => {
    plain = kafkaBrokers();
  });
  after(async () => {
    for (const log of logs) await log.close();
    if (plain.length > 0) {
      await deleteAcls(plain, acls).catch(() => {});
      await deleteRunTopics(plain, id, [`slipway.${pipeline.name}`]);
    }
  });

  const isolation = { transactionalIdPrefix: transactionalIdPrefix(id), internalTopicPrefix: internalPrefix(id) };
  const openAsAdmin = async () => {
    const log = await openKafkaLog({ brokers: plain, clientId: `slipway-test-${id}`, ...isolation });
    logs.push(log);
    return log;
  };
  const openAsUser = async () => {
    const secured = securedKafka();
    const log = await openKafkaLog({
      brokers: secured.brokers,
      clientId: `slipway-test-${id}`,
      ...isolation,
      sasl: { mechanism: 'SCRAM-SHA-512', username: user, password },
      tls: secured.tls,
    });
    logs.push(log);
    return log;
  };
  const produce = async (log: Log, from: number, to: number) => {
    const records = [];
    for (let i = from; i < to; i++) {
      const value = makeOrder(i, CUSTOMERS);
      records.push({
        partition: partitionFor(value.customerId, orders.partitions),
        key: value.customerId,
        value: JSON.stringify(value),
      });
    }
    await log.append(orders.topic, records);
  };
  const drainAsUser = async () => {
    const log = await openAsUser();
    const runner = new Runner({ pipeline, log, batchSize: 100 });
    try {
      await runner.start();
      await runner.drain();
    } finally {
      await runner.stop().catch(() => {});
    }
  };

  it('processes every input exactly once, across a restart; with one ACL removed it fails with a clear code', {
    timeout: 5 * 60_000,
  }, async () => {
    await createScramUser(plain, user, password);
    acls = kafkaAcls({
      principal: user,
      pipelines: [{ name: pipeline.name, inputs: [orders.topic], outputs: [enriched.topic] }],
      ...isolation,
    });
    await createAcls(plain, acls);

    // The input topic is the upstream's: made and written by the admin (the user has no CREATE on it).
    const admin = await openAsAdmin();
    await admin.createTopic(orders.topic, { partitions: orders.partitions });
    await produce(admin, 0, 500);
    await drainAsUser();
    await produce(admin, 500, 1000);
    await drainAsUser();

    const inputs = await readAll(admin, orders.topic);
    const out = await readAll(admin, enriched.topic);
    const sources = new Set(out.map((r) => r.headers[SOURCE_HEADER] as string));
    assert.equal(inputs.length, 1000);
    assert.equal(out.length, 1000, 'one output per input');
    assert.equal(sources.size, 1000, 'no input processed twice');
    for (const r of inputs) assert.ok(sources.has(`${r.topic}/${r.partition}/${r.offset}`));

    // Without WRITE on the output topic the next commit is refused: a coded error naming a topic, no hang.
    const output = acls.find((a) => a.resourceType === 'TOPIC' && a.name === enriched.topic);
    assert.ok(output !== undefined, 'the list has the output topic');
    await deleteAcls(plain, [{ ...output, operations: ['WRITE'] }]);
    await produce(admin, 1000, 1100);
    await assert.rejects(drainAsUser(), (err: unknown) => {
      assert.ok(
        isSlipwayError(err, 'SLIPWAY_KAFKA_NOT_AUTHORIZED'),
        `expected SLIPWAY_KAFKA_NOT_AUTHORIZED, got ${String(err)}`,
      );
      assert.equal(err.details?.resourceType, 'topic', err.message);
      assert.deepEqual(err.details?.resources, [enriched.topic], err.message);
      return true;
    });
    // Nothing of the refused batch is visible.
    assert.equal((await readAll(admin, enriched.topic)).length, 1000);
  });
});

/**
 * Avro and JSON Schema values in the Confluent wire format, against a real schema registry (Apicurio Registry's
 * Confluent-compatible API, scripts/schema-registry.mjs) and a real Kafka broker: values encoded by Slipway go
 * through Kafka and decode back; an incompatible schema change is refused by the registry's check; a value whose
 * schema id the registry does not know fails with a stable code and reason.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { Type } from '@sinclair/typebox';
import avsc from 'avsc';
import { avro, decodeWire, encodeWire, isSlipwayError, jsonSchema, RegistryCodec, SchemaRegistryClient } from 'slipway';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { deleteRunTopics, runId } from './helpers/kafka-run.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const ORDER_V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'slipway.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};

describe('schema-registry value formats (real registry, real Kafka)', () => {
  const id = runId();
  let brokers: string[] = [];
  let registry: SchemaRegistryClient;
  before(() => {
    brokers = kafkaBrokers();
    registry = new SchemaRegistryClient({ url: schemaRegistryUrl() });
  });
  after(async () => {
    if (brokers.length > 0) await deleteRunTopics(brokers, id, [`g-${id}`]);
  });

  /** Writes `values` to a new topic as raw bytes and reads them back, in order. */
  async function throughKafka(topic: string, values: Buffer[]): Promise<Buffer[]> {
    const admin = new Admin({ clientId: `t-${id}`, bootstrapBrokers: brokers });
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 });
    await admin.close();
    const producer = new Producer({ clientId: `t-${id}`, bootstrapBrokers: brokers });
    await producer.send({ messages: values.map((value, i) => ({ topic, key: Buffer.from(`k${i}`), value })) });
    await producer.close();
    const consumer = new Consumer({ groupId: `g-${id}`, clientId: `t-${id}`, bootstrapBrokers: brokers });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const out: Buffer[] = [];
    for await (const message of stream) {
      out.push(message.value as Buffer);
      if (out.length === values.length) break;
    }
    await stream.close();
    await consumer.close();
    return out;
  }

  it('round-trips Avro values through Kafka with the id the registry gave the <topic>-value subject', async () => {
    const topic = `orders-avro-${id}`;
    const codec = new RegistryCodec(registry, avro(ORDER_V1), topic);
    const orders = [
      { id: 'o1', amount: 12 },
      { id: 'o2', amount: 7 },
    ];
    const encoded = await Promise.all(orders.map((o) => codec.encode(o)));
    const registered = (await (await fetch(`${registry.url}/subjects/${topic}-value/versions/latest`)).json()) as {
      id: number;
    };
    for (const bytes of encoded) assert.equal(decodeWire(bytes).schemaId, registered.id);
    const read = await throughKafka(topic, encoded);
    // A fresh codec (a runner elsewhere) reads by schema id from the registry.
    const reader = new RegistryCodec(new SchemaRegistryClient({ url: registry.url }), avro(ORDER_V1), topic);
    assert.deepEqual(await Promise.all(read.map((b) => reader.decode(b))), orders);
  });

  it('round-trips Avro bytes, fixed and decimal as base64 and decimal strings; a plain Avro consumer reads the bytes', async () => {
    const topic = `payments-avro-${id}`;
    const PAYMENT = {
      type: 'record',
      name: 'Payment',
      namespace: 'slipway.test',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'signature', type: 'bytes' },
        { name: 'token', type: { type: 'fixed', name: 'Token', size: 4 } },
        { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 } },
      ],
    };
    const codec = new RegistryCodec(registry, avro(PAYMENT), topic);
    const payments = [
      { id: 'p1', signature: Buffer.from('signed by me').toString('base64'), token: 'AQIDBA==', amount: '-12.34' },
      { id: 'p2', signature: '', token: '/////w==', amount: '12345678901.99' },
    ];
    const read = await throughKafka(topic, await Promise.all(payments.map((p) => codec.encode(p))));
    const reader = new RegistryCodec(new SchemaRegistryClient({ url: registry.url }), avro(PAYMENT), topic);
    assert.deepEqual(await Promise.all(read.map((b) => reader.decode(b))), payments);
    // What any Avro consumer outside Slipway reads: the bytes themselves, the decimal's unscaled two's complement.
    const plain = avsc.Type.forSchema(PAYMENT as avsc.Schema);
    const first = plain.fromBuffer(decodeWire(read[0] as Buffer).payload) as Record<string, Buffer>;
    assert.equal(first.signature?.toString(), 'signed by me');
    assert.deepEqual([...(first.token as Buffer)], [1, 2, 3, 4]);
    assert.equal(Buffer.from(first.amount as Buffer).readInt16BE(), -1234);
    await assert.rejects(codec.encode({ ...payments[0], amount: '1.234' }), (err: unknown) =>
      isSlipwayError(err, 'SLIPWAY_VALIDATION'),
    );
  });

  it('round-trips JSON Schema values through Kafka and refuses a value its schema rejects', async () => {
    const topic = `clicks-json-${id}`;
    const schema = Type.Object({ user: Type.String(), n: Type.Integer() });
    const codec = new RegistryCodec(registry, jsonSchema(schema), topic);
    const clicks = [{ user: 'u1', n: 1 }];
    const read = await throughKafka(topic, await Promise.all(clicks.map((c) => codec.encode(c))));
    assert.deepEqual(await Promise.all(read.map((b) => codec.decode(b))), clicks);
    await assert.rejects(codec.encode({ user: 'u1', n: 'x' }), (e) => isSlipwayError(e, 'SLIPWAY_VALIDATION'));
  });

  it('refuses an incompatible schema change (SLIPWAY_SCHEMA_INCOMPATIBLE) and reads old records with a compatible one', async () => {
    const subject = `orders-evolve-${id}-value`;
    const v1 = avro(ORDER_V1);
    const writer = new RegistryCodec(registry, v1, `orders-evolve-${id}`);
    const old = await writer.encode({ id: 'o1', amount: 5 });
    const changedType = avro({
      ...ORDER_V1,
      fields: [
        { name: 'id', type: 'string' },
        { name: 'amount', type: 'string' },
      ],
    });
    await assert.rejects(registry.assertCompatible(subject, changedType.schemaText, 'AVRO'), (e) => {
      assert.ok(isSlipwayError(e, 'SLIPWAY_SCHEMA_INCOMPATIBLE'));
      assert.match(e.message, new RegExp(subject));
      return true;
    });
    const added = avro({
      ...ORDER_V1,
      fields: [...ORDER_V1.fields, { name: 'currency', type: 'string', default: 'EUR' }],
    });
    await registry.assertCompatible(subject, added.schemaText, 'AVRO');
    const reader = new RegistryCodec(registry, added, `orders-evolve-${id}`);
    assert.deepEqual(await reader.decode(old), { id: 'o1', amount: 5, currency: 'EUR' });
  });

  it('fails a value with an unknown schema id with SLIPWAY_SCHEMA_UNKNOWN_ID (reason unknown-schema-id)', async () => {
    const codec = new RegistryCodec(registry, avro(ORDER_V1), `orders-unknown-${id}`);
    const bytes = encodeWire(0x7ffffff0, Buffer.from([2, 0x61, 2]));
    await assert.rejects(codec.decode(bytes), (e) => {
      assert.ok(isSlipwayError(e, 'SLIPWAY_SCHEMA_UNKNOWN_ID'));
      assert.equal(e.details.reason, 'unknown-schema-id');
      return true;
    });
    await assert.rejects(codec.decode(Buffer.from('{"id":"o1"}')), (e) => isSlipwayError(e, 'SLIPWAY_WIRE_FORMAT'));
  });
});

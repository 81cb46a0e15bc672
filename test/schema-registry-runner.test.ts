/**
 * Registry formats flowing through a running pipeline on Kafka, checked from outside Slipway: a plain
 * @platformatic/kafka producer writes Avro (avsc + the Confluent wire header, with ids it registered itself, two
 * writer schema versions) to the input topic; a Runner over the Kafka log maps it and writes Avro; a plain
 * read_committed consumer decodes every output by its wire id from the registry. Records the registry does not know
 * and garbage are dead-lettered with their reasons and original bytes; JSON Schema the same way; a pipeline with a
 * formatted dataset and no registry is refused at start; a registry that goes away is waited for, losing nothing.
 */
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Consumer, FetchIsolationLevels, Producer } from '@platformatic/kafka';
import { Type } from '@sinclair/typebox';
import avsc from 'avsc';
import {
  avro,
  decodeWire,
  defineDataset,
  definePipeline,
  encodeWire,
  isSlipwayError,
  jsonSchema,
  type Log,
  partitionFor,
  type RegistryUnavailableEvent,
  Runner,
  SchemaRegistryClient,
} from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { namespaceLog } from '../src/log/namespaced-log.js';
import { deleteRunTopics, kafkaLogOptions, runId } from './helpers/kafka-run.js';
import { readAll } from './helpers/orders.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const PARTITIONS = 3;
const ORDER_V1 = {
  type: 'record',
  name: 'Order',
  namespace: 'slipway.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};
/** The evolved writer (and the pipeline's reader): a field added with a default. */
const ORDER_V2 = { ...ORDER_V1, fields: [...ORDER_V1.fields, { name: 'channel', type: 'string', default: 'web' }] };
const SCORE = {
  type: 'record',
  name: 'Score',
  namespace: 'slipway.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'doubled', type: 'long' },
    { name: 'channel', type: 'string' },
  ],
};

describe('registry formats through a running pipeline (real registry, real Kafka)', () => {
  const id = runId();
  let brokers: string[] = [];
  let url = '';
  let registry: SchemaRegistryClient;
  const logs: Log[] = [];
  before(() => {
    brokers = kafkaBrokers();
    url = schemaRegistryUrl();
    registry = new SchemaRegistryClient({ url });
  });
  after(async () => {
    for (const log of logs) await log.close();
    if (brokers.length > 0) await deleteRunTopics(brokers, id, []);
  });

  const openLog = async (): Promise<Log> => {
    const log = await openKafkaLog(kafkaLogOptions(brokers, id));
    logs.push(log);
    return log;
  };

  /**
   * Produces raw values with a plain producer, each on the partition Slipway's partitioner gives its key. Idempotent:
   * a send retried under load must not write a record twice (the input's duplicate, not Slipway's).
   */
  const produce = async (topic: string, values: Array<{ key: string; value: Buffer }>): Promise<void> => {
    const producer = new Producer({ clientId: `ext-${id}`, bootstrapBrokers: brokers, idempotent: true });
    try {
      await producer.send({
        messages: values.map((v) => ({
          topic,
          key: Buffer.from(v.key),
          value: v.value,
          partition: partitionFor(v.key, PARTITIONS),
        })),
      });
    } finally {
      await producer.close();
    }
  };

  /**
   * Every record of `topic` as a plain read_committed consumer outside Slipway sees it (raw value bytes), by
   * partition and offset: a consumer may be handed a record twice (a rebalance before it commits), the log holds it
   * once; a record Slipway wrote twice would be there at two offsets.
   */
  const consumeCommitted = async (topic: string, count: number): Promise<Buffer[]> => {
    const consumer = new Consumer({
      groupId: `ext-${id}-${topic}`,
      clientId: `ext-${id}`,
      bootstrapBrokers: brokers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    const out = new Map<string, Buffer>();
    const timer = setTimeout(() => void stream.close(), 60_000);
    try {
      for await (const message of stream) {
        out.set(`${message.partition}/${message.offset}`, message.value as Buffer);
        if (out.size === count) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close();
      await consumer.close();
    }
    return [...out.values()];
  };

  /** Decodes a wire-format Avro value by its id, with the registry's writer schema, as any Confluent client would. */
  const decodeOutside = async (bytes: Buffer): Promise<unknown> => {
    const { schemaId, payload } = decodeWire(bytes);
    const writer = await registry.schemaById(schemaId);
    assert.equal(writer.schemaType, 'AVRO');
    return { ...(avsc.Type.forSchema(JSON.parse(writer.schema)).fromBuffer(payload) as object) };
  };

  const datasets = (tag: string) => {
    const orders = defineDataset({
      name: `orders-${tag}-${id}`,
      version: '1.0.0',
      key: 'id',
      partitions: PARTITIONS,
      schema: Type.Object({ id: Type.String(), amount: Type.Integer(), channel: Type.String() }),
      format: avro(ORDER_V2),
    });
    const scores = defineDataset({
      name: `scores-${tag}-${id}`,
      version: '1.0.0',
      key: 'id',
      partitions: PARTITIONS,
      schema: Type.Object({ id: Type.String(), doubled: Type.Integer(), channel: Type.String() }),
      format: avro(SCORE),
    });
    const pipeline = definePipeline({
      name: `score-${tag}-${id}`,
      version: '1.0.0',
      inputs: [orders],
      outputs: [scores],
      process(order, ctx) {
        ctx.emit(scores, { id: order.id, doubled: order.amount * 2, channel: order.channel });
      },
    });
    return { orders, scores, pipeline };
  };

  /** What an external producer writes: n orders, the first half with writer v1, the rest with v2. */
  const externalOrders = async (topic: string, n: number) => {
    const v1 = await registry.register(`${topic}-value`, JSON.stringify(ORDER_V1), 'AVRO');
    const v2 = await registry.register(`${topic}-value`, JSON.stringify(ORDER_V2), 'AVRO');
    assert.notEqual(v1, v2);
    const t1 = avsc.Type.forSchema(ORDER_V1 as avsc.Schema);
    const t2 = avsc.Type.forSchema(ORDER_V2 as avsc.Schema);
    return Array.from({ length: n }, (_, i) => {
      const key = `o${i}`;
      const value =
        i < n / 2
          ? encodeWire(v1, t1.toBuffer({ id: key, amount: i }))
          : encodeWire(v2, t2.toBuffer({ id: key, amount: i, channel: 'shop' }));
      return { key, value };
    });
  };

  it('maps Avro from an outside producer to Avro a plain read_committed consumer decodes: each input once, v1 and v2 writers', async () => {
    const { orders, scores, pipeline } = datasets('happy');
    const log = await openLog();
    await log.createTopic(orders.topic, { partitions: PARTITIONS });
    const n = 60;
    await produce(orders.topic, await externalOrders(orders.topic, n));
    const runner = new Runner({ pipeline, log, schemaRegistry: { url }, batchSize: 25 });
    await runner.start();
    await runner.drain();
    await runner.stop();

    const outputs = await Promise.all((await consumeCommitted(scores.topic, n)).map(decodeOutside));
    assert.equal(outputs.length, n);
    const byId = new Map(outputs.map((o) => [(o as { id: string }).id, o]));
    assert.equal(byId.size, n, 'every input exactly once');
    let total = 0;
    for (let p = 0; p < PARTITIONS; p++) total += await log.countRecords(scores.topic, p);
    assert.equal(total, n, 'no output twice (committed records of the output topic)');
    for (let i = 0; i < n; i++) {
      // v1 records lack `channel`: read into the reader's schema with its default.
      assert.deepEqual(byId.get(`o${i}`), { id: `o${i}`, doubled: i * 2, channel: i < n / 2 ? 'web' : 'shop' });
    }
    // The outputs carry the id the output subject registered, and the bytes are Avro (not JSON text).
    const latest = await registry.latest(`${scores.topic}-value`);
    const raw = await consumeCommitted(scores.topic, n);
    const scoreType = avsc.Type.forSchema(SCORE as avsc.Schema);
    for (const bytes of raw) {
      assert.equal(decodeWire(bytes).schemaId, latest?.id);
      // Byte for byte what a Confluent serializer writes: header + Avro binary, never a UTF-8 round trip.
      assert.deepEqual(bytes, encodeWire(latest?.id as number, scoreType.toBuffer(await decodeOutside(bytes))));
    }
    assert.equal((await readAll(log, `${orders.topic}.dlq`)).length, 0);
  });

  it("runs the same on an environment's namespace (topicPrefix): the codecs follow the prefixed topics", async () => {
    const { orders, scores, pipeline } = datasets('ns');
    const base = await openLog();
    const prefix = `ns${id}.`;
    const log = namespaceLog(base, prefix);
    await log.createTopic(orders.topic, { partitions: PARTITIONS });
    const n = 10;
    await produce(`${prefix}${orders.topic}`, await externalOrders(orders.topic, n));
    const runner = new Runner({ pipeline, log, schemaRegistry: { url }, batchSize: 4 });
    await runner.start();
    await runner.drain();
    await runner.stop();
    const outputs = await Promise.all((await consumeCommitted(`${prefix}${scores.topic}`, n)).map(decodeOutside));
    assert.deepEqual(
      outputs.map((o) => (o as { id: string }).id).sort(),
      Array.from({ length: n }, (_, i) => `o${i}`).sort(),
    );
  });

  it('dead-letters an unknown schema id (unknown-schema-id) and garbage (undecodable) with their original bytes', async () => {
    const { orders, scores, pipeline } = datasets('dlq');
    const log = await openLog();
    await log.createTopic(orders.topic, { partitions: PARTITIONS });
    const good = await externalOrders(orders.topic, 4);
    const unknown = encodeWire(0x7ffffff0, Buffer.from([2, 0x61, 2]));
    const garbage = Buffer.from([0x00, 0x00, 0x00]); // shorter than the wire header
    const notWire = Buffer.from('{"id":"o-json","amount":1}');
    const truncated = Buffer.from(good[0]?.value.subarray(0, 7) as Buffer); // the header of a real id, a cut payload
    await produce(orders.topic, [
      ...good,
      { key: 'bad-unknown', value: unknown },
      { key: 'bad-garbage', value: garbage },
      { key: 'bad-json', value: notWire },
      { key: 'bad-truncated', value: truncated },
    ]);
    let inputs = 0;
    for (let p = 0; p < PARTITIONS; p++) inputs += await log.countRecords(orders.topic, p);
    assert.equal(inputs, 8, 'each input written once');
    const runner = new Runner({ pipeline, log, schemaRegistry: { url } });
    await runner.start();
    await runner.drain();
    await runner.stop();

    assert.equal((await consumeCommitted(scores.topic, 4)).length, 4);
    const letters = (await readAll(log, `${orders.topic}.dlq`)).map(
      (r) =>
        JSON.parse(r.value) as { reason: string; key: string; value: null; valueBase64: string; schemaId?: number },
    );
    const byKey = new Map(letters.map((l) => [l.key, l]));
    assert.equal(letters.length, 4);
    assert.equal(byKey.get('bad-unknown')?.reason, 'unknown-schema-id');
    assert.equal(byKey.get('bad-unknown')?.schemaId, 0x7ffffff0);
    for (const k of ['bad-garbage', 'bad-json', 'bad-truncated']) assert.equal(byKey.get(k)?.reason, 'undecodable', k);
    const original = {
      'bad-unknown': unknown,
      'bad-garbage': garbage,
      'bad-json': notWire,
      'bad-truncated': truncated,
    };
    for (const [k, bytes] of Object.entries(original)) {
      assert.deepEqual(Buffer.from(byKey.get(k)?.valueBase64 ?? '', 'base64'), bytes, `${k}: the bytes, as written`);
      assert.equal(byKey.get(k)?.value, null);
    }
    const counted = (await runner.metrics.dlq.get()).values;
    assert.equal(counted.find((v) => v.labels.reason === 'unknown-schema-id')?.value, 1);
    assert.equal(counted.find((v) => v.labels.reason === 'undecodable')?.value, 3);
  });

  it('JSON Schema format: the wire format with a registered JSON schema in and out', async () => {
    const clickSchema = Type.Object({ user: Type.String(), n: Type.Integer() });
    const countSchema = Type.Object({ user: Type.String(), n: Type.Integer(), even: Type.Boolean() });
    const clicks = defineDataset({
      name: `clicks-${id}`,
      version: '1.0.0',
      key: 'user',
      partitions: PARTITIONS,
      schema: clickSchema,
      format: jsonSchema(clickSchema),
    });
    const marked = defineDataset({
      name: `marked-${id}`,
      version: '1.0.0',
      key: 'user',
      partitions: PARTITIONS,
      schema: countSchema,
      format: jsonSchema(countSchema),
    });
    const pipeline = definePipeline({
      name: `mark-${id}`,
      version: '1.0.0',
      inputs: [clicks],
      outputs: [marked],
      process(c, ctx) {
        ctx.emit(marked, { ...c, even: c.n % 2 === 0 });
      },
    });
    const log = await openLog();
    await log.createTopic(clicks.topic, { partitions: PARTITIONS });
    const inId = await registry.register(`${clicks.topic}-value`, clicks.format?.schemaText as string, 'JSON');
    const n = 20;
    await produce(
      clicks.topic,
      Array.from({ length: n }, (_, i) => ({
        key: `u${i}`,
        value: encodeWire(inId, Buffer.from(JSON.stringify({ user: `u${i}`, n: i }))),
      })),
    );
    const runner = new Runner({ pipeline, log, schemaRegistry: { url } });
    await runner.start();
    await runner.drain();
    await runner.stop();
    const outId = (await registry.latest(`${marked.topic}-value`))?.id;
    assert.equal((await registry.schemaById(outId as number)).schemaType, 'JSON');
    const outputs = (await consumeCommitted(marked.topic, n)).map((b) => {
      const { schemaId, payload } = decodeWire(b);
      assert.equal(schemaId, outId);
      return JSON.parse(payload.toString('utf8')) as { user: string; n: number; even: boolean };
    });
    assert.deepEqual(
      outputs.sort((a, b) => a.n - b.n),
      Array.from({ length: n }, (_, i) => ({ user: `u${i}`, n: i, even: i % 2 === 0 })),
    );
  });

  it('refuses to start a formatted pipeline on Kafka without a registry (SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE)', async () => {
    const { pipeline } = datasets('noreg');
    const log = await openLog();
    const before = process.env.SCHEMA_REGISTRY_URL;
    const runner = new Runner({ pipeline, log });
    await assert.rejects(runner.start(), (e) => {
      assert.ok(isSlipwayError(e, 'SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE'));
      assert.match(e.message, /schemaRegistry|SCHEMA_REGISTRY_URL/);
      return true;
    });
    assert.equal(runner.state, 'failed');
    assert.equal(process.env.SCHEMA_REGISTRY_URL, before);
  });

  it('waits for a registry that cannot be reached (no dead letter, nothing lost), and goes on when it answers', async () => {
    const { orders, scores, pipeline } = datasets('outage');
    const log = await openLog();
    await log.createTopic(orders.topic, { partitions: PARTITIONS });
    // The runner reaches the registry through a proxy the test can cut: a real HTTP hop, not a fake registry.
    const proxy = await registryProxy(url);
    try {
      const runner = new Runner({ pipeline, log, schemaRegistry: { url: proxy.url } });
      const waits: RegistryUnavailableEvent[] = [];
      runner.on('registry-unavailable', (e: RegistryUnavailableEvent) => waits.push(e));
      await runner.start();
      await runner.activate();
      proxy.cut(true);
      const n = 10;
      await produce(orders.topic, await externalOrders(orders.topic, n));
      // A runner that stops instead of waiting (it failed on the outage) ends the wait: the test fails, not hangs.
      while (waits.length < 2 && runner.state === 'running') await new Promise((r) => setTimeout(r, 50));
      assert.equal(runner.state, 'running', `the runner should wait for the registry: ${String(runner.error)}`);
      assert.equal(waits[0]?.code, 'SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE');
      assert.match(waits[0]?.doing ?? '', /^reading /);
      assert.equal((await runner.stats()).registryUnavailable?.code, 'SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE');
      proxy.cut(false);
      await runner.drain();
      assert.equal((await runner.stats()).registryUnavailable, undefined, 'no longer waiting');
      await runner.stop();
      const outputs = await Promise.all((await consumeCommitted(scores.topic, n)).map(decodeOutside));
      assert.equal(new Set(outputs.map((o) => (o as { id: string }).id)).size, n);
      assert.equal((await readAll(log, `${orders.topic}.dlq`)).length, 0, 'an outage is not a dead letter');
    } finally {
      await proxy.close();
    }
  });
});

/** An HTTP proxy to the registry that answers 503 (as a registry behind a load balancer that lost it) when cut. */
async function registryProxy(target: string): Promise<{ url: string; cut(on: boolean): void; close(): Promise<void> }> {
  const upstream = new URL(target);
  let cut = false;
  const server: Server = createServer((req, res) => {
    if (cut) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('registry unavailable');
      return;
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: `${upstream.pathname.replace(/\/$/, '')}${req.url ?? ''}`,
        headers: req.headers,
      },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.writeHead(502).end());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    cut: (on) => {
      cut = on;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * A schema registry that requires HTTP basic authentication (Confluent Cloud's API key and secret; a registry behind
 * an authenticating reverse proxy): the real registry (Apicurio, scripts/schema-registry.mjs) behind a proxy that
 * lets through only requests carrying the expected credentials. The environment's `schemaRegistry` gives the user
 * and a password by secret reference; the client sends them on every call, a runner on Kafka reads and writes Avro
 * through it, and missing or wrong credentials are refused with SLIPWAY_SCHEMA_REGISTRY_REFUSED saying so.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import { Type } from '@sinclair/typebox';
import avsc from 'avsc';
import {
  avro,
  checkRegistryCompatibility,
  checkRegistryInputs,
  defineDataset,
  definePipeline,
  encodeWire,
  isSlipwayError,
  partitionFor,
  Runner,
  resolveSchemaRegistry,
  SchemaRegistryClient,
} from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { deleteRunTopics, kafkaLogOptions, runId } from './helpers/kafka-run.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const USER = 'orders-svc';
const ORDER = {
  type: 'record',
  name: 'AuthOrder',
  namespace: 'slipway.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};
const TOTAL = {
  type: 'record',
  name: 'AuthTotal',
  namespace: 'slipway.test',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'cents', type: 'long' },
  ],
};

describe('a schema registry that requires basic authentication (real registry behind an authenticating proxy)', () => {
  const id = runId();
  // Made up per run: no credential is written in the repository.
  const password = randomBytes(12).toString('hex');
  const expected = `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}`;
  let brokers: string[] = [];
  let proxy: Server;
  let proxyUrl = '';
  const seen = { authorized: 0, refused: 0 };

  before(async () => {
    brokers = kafkaBrokers();
    const target = new URL(schemaRegistryUrl());
    proxy = createServer((req, res) => {
      if (req.headers.authorization !== expected) {
        seen.refused++;
        res.writeHead(401, {
          'content-type': 'application/vnd.schemaregistry.v1+json',
          'www-authenticate': 'Basic realm="registry"',
        });
        res.end(JSON.stringify({ error_code: 40101, message: 'Unauthorized' }));
        return;
      }
      seen.authorized++;
      const { authorization: _, ...headers } = req.headers;
      const upstream = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: `${target.pathname.replace(/\/+$/, '')}${req.url}`,
          headers: { ...headers, host: target.host },
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    proxy.closeAllConnections();
    await new Promise((resolve) => proxy.close(resolve));
    if (brokers.length > 0) await deleteRunTopics(brokers, id, []);
  });

  it('sends the environment’s user and secret password on every call; none or a wrong one is refused, saying so', async () => {
    const options = await resolveSchemaRegistry(
      { url: proxyUrl, username: USER, password: { env: 'TEST_REGISTRY_PASSWORD' } },
      { TEST_REGISTRY_PASSWORD: password },
    );
    assert.deepEqual(options, { url: proxyUrl, username: USER, password });
    const client = new SchemaRegistryClient(options as NonNullable<typeof options>);
    const subject = `auth-${id}-value`;
    const before = { ...seen };
    const schemaId = await client.register(subject, JSON.stringify(ORDER), 'AVRO');
    assert.equal((await client.latest(subject))?.id, schemaId);
    assert.equal((await client.schemaById(schemaId)).schemaType, 'AVRO');
    assert.equal(seen.refused, before.refused, 'no call of the client went without the credentials');
    assert.equal(seen.authorized - before.authorized, 3);

    for (const [label, bad] of [
      ['no credentials', new SchemaRegistryClient({ url: proxyUrl })],
      ['a wrong password', new SchemaRegistryClient({ url: proxyUrl, username: USER, password: `${password}x` })],
    ] as const) {
      await assert.rejects(bad.latest(subject), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_SCHEMA_REGISTRY_REFUSED'), `${label}: ${String(err)}`);
        assert.equal(err.retryable, false, `${label}: asking again cannot help`);
        assert.equal((err.details as { status: number }).status, 401);
        assert.match(err.message, /HTTP 401 unauthorized/);
        assert.match(err.message, label === 'no credentials' ? /no credentials were sent/ : /user 'orders-svc'/);
        assert.match(err.message, /schemaRegistry\.username/);
        return true;
      });
    }
  });

  it('a runner on Kafka reads and writes Avro through it; with a wrong password it fails at start, refused, losing nothing', async () => {
    const orders = defineDataset({
      name: `auth-orders-${id}`,
      version: '1.0.0',
      key: 'id',
      partitions: 2,
      schema: Type.Object({ id: Type.String(), amount: Type.Integer() }),
      format: avro(ORDER),
    });
    const totals = defineDataset({
      name: `auth-totals-${id}`,
      version: '1.0.0',
      key: 'id',
      partitions: 2,
      schema: Type.Object({ id: Type.String(), cents: Type.Integer() }),
      format: avro(TOTAL),
    });
    const pipeline = definePipeline({
      name: `auth-${id}`,
      version: '1.0.0',
      inputs: [orders],
      outputs: [totals],
      process(o, ctx) {
        ctx.emit(totals, { id: o.id, cents: o.amount * 100 });
      },
    });
    // An outside producer writes 20 Avro orders with an id it registered itself (straight at the registry).
    const direct = new SchemaRegistryClient({ url: schemaRegistryUrl() });
    const writer = await direct.register(`${orders.topic}-value`, JSON.stringify(ORDER), 'AVRO');
    const type = avsc.Type.forSchema(ORDER as avsc.Schema);
    const log = await openKafkaLog(kafkaLogOptions(brokers, id));
    try {
      await log.createTopic(orders.topic, { partitions: 2 });
      const producer = new Producer({ clientId: `ext-${id}`, bootstrapBrokers: brokers, idempotent: true });
      try {
        await producer.send({
          messages: Array.from({ length: 20 }, (_, i) => ({
            topic: orders.topic,
            key: Buffer.from(`o${i}`),
            value: encodeWire(writer, type.toBuffer({ id: `o${i}`, amount: i })),
            partition: partitionFor(`o${i}`, 2),
          })),
        });
      } finally {
        await producer.close();
      }

      const wrong = new Runner({
        pipeline,
        log,
        schemaRegistry: { url: proxyUrl, username: USER, password: `${password}-not-it` },
      });
      await assert.rejects(wrong.start(), (err: unknown) => isSlipwayError(err, 'SLIPWAY_SCHEMA_REGISTRY_REFUSED'));
      assert.equal(wrong.state, 'failed');
      assert.deepEqual(
        (await log.committedOffsets(`slipway.${pipeline.name}`)).filter((o) => o.offset > 0),
        [],
        'nothing was consumed',
      );

      const refusedBefore = seen.refused;
      const options = await resolveSchemaRegistry(
        { url: proxyUrl, username: USER, password: { env: 'TEST_REGISTRY_PASSWORD' } },
        { TEST_REGISTRY_PASSWORD: password },
      );
      const runner = new Runner({ pipeline, log, ...(options === undefined ? {} : { schemaRegistry: options }) });
      await runner.start();
      await runner.drain();
      await runner.stop();
      assert.equal(seen.refused, refusedBefore, 'the runner sent its credentials on every call');
      assert.equal((await runner.stats()).processed, 20);
      assert.equal((await runner.stats()).dlq, 0);
      let outputs = 0;
      for (const p of [0, 1]) outputs += await log.countRecords(totals.topic, p);
      assert.equal(outputs, 20, 'each order once');
      // The output schema was registered through the proxy, under the output's subject.
      assert.ok((await direct.latest(`${totals.topic}-value`))?.schema.includes('AuthTotal'));
    } finally {
      await log.close();
    }
  });

  it("the build's registry checks take the credentials: SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD for `slipway build`", async () => {
    const env = { SCHEMA_REGISTRY_URL: proxyUrl, SCHEMA_REGISTRY_USERNAME: USER, SCHEMA_REGISTRY_PASSWORD: password };
    assert.deepEqual(await resolveSchemaRegistry(undefined, env), { url: proxyUrl, username: USER, password });
    const topic = `auth-checked-${id}`;
    await new SchemaRegistryClient({ url: schemaRegistryUrl() }).register(
      `${topic}-value`,
      JSON.stringify(TOTAL),
      'AVRO',
    );
    const datasets = [{ topic, valueFormat: { schemaType: 'AVRO' as const, schema: JSON.stringify(TOTAL) } }];
    const credentials = { url: proxyUrl, username: USER, password };
    assert.deepEqual(await checkRegistryCompatibility(datasets, credentials), [
      { subject: `${topic}-value`, subjectExists: true },
    ]);
    assert.deepEqual(await checkRegistryInputs(datasets, credentials), [
      { subject: `${topic}-value`, subjectExists: true },
    ]);
    for (const check of [checkRegistryCompatibility, checkRegistryInputs])
      await assert.rejects(check(datasets, { url: proxyUrl }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_SCHEMA_REGISTRY_REFUSED'),
      );

    // The CLI: a pipeline writing Avro, built against the registry behind the proxy.
    const project = copyExampleProject({ prefix: 'slipway-registry-auth-', tsx: true });
    try {
      writeFileSync(
        join(project.dir, 'totals.ts'),
        `import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';
import { orders } from './datasets.js';

export const totals = defineDataset({
  name: 'totals',
  version: '1.0.0',
  key: 'id',
  topic: ${JSON.stringify(topic)},
  partitions: 4,
  schema: Type.Object({ id: Type.String(), cents: Type.Integer() }),
  format: avro(${JSON.stringify(TOTAL)}),
});

export const total = definePipeline({
  name: 'total',
  version: '1.0.0',
  inputs: [orders],
  outputs: [totals],
  process(order, ctx) {
    ctx.emit(totals, { id: order.orderId, cents: Math.round(order.amount * 100) });
  },
});
`,
      );
      const refused = await runCli(['build', 'totals.ts'], {
        cwd: project.dir,
        env: { SCHEMA_REGISTRY_URL: proxyUrl, SCHEMA_REGISTRY_USERNAME: '', SCHEMA_REGISTRY_PASSWORD: '' },
      });
      assert.notEqual(refused.code, 0, refused.stdout);
      assert.match(refused.stderr, /SLIPWAY_SCHEMA_REGISTRY_REFUSED/);
      assert.match(refused.stderr, /no credentials were sent/);
      const built = await runCli(['build', 'totals.ts', '--json'], { cwd: project.dir, env });
      assert.equal(built.code, 0, built.stderr);
    } finally {
      project.remove();
    }
  });
});

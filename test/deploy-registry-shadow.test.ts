/**
 * A blue-green deployment with a shadow diff of a pipeline whose output is Avro (Confluent wire format, a real
 * schema registry, a real broker): the controller decodes live and shadow outputs by their schema ids, so the
 * diff names the field that changed (allowed by the gate) instead of comparing bytes.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import avsc from 'avsc';
import {
  ArtifactStore,
  buildArtifact,
  Controller,
  encodeWire,
  InProcessSupervisor,
  type LogConfig,
  openSqliteControlStore,
  partitionFor,
  SchemaRegistryClient,
} from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { copyExampleProject } from './helpers/example-project.js';
import { deleteRunTopics, runId } from './helpers/kafka-run.js';
import { ORDER_AVRO, REGISTRY_PARTITIONS } from './helpers/registry-orders.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const RATED_AVRO = {
  type: 'record',
  name: 'Rated',
  namespace: 'slipway.shadow',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'doubled', type: 'long' },
    { name: 'tier', type: 'string' },
  ],
};

/** The module of one version: `tier` is what v2 changes. */
function version(id: string, v: string, tier: string): string {
  return `import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';

export const orders = defineDataset({
  name: 'shadow-orders-${id}',
  version: '1.0.0',
  key: 'id',
  partitions: ${REGISTRY_PARTITIONS},
  schema: Type.Object({ id: Type.String(), amount: Type.Integer() }),
  format: avro(${JSON.stringify(ORDER_AVRO)}),
});

export const rated = defineDataset({
  name: 'shadow-rated-${id}',
  version: '1.0.0',
  key: 'id',
  partitions: ${REGISTRY_PARTITIONS},
  schema: Type.Object({ id: Type.String(), doubled: Type.Integer(), tier: Type.String() }),
  format: avro(${JSON.stringify(RATED_AVRO)}),
});

export const rate = definePipeline({
  name: 'shadow-rate-${id}',
  version: '${v}',
  inputs: [orders],
  outputs: [rated],
  process(order, ctx) {
    ctx.emit(rated, { id: order.id, doubled: order.amount * 2, tier: ${tier} });
  },
});
`;
}

describe('a shadow diff of Avro outputs', () => {
  const id = runId();
  const project = copyExampleProject({ prefix: 'slipway-registry-shadow-' });
  const brokers = kafkaBrokers();
  after(async () => {
    project.remove();
    await deleteRunTopics(brokers, id, [`slipway.shadow-rate-${id}`]);
  });

  it('decodes live and shadow outputs by schema id and names the changed field', async () => {
    const url = schemaRegistryUrl();
    writeFileSync(join(project.dir, 'v1.ts'), version(id, '1.0.0', "'standard'"));
    writeFileSync(join(project.dir, 'v2.ts'), version(id, '1.1.0', "order.amount % 2 === 0 ? 'even' : 'standard'"));
    const artifactsDir = join(project.dir, 'artifacts');
    mkdirSync(artifactsDir, { recursive: true });
    const artifacts = new ArtifactStore({ dir: artifactsDir });
    const v1 = (await buildArtifact({ entry: 'v1.ts', cwd: project.dir, store: artifacts })).digest;
    const v2 = (await buildArtifact({ entry: 'v2.ts', cwd: project.dir, store: artifacts })).digest;

    const input = `shadow-orders-${id}.v1`;
    const admin = await openKafkaLog({ brokers });
    await admin.createTopic(input, { partitions: REGISTRY_PARTITIONS });
    await admin.close();
    const writerId = await new SchemaRegistryClient({ url }).register(
      `${input}-value`,
      JSON.stringify(ORDER_AVRO),
      'AVRO',
    );
    const type = avsc.Type.forSchema(ORDER_AVRO as avsc.Schema);
    // An outside producer (not Slipway's log) writes the orders, 50 every 50 ms, for as long as the test runs.
    const producer = new Producer({ clientId: `ext-${id}`, bootstrapBrokers: brokers, idempotent: true });
    let sent = 0;
    let producing = true;
    const load = (async () => {
      while (producing) {
        await producer.send({
          messages: Array.from({ length: 50 }, (_, j) => {
            const key = `o${sent + j}`;
            return {
              topic: input,
              key: Buffer.from(key),
              value: encodeWire(writerId, type.toBuffer({ id: key, amount: sent + j })),
              partition: partitionFor(key, REGISTRY_PARTITIONS),
            };
          }),
        });
        sent += 50;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    const log: LogConfig = { engine: 'kafka', brokers, schemaRegistry: { url } };
    const store = await openSqliteControlStore({ path: join(project.dir, 'control.db') });
    const controller = new Controller({
      store,
      supervisor: new InProcessSupervisor({ artifactsDir }),
      artifacts,
      log,
    });
    await controller.start();
    try {
      const first = await controller.wait((await controller.deploy(v1, { strategy: 'blue-green', bakeMs: 300 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));
      const second = await controller.wait(
        (
          await controller.deploy(v2, {
            strategy: 'blue-green',
            shadow: { records: 200, timeoutMs: 30_000 },
            bakeMs: 300,
            gates: { allowChangedFields: ['tier'] },
          })
        ).id,
      );
      const diff = second.summary.diff as {
        compared: number;
        identical: number;
        changedAllowed: number;
        changed: number;
        changedFields?: Record<string, number>;
        allowedFields?: Record<string, number>;
      };
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      assert.ok(diff.compared >= 200, JSON.stringify(diff));
      // Odd amounts keep 'standard' (identical), even ones become 'even' (changed in tier only, as allowed).
      assert.ok(diff.identical > 0, JSON.stringify(diff));
      assert.ok(diff.changedAllowed > 0, JSON.stringify(diff));
      assert.equal(diff.changed, 0, JSON.stringify(diff));
    } finally {
      producing = false;
      await load;
      await producer.close();
      await controller.close();
      await store.close();
    }
  });
});

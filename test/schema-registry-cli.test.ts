/**
 * `slipway run --kafka` with a pipeline in registry formats: the registry comes from SCHEMA_REGISTRY_URL, for one
 * runner in the CLI's process and for runner processes started by the supervisor (`--runners 2`); without one the
 * run is refused at start with SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE and what to set.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Producer } from '@platformatic/kafka';
import avsc from 'avsc';
import { encodeWire, partitionFor, SchemaRegistryClient } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { deleteRunTopics, runId } from './helpers/kafka-run.js';
import { ORDER_AVRO, REGISTRY_PARTITIONS, SCORE_AVRO } from './helpers/registry-orders.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

describe('slipway run --kafka with registry formats', () => {
  const id = runId();
  const project = copyExampleProject({ prefix: 'slipway-registry-run-', tsx: true });
  let brokers: string[] = [];
  let url = '';
  before(() => {
    brokers = kafkaBrokers();
    url = schemaRegistryUrl();
  });
  after(async () => {
    project.remove();
    if (brokers.length > 0) await deleteRunTopics(brokers, id, []);
  });

  it('runs with SCHEMA_REGISTRY_URL (one runner, and two runner processes); refuses to start without it', async () => {
    const input = `cli-orders-${id}.v1`;
    writeFileSync(
      join(project.dir, 'avro-score.ts'),
      `import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';

export const orders = defineDataset({
  name: 'cli-orders-${id}',
  version: '1.0.0',
  key: 'id',
  partitions: ${REGISTRY_PARTITIONS},
  schema: Type.Object({ id: Type.String(), amount: Type.Integer() }),
  format: avro(${JSON.stringify(ORDER_AVRO)}),
});

export const scores = defineDataset({
  name: 'cli-scores-${id}',
  version: '1.0.0',
  key: 'id',
  partitions: ${REGISTRY_PARTITIONS},
  schema: Type.Object({ id: Type.String(), doubled: Type.Integer() }),
  format: avro(${JSON.stringify(SCORE_AVRO)}),
});

export const score = definePipeline({
  name: 'cli-score-${id}',
  version: '1.0.0',
  inputs: [orders],
  outputs: [scores],
  process(order, ctx) {
    ctx.emit(scores, { id: order.id, doubled: order.amount * 2 });
  },
});
`,
    );
    const kafka = brokers.join(',');
    const noRegistry = { SCHEMA_REGISTRY_URL: '' };
    const refused = await runCli(['--kafka', kafka, 'run', 'avro-score.ts', '--until-caught-up'], {
      cwd: project.dir,
      env: noRegistry,
    });
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE/);
    assert.match(refused.stderr, /SCHEMA_REGISTRY_URL/);

    const log = await openKafkaLog({ brokers });
    await log.createTopic(input, { partitions: REGISTRY_PARTITIONS });
    await log.close();
    const writerId = await new SchemaRegistryClient({ url }).register(
      `${input}-value`,
      JSON.stringify(ORDER_AVRO),
      'AVRO',
    );
    const type = avsc.Type.forSchema(ORDER_AVRO as avsc.Schema);
    const produce = async (from: number, to: number) => {
      const producer = new Producer({ clientId: `ext-${id}`, bootstrapBrokers: brokers, idempotent: true });
      try {
        await producer.send({
          messages: Array.from({ length: to - from }, (_, j) => {
            const key = `o${from + j}`;
            return {
              topic: input,
              key: Buffer.from(key),
              value: encodeWire(writerId, type.toBuffer({ id: key, amount: from + j })),
              partition: partitionFor(key, REGISTRY_PARTITIONS),
            };
          }),
        });
      } finally {
        await producer.close();
      }
    };
    await produce(0, 100);
    const env = { SCHEMA_REGISTRY_URL: url };
    const one = await runCli(['--kafka', kafka, 'run', 'avro-score.ts', '--until-caught-up'], {
      cwd: project.dir,
      env,
    });
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stderr, /100 in, 100 out, 0 to the DLQ/);

    await produce(100, 250);
    // slipway produce writes the wire format too (generated orders, Avro with the id it registers).
    const produced = await runCli(
      ['--kafka', kafka, 'produce', `cli-orders-${id}`, '--generate', '--count', '50', '-p', 'avro-score.ts'],
      { cwd: project.dir, env },
    );
    assert.equal(produced.code, 0, produced.stderr);
    const group = await runCli(['--kafka', kafka, 'run', 'avro-score.ts', '--runners', '2', '--until-caught-up'], {
      cwd: project.dir,
      env,
    });
    assert.equal(group.code, 0, group.stderr);
    assert.match(group.stderr, /200 in, 200 out, 0 to the DLQ/);

    // slipway tail decodes the Avro output by its schema id, named by dataset or by topic; a garbage value on the
    // input is shown with its reason and its bytes, not as mangled text.
    const tailed = await runCli(
      ['--kafka', kafka, 'tail', `cli-scores-${id}`, '--from', 'beginning', '-p', 'avro-score.ts'],
      { cwd: project.dir, env },
    );
    assert.equal(tailed.code, 0, tailed.stderr);
    const scoresOut = tailed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; value: { id: string; doubled: number } });
    assert.equal(scoresOut.length, 300);
    const o7 = scoresOut.find((r) => r.key === 'o7');
    assert.deepEqual(o7?.value, { id: 'o7', doubled: 14 });
    const garbage = new Producer({ clientId: `ext-g-${id}`, bootstrapBrokers: brokers, idempotent: true });
    try {
      await garbage.send({
        messages: [{ topic: input, key: Buffer.from('g1'), value: Buffer.from('not wire'), partition: 0 }],
      });
    } finally {
      await garbage.close();
    }
    const byTopic = await runCli(
      ['--kafka', kafka, 'tail', input, '--partition', '0', '-n', '1', '-p', 'avro-score.ts'],
      { cwd: project.dir, env },
    );
    assert.equal(byTopic.code, 0, byTopic.stderr);
    const last = JSON.parse(byTopic.stdout.trim()) as {
      value: unknown;
      undecodable: { reason: string; bytesBase64: string };
    };
    assert.equal(last.value, null);
    assert.equal(last.undecodable.reason, 'undecodable');
    assert.equal(Buffer.from(last.undecodable.bytesBase64, 'base64').toString(), 'not wire');
    const tailRefused = await runCli(
      ['--kafka', kafka, 'tail', `cli-scores-${id}`, '--from', 'beginning', '-p', 'avro-score.ts'],
      { cwd: project.dir, env: noRegistry },
    );
    assert.notEqual(tailRefused.code, 0);
    assert.match(tailRefused.stderr, /SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE/);

    // sample synth --produce writes the wire format (the pipeline reads every synthesised order); sample capture
    // decodes it (read as text, every Avro value would be invalid and nothing captured).
    const synth = await runCli(
      ['--kafka', kafka, 'sample', 'synth', `cli-orders-${id}`, '-n', '40', '--produce', '-p', 'avro-score.ts'],
      { cwd: project.dir, env },
    );
    assert.equal(synth.code, 0, synth.stderr);
    const third = await runCli(['--kafka', kafka, 'run', 'avro-score.ts', '--until-caught-up'], {
      cwd: project.dir,
      env,
    });
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, /41 in, 40 out, 1 to the DLQ/);
    const captured = await runCli(
      ['--kafka', kafka, 'sample', 'capture', `cli-orders-${id}`, '--size', '30', '-p', 'avro-score.ts'],
      { cwd: project.dir, env },
    );
    assert.equal(captured.code, 0, captured.stderr);
    assert.match(captured.stderr, /captured 30 of \d+ records/);
  });
});

/**
 * `slipway build` asks the real schema registry (scripts/schema-registry.mjs) whether each output written in a
 * registry format (`avro()`, `jsonSchema()`) is compatible with the latest schema of its `<topic>-value` subject:
 * an incompatible change is refused with SLIPWAY_SCHEMA_INCOMPATIBLE and nothing is built; a compatible one builds.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SchemaRegistryClient } from 'slipway';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { runId } from './helpers/kafka-run.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const field = (name: string, type: string, extra: Record<string, unknown> = {}) => ({ name, type, ...extra });
const scoreSchema = (fields: Record<string, unknown>[]) => ({ type: 'record', name: 'Score', fields });

/** A pipeline writing `scores` to topic `topic` as Avro with `avroSchema`. */
function pipelineSource(topic: string, avroSchema: unknown): string {
  return `import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';
import { orders } from './datasets.js';

export const scores = defineDataset({
  name: 'scores',
  version: '1.0.0',
  key: 'customerId',
  topic: ${JSON.stringify(topic)},
  partitions: 4,
  schema: Type.Object({ customerId: Type.String(), amount: Type.Number() }),
  format: avro(${JSON.stringify(avroSchema)}),
});

export const score = definePipeline({
  name: 'score',
  version: '1.0.0',
  inputs: [orders],
  outputs: [scores],
  process(order, ctx) {
    ctx.emit(scores, { customerId: order.customerId, amount: order.amount });
  },
});
`;
}

describe('slipway build checks registry formats against the schema registry', () => {
  const id = runId();
  const topic = `scores-${id}`;
  const project = copyExampleProject({ prefix: 'slipway-registry-build-', tsx: true });
  let url = '';
  before(async () => {
    url = schemaRegistryUrl();
    const v1 = scoreSchema([field('customerId', 'string'), field('amount', 'double')]);
    await new SchemaRegistryClient({ url }).register(`${topic}-value`, JSON.stringify(v1), 'AVRO');
  });
  after(() => project.remove());

  it('refuses an incompatible change (SLIPWAY_SCHEMA_INCOMPATIBLE) and builds a compatible one', async () => {
    const file = join(project.dir, 'score.ts');
    writeFileSync(file, pipelineSource(topic, scoreSchema([field('customerId', 'string'), field('amount', 'string')])));
    const refused = await runCli(['build', 'score.ts', '--schema-registry', url], { cwd: project.dir });
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /SLIPWAY_SCHEMA_INCOMPATIBLE/);
    assert.match(refused.stderr, new RegExp(`${topic}-value`));

    writeFileSync(
      file,
      pipelineSource(
        topic,
        scoreSchema([
          field('customerId', 'string'),
          field('amount', 'double'),
          field('note', 'string', { default: '' }),
        ]),
      ),
    );
    const built = await runCli(['build', 'score.ts', '--json', '--schema-registry', url], { cwd: project.dir });
    assert.equal(built.code, 0, built.stderr);
    const result = JSON.parse(built.stdout);
    assert.equal(result.manifest.outputs[0].valueFormat.kind, 'avro');
    rmSync(file);
  });
});

/** A pipeline reading topic `topic` as Avro with reader schema `avroSchema` (and writing plain JSON). */
function readerSource(topic: string, avroSchema: unknown): string {
  return `import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';

export const visits = defineDataset({
  name: 'visits',
  version: '1.0.0',
  key: 'user',
  topic: ${JSON.stringify(topic)},
  partitions: 4,
  schema: Type.Object({ user: Type.String(), pages: Type.Integer() }, { additionalProperties: true }),
  format: avro(${JSON.stringify(avroSchema)}),
});

export const seen = defineDataset({
  name: 'seen',
  version: '1.0.0',
  key: 'user',
  partitions: 4,
  schema: Type.Object({ user: Type.String() }),
});

export const see = definePipeline({
  name: 'see',
  version: '1.0.0',
  inputs: [visits],
  outputs: [seen],
  process(visit, ctx) {
    ctx.emit(seen, { user: visit.user });
  },
});
`;
}

describe('slipway build checks that a formatted input can read what its writers registered', () => {
  const id = runId();
  const topic = `visits-${id}`;
  const project = copyExampleProject({ prefix: 'slipway-registry-inputs-', tsx: true });
  const visit = (fields: Record<string, unknown>[]) => ({ type: 'record', name: 'Visit', fields });
  let url = '';
  before(async () => {
    url = schemaRegistryUrl();
    // The writers' schema, registered by the producing team.
    const writer = visit([field('user', 'string'), field('pages', 'int'), field('referrer', 'string')]);
    await new SchemaRegistryClient({ url }).register(`${topic}-value`, JSON.stringify(writer), 'AVRO');
  });
  after(() => project.remove());

  it('refuses a reader that cannot read the latest writer schema (SLIPWAY_SCHEMA_INCOMPATIBLE) and builds one that can', async () => {
    const file = join(project.dir, 'see.ts');
    // A field the writers do not write, without a default: the reader cannot fill it.
    writeFileSync(
      file,
      readerSource(topic, visit([field('user', 'string'), field('pages', 'int'), field('country', 'string')])),
    );
    const refused = await runCli(['build', 'see.ts', '--schema-registry', url], { cwd: project.dir });
    assert.notEqual(refused.code, 0, refused.stdout);
    assert.match(refused.stderr, /SLIPWAY_SCHEMA_INCOMPATIBLE/);
    assert.match(refused.stderr, new RegExp(`${topic}-value`));
    assert.match(refused.stderr, /country/);

    // With a default, and a promotable type (int → long), it reads every record the writers write.
    writeFileSync(
      file,
      readerSource(
        topic,
        visit([field('user', 'string'), field('pages', 'long'), field('country', 'string', { default: 'unknown' })]),
      ),
    );
    const built = await runCli(['build', 'see.ts', '--json', '--schema-registry', url], { cwd: project.dir });
    assert.equal(built.code, 0, built.stderr);
    assert.equal(JSON.parse(built.stdout).manifest.inputs[0].valueFormat.kind, 'avro');
    rmSync(file);
  });
});

/**
 * On the embedded log a dataset in a registry format keeps JSON text (no registry needed), and every value is
 * checked against the format's own schema as well as the dataset's: an input the Avro schema rejects is
 * dead-lettered `input-schema`, an output it rejects `output-schema`, exactly as Kafka would refuse to encode it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { readAll, type TempLog, tempLog } from '../../test/helpers/orders.js';
import { avro, defineDataset, definePipeline, jsonSchema, Runner } from '../index.js';

const ORDER = {
  type: 'record',
  name: 'Order',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};

describe('registry formats on the embedded log', () => {
  let t: TempLog;
  before(async () => {
    t = await tempLog('slipway-format-embedded-');
  });
  after(async () => t.cleanup());

  it("checks inputs and outputs against the format's schema too, and needs no registry", async () => {
    // The dataset's JSON Schema allows any number; the Avro schema only a whole one (long).
    const orders = defineDataset({
      name: 'orders',
      version: '1.0.0',
      key: 'id',
      partitions: 1,
      schema: Type.Object({ id: Type.String(), amount: Type.Number() }),
      format: avro(ORDER),
    });
    const halves = defineDataset({
      name: 'halves',
      version: '1.0.0',
      key: 'id',
      partitions: 1,
      schema: Type.Object({ id: Type.String(), amount: Type.Number() }),
      format: jsonSchema(Type.Object({ id: Type.String(), amount: Type.Integer() })),
    });
    assert.equal(orders.is({ id: 'a', amount: 1.5 }), false);
    assert.match(orders.explain({ id: 'a', amount: 1.5 }) ?? '', /Avro schema at amount/);
    const pipeline = definePipeline({
      name: 'halve',
      version: '1.0.0',
      inputs: [orders],
      outputs: [halves],
      process(o, ctx) {
        ctx.emit(halves, { id: o.id, amount: o.amount / 2 });
      },
    });
    const runner = new Runner({ pipeline, log: t.log });
    await runner.start();
    await t.log.append(orders.topic, [
      { partition: 0, key: 'even', value: JSON.stringify({ id: 'even', amount: 4 }) },
      { partition: 0, key: 'odd', value: JSON.stringify({ id: 'odd', amount: 3 }) },
      { partition: 0, key: 'frac', value: JSON.stringify({ id: 'frac', amount: 2.5 }) },
    ]);
    await runner.drain();
    await runner.stop();

    const out = (await readAll(t.log, halves.topic)).map((r) => JSON.parse(r.value));
    assert.deepEqual(out, [{ id: 'even', amount: 2 }], 'JSON text on the embedded log');
    const letters = (await readAll(t.log, `${orders.topic}.dlq`)).map(
      (r) => JSON.parse(r.value) as { key: string; reason: string; message: string },
    );
    const byKey = new Map(letters.map((l) => [l.key, l]));
    assert.equal(byKey.get('frac')?.reason, 'input-schema');
    assert.match(byKey.get('frac')?.message ?? '', /Avro schema/);
    // 3 / 2 = 1.5 fits the dataset's schema, not the registered JSON Schema's integer.
    assert.equal(byKey.get('odd')?.reason, 'output-schema');
    assert.match(byKey.get('odd')?.message ?? '', /registered JSON Schema/);
  });
});

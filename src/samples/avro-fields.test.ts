import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { avro, defineDataset } from 'slipway';
import { avroType } from '../dataset/registry/avro-types.js';
import { computeStats } from './stats.js';
import { createSynthesizer, synthesize } from './synth.js';

// A dataset in an Avro registry format declares its bytes, fixed, decimal and enum fields `Type.String()` (their
// JSON values are text), and its checks include the Avro schema's: generating from the JSON Schema alone made text
// the format refuses (`price-17` for a decimal), and `sample synth` failed with SLIPWAY_VALIDATION on every record.
const payments = defineDataset({
  name: 'payments',
  version: '1.0.0',
  key: 'id',
  schema: Type.Object({
    id: Type.String(),
    amount: Type.String(),
    fee: Type.String(),
    digest: Type.String(),
    token: Type.Union([Type.Null(), Type.String()]),
    status: Type.String(),
    lines: Type.Array(Type.Object({ sku: Type.String(), price: Type.String(), discount: Type.String() }), {
      minItems: 1,
      maxItems: 3,
    }),
  }),
  format: avro({
    type: 'record',
    name: 'Payment',
    namespace: 'shop',
    fields: [
      { name: 'id', type: 'string' },
      { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
      { name: 'fee', type: { type: 'fixed', name: 'Fee', size: 3, logicalType: 'decimal', precision: 6, scale: 3 } },
      { name: 'digest', type: { type: 'fixed', name: 'Digest', size: 8 } },
      { name: 'token', type: ['null', 'bytes'] },
      { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID', 'REFUNDED'] } },
      {
        name: 'lines',
        type: {
          type: 'array',
          items: {
            type: 'record',
            name: 'Line',
            fields: [
              { name: 'sku', type: 'string' },
              { name: 'price', type: { type: 'bytes', logicalType: 'decimal', precision: 5, scale: 0 } },
              // A named type used again by its name (in the enclosing namespace).
              { name: 'discount', type: 'Fee' },
            ],
          },
        },
      },
    ],
  }),
});

describe('sample synth with an Avro format', () => {
  it('generates bytes, fixed, decimal and enum values the Avro schema accepts, and Avro encodes them', () => {
    const records = synthesize({ dataset: payments, count: 500, seed: 3 });
    const type = avroType(payments.format?.schemaText as string);
    const amounts = new Set<string>();
    let nullTokens = 0;
    for (const r of records) {
      assert.ok(payments.is(r), payments.explain(r));
      // What the runner writes to Kafka: it encodes, and reads back the same values.
      assert.deepEqual(JSON.parse(JSON.stringify(type.fromBuffer(type.toBuffer(r)))), r);
      assert.match(r.amount, /^-?\d+\.\d{2}$/);
      assert.match(r.fee, /^-?\d+\.\d{3}$/);
      assert.equal(Buffer.from(r.digest, 'base64').length, 8);
      assert.ok(['NEW', 'PAID', 'REFUNDED'].includes(r.status), r.status);
      for (const line of r.lines) {
        assert.match(line.price, /^-?\d+$/);
        assert.match(line.discount, /^-?\d+\.\d{3}$/);
      }
      amounts.add(r.amount);
      if (r.token === null) nullTokens++;
    }
    assert.ok(amounts.size > 400, `amounts vary: ${amounts.size} distinct of 500`);
    assert.ok(nullTokens > 0 && nullTokens < 500, `a nullable bytes field is sometimes null: ${nullTokens} of 500`);
  });

  it('keeps the sample shape for the other fields and the Avro encodings with stats', () => {
    const sample = synthesize({ dataset: payments, count: 200, seed: 5 }).map((r) => ({ ...r, status: 'PAID' }));
    const synth = createSynthesizer({ dataset: payments, stats: computeStats(sample), seed: 9 });
    for (let i = 0; i < 200; i++) {
      const r = synth.next();
      assert.equal(r.status, 'PAID', 'the sample has only PAID');
      assert.match(r.amount, /^-?\d+\.\d{2}$/);
    }
    assert.equal(synth.retries, 0);
  });
});

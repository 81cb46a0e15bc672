import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { avro, defineDataset } from 'slipway';
import { avroType } from '../dataset/registry/avro-types.js';
import { computeStats } from './stats.js';
import { createSynthesizer, synthesize } from './synth.js';

type Json = Record<string, unknown>;

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
    const synth = createSynthesizer({ dataset: payments, seed: 3 });
    const records = Array.from({ length: 500 }, () => synth.next());
    // Every record right the first time: none was made again because the format refused it.
    assert.equal(synth.retries, 0);
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

  it("follows Avro's names (full names, namespaces, a type defined in a map), recursion and a fixed's size", () => {
    // A chain of nodes, as deep as the JSON Schema goes (the Avro type refers to itself).
    const node = (depth: number): ReturnType<typeof Type.Object> =>
      Type.Object({
        tag: Type.String(),
        attrs: Type.Record(Type.String(), Type.String()),
        level: Type.String(),
        again: Type.String(),
        big: Type.String(),
        next: depth === 0 ? Type.Null() : Type.Union([Type.Null(), node(depth - 1)]),
      });
    const chain = defineDataset({
      name: 'chain',
      version: '1.0.0',
      key: 'tag',
      schema: node(12),
      format: avro({
        type: 'record',
        name: 'com.acme.Node',
        fields: [
          { name: 'tag', type: { type: 'fixed', name: 'Tag', size: 2 } },
          { name: 'attrs', type: { type: 'map', values: { type: 'enum', name: 'b.Level', symbols: ['LO', 'HI'] } } },
          { name: 'level', type: 'b.Level' },
          { name: 'again', type: 'Tag' },
          // More digits than two bytes hold: the size decides.
          {
            name: 'big',
            type: { type: 'fixed', name: 'Big', size: 2, logicalType: 'decimal', precision: 20, scale: 1 },
          },
          { name: 'next', type: ['null', 'Node'] },
        ],
      }),
    });
    const synth = createSynthesizer({ dataset: chain, seed: 11 });
    let deepest = 0;
    for (let i = 0; i < 300; i++) {
      let r = synth.next() as Json | null;
      assert.ok(chain.is(r), chain.explain(r));
      for (let depth = 0; r !== null; depth++, r = r.next as Json | null) {
        deepest = Math.max(deepest, depth);
        assert.equal(Buffer.from(r.tag as string, 'base64').length, 2);
        assert.equal(Buffer.from(r.again as string, 'base64').length, 2);
        assert.ok(['LO', 'HI'].includes(r.level as string));
      }
    }
    assert.equal(synth.retries, 0);
    assert.ok(deepest >= 5, `records nest: ${deepest} deep`);
  });

  it('takes an enum with more symbols than a sample lists from its symbols, and a narrower JSON Schema as it is', () => {
    const symbols = Array.from({ length: 30 }, (_, i) => `S${i}`);
    const statuses = defineDataset({
      name: 'statuses',
      version: '1.0.0',
      key: 'id',
      schema: Type.Object({ id: Type.String(), status: Type.String(), kind: Type.Literal('A') }),
      format: avro({
        type: 'record',
        name: 'S',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'status', type: { type: 'enum', name: 'Status', symbols } },
          { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['A', 'B'] } },
        ],
      }),
    });
    const sample = symbols.map((status, i) => ({ id: String(i), status, kind: 'A' as const }));
    const synth = createSynthesizer({ dataset: statuses, stats: computeStats(sample), seed: 2 });
    for (let i = 0; i < 300; i++) {
      const r = synth.next();
      assert.ok(symbols.includes(r.status), r.status);
      assert.equal(r.kind, 'A');
    }
    assert.equal(synth.retries, 0);
    assert.equal(synthesize({ dataset: statuses, count: 100, seed: 4 }).length, 100);
  });
});

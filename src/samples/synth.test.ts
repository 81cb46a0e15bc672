import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { type Dataset, defineDataset, isSlipwayError } from 'slipway';
import { orders } from '../../examples/orders/datasets.js';
import { makeOrder } from '../../test/helpers/orders.js';
import { compileGenerator, generateValue, seededRandom } from '../dataset/generate.js';
import { compareStats } from './drift.js';
import { computeStats } from './stats.js';
import { createSynthesizer, synthesize } from './synth.js';

const nested = defineDataset({
  name: 'carts',
  version: '3.0.0',
  key: 'id',
  schema: Type.Object(
    {
      id: Type.String({ format: 'uuid' }),
      status: Type.Union([Type.Literal('open'), Type.Literal('paid'), Type.Literal('lost')]),
      total: Type.Number({ minimum: 0, exclusiveMaximum: 10_000 }),
      lines: Type.Array(
        Type.Object({
          sku: Type.String({ minLength: 3, maxLength: 8 }),
          qty: Type.Integer({ minimum: 1, maximum: 9 }),
        }),
        {
          minItems: 1,
          maxItems: 4,
        },
      ),
      coupon: Type.Optional(Type.String()),
      gift: Type.Optional(Type.Boolean()),
      customer: Type.Optional(
        Type.Object({ email: Type.String({ format: 'email' }), since: Type.String({ format: 'date' }) }),
      ),
    },
    { additionalProperties: false },
  ),
});

describe('synthesize', () => {
  it('makes schema-valid records from the schema alone, the same for the same seed', () => {
    for (const dataset of [orders, nested] as Dataset[]) {
      const records = synthesize({ dataset, count: 2000, seed: 5 });
      for (const r of records) assert.ok(dataset.is(r), dataset.explain(r));
      assert.deepEqual(synthesize({ dataset, count: 50, seed: 5 }), records.slice(0, 50));
      assert.notDeepEqual(synthesize({ dataset, count: 50, seed: 6 }), records.slice(0, 50));
    }
  });

  it('compiles generators that make what generateValue makes', () => {
    const make = compileGenerator(nested.schema);
    const a = seededRandom(3);
    const b = seededRandom(3);
    for (let i = 0; i < 100; i++) assert.deepEqual(make(a), generateValue(nested.schema, b));
  });

  it('shapes records by a sample: shares, quantiles and presence, and stays valid', () => {
    const sample = Array.from({ length: 3000 }, (_, i) => {
      const o: Record<string, unknown> = { ...makeOrder(i, 300) };
      o.currency = i % 10 < 7 ? 'EUR' : i % 10 < 9 ? 'USD' : 'GBP';
      o.amount = 20 + ((i * 37) % 100);
      if (i % 5 === 0) o.email = `buyer${i % 300}@example.com`;
      return o;
    });
    const stats = computeStats(sample);
    const records = synthesize({ dataset: orders, count: 5000, stats, seed: 1 });
    for (const r of records) assert.ok(orders.is(r), orders.explain(r));
    const synthStats = computeStats(records);
    const share = (v: string) => records.filter((r) => r.currency === v).length / records.length;
    assert.ok(Math.abs(share('EUR') - 0.7) < 0.03, `EUR ${share('EUR')}`);
    assert.ok(Math.abs(share('GBP') - 0.1) < 0.03, `GBP ${share('GBP')}`);
    assert.ok(Math.abs((synthStats.fields.email?.presence ?? 0) - 0.2) < 0.03);
    const amounts = synthStats.fields.amount?.numeric;
    assert.ok(amounts !== undefined && amounts.min >= 20 && amounts.max <= 119, JSON.stringify(amounts?.quantiles));
    assert.ok(Math.abs(amounts.quantiles.p50 - 69.5) < 5);
    // The synthetic data does not drift from the sample it was shaped by (ids and times are free-form).
    const report = compareStats(stats, synthStats);
    for (const path of ['amount', 'currency', 'items']) {
      assert.equal(report.fields.find((f) => f.path === path)?.status, 'unchanged', path);
    }
    // Emails keep their presence and shape; beyond the sample's ten most common, their values are new, which
    // drift reports of a field whose values repeat in the sample (issue 10, item 14.5).
    const email = report.fields.find((f) => f.path === 'email');
    assert.deepEqual(
      email?.reasons.map((r) => r.split(':')[0]),
      ['values changed'],
      JSON.stringify(email?.reasons),
    );
  });

  it('shapes nested fields and keeps schema bounds', () => {
    const base = synthesize({ dataset: nested, count: 500, seed: 2 });
    const stats = computeStats(base.map((r) => ({ ...r, total: 9_999.99, status: 'lost' })));
    const synth = createSynthesizer({ dataset: nested, stats, seed: 3 });
    for (let i = 0; i < 500; i++) {
      const r = synth.next();
      assert.ok(nested.is(r), nested.explain(r));
      assert.equal(r.status, 'lost');
      assert.ok(r.total < 10_000);
    }
  });

  it('says what is wrong when the schema cannot be satisfied', () => {
    const odd = defineDataset({
      name: 'odd',
      version: '1.0.0',
      key: 'id',
      schema: Type.Object({ id: Type.String({ pattern: '^[0-9]{12}$' }) }),
    });
    assert.throws(
      () => synthesize({ dataset: odd, count: 1 }),
      (err) => isSlipwayError(err, 'SLIPWAY_VALIDATION') && /pattern/.test(err.message),
    );
  });
});

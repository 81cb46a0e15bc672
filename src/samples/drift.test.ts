import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from 'slipway';
import { type TempLog, tempLog } from '../../test/helpers/orders.js';
import { seededRandom } from '../dataset/generate.js';
import { captureSample } from './capture.js';
import { compareStats, psiFromPercentiles } from './drift.js';
import { computeStats } from './stats.js';

// Payments with an open schema: producers may add fields.
const payments = defineDataset({
  name: 'payments',
  version: '1.0.0',
  key: 'id',
  partitions: 3,
  schema: Type.Object({
    id: Type.String(),
    amount: Type.Number(),
    method: Type.String(),
    items: Type.Integer(),
    note: Type.Optional(Type.String()),
  }),
});

interface Shape {
  amountScale?: number;
  cardShare?: number;
  noteRate?: number;
  coupon?: boolean;
}

/** A payment drawn from a distribution that a test can shift. */
function payment(i: number, random: () => number, shape: Shape = {}): Record<string, unknown> {
  const u = random();
  const card = shape.cardShare ?? 0.6;
  const p: Record<string, unknown> = {
    id: `p-${i}`,
    // Log-normal-ish amounts.
    amount: Math.round(Math.exp(3 + random() * 2) * (shape.amountScale ?? 1) * 100) / 100,
    method: u < card ? 'card' : u < card + (1 - card) / 2 ? 'paypal' : 'transfer',
    items: 1 + Math.floor(random() * 5),
  };
  if (random() < (shape.noteRate ?? 0.3)) p.note = `note ${i % 50}`;
  if (shape.coupon === true) p.coupon = `SAVE${i % 7}`;
  return p;
}

function records(n: number, seed: number, shape: Shape = {}): Array<Record<string, unknown>> {
  const random = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => payment(i, random, shape));
}

describe('drift', () => {
  it('reports nothing for unchanged data, however the samples fall', () => {
    for (const [n, seeds] of [
      [200, [1, 2, 3, 4, 5, 6]],
      [2000, [7, 8, 9]],
    ] as const) {
      for (const seed of seeds) {
        const report = compareStats(computeStats(records(n, seed)), computeStats(records(n, seed + 100)));
        const noisy = report.fields.filter((f) => f.status !== 'unchanged');
        assert.equal(report.drifted, false, `n=${n} seed=${seed}: ${JSON.stringify(noisy)}`);
      }
    }
  });

  it('reports a shifted numeric distribution and a moved category share', () => {
    const base = computeStats(records(2000, 1));
    const report = compareStats(base, computeStats(records(2000, 2, { amountScale: 2.5, cardShare: 0.3 })));
    const byPath = new Map(report.fields.map((f) => [f.path, f]));
    assert.equal(byPath.get('amount')?.status, 'drifted');
    assert.match(byPath.get('amount')?.reasons.join() ?? '', /distribution shifted: PSI/);
    assert.ok((byPath.get('amount')?.psi ?? 0) > 0.5);
    assert.equal(byPath.get('method')?.status, 'drifted');
    assert.match(byPath.get('method')?.reasons.join() ?? '', /share of "card" 6\d% → 3\d%/);
    assert.equal(byPath.get('items')?.status, 'unchanged');
    assert.equal(byPath.get('id')?.status, 'unchanged');
    assert.equal(report.drifted, true);
  });

  it('reports a new field, a missing field, a presence change and a type change', () => {
    const base = computeStats(records(1000, 1));
    const current = records(1000, 2, { coupon: true, noteRate: 0 }).map((r, i) =>
      i % 4 === 0 ? { ...r, items: String(r.items) } : r,
    );
    const report = compareStats(base, computeStats(current));
    const byPath = new Map(report.fields.map((f) => [f.path, f]));
    assert.equal(byPath.get('coupon')?.status, 'new');
    assert.match(byPath.get('coupon')?.reasons[0] ?? '', /new field, in 100% of records/);
    assert.equal(byPath.get('note')?.status, 'missing');
    assert.equal(byPath.get('items')?.status, 'drifted');
    assert.match(byPath.get('items')?.reasons.join() ?? '', /new type string \(25% of values\)/);
    assert.deepEqual(report.counts, { unchanged: 3, drifted: 1, new: 1, missing: 1 });

    const fewer = compareStats(base, computeStats(records(1000, 3, { noteRate: 0.1 })));
    const note = fewer.fields.find((f) => f.path === 'note');
    assert.equal(note?.status, 'drifted');
    assert.match(note?.reasons.join() ?? '', /presence 2\d% → 1\d%/);
  });

  it('folds the children of a new field into it', () => {
    const base = computeStats([{ a: 1 }, { a: 2 }]);
    const report = compareStats(
      base,
      computeStats([
        { a: 1, b: { c: [1, 2] } },
        { a: 2, b: { c: [] } },
      ]),
    );
    assert.deepEqual(
      report.fields.map((f) => [f.path, f.status]),
      [
        ['a', 'unchanged'],
        ['b', 'new'],
      ],
    );
  });

  it('computes PSI 0 for identical percentiles and a large PSI for disjoint ones', () => {
    const p = Array.from({ length: 101 }, (_, i) => i);
    assert.ok(psiFromPercentiles(p, p).psi < 1e-9);
    assert.ok(
      psiFromPercentiles(
        p,
        p.map((x) => x + 1000),
      ).psi > 5,
    );
  });

  describe('between a sample and live data in the log', () => {
    let base: TempLog;
    let live: TempLog;
    const fill = async (t: TempLog, shape: Shape, seed: number) => {
      await t.log.createTopic(payments.topic, { partitions: 3 });
      await t.log.append(
        payments.topic,
        records(6000, seed, shape).map((value, i) => ({
          partition: i % 3,
          key: String(value.id),
          value: JSON.stringify(value),
        })),
      );
    };
    before(async () => {
      base = await tempLog('slipway-drift-base-');
      live = await tempLog('slipway-drift-live-');
      await fill(base, {}, 1);
      await fill(live, { amountScale: 3, coupon: true }, 2);
    });
    after(async () => {
      await base.cleanup();
      await live.cleanup();
    });

    it('finds the drift of a shifted live log, and none against a fresh capture of the same log', async () => {
      const allow = { piiScan: false } as const;
      const sample = await captureSample({ log: base.log, dataset: payments, size: 1500, ...allow });
      const again = await captureSample({ log: base.log, dataset: payments, size: 1500, seed: 99, ...allow });
      assert.equal(compareStats(sample.stats, again.stats).drifted, false);
      const current = await captureSample({ log: live.log, dataset: payments, size: 1500, ...allow });
      const report = compareStats(sample.stats, current.stats);
      const changed = report.fields.filter((f) => f.status !== 'unchanged').map((f) => [f.path, f.status]);
      assert.deepEqual(changed, [
        ['amount', 'drifted'],
        ['coupon', 'new'],
      ]);
    });
  });
});

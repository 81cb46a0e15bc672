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

// Issue 10, item 14.5: `sample check` called `sensorId` "ok" after every value changed. A string field is compared by
// shape (lengths, kinds of characters, prefixes) and by its values (through sketches), without crying wolf for
// a unique id whose values are always new.
describe('drift of string values: ids, keys and codes', () => {
  type Gen = (i: number, random: () => number) => string;
  const hex = (random: () => number, n: number): string =>
    Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  const base36 = (random: () => number, n: number): string =>
    Array.from({ length: n }, () => Math.floor(random() * 36).toString(36)).join('');
  const uuid: Gen = (_, r) => `${hex(r, 8)}-${hex(r, 4)}-4${hex(r, 3)}-a${hex(r, 3)}-${hex(r, 12)}`;
  const pad = (x: number, width: number): string => String(x).padStart(width, '0');
  /** One of `size` sensors, from `from` on: s-000 … */
  const sensor =
    (from = 0, size = 50): Gen =>
    (_, r) =>
      `s-${pad(from + Math.floor(r() * size), 3)}`;
  /** A day among `days` from the `start`th day of 2026: 2026-01-01 … */
  const day =
    (start: number, days: number): Gen =>
    (_, r) =>
      new Date(Date.UTC(2026, 0, start + Math.floor(r() * days))).toISOString().slice(0, 10);
  const dateTime =
    (month: number): Gen =>
    (i, r) =>
      new Date(Date.UTC(2026, month, 1) + i * 60_000 + Math.floor(r() * 60_000)).toISOString();

  const field = (path: string, base: Gen, current: Gen, n: number, seed: number) => {
    const make = (gen: Gen, s: number) => {
      const random = seededRandom(s);
      return Array.from({ length: n }, (_, i) => ({ [path]: gen(i, random) }));
    };
    const report = compareStats(computeStats(make(base, seed)), computeStats(make(current, seed + 100)));
    return report.fields.find((f) => f.path === path);
  };

  const unchanged: Array<{ name: string; base: Gen; current?: Gen }> = [
    { name: 'a UUID, always new', base: uuid },
    { name: 'a prefixed random id, always new', base: (_, r) => `ord_${base36(r, 10)}` },
    { name: 'a sequential id, later values', base: (i) => `o-${100_000 + i}`, current: (i) => `o-${300_000 + i}` },
    { name: 'a sequential id that grew a digit', base: (i) => `o-${90_000 + i}`, current: (i) => `o-${100_000 + i}` },
    { name: 'a hex digest, always new', base: (_, r) => hex(r, 16) },
    { name: 'a date-time, a month later', base: dateTime(0), current: dateTime(1) },
    // Dates move by nature: their values are not compared through the sketches, only their shape.
    { name: 'a day that repeats, two months later', base: day(1, 60), current: day(61, 60) },
    { name: 'a sensor id from the same sensors', base: sensor() },
    {
      name: 'a customer id where a third of the customers are new',
      base: (_, r) => `c${Math.floor(r() * 100)}`,
      current: (_, r) => `c${r() < 0.7 ? Math.floor(r() * 100) : 100 + Math.floor(r() * 1000)}`,
    },
    {
      name: 'free text',
      base: (_, r) =>
        `${['fast', 'late', 'ok', 'gift'][Math.floor(r() * 4)]} note ${base36(r, 1 + Math.floor(r() * 8))}`,
    },
  ];
  for (const c of unchanged) {
    it(`reports nothing for ${c.name}, however the samples fall`, () => {
      for (const [n, seeds] of [
        [200, [1, 2, 3, 4]],
        [2000, [5, 6]],
      ] as const) {
        for (const seed of seeds) {
          const f = field('f', c.base, c.current ?? c.base, n, seed);
          assert.equal(f?.status, 'unchanged', `n=${n} seed=${seed}: ${f?.reasons.join('; ')}`);
        }
      }
    });
  }

  const drifted: Array<{ name: string; base: Gen; current: Gen; reasons: RegExp[] }> = [
    {
      name: 'sensor ids that all changed, in the same format',
      base: sensor(0),
      current: sensor(50),
      reasons: [
        /^values changed: 0% of values are ones the sample holds, where about (9\d|100)% would be \(its values repeat\)$/,
      ],
    },
    {
      name: 'sensor ids that changed format',
      base: sensor(0),
      current: (_, r) => `SENSOR-${hex(r, 8).toUpperCase()}`,
      reasons: [
        /^lengths changed: 5 chars 100% → 0% \(now mostly 15 chars\), median 5 → 15 chars$/,
        /^characters changed: digits\+lower-case\+punctuation 100% → 0%/,
        /^prefix changed: "s-" 100% → 0% \(now mostly "SENSOR-"\)$/,
        /^values changed: 0% of values/,
      ],
    },
    {
      name: 'half of the sensor ids in a new format',
      base: sensor(0),
      current: (i, r) => (i % 2 === 0 ? sensor(0)(i, r) : `sensor-${pad(Math.floor(r() * 50), 4)}`),
      reasons: [/^prefix changed: "s-" 100% → 5\d%$/],
    },
    {
      name: 'UUIDs replaced by numbers (both unique)',
      base: uuid,
      current: (i) => String(5_000_000 + i),
      reasons: [
        /^lengths changed: 36 chars 100% → 0% \(now mostly 7 chars\)/,
        /^characters changed: .* → 0% \(now mostly digits\)$/,
      ],
    },
    {
      name: 'order ids that became customer ids (both unique)',
      base: (_, r) => `ord_${base36(r, 10)}`,
      current: (_, r) => `cus_${base36(r, 10)}`,
      reasons: [/^prefix changed: "ord_" 100% → 0% \(now mostly "cus_"\)$/],
    },
    {
      name: 'a unique id stuck on one value',
      base: uuid,
      current: () => 'undefined',
      reasons: [/^values repeat: 0% → 100% of values occur more than once$/],
    },
    {
      name: 'sensor ids that used to repeat and are now all new',
      base: sensor(0),
      current: (i) => `s-${1000 + i}`,
      reasons: [/^values changed: 0% of values are ones the sample holds/],
    },
  ];
  for (const c of drifted) {
    it(`reports ${c.name}`, () => {
      for (const [n, seed] of [
        [200, 1],
        [2000, 2],
      ] as const) {
        const f = field('sensorId', c.base, c.current, n, seed);
        assert.equal(f?.status, 'drifted', `n=${n}: ${JSON.stringify(f)}`);
        for (const reason of c.reasons)
          assert.ok(
            f.reasons.some((r) => reason.test(r)),
            `n=${n}: no reason matching ${reason} in ${JSON.stringify(f.reasons)}`,
          );
      }
    });
  }

  it('compares no shapes with stats made before they were kept', () => {
    const make = (gen: Gen) =>
      computeStats(Array.from({ length: 500 }, (_, i) => ({ sensorId: gen(i, seededRandom(i)) })));
    const old = make(sensor(0));
    delete old.fields.sensorId?.shape;
    const report = compareStats(old, make(sensor(50)));
    assert.equal(report.fields[0]?.status, 'unchanged');
  });
});

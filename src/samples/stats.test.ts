import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DistinctCounter } from './distinct-counter.js';
import { computeStats, DISTINCT_EXACT_LIMIT, quantile } from './stats.js';

describe('computeStats', () => {
  it('describes a small known input field by field', () => {
    const records = [
      { id: 'a', n: 1, ok: true, tags: ['x', 'y'], user: { name: 'ann' } },
      { id: 'b', n: 2, ok: false, tags: ['x'], user: { name: 'bob', age: 30 } },
      { id: 'c', n: 3, ok: true, tags: [] },
      { id: 'd', n: 4, ok: true, tags: ['x'], user: null },
      { id: 'e', n: 10.25, ok: true, tags: ['z'], extra: 'only here' },
    ];
    const s = computeStats(records);
    assert.equal(s.format, 'slipway.sample-stats');
    assert.equal(s.records, 5);
    assert.deepEqual(Object.keys(s.fields), [
      'extra',
      'id',
      'n',
      'ok',
      'tags',
      'tags[]',
      'user',
      'user.age',
      'user.name',
    ]);

    const n = s.fields.n;
    assert.equal(n?.presence, 1);
    assert.deepEqual(n?.types, { number: 5 });
    assert.equal(n?.distinct, 5);
    assert.equal(n?.numeric?.min, 1);
    assert.equal(n?.numeric?.max, 10.25);
    assert.equal(n?.numeric?.mean, 4.05);
    assert.equal(n?.numeric?.decimals, 2);
    assert.deepEqual(n?.numeric?.quantiles, { p0: 1, p10: 1.4, p25: 2, p50: 3, p75: 4, p90: 7.75, p100: 10.25 });
    assert.equal(n?.numeric?.percentiles.length, 101);

    assert.deepEqual(s.fields.ok?.top, [
      { value: true, count: 4 },
      { value: false, count: 1 },
    ]);
    // Array items: occurrences count every element, presence counts records holding at least one.
    assert.equal(s.fields['tags[]']?.count, 5);
    assert.equal(s.fields['tags[]']?.present, 4);
    assert.equal(s.fields['tags[]']?.presence, 0.8);
    assert.deepEqual(s.fields['tags[]']?.top, [
      { value: 'x', count: 3 },
      { value: 'y', count: 1 },
      { value: 'z', count: 1 },
    ]);
    assert.deepEqual(s.fields.user?.types, { null: 1, object: 2 });
    assert.equal(s.fields.user?.presence, 0.6);
    assert.equal(s.fields['user.age']?.presence, 0.2);
    assert.deepEqual(s.fields['user.name']?.length, { min: 3, max: 3, mean: 3 });
    assert.deepEqual(s.fields.id?.length, { min: 1, max: 1, mean: 1 });
    assert.equal(s.fields.extra?.presence, 0.2);
  });

  it('lists top values seen at least twice once a field has many values', () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ v: i < 30 ? 'common' : i < 40 ? 'less' : `u${i}` }));
    const s = computeStats(records);
    assert.deepEqual(s.fields.v?.top, [
      { value: 'common', count: 30 },
      { value: 'less', count: 10 },
    ]);
    assert.equal(s.fields.v?.distinct, 62);
    assert.equal(s.fields.v?.distinctExact, true);
  });

  it('estimates distinct counts past the exact limit', () => {
    const records = Array.from({ length: DISTINCT_EXACT_LIMIT + 20_000 }, (_, i) => ({ v: i }));
    const s = computeStats(records);
    assert.equal(s.fields.v?.distinctExact, false);
    const d = s.fields.v?.distinct as number;
    assert.ok(Math.abs(d - records.length) / records.length < 0.03, `estimate ${d}`);
  });

  it('counts distinct values with HyperLogLog within a few percent', () => {
    const c = new DistinctCounter();
    for (let i = 0; i < 50_000; i++) c.add(`k${i % 20_000}`);
    assert.ok(Math.abs(c.estimate() - 20_000) < 600, String(c.estimate()));
  });

  it('interpolates quantiles between ranks', () => {
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
    assert.equal(quantile([5], 0.9), 5);
  });
});

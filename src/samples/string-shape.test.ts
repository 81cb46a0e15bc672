import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { seededRandom } from '../dataset/generate.js';
import { hash32 } from './distinct-counter.js';
import { classesOf, lengthBucket, prefixOf, ShapeAccumulator, SKETCH_SIZE } from './string-shape.js';

describe('the shape of string values', () => {
  it('names kinds of characters, prefixes and length buckets', () => {
    assert.deepEqual(['s-001', 'SENSOR-9F', '12345', 'note 12', '', 'Ünïcode'].map(classesOf), [
      '9a.',
      '9A.',
      '9',
      '9a_',
      '',
      'a.',
    ]);
    assert.deepEqual(
      ['s-001', 'ord_x1', 'user:7', 'note 12', '123-4', 'https://x', 'a#1', 'averyveryverylongword-1'].map(prefixOf),
      ['s-', 'ord_', 'user:', '', '', 'https:', 'a#', ''],
    );
    assert.deepEqual([0, 64, 65, 200, 1000].map(lengthBucket), ['0', '64', '65-128', '129-256', '257+']);
  });

  it('keeps the smallest hashes of the distinct values with their exact counts, and counts dates', () => {
    const random = seededRandom(3);
    const values = Array.from({ length: 5000 }, () => `k${Math.floor(random() ** 2 * 2000)}`);
    const acc = new ShapeAccumulator();
    for (const v of values) acc.add(v);
    acc.add('2026-01-02');
    acc.add('2026-01-02T03:04:05.678Z');
    const shape = acc.result();

    const counts = new Map<number, number>();
    for (const v of [...values, '2026-01-02', '2026-01-02T03:04:05.678Z']) {
      const h = hash32(v);
      counts.set(h, (counts.get(h) ?? 0) + 1);
    }
    const expected = [...counts].sort(([a], [b]) => a - b).slice(0, SKETCH_SIZE);
    assert.deepEqual(shape.sketch, { k: SKETCH_SIZE, values: expected });
    assert.equal(shape.dates, 2);
    assert.equal(shape.prefixes[''], 5002);
    assert.equal(
      Object.values(shape.lengths).reduce((a, b) => a + b, 0),
      5002,
    );
  });

  it('keeps the ten most common prefixes and counts the rest as (other)', () => {
    const acc = new ShapeAccumulator();
    for (let i = 0; i < 12; i++) for (let j = 0; j <= i; j++) acc.add(`p${String.fromCharCode(97 + i)}-${j}`);
    const { prefixes } = acc.result();
    assert.equal(Object.keys(prefixes).length, 11);
    assert.equal(prefixes['(other)'], 1 + 2);
    assert.equal(prefixes['pl-'], 12);
  });
});

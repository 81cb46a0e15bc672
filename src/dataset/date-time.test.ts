import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullFormats } from 'ajv-formats/dist/formats.js';
import { isDateTime } from './date-time.js';
import { seededRandom } from './generate.js';

const reference = (fullFormats['date-time'] as { validate: (s: string) => boolean }).validate;

const SEEDS = [
  '2026-01-01T00:00:00Z',
  '2024-02-29T23:59:59.123456+05:30',
  '1999-12-31t23:59:60z',
  '1998-12-31T15:59:60-08:00',
  '2026-07-04 12:00:00.5-0130',
  '2026-11-27T12:46:34+01',
];
// Characters a mutation puts in: those the format is made of, and some it must refuse.
const ALPHABET = '0123456789-:.+TtZz \t\u00a0\u2028x/٣';

describe('the date-time format', () => {
  it('accepts and refuses what ajv-formats does, on chosen strings', () => {
    const cases = [
      ...SEEDS,
      '2025-02-29T00:00:00Z', // not a leap year
      '2000-02-29T00:00:00Z', // a leap year (divisible by 400)
      '1900-02-29T00:00:00Z', // not one (divisible by 100)
      '2026-04-31T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z',
      '2026-01-01T24:00:00Z',
      '2026-01-01T23:60:00Z',
      '2026-01-01T23:59:60Z', // a leap second must be 23:59:60 UTC: this one is
      '2026-01-01T22:59:60Z',
      '2026-01-01T00:59:60+01:00', // 23:59:60 UTC the day before
      '2026-01-01T23:59:61Z',
      '2026-01-01T00:00:00', // no time zone
      '2026-01-01T00:00:00.Z',
      '2026-01-01T00:00:00+24:00',
      '2026-01-01T00:00:00+01:60',
      '2026-01-01T00:00:00+01:',
      '2026-01-01T00:00:00+010',
      '2026-01-01T00:00:00ZZ',
      '2026-01-01T00:00:00Z ',
      ' 2026-01-01T00:00:00Z',
      '2026-01-01\u00a000:00:00Z',
      '2026-01-01\n00:00:00Z',
      '2026-01-01T00:00:00\u00a0Z',
      '2026-01-01TT00:00:00Z',
      '٢٠٢٦-01-01T00:00:00Z',
      '',
      'Z',
    ];
    for (const s of cases) assert.equal(isDateTime(s), reference(s), JSON.stringify(s));
  });

  it('agrees with ajv-formats on 200,000 mutated strings', () => {
    const seed = 20261127;
    const next = seededRandom(seed);
    let accepted = 0;
    for (let i = 0; i < 200_000; i++) {
      let s = SEEDS[Math.floor(next() * SEEDS.length)] as string;
      const edits = 1 + Math.floor(next() * 3);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * (s.length + 1));
        const c = ALPHABET[Math.floor(next() * ALPHABET.length)] as string;
        const kind = next();
        if (kind < 0.5)
          s = s.slice(0, at) + c + s.slice(at + 1); // replace
        else if (kind < 0.75)
          s = s.slice(0, at) + c + s.slice(at); // insert
        else s = s.slice(0, at) + s.slice(at + 1); // delete
      }
      const expected = reference(s);
      if (expected) accepted++;
      assert.equal(isDateTime(s), expected, `${JSON.stringify(s)} (seed ${seed}, case ${i})`);
    }
    // The mutations must reach both answers, or the comparison says little.
    assert.ok(accepted > 10_000 && accepted < 190_000, `accepted ${accepted}`);
  });
});

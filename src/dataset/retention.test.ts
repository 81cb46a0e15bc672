import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { isSlipwayError } from '../errors.js';
import { defineDataset } from './dataset.js';
import { formatRetention, parseRetention } from './retention.js';

const base = { name: 'orders', version: '1.0.0', key: 'id', schema: Type.Object({ id: Type.String() }) };

describe('dataset retention', () => {
  it('parses ms, text with units and forever', () => {
    assert.deepEqual(parseRetention(86_400_000), { ms: 86_400_000 });
    assert.deepEqual(parseRetention('7d'), { ms: 604_800_000 });
    assert.deepEqual(parseRetention('12h'), { ms: 43_200_000 });
    assert.deepEqual(parseRetention('1.5h'), { ms: 5_400_000 });
    assert.deepEqual(parseRetention('30m'), { ms: 1_800_000 });
    assert.deepEqual(parseRetention('2w'), { ms: 1_209_600_000 });
    assert.deepEqual(parseRetention('500ms'), { ms: 500 });
    assert.deepEqual(parseRetention('forever'), { ms: -1 });
    assert.deepEqual(parseRetention(-1), { ms: -1 });
  });

  it('formats retention back to short text', () => {
    assert.equal(formatRetention(604_800_000), '7d');
    assert.equal(formatRetention(43_200_000), '12h');
    assert.equal(formatRetention(1001), '1001ms');
    assert.equal(formatRetention(-1), 'forever');
    assert.equal(formatRetention(undefined), '(not declared)');
  });

  it('is on the dataset in ms, and absent when not declared', () => {
    assert.equal(defineDataset({ ...base, retention: '7d' }).retentionMs, 604_800_000);
    assert.equal(defineDataset(base).retentionMs, undefined);
  });

  for (const bad of ['7 days', '0d', '', '-3d', 0, 1.5, -2, null, true]) {
    it(`refuses retention ${JSON.stringify(bad)} with a clear error naming the field`, () => {
      assert.throws(
        () => defineDataset({ ...base, retention: bad as string }),
        (err: unknown) => {
          assert.ok(isSlipwayError(err));
          assert.equal(err.code, 'SLIPWAY_INVALID_DEFINITION');
          assert.equal((err.details as { field: string }).field, 'retention');
          assert.match(err.message, /Invalid dataset 'orders': retention .*'7d'.*'forever'/);
          return true;
        },
      );
    });
  }
});

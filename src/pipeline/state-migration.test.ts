import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { describePipeline } from '../artifact/manifest.js';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import { definePipeline } from './pipeline.js';

const counts = defineDataset({
  name: 'sm-counts',
  version: '1.0.0',
  key: 'k',
  schema: Type.Object({ k: Type.String() }),
});

const base = {
  name: 'sm-count',
  version: '2.0.0',
  inputs: [counts],
  outputs: [],
  process() {},
};

function invalidField(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(isSlipwayError(err, 'SLIPWAY_INVALID_DEFINITION'), String(err));
    return String(err.details?.field);
  }
  assert.fail('expected SLIPWAY_INVALID_DEFINITION');
}

describe('migrateState in definePipeline', () => {
  it('keeps a valid migration and describes it in the manifest (from, reversible)', () => {
    const up = (v: unknown) => ({ count: v, sum: 0 });
    const down = (v: unknown) => (v as { count: number }).count;
    const p = definePipeline({ ...base, stateVersion: 2, migrateState: { from: 1, up, down } });
    assert.equal(p.migrateState?.from, 1);
    assert.deepEqual(p.migrateState?.up(3, 'a'), { count: 3, sum: 0 });
    assert.deepEqual(describePipeline(p).stateMigration, { from: 1, reversible: true });
    const oneWay = definePipeline({ ...base, stateVersion: 2, migrateState: { from: 1, up } });
    assert.deepEqual(describePipeline(oneWay).stateMigration, { from: 1, reversible: false });
  });

  it('leaves the manifest as it was without one (so existing digests do not change)', () => {
    const p = definePipeline({ ...base, stateVersion: 2 });
    assert.equal('stateMigration' in describePipeline(p), false);
    assert.equal('migrateState' in p, false);
  });

  it('refuses a migration from the same version, a bad from, and missing or wrong functions, naming the field', () => {
    const up = (v: unknown) => v;
    const cases: Array<[unknown, string]> = [
      [{ from: 2, up }, 'migrateState.from'],
      [{ from: 0, up }, 'migrateState.from'],
      [{ from: 1.5, up }, 'migrateState.from'],
      [{ up }, 'migrateState.from'],
      [{ from: 1 }, 'migrateState.up'],
      [{ from: 1, up: 'x' }, 'migrateState.up'],
      [{ from: 1, up, down: 3 }, 'migrateState.down'],
      ['nope', 'migrateState'],
    ];
    for (const [migrateState, field] of cases) {
      const def = { ...base, stateVersion: 2, migrateState } as Parameters<typeof definePipeline>[0];
      assert.equal(
        invalidField(() => definePipeline(def)),
        field,
        JSON.stringify(migrateState),
      );
    }
  });
});

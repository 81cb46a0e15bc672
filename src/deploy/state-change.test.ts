import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineDescription } from '../artifact/manifest.js';
import { isSlipwayError } from '../errors.js';
import { plannedStateChange, reverseLayout } from './state-change.js';

const desc = (stateVersion: number, stateMigration?: { from: number; reversible: boolean }): PipelineDescription => ({
  name: 'p',
  version: `${stateVersion}.0.0`,
  inputs: [],
  outputs: [],
  configSchema: null,
  stateVersion,
  ...(stateMigration === undefined ? {} : { stateMigration }),
});

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    if (isSlipwayError(err)) return err.code;
    throw err;
  }
  return 'none';
};

describe('the state layout change of a deployment', () => {
  const blueGreen = { strategy: 'blue-green' as const };
  it('is none for the same layout or a first release', () => {
    assert.equal(plannedStateChange(undefined, desc(2, { from: 1, reversible: false }), blueGreen), undefined);
    assert.equal(plannedStateChange(desc(2), desc(2, { from: 1, reversible: false }), blueGreen), undefined);
  });

  it('is up when the new version migrates from the live layout, down when the live one goes back to it', () => {
    assert.deepEqual(plannedStateChange(desc(1), desc(2, { from: 1, reversible: true }), blueGreen), {
      from: 1,
      to: 2,
      direction: 'up',
      reversible: true,
    });
    assert.deepEqual(plannedStateChange(desc(2, { from: 1, reversible: true }), desc(1), blueGreen), {
      from: 2,
      to: 1,
      direction: 'down',
      reversible: true,
    });
    assert.equal(reverseLayout(desc(2, { from: 1, reversible: true }), desc(1)), 1);
    assert.equal(reverseLayout(desc(1), desc(2, { from: 1, reversible: true })), undefined);
  });

  it('refuses a change without a migration, one without down unless allowed, and a canary', () => {
    assert.equal(
      code(() => plannedStateChange(desc(1), desc(3), blueGreen)),
      'SLIPWAY_STATE_MIGRATION_MISSING',
    );
    assert.equal(
      code(() => plannedStateChange(desc(1), desc(3, { from: 2, reversible: true }), blueGreen)),
      'SLIPWAY_STATE_MIGRATION_MISSING',
    );
    // Back to a layout the live version cannot take its state back to (no down): said so, not "declare a migration".
    assert.throws(
      () => plannedStateChange(desc(2, { from: 1, reversible: false }), desc(1), blueGreen),
      (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_MISSING') &&
        /^p 1\.0\.0 goes back to state layout 1, but the live version 2\.0\.0 \(layout 2\) cannot take its state back: its migrateState has no down\./.test(
          err.message,
        ),
    );
    assert.throws(
      () => plannedStateChange(desc(3, { from: 2, reversible: true }), desc(1), blueGreen),
      (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_MISSING') &&
        /cannot take its state back: it declares no migration from layout 1\. Deploy a version with state layout 3 instead/.test(
          err.message,
        ),
    );
    const oneWay = desc(2, { from: 1, reversible: false });
    assert.equal(
      code(() => plannedStateChange(desc(1), oneWay, blueGreen)),
      'SLIPWAY_STATE_IRREVERSIBLE',
    );
    assert.equal(plannedStateChange(desc(1), oneWay, { ...blueGreen, irreversibleState: true })?.reversible, false);
    assert.equal(
      code(() => plannedStateChange(desc(1), desc(2, { from: 1, reversible: true }), { strategy: 'canary' })),
      'SLIPWAY_DEPLOY_REFUSED',
    );
  });
});

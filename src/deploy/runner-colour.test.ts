import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourOf } from './runner-colour.js';

describe('colourOf (a runner that is not live)', () => {
  it('names shadow runs and canaries by their role, whenever they started', () => {
    for (const role of ['shadow', 'sample-blue', 'sample-green']) assert.equal(colourOf(role, 10, 20), 'shadow');
    assert.equal(colourOf('canary', 30, 20), 'canary');
    assert.equal(colourOf('blue', 30, 20), 'blue', 'blue started again during a rollback');
  });

  it('while a deployment runs: started before it is the old side (blue), during it the new (green)', () => {
    assert.equal(colourOf('green', 10, 20), 'blue', "the last deployment's green, now kept warm");
    assert.equal(colourOf('live', 10, 20), 'blue');
    assert.equal(colourOf('green', 20, 20), 'green');
    assert.equal(colourOf('live', 25, 20), 'green', "a scale's new group");
  });

  it('with no deployment running, names a runner by its role', () => {
    assert.equal(colourOf('green', 10, undefined), 'green');
    assert.equal(colourOf('blue', 10, undefined), 'blue');
  });
});

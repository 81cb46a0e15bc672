import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import { definePipeline } from '../pipeline/pipeline.js';
import { createHarness } from './harness.js';
import { TEST_CLOCK_START, TestClock } from './test-clock.js';

const clicks = defineDataset({
  name: 'clicks',
  version: '1.0.0',
  key: 'user',
  partitions: 8,
  schema: Type.Object({ user: Type.String(), page: Type.String() }),
});
const sessions = defineDataset({
  name: 'sessions',
  version: '1.0.0',
  key: 'user',
  partitions: 8,
  schema: Type.Object({ user: Type.String(), session: Type.Integer(), page: Type.String(), at: Type.Integer() }),
});

/** Starts a new session after 30 minutes without a click: time comes from the record's timestamp. */
const sessionize = definePipeline({
  name: 'sessionize',
  version: '1.0.0',
  inputs: [clicks],
  outputs: [sessions],
  process(click, ctx) {
    const at = ctx.source.timestamp;
    const prev = ctx.state.get<{ session: number; last: number }>(click.user);
    const session = prev === undefined ? 1 : at - prev.last > 30 * 60_000 ? prev.session + 1 : prev.session;
    ctx.state.set(click.user, { session, last: at });
    ctx.emit(sessions, { user: click.user, session, page: click.page, at });
    if (click.page === 'twice') ctx.emit(sessions, { user: click.user, session, page: 'again', at });
  },
});

describe('createHarness', () => {
  it('stamps records with the test clock, so time-based logic is tested without waiting', async () => {
    const clock = new TestClock();
    const h = await createHarness(sessionize, { clock });
    await h.send(clicks, [{ user: 'u1', page: 'a' }]);
    clock.advance(10 * 60_000);
    await h.send(clicks, [{ user: 'u1', page: 'b' }]);
    clock.advance(31 * 60_000);
    await h.send(clicks, [{ user: 'u1', page: 'c' }]);
    assert.deepEqual(
      h.outputs(sessions).map((s) => [s.page, s.session, s.at - TEST_CLOCK_START]),
      [
        ['a', 1, 0],
        ['b', 1, 600_000],
        ['c', 2, 2_460_000],
      ],
    );
    assert.deepEqual(h.state('u1'), { session: 2, last: clock.now() });
    await h.close();
    await h.close();
    await assert.rejects(h.send(clicks, []), (err: unknown) => isSlipwayError(err, 'SLIPWAY_INVALID_STATE'));
  });

  it('returns outputs in the order of their inputs across partitions, with their sources', async () => {
    const h = await createHarness(sessionize, { batchSize: 3 });
    const users = Array.from({ length: 40 }, (_, i) => ({ user: `u${i}`, page: i === 5 ? 'twice' : `p${i}` }));
    const { outputs } = await h.send(clicks, users);
    const expected = users.flatMap((u) => (u.page === 'twice' ? ['u5', 'u5'] : [u.user]));
    assert.deepEqual(
      outputs.map((o) => (o.value as { user: string }).user),
      expected,
    );
    assert.deepEqual(
      h.outputs<{ user: string }>('sessions').map((s) => s.user),
      expected,
    );
    const twice = h.outputRecords(sessions).filter((r) => r.key === 'u5');
    assert.match(twice[0]?.source ?? '', /^clicks\.v1\/\d\/0$/);
    assert.equal(twice[1]?.source, `${twice[0]?.source}#1`);
    assert.equal(h.stateEntries().length, 40);
    await h.close();
  });

  it('names the datasets it knows when asked for another', async () => {
    const h = await createHarness(sessionize);
    assert.throws(
      () => h.outputs('clicks'),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE') && /outputs: sessions\.v1/.test(err.message),
    );
    await h.close();
  });
});

describe('TestClock', () => {
  it('moves only forward, and only when told', () => {
    const clock = new TestClock(1000);
    assert.equal(clock.now(), 1000);
    assert.equal(clock.advance(500), 1500);
    assert.equal(clock.set(new Date(2000)), 2000);
    assert.throws(
      () => clock.set(1999),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
    assert.throws(
      () => clock.advance(-1),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
  });
});

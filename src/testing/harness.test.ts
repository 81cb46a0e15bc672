import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { partitionFor } from '../log/partitioner.js';
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

const totals = defineDataset({
  name: 'totals',
  version: '1.0.0',
  key: 'user',
  partitions: 8,
  schema: Type.Object({ user: Type.String(), clicks: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
});

/**
 * Two outputs, and every way a record can fail after touching state: `fail` throws a SlipwayError after
 * a state write and an emit; `bad-output` emits a value its dataset refuses after a state write.
 */
const countClicks = definePipeline({
  name: 'count-clicks',
  version: '1.0.0',
  inputs: [clicks],
  outputs: [sessions, totals],
  process(click, ctx) {
    const n = (ctx.state.get<number>(click.user) ?? 0) + 1;
    ctx.state.set(click.user, n);
    ctx.emit(totals, { user: click.user, clicks: n });
    if (click.page === 'fail') throw new SlipwayError('SLIPWAY_USAGE', `no page 'fail' for ${click.user}`);
    if (click.page === 'bad-output') ctx.emit(totals, { user: click.user, clicks: 0 });
    ctx.emit(sessions, { user: click.user, session: n, page: click.page, at: ctx.source.offset });
  },
});

describe('createHarness: the runner core, in process', () => {
  it('undoes the state writes and outputs of a failing record, as the runner does, and says why in the DLQ', async () => {
    const h = await createHarness(countClicks);
    const { outputs, dlq } = await h.send(clicks, [
      { user: 'u1', page: 'a' },
      { user: 'u1', page: 'fail' },
      { user: 'u1', page: 'bad-output' },
      { user: 'u1', page: 'b' },
    ]);
    assert.deepEqual(
      outputs.map((o) => [o.topic, o.value]),
      [
        ['totals.v1', { user: 'u1', clicks: 1 }],
        ['sessions.v1', { user: 'u1', session: 1, page: 'a', at: 0 }],
        ['totals.v1', { user: 'u1', clicks: 2 }],
        ['sessions.v1', { user: 'u1', session: 2, page: 'b', at: 3 }],
      ],
    );
    assert.deepEqual(h.state('u1'), 2);
    const p = partitionFor('u1', clicks.partitions);
    assert.deepEqual(
      dlq.map((e) => [e.reason, e.code, e.source, e.key, e.value]),
      [
        ['process-error', 'SLIPWAY_USAGE', `clicks.v1/${p}/1`, 'u1', { user: 'u1', page: 'fail' }],
        ['output-schema', undefined, `clicks.v1/${p}/2`, 'u1', { user: 'u1', page: 'bad-output' }],
      ],
    );
    assert.match(dlq[0]?.message ?? '', /no page 'fail' for u1/);
    assert.match(dlq[1]?.message ?? '', /output to totals\.v1 .*clicks/);
    assert.deepEqual(h.dlq(), dlq);
    assert.deepEqual(
      h.outputRecords(totals).map((r) => [r.source, r.key]),
      [
        [`clicks.v1/${p}/0`, 'u1'],
        [`clicks.v1/${p}/3`, 'u1'],
      ],
    );
    assert.equal(h.outputRecords(sessions)[1]?.source, `clicks.v1/${p}/3#1`);
    assert.equal(h.runner.state, 'standby');
    await h.close();
    assert.equal(h.runner.state, 'stopped');
  });

  it('gives the same outputs, state and DLQ whatever the batch size, and processes concurrent sends whole, in call order', async () => {
    const users = Array.from({ length: 300 }, (_, i) => ({
      user: `u${i % 37}`,
      page: i % 11 === 0 ? 'fail' : i % 13 === 0 ? 'bad-output' : `p${i}`,
    }));
    const seen = async (batchSize?: number) => {
      const h = await createHarness(countClicks, batchSize === undefined ? {} : { batchSize });
      const [first, second] = await Promise.all([
        h.send(clicks, users.slice(0, 150)),
        h.send(clicks, users.slice(150)),
      ]);
      const result = {
        first: first?.outputs.map((o) => [o.topic, o.source, o.value]),
        second: second?.outputs.map((o) => [o.topic, o.source, o.value]),
        dlq: h.dlq().map((e) => [e.reason, e.source]),
        state: h.stateEntries(),
      };
      await h.close();
      return result;
    };
    const whole = await seen();
    assert.equal(whole.dlq.length, users.filter((u) => u.page === 'fail' || u.page === 'bad-output').length);
    assert.deepEqual(await seen(1), whole);
    assert.deepEqual(await seen(7), whole);
  });

  it('dead-letters raw text that is not JSON, and refuses a value that cannot be written, sending nothing', async () => {
    const h = await createHarness(countClicks);
    const { dlq } = await h.sendRaw(clicks, [{ key: 'u1', value: '{"user": ' }]);
    assert.deepEqual(
      dlq.map((e) => [e.reason, e.value]),
      [['invalid-json', '{"user": ']],
    );
    await assert.rejects(h.send(clicks, [{ user: 'u1', page: 'a' }, undefined]), (err: unknown) =>
      isSlipwayError(err, 'SLIPWAY_VALIDATION'),
    );
    const { outputs } = await h.send(clicks, [{ user: 'u1', page: 'a' }]);
    // Offset 1: the refused send wrote nothing.
    assert.equal(outputs[0]?.source, `clicks.v1/${partitionFor('u1', 8)}/1`);
    assert.deepEqual(h.state('u1'), 1);
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

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkExactlyOnce, isSlipwayError, type Log, Runner, SOURCE_HEADER } from 'slipway';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { enrichOrdersV2 } from '../../examples/orders/versions/v2.js';
import { enrichOrdersBroken } from '../../examples/orders/versions/v3-broken.js';
import { produceOrders, readAll, tempLog } from '../../test/helpers/orders.js';
import {
  groupDeadLetters,
  parseSourceRange,
  planReplayOf,
  readDeadLetters,
  readReplayMarkers,
  replayMarkerTopic,
} from './dead-letters.js';

const DLQ = `${orders.topic}.dlq`;
const CHECK = { input: orders.topic, outputs: [enrichedOrders.topic], dlq: DLQ };
const sum = (offsets: Array<{ offset: number }>): number => offsets.reduce((n, o) => n + o.offset, 0);

/** Runs a version over everything in the input, then stops it (its dead letters stamped with `deployment`). */
async function runOver(log: Log, pipeline: typeof enrichOrders, deployment: string, artifact: string): Promise<void> {
  const runner = new Runner({ pipeline, log, provenance: { artifact, deployment } });
  await runner.start();
  await runner.activate();
  await runner.drain();
  await runner.stop();
}

/** The live version, caught up and paused: what a replay runs through. */
async function pausedLive(log: Log): Promise<Runner> {
  const live = new Runner({
    pipeline: enrichOrdersV2,
    log,
    provenance: { artifact: 'sha256:v2', deployment: 'dep-2' },
  });
  await live.start();
  await live.activate();
  await live.drain();
  return live;
}

describe('replaying dead letters through the live version', () => {
  it("processes a rolled-back version's dead letters exactly once by source: original sources, state in their partitions, no offsets", async () => {
    const t = await tempLog();
    try {
      // items = 1 + i % 5: the broken version throws on items 3, one order in five.
      await produceOrders(t.log, 0, 300, 10);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      const live = await pausedLive(t.log);
      const before = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual([before.lost, before.duplicated, before.deadLettered, before.replayed], [0, 0, 60, 0]);
      const at = sum(await t.log.committedOffsets(live.group));

      const result = await live.replayDeadLetters({ replay: 'dep-r', selection: { deployment: 'dep-3' } });
      assert.deepEqual(
        [result.selected, result.replayed, result.failedAgain, result.outputs, result.commits],
        [60, 60, 0, 60, 1],
      );
      assert.equal(sum(await t.log.committedOffsets(live.group)), at, 'a replay commits no input offsets');
      const report = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual(
        [report.inputs, report.lost, report.duplicated, report.deadLettered, report.replayed],
        [300, 0, 0, 60, 60],
        JSON.stringify(report.examples),
      );
      // Every dead-lettered source has its output now, under its own source; each customer's running total counts
      // all 30 of its orders: the replayed ones went through the state of the partition they came from.
      const out = await readAll(t.log, enrichedOrders.topic);
      const dead = new Set((await readDeadLetters(t.log, DLQ)).map((l) => l.source));
      assert.equal(out.filter((r) => dead.has(r.headers[SOURCE_HEADER] as string)).length, 60);
      const orderCount = new Map<string, number>();
      for (const r of out) {
        const v = JSON.parse(r.value) as { customerId: string; customerOrders: number };
        orderCount.set(v.customerId, Math.max(orderCount.get(v.customerId) ?? 0, v.customerOrders));
      }
      assert.deepEqual([...new Set(orderCount.values())], [30]);
      const markers = await readReplayMarkers(t.log, DLQ);
      assert.equal(markers.size, 60);
      assert.ok([...markers.values()].every((m) => m.length === 1 && m[0]?.outcome === 'replayed'));

      const twice = await live.replayDeadLetters({ replay: 'dep-r2', selection: { deployment: 'dep-3' } });
      assert.deepEqual([twice.selected, twice.alreadyReplayed, twice.replayed, twice.commits], [60, 60, 0, 0]);

      // The live version goes on from where it paused: nothing read twice, nothing skipped.
      await produceOrders(t.log, 300, 100, 10);
      await live.activate();
      await live.drain();
      await live.stop();
      const after = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual([after.inputs, after.lost, after.duplicated, after.replayed], [400, 0, 0, 60]);
    } finally {
      await t.cleanup();
    }
  });

  it('a record that fails again gets a new dead letter, marked with the replay, and is not retried unless asked', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 50, 5);
      await t.log.append(orders.topic, [
        { partition: 1, key: 'x', value: '{not json' },
        { partition: 2, key: 'y', value: '{"orderId":"o-1"}' },
      ]);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      const live = await pausedLive(t.log);
      const first = await live.replayDeadLetters({ replay: 'dep-r', selection: {} });
      // v2 prices the broken version's 10, but the bad JSON and the order without fields fail again.
      assert.deepEqual([first.selected, first.replayed, first.failedAgain], [12, 10, 2]);
      const again = (await readDeadLetters(t.log, DLQ)).filter((l) => l.replay === 'dep-r');
      assert.deepEqual(again.map((l) => l.reason).sort(), ['input-schema', 'invalid-json']);
      assert.ok(again.every((l) => l.deployment === 'dep-r' && l.version === '1.1.0' && l.value !== null));
      const second = await live.replayDeadLetters({ replay: 'dep-r2', selection: {} });
      assert.deepEqual(
        [second.alreadyReplayed, second.skippedFailed, second.replayed, second.failedAgain],
        [10, 2, 0, 0],
      );
      const retried = await live.replayDeadLetters({ replay: 'dep-r3', selection: {}, retryFailed: true });
      assert.deepEqual([retried.alreadyReplayed, retried.failedAgain], [10, 2]);
      const report = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual(
        [report.lost, report.duplicated, report.deadLettered, report.replayed, report.failedAgain],
        [0, 0, 12, 10, 2],
        JSON.stringify(report.examples),
      );
      await live.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('selects by deployment, artifact, version, reason and source range; groups by reason and version', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 100, 10);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      await t.log.append(orders.topic, [{ partition: 0, key: 'x', value: 'nope' }]);
      await runOver(t.log, enrichOrders, 'dep-1', 'sha256:v1');
      const plan = (selection: Parameters<typeof planReplayOf>[2]) => planReplayOf(t.log, [DLQ], selection);
      assert.equal((await plan({})).toReplay.length, 21);
      assert.equal((await plan({ deployment: 'dep-3' })).toReplay.length, 20);
      assert.equal((await plan({ artifact: 'sha256:v1' })).toReplay.length, 1);
      assert.equal((await plan({ version: '1.0.0' })).toReplay.length, 1);
      assert.equal((await plan({ reason: 'invalid-json' })).toReplay.length, 1);
      assert.equal((await plan({ reason: 'process-error', version: '1.0.0' })).toReplay.length, 0);
      const all = (await plan({ deployment: 'dep-3' })).toReplay;
      const busiest = [0, 1, 2, 3].sort(
        (a, b) => all.filter((l) => l.input.partition === b).length - all.filter((l) => l.input.partition === a).length,
      )[0] as number;
      const p0 = all.filter((l) => l.input.partition === busiest);
      assert.ok(p0.length >= 3);
      const range = { topic: orders.topic, partition: busiest, from: p0[1]?.input.offset, to: p0[2]?.input.offset };
      const ranged = await plan({ source: range });
      assert.deepEqual(
        ranged.toReplay.map((l) => l.source),
        p0.slice(1, 3).map((l) => l.source),
      );

      const live = await pausedLive(t.log);
      const result = await live.replayDeadLetters({ replay: 'dep-r', selection: { source: range } });
      assert.deepEqual([result.selected, result.replayed], [2, 2]);
      const groups = groupDeadLetters(await readDeadLetters(t.log, DLQ), await readReplayMarkers(t.log, DLQ));
      assert.deepEqual(
        groups.map((g) => [g.reason, g.version, g.deployment, g.count, g.replayed]),
        [
          ['process-error', '1.2.0', 'dep-3', 20, 2],
          ['invalid-json', '1.0.0', 'dep-1', 1, 0],
        ],
      );
      assert.match(groups[0]?.example ?? '', /cannot price an order with 3 items/);
      await live.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('a replay whose commit is refused (the owner fenced) leaves nothing: no outputs, no markers, no state', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 100, 10);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      const live = await pausedLive(t.log);
      await t.log.fence(live.owner);
      await assert.rejects(live.replayDeadLetters({ replay: 'dep-r', selection: {} }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_FENCED'),
      );
      assert.equal((await readAll(t.log, replayMarkerTopic(DLQ))).length, 0);
      const report = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual([report.lost, report.duplicated, report.deadLettered, report.replayed], [0, 0, 20, 0]);
      await live.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('refuses a replay on a shadow runner, and every other command while a replay runs', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 100, 10);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      const invalid = (pattern: RegExp) => (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_INVALID_STATE') && pattern.test(err.message);
      const shadow = new Runner({ pipeline: enrichOrdersV2, log: t.log, mode: 'shadow', shadowId: 'dep-s' });
      await shadow.start();
      await assert.rejects(
        shadow.replayDeadLetters({ replay: 'dep-r', selection: {} }),
        invalid(/shadow runner .* cannot replay dead letters/),
      );
      await shadow.stop();
      const live = new Runner({ pipeline: enrichOrdersV2, log: t.log });
      await live.start();
      // In standby: the replay fences first, and the runner takes no other command until it has ended.
      const replay = live.replayDeadLetters({ replay: 'dep-r', selection: { deployment: 'dep-3' } });
      await assert.rejects(live.activate(), invalid(/Cannot activate .* while it replays dead letters/));
      await assert.rejects(live.migrateState(1), invalid(/while it replays dead letters/));
      assert.equal((await replay).replayed, 20);
      await live.activate();
      await live.drain();
      const report = await checkExactlyOnce(t.log, CHECK);
      assert.deepEqual([report.lost, report.duplicated, report.deadLettered, report.replayed], [0, 0, 20, 20]);
      await live.stop();
    } finally {
      await t.cleanup();
    }
  });

  it('the exactly-once check catches a replay applied twice, an output twice, and a dead letter beside outputs', async () => {
    const t = await tempLog();
    try {
      await produceOrders(t.log, 0, 100, 10);
      await runOver(t.log, enrichOrdersBroken as typeof enrichOrders, 'dep-3', 'sha256:v3');
      const live = await pausedLive(t.log);
      await live.replayDeadLetters({ replay: 'dep-r', selection: {} });
      await live.stop();
      assert.equal((await checkExactlyOnce(t.log, CHECK)).duplicated, 0);
      const [marker] = await readAll(t.log, replayMarkerTopic(DLQ));
      assert.ok(marker !== undefined);
      await t.log.append(replayMarkerTopic(DLQ), [{ ...marker, headers: marker.headers }]);
      const twice = await checkExactlyOnce(t.log, CHECK);
      assert.equal(twice.duplicated, 1);
      assert.deepEqual(twice.examples.duplicated, [marker.key]);

      const out = (await readAll(t.log, enrichedOrders.topic)).find((r) => r.headers[SOURCE_HEADER] === marker.key);
      assert.ok(out !== undefined);
      await t.log.append(enrichedOrders.topic, [out]);
      assert.equal((await checkExactlyOnce(t.log, CHECK)).duplicated, 2);
      // A dead letter for a source that has its output and no replay: written twice.
      const plain = (await readAll(t.log, enrichedOrders.topic)).find((r) => !r.headers[SOURCE_HEADER]?.endsWith('#1'));
      assert.ok(plain !== undefined);
      await t.log.append(DLQ, [{ partition: plain.partition, key: plain.key, value: '{}', headers: plain.headers }]);
      assert.equal((await checkExactlyOnce(t.log, CHECK)).duplicated, 3);
    } finally {
      await t.cleanup();
    }
  });

  it('parses source ranges, and refuses what is not one with a message that shows the form', () => {
    assert.deepEqual(parseSourceRange('orders.v1/2/100-200'), { topic: 'orders.v1', partition: 2, from: 100, to: 200 });
    assert.deepEqual(parseSourceRange('orders.v1/2/7'), { topic: 'orders.v1', partition: 2, from: 7, to: 7 });
    assert.deepEqual(parseSourceRange('orders.v1/2/100-'), { topic: 'orders.v1', partition: 2, from: 100 });
    assert.deepEqual(parseSourceRange('orders.v1/2'), { topic: 'orders.v1', partition: 2 });
    for (const bad of ['orders.v1', 'orders.v1/x', 'orders.v1/1/5-2', 'orders.v1/1/a-b', '/1/2', 'a/1/2/3']) {
      assert.throws(
        () => parseSourceRange(bad),
        (err: unknown) => isSlipwayError(err, 'SLIPWAY_USAGE') && /<topic>\/<partition>/.test(err.message),
        bad,
      );
    }
  });
});

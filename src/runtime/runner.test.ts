import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import {
  defineDataset,
  definePipeline,
  isSlipwayError,
  keyBucket,
  partitionFor,
  Runner,
  SOURCE_HEADER,
  serveMetrics,
  shadowTopics,
} from 'slipway';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { makeOrder, produceOrders, readAll, type TempLog, tempLog } from '../../test/helpers/orders.js';

async function waitForState(runner: Runner, state: string): Promise<void> {
  while (runner.state !== state) await new Promise<void>((resolve) => runner.once('state', () => resolve()));
}

describe('Runner', () => {
  let t: TempLog;
  before(async () => {
    t = await tempLog();
  });
  after(async () => t.cleanup());

  it('processes every input once, with source headers, keyed state and committed offsets', async () => {
    const { log } = await tempLog().then((x) => {
      t = x;
      return x;
    });
    await produceOrders(log, 0, 1000, 10);
    const runner = new Runner({ pipeline: enrichOrders, log, batchSize: 128 });
    await runner.start();
    assert.equal(runner.state, 'standby');
    await runner.activate();
    const offsets = await runner.drain();
    assert.equal(runner.state, 'paused');
    assert.equal(
      offsets.reduce((n, o) => n + o.offset, 0),
      1000,
    );
    const out = await readAll(log, enrichedOrders.topic);
    assert.equal(out.length, 1000);
    const sources = new Set(out.map((r) => r.headers[SOURCE_HEADER]));
    assert.equal(sources.size, 1000);
    const inputs = await readAll(log, orders.topic);
    for (const r of inputs) assert.ok(sources.has(`${r.topic}/${r.partition}/${r.offset}`));
    // running totals: the last output for c3 counts all of c3's orders
    const c3 = out.filter((r) => r.key === 'c3').map((r) => JSON.parse(r.value));
    assert.equal(Math.max(...c3.map((v) => v.customerOrders)), 100);
    for (const r of out) assert.equal(r.partition, partitionFor(String(r.key), enrichedOrders.partitions));
    const committed = await log.committedOffsets(runner.group);
    assert.deepEqual(
      committed.map((o) => o.offset).reduce((a, b) => a + b, 0),
      1000,
    );
    const p = partitionFor('c3', orders.partitions);
    assert.equal((runner.stateSnapshot(p).c3 as { orders: number }).orders, 100);
    assert.deepEqual(
      (await log.readState(runner.stateNamespace, p)).find(([k]) => k === 'c3')?.[1],
      JSON.stringify(runner.stateSnapshot(p).c3),
    );
    await runner.stop();
    assert.equal(runner.state, 'stopped');
  });

  it('sends poison records to <input>.dlq with their reason and keeps going', async () => {
    const x = await tempLog();
    const log = x.log;
    await log.createTopic(orders.topic, { partitions: orders.partitions });
    const good = makeOrder(1);
    const fraud = { ...makeOrder(2), amount: 5_000_000 };
    const badSchema = { ...makeOrder(3), amount: 'lots' };
    const p = (v: { customerId: string }) => partitionFor(String(v.customerId), orders.partitions);
    await log.append(orders.topic, [
      { partition: p(good), key: String(good.customerId), value: JSON.stringify(good) },
      { partition: 0, key: 'x', value: '{not json' },
      { partition: p(fraud), key: String(fraud.customerId), value: JSON.stringify(fraud) },
      { partition: p(badSchema), key: String(badSchema.customerId), value: JSON.stringify(badSchema) },
      { partition: p(good), key: String(good.customerId), value: JSON.stringify({ ...good, orderId: 'o-after' }) },
    ]);
    const runner = new Runner({ pipeline: enrichOrders, log });
    await runner.start();
    await runner.activate();
    await runner.drain();
    const out = await readAll(log, enrichedOrders.topic);
    assert.deepEqual(out.map((r) => JSON.parse(r.value).orderId).sort(), ['o-1', 'o-after']);
    const dlq = (await readAll(log, `${orders.topic}.dlq`)).map((r) => JSON.parse(r.value));
    assert.deepEqual(dlq.map((d) => d.reason).sort(), ['input-schema', 'invalid-json', 'process-error']);
    const thrown = dlq.find((d) => d.reason === 'process-error');
    assert.match(thrown.message, /fraud limit/);
    assert.equal(JSON.parse(thrown.value).orderId, 'o-2');
    assert.match(thrown.source, /^orders\.v1\/\d+\/\d+$/);
    assert.match(dlq.find((d) => d.reason === 'input-schema').message, /\/amount must be number/);
    // the throwing record left no state behind: c2 has no orders counted
    assert.equal(runner.stateSnapshot(p(fraud)).c2, undefined);
    const metrics = await runner.metrics.registry.getSingleMetricAsString('slipway_dlq_total');
    assert.match(metrics, /reason="process-error"[^\n]* 1/);
    await runner.stop();
    await x.cleanup();
  });

  it('a shadow run writes its dead letters under its shadow name, never into the live DLQ (issue 10, item 4)', async () => {
    const x = await tempLog();
    const log = x.log;
    await produceOrders(log, 0, 40, 10);
    const fraud = { ...makeOrder(40, 10), amount: 5_000_000 };
    await log.append(orders.topic, [
      { partition: 0, key: 'x', value: '{not json' },
      {
        partition: partitionFor(fraud.customerId, orders.partitions),
        key: fraud.customerId,
        value: JSON.stringify(fraud),
      },
    ]);
    // Blue, live, has dead-lettered the two poison records already.
    const blue = new Runner({ pipeline: enrichOrders, log });
    await blue.start();
    await blue.activate();
    await blue.drain();
    await blue.stop();
    const liveDlq = `${orders.topic}.dlq`;
    assert.equal((await readAll(log, liveDlq)).length, 2);
    // Green's shadow run over the same range, from the start.
    const shadow = new Runner({ pipeline: enrichOrders, log, mode: 'shadow', shadowId: 'dep-7-1' });
    await shadow.start();
    const shadowDlq = 'orders.v1.dlq.shadow.dep-7-1';
    assert.ok(await log.describeTopic(shadowDlq), 'the shadow DLQ is created at start, like its outputs');
    await shadow.activate({ offsets: [] });
    await shadow.drain();
    assert.equal((await readAll(log, liveDlq)).length, 2, 'the shadow wrote nothing into the live DLQ');
    const own = (await readAll(log, shadowDlq)).map((r) => JSON.parse(r.value));
    assert.deepEqual(own.map((d) => d.reason).sort(), ['invalid-json', 'process-error']);
    assert.equal((await readAll(log, 'enriched-orders.v1.shadow.dep-7-1')).length, 40);
    // One naming rule, exported for the controller to delete a shadow's topics when it ends.
    assert.deepEqual(shadowTopics(enrichOrders, 'dep-7-1'), ['enriched-orders.v1.shadow.dep-7-1', shadowDlq]);
    assert.throws(
      () => new Runner({ pipeline: enrichOrders, log, mode: 'shadow', shadowId: 'dep/7' }),
      (err) => isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
    await shadow.stop();
    await x.cleanup();
  });

  it('stamps every dead letter with the pipeline version, and the artifact and deployment when told them', async () => {
    const x = await tempLog();
    const log = x.log;
    await log.createTopic(orders.topic, { partitions: orders.partitions });
    await log.append(orders.topic, [
      { partition: 0, key: 'x', value: '{not json' },
      { partition: 1, key: 'y', value: '{"orderId":"o-1"}' },
    ]);
    const told = new Runner({
      pipeline: enrichOrders,
      log,
      provenance: { artifact: 'sha256:10170ab1', deployment: 'dep-12' },
    });
    await told.start();
    await told.activate();
    await told.drain();
    await told.stop();
    const dlq = await readAll(log, `${orders.topic}.dlq`);
    assert.equal(dlq.length, 2);
    for (const r of dlq) {
      assert.equal(r.headers['slipway-version'], '1.0.0');
      assert.equal(r.headers['slipway-artifact'], 'sha256:10170ab1');
      assert.equal(r.headers['slipway-deployment'], 'dep-12');
      assert.ok(r.headers['slipway-dlq-reason']);
      assert.match(r.headers[SOURCE_HEADER] ?? '', /^orders\.v1\/\d\/0$/);
    }
    // Without provenance: the version alone.
    await log.append(orders.topic, [{ partition: 2, key: 'z', value: '[]' }]);
    const bare = new Runner({ pipeline: enrichOrders, log });
    await bare.start();
    await bare.activate();
    await bare.drain();
    await bare.stop();
    const last = (await readAll(log, `${orders.topic}.dlq`)).find((r) => r.key === 'z');
    assert.equal(last?.headers['slipway-version'], '1.0.0');
    assert.equal(last?.headers['slipway-artifact'], undefined);
    assert.equal(last?.headers['slipway-deployment'], undefined);
    await x.cleanup();
  });

  it('sends a record whose output breaks the output schema to the DLQ, discarding its other emits', async () => {
    const x = await tempLog();
    const input = defineDataset({
      name: 'numbers',
      version: '1.0.0',
      key: 'n',
      partitions: 1,
      schema: Type.Object({ n: Type.Integer() }),
    });
    const output = defineDataset({
      name: 'halves',
      version: '2.1.0',
      key: 'n',
      partitions: 1,
      schema: Type.Object({ n: Type.Integer() }),
    });
    const pipeline = definePipeline({
      name: 'halve',
      version: '1.0.0',
      inputs: [input],
      outputs: [output],
      process(r, ctx) {
        ctx.state.set('seen', (ctx.state.get<number>('seen') ?? 0) + 1);
        ctx.emit(output, { n: r.n });
        ctx.emit(output, { n: r.n / 2 });
      },
    });
    assert.equal(output.topic, 'halves.v2');
    await x.log.createTopic(input.topic, { partitions: 1 });
    await x.log.append(
      input.topic,
      [1, 2, 3, 4].map((n) => ({ partition: 0, key: String(n), value: JSON.stringify({ n }) })),
    );
    const runner = new Runner({ pipeline, log: x.log });
    await runner.start();
    await runner.activate();
    await runner.drain();
    const out = await readAll(x.log, output.topic);
    assert.deepEqual(
      out.map((r) => [JSON.parse(r.value).n, r.headers[SOURCE_HEADER]]),
      [
        [2, 'numbers.v1/0/1'],
        [1, 'numbers.v1/0/1#1'],
        [4, 'numbers.v1/0/3'],
        [2, 'numbers.v1/0/3#1'],
      ],
    );
    const dlq = (await readAll(x.log, 'numbers.v1.dlq')).map((r) => JSON.parse(r.value));
    assert.deepEqual(
      dlq.map((d) => d.reason),
      ['output-schema', 'output-schema'],
    );
    assert.equal(runner.stateSnapshot(0).seen, 2, 'state writes of the failed records were undone');
    await runner.stop();
    await x.cleanup();
  });

  it('pauses at committed offsets, resumes from them, and runs exactly to a barrier', async () => {
    const x = await tempLog();
    await produceOrders(x.log, 0, 400, 50);
    const runner = new Runner({ pipeline: enrichOrders, log: x.log, batchSize: 10 });
    await runner.start();
    const barrier = [];
    for (let p = 0; p < orders.partitions; p++) barrier.push({ topic: orders.topic, partition: p, offset: 20 + p });
    const reached = await runner.runUntil(barrier);
    assert.deepEqual(reached, barrier);
    assert.equal(runner.state, 'paused');
    assert.equal((await readAll(x.log, enrichedOrders.topic)).length, 20 * 4 + 6);
    assert.deepEqual(await runner.pause(), barrier);
    await assert.rejects(runner.runUntil([{ topic: orders.topic, partition: 0, offset: 5 }]), (err) =>
      isSlipwayError(err, 'SLIPWAY_INVALID_STATE'),
    );
    await runner.activate();
    await runner.drain();
    const out = await readAll(x.log, enrichedOrders.topic);
    assert.equal(out.length, 400);
    assert.equal(new Set(out.map((r) => r.headers[SOURCE_HEADER])).size, 400);
    await runner.stop();
    await x.cleanup();
  });

  it('paused while a commit is in flight, hands on the batch processed after it: offsets and state as committed, nothing lost or twice', async () => {
    const x = await tempLog();
    await produceOrders(x.log, 0, 2000, 20);
    const runner = new Runner({ pipeline: enrichOrders, log: x.log, batchSize: 10 });
    await runner.start();
    for (let round = 0; round < 5; round++) {
      await runner.activate();
      // Asked as a commit ends: the loop has the next batch processed and waits on this commit.
      const paused = await new Promise<Promise<unknown>>((resolve) => {
        let commits = 0;
        const onCommit = () => {
          if (++commits < 3) return;
          runner.off('commit', onCommit);
          resolve(runner.pause());
        };
        runner.on('commit', onCommit);
      });
      const offsets = await paused;
      assert.equal(runner.state, 'paused');
      const committed = await x.log.committedOffsets(runner.group);
      const key = (o: { topic: string; partition: number }) => `${o.topic}/${o.partition}`;
      const committedAt = new Map(committed.map((o) => [key(o), o.offset]));
      for (const o of offsets as Array<{ topic: string; partition: number; offset: number }>)
        assert.equal(o.offset, committedAt.get(key(o)) ?? 0, `round ${round}: ${key(o)}`);
      for (let p = 0; p < orders.partitions; p++) {
        const stored = Object.fromEntries(
          (await x.log.readState(runner.stateNamespace, p)).map(([k, v]) => [k, JSON.parse(v)]),
        );
        assert.deepEqual(runner.stateSnapshot(p), stored, `round ${round}: state of partition ${p}`);
      }
    }
    await runner.activate();
    await runner.drain();
    const out = await readAll(x.log, enrichedOrders.topic);
    assert.equal(out.length, 2000);
    assert.equal(new Set(out.map((r) => r.headers[SOURCE_HEADER])).size, 2000);
    await runner.stop();
    await x.cleanup();
  });

  it('gathers the batches read while a commit is in flight into one commit; paused while gathering, hands the group on', async () => {
    const x = await tempLog();
    // Far more input than the test gets through before it pauses: there is always a next batch to read.
    await produceOrders(x.log, 0, 2000, 10);
    // The real log, its commits held at a gate the test opens: a commit slower than processing, on cue.
    let gate: Promise<void> | undefined;
    let open = () => {};
    let reads = 0;
    let heldCommits = 0;
    let readsAtHeld = 0;
    const readWaiters: Array<[number, () => void]> = [];
    const hold = () => {
      gate = new Promise<void>((resolve) => {
        open = () => {
          gate = undefined;
          resolve();
        };
      });
    };
    const readsReach = (n: number) =>
      new Promise<void>((resolve) => (reads >= n ? resolve() : readWaiters.push([n, resolve])));
    const log = new Proxy(x.log, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        if (name === 'commit') {
          return async (...args: unknown[]) => {
            const held = gate;
            if (held !== undefined) {
              heldCommits++;
              readsAtHeld = reads;
            }
            const result = await value.apply(target, args);
            if (held !== undefined) await held;
            return result;
          };
        }
        if (name === 'read') {
          return async (...args: unknown[]) => {
            const result = await value.apply(target, args);
            reads++;
            for (const [n, resolve] of readWaiters) if (reads >= n) resolve();
            // Let the loop process what it read before a waiter acts on it.
            await new Promise((resolve) => setImmediate(resolve));
            return result;
          };
        }
        return value.bind(target);
      },
    }) as typeof x.log;
    const runner = new Runner({ pipeline: enrichOrders, log, batchSize: 10 });
    const commits: number[] = [];
    runner.on('commit', (e: { inputs: number }) => commits.push(e.inputs));
    await runner.start();
    hold();
    await runner.activate();
    // The first batch's commit is held; the loop reads on: four batches (GROUP_MAX_BATCHES) gather, then it waits.
    while (heldCommits < 1) await new Promise((resolve) => setTimeout(resolve, 1));
    await readsReach(readsAtHeld + 4);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const readsWhileHeld = reads;
    open();
    while (commits.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(commits.slice(0, 2), [10, 40], 'one batch, then the four gathered while it committed');
    assert.equal(readsWhileHeld, readsAtHeld + 4, 'nothing more read once the group is full');

    // Paused while a group gathers: the commit in flight ends the pause, the group is handed on.
    hold();
    while (heldCommits < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    await readsReach(readsAtHeld + 2);
    const paused = runner.pause();
    open();
    const offsets = await paused;
    assert.equal(runner.state, 'paused');
    const committed = await x.log.committedOffsets(runner.group);
    const key = (o: { topic: string; partition: number }) => `${o.topic}/${o.partition}`;
    const committedAt = new Map(committed.map((o) => [key(o), o.offset]));
    for (const o of offsets) assert.equal(o.offset, committedAt.get(key(o)) ?? 0, key(o));
    for (let p = 0; p < orders.partitions; p++) {
      const stored = Object.fromEntries(
        (await x.log.readState(runner.stateNamespace, p)).map(([k, v]) => [k, JSON.parse(v)]),
      );
      assert.deepEqual(runner.stateSnapshot(p), stored, `state of partition ${p}`);
    }
    await runner.activate();
    await runner.drain();
    const out = await readAll(x.log, enrichedOrders.topic);
    assert.equal(out.length, 2000);
    assert.equal(new Set(out.map((r) => r.headers[SOURCE_HEADER])).size, 2000);
    const c3 = out.filter((r) => r.key === 'c3').map((r) => JSON.parse(r.value));
    assert.equal(Math.max(...c3.map((v) => v.customerOrders)), 200);
    await runner.stop();
    await x.cleanup();
  });

  it('stops writing once fenced: a commit from the old epoch is refused and writes nothing', async () => {
    const x = await tempLog();
    await produceOrders(x.log, 0, 200, 50);
    const blue = new Runner({ pipeline: enrichOrders, log: x.log, batchSize: 10 });
    await blue.start();
    await blue.runUntil([{ topic: orders.topic, partition: 0, offset: 5 }]);
    const before = (await readAll(x.log, enrichedOrders.topic)).length;
    const epoch = await x.log.fence(blue.owner);
    assert.ok(epoch > blue.epoch);
    await blue.activate({ epoch: blue.epoch });
    await waitForState(blue, 'fenced');
    assert.equal(blue.state, 'fenced');
    assert.ok(isSlipwayError(blue.error, 'SLIPWAY_FENCED'));
    assert.equal((await readAll(x.log, enrichedOrders.topic)).length, before);
    await blue.stop();
    await x.cleanup();
  });

  it('splits keys between two runners by key bucket, each record processed by exactly one (the canary split)', async () => {
    const x = await tempLog();
    await produceOrders(x.log, 0, 600, 60);
    const blue = new Runner({ pipeline: enrichOrders, log: x.log, keyRange: { from: 1000, to: 10_000 } });
    const green = new Runner({
      pipeline: enrichOrders,
      log: x.log,
      owner: 'slipway.enrich-orders.canary',
      group: 'slipway.enrich-orders.canary',
    });
    await blue.start();
    await green.start();
    await blue.drain();
    await green.activate({ keyRange: { from: 0, to: 1000 } });
    await green.drain();
    const out = await readAll(x.log, enrichedOrders.topic);
    assert.equal(out.length, 600);
    assert.equal(new Set(out.map((r) => r.headers[SOURCE_HEADER])).size, 600);
    const greenKeys = new Set(out.filter((r) => keyBucket(String(r.key)) < 1000).map((r) => r.key));
    assert.ok(greenKeys.size > 0, 'some customers fall in the 10 % share');
    assert.deepEqual(
      (await x.log.committedOffsets('slipway.enrich-orders.canary')).map((o) => o.offset),
      (await x.log.committedOffsets('slipway.enrich-orders')).map((o) => o.offset),
    );
    await blue.stop();
    await green.stop();
    await x.cleanup();
  });

  it('refuses invalid config at start, naming the field', async () => {
    const runner = new Runner({ pipeline: enrichOrders, log: t.log, config: { vipThresholdEur: -5 } });
    await assert.rejects(runner.start(), (err) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_INVALID_CONFIG'));
      assert.match(err.message, /vipThresholdEur must be >= 0/);
      return true;
    });
    assert.equal(runner.state, 'failed');
  });

  it('serves metrics on /metrics', async () => {
    const x = await tempLog();
    await produceOrders(x.log, 0, 50, 5);
    const runner = new Runner({ pipeline: enrichOrders, log: x.log });
    await runner.start();
    await runner.activate();
    await runner.drain();
    const server = await serveMetrics([runner.metrics.registry], {
      beforeScrape: async () => void (await runner.lag()),
    });
    const text = await (await fetch(server.url)).text();
    assert.match(text, /slipway_records_in_total\{pipeline="enrich-orders",version="1.0.0",topic="orders.v1"\} 50/);
    assert.match(text, /slipway_records_out_total\{[^}]*topic="enriched-orders.v1"\} 50/);
    assert.match(text, /slipway_lag_records\{[^}]*partition="0"\} 0/);
    assert.match(text, /slipway_end_to_end_latency_seconds_count\{[^}]*\} 50/);
    assert.equal((await fetch(server.url.replace('/metrics', '/nope'))).status, 404);
    await server.close();
    await runner.stop();
    await x.cleanup();
  });
});

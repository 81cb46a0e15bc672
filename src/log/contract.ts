/**
 * The Log contract suite: every behaviour of the `Log` interface as tests that take a factory.
 * Each engine runs it in one call, e.g. `runLogContract('embedded', factory)`.
 * Every test uses its own random topic, group, owner and namespace names, so engines that share
 * a broker (Kafka) can run it in parallel with other suites.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { cleanupContract } from './contract-cleanup.js';
import type { Log } from './log.js';

export interface LogContractFactory {
  /** Opens a new handle on one shared underlying log (same file, same cluster). */
  open(): Promise<Log>;
  /** Called once after the suite. */
  cleanup?(): Promise<void>;
}

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  });
}

/** Registers the contract tests for one engine. */
export function runLogContract(engine: string, factory: LogContractFactory): void {
  describe(`Log contract: ${engine}`, () => {
    const handles: Log[] = [];
    const open = async (): Promise<Log> => {
      const log = await factory.open();
      handles.push(log);
      return log;
    };
    after(async () => {
      for (const h of handles) await h.close();
      await factory.cleanup?.();
    });

    it('creates topics idempotently and refuses a different partition count', async () => {
      const log = await open();
      const topic = unique('t');
      assert.equal(await log.describeTopic(topic), undefined);
      await log.createTopic(topic, { partitions: 3 });
      await log.createTopic(topic, { partitions: 3 });
      assert.deepEqual(await log.describeTopic(topic), { name: topic, partitions: 3 });
      assert.ok((await log.listTopics()).some((t) => t.name === topic && t.partitions === 3));
      await rejectsWithCode(log.createTopic(topic, { partitions: 4 }), 'SLIPWAY_TOPIC_MISMATCH');
    });

    it('assigns consecutive offsets per partition and reads them back in order', async () => {
      const log = await open();
      const topic = unique('t');
      await log.createTopic(topic, { partitions: 2 });
      const offsets = await log.append(topic, [
        { partition: 0, key: 'a', value: 'v0' },
        { partition: 1, key: 'b', value: 'v1' },
        { partition: 0, key: 'c', value: 'v2', headers: { h: 'x' }, timestamp: 1_700_000_000_000 },
      ]);
      assert.deepEqual(offsets, [0, 0, 1]);
      assert.deepEqual(await log.append(topic, [{ partition: 0, key: null, value: 'v3' }]), [2]);
      assert.equal(await log.endOffset(topic, 0), 3);
      assert.equal(await log.endOffset(topic, 1), 1);
      const p0 = await log.read(topic, 0, 0, 100);
      assert.deepEqual(
        p0.map((r) => [r.offset, r.key, r.value]),
        [
          [0, 'a', 'v0'],
          [1, 'c', 'v2'],
          [2, null, 'v3'],
        ],
      );
      assert.deepEqual(p0[1]?.headers, { h: 'x' });
      assert.equal(p0[1]?.timestamp, 1_700_000_000_000);
      assert.equal(p0[1]?.topic, topic);
      assert.equal(p0[1]?.partition, 0);
      assert.ok(typeof p0[0]?.timestamp === 'number' && p0[0].timestamp > 0);
      assert.deepEqual(p0[0]?.headers, {});
    });

    it('reads from an offset, at most max records, and nothing past the end', async () => {
      const log = await open();
      const topic = unique('t');
      await log.createTopic(topic, { partitions: 1 });
      await log.append(
        topic,
        Array.from({ length: 10 }, (_, i) => ({ partition: 0, key: `k${i}`, value: `v${i}` })),
      );
      assert.deepEqual(
        (await log.read(topic, 0, 4, 3)).map((r) => r.offset),
        [4, 5, 6],
      );
      assert.deepEqual(
        (await log.read(topic, 0, 8, 100)).map((r) => r.value),
        ['v8', 'v9'],
      );
      assert.deepEqual(await log.read(topic, 0, 10, 100), []);
    });

    it('counts records, not offsets (commits may leave gaps)', async () => {
      const log = await open();
      const topic = unique('t');
      const owner = unique('owner');
      await log.createTopic(topic, { partitions: 2 });
      await log.append(
        topic,
        [0, 1, 2].map((i) => ({ partition: 0, key: null, value: `a${i}` })),
      );
      const epoch = await log.fence(owner);
      for (const value of ['c0', 'c1']) {
        await log.commit({ owner, epoch, outputs: [{ topic, records: [{ partition: 0, key: null, value }] }] });
      }
      assert.equal(await log.countRecords(topic, 0), 5);
      assert.equal(await log.countRecords(topic, 0), (await log.read(topic, 0, 0, 100)).length);
      assert.equal(await log.countRecords(topic, 1), 0);
      await rejectsWithCode(log.countRecords(topic, 2), 'SLIPWAY_PARTITION_NOT_FOUND');
      await rejectsWithCode(log.countRecords(unique('missing'), 0), 'SLIPWAY_TOPIC_NOT_FOUND');
    });

    it('refuses unknown topics, partitions and negative offsets with typed errors', async () => {
      const log = await open();
      const topic = unique('t');
      await rejectsWithCode(
        log.append(unique('missing'), [{ partition: 0, key: null, value: 'x' }]),
        'SLIPWAY_TOPIC_NOT_FOUND',
      );
      await log.createTopic(topic, { partitions: 2 });
      await rejectsWithCode(
        log.append(topic, [{ partition: 2, key: null, value: 'x' }]),
        'SLIPWAY_PARTITION_NOT_FOUND',
      );
      await rejectsWithCode(log.read(topic, 5, 0, 10), 'SLIPWAY_PARTITION_NOT_FOUND');
      await rejectsWithCode(log.read(topic, 0, -1, 10), 'SLIPWAY_INVALID_OFFSET');
      assert.equal(await log.endOffset(topic, 0), 0, 'a refused append writes nothing');
    });

    it('refuses bad topic names and malformed records the same way on every engine', async () => {
      const log = await open();
      // Names Kafka refuses are refused everywhere, so a topic can move from one engine to another.
      for (const name of ['', '.', '..', 'has space', 'x'.repeat(250)]) {
        await rejectsWithCode(log.createTopic(name, { partitions: 1 }), 'SLIPWAY_INVALID_DEFINITION');
      }
      await rejectsWithCode(log.createTopic(unique('t'), { partitions: 0 }), 'SLIPWAY_INVALID_DEFINITION');
      const topic = unique('t');
      await log.createTopic(topic, { partitions: 1 });
      const good = { partition: 0, key: 'k', value: 'v' };
      for (const bad of [
        { partition: 0, key: 'k', value: 5 },
        { partition: 0, key: 7, value: 'v' },
      ]) {
        await rejectsWithCode(log.append(topic, [good, bad as never]), 'SLIPWAY_VALIDATION');
      }
      assert.equal(await log.endOffset(topic, 0), 0, 'a refused append writes nothing, not even its good records');
    });

    it('stores consumer-group offsets per group and partition', async () => {
      const log = await open();
      const topic = unique('t');
      const group = unique('g');
      await log.createTopic(topic, { partitions: 2 });
      await log.append(
        topic,
        Array.from({ length: 8 }, (_, i) => ({ partition: i % 2, key: null, value: `${i}` })),
      );
      assert.deepEqual(await log.committedOffsets(group), []);
      await log.commitOffsets(group, [
        { topic, partition: 0, offset: 2 },
        { topic, partition: 1, offset: 1 },
      ]);
      await log.commitOffsets(group, [{ topic, partition: 0, offset: 4 }]);
      const committed = await log.committedOffsets(group);
      assert.deepEqual(
        committed.sort((a, b) => a.partition - b.partition),
        [
          { topic, partition: 0, offset: 4 },
          { topic, partition: 1, offset: 1 },
        ],
      );
      assert.deepEqual(await log.committedOffsets(unique('other')), []);
    });

    it('fence bumps the epoch of an owner, visible to every handle', async () => {
      const a = await open();
      const b = await open();
      const owner = unique('owner');
      assert.equal(await a.currentEpoch(owner), 0);
      const e1 = await a.fence(owner);
      const e2 = await b.fence(owner);
      assert.ok(e2 > e1, `epochs grow: ${e1} then ${e2}`);
      assert.equal(await a.currentEpoch(owner), e2);
      assert.equal(await b.currentEpoch(owner), e2);
    });

    it('commits outputs, state and offsets together in one atomic step', async () => {
      const log = await open();
      const input = unique('in');
      const output = unique('out');
      const group = unique('g');
      const owner = unique('owner');
      const ns = unique('ns');
      await log.createTopic(input, { partitions: 1 });
      await log.createTopic(output, { partitions: 2 });
      await log.append(input, [
        { partition: 0, key: 'a', value: '1' },
        { partition: 0, key: 'b', value: '2' },
      ]);
      const epoch = await log.fence(owner);
      const result = await log.commit({
        owner,
        epoch,
        outputs: [
          {
            topic: output,
            records: [
              { partition: 1, key: 'a', value: 'A', headers: { 'slipway-source': `${input}/0/0` } },
              { partition: 1, key: 'b', value: 'B' },
            ],
          },
        ],
        state: {
          namespace: ns,
          writes: [
            { partition: 0, key: 'a', value: '1' },
            { partition: 0, key: 'b', value: '2' },
          ],
        },
        offsets: { group, offsets: [{ topic: input, partition: 0, offset: 2 }] },
      });
      assert.deepEqual(result.offsets[output], [0, 1]);
      assert.deepEqual(
        (await log.read(output, 1, 0, 10)).map((r) => [r.key, r.value, r.headers['slipway-source']]),
        [
          ['a', 'A', `${input}/0/0`],
          ['b', 'B', undefined],
        ],
      );
      assert.deepEqual(await log.readState(ns, 0), [
        ['a', '1'],
        ['b', '2'],
      ]);
      assert.deepEqual(await log.committedOffsets(group), [{ topic: input, partition: 0, offset: 2 }]);

      await log.commit({
        owner,
        epoch,
        state: { namespace: ns, writes: [{ partition: 0, key: 'a', value: null }] },
      });
      assert.deepEqual(await log.readState(ns, 0), [['b', '2']]);
      assert.deepEqual(await log.readState(ns, 1), []);
    });

    it('refuses a commit from a fenced epoch and writes nothing of it', async () => {
      const a = await open();
      const b = await open();
      const output = unique('out');
      const input = unique('in');
      const group = unique('g');
      const owner = unique('owner');
      const ns = unique('ns');
      await a.createTopic(output, { partitions: 1 });
      await a.createTopic(input, { partitions: 1 });
      await a.append(input, [{ partition: 0, key: 'k', value: 'v' }]);
      const old = await a.fence(owner);
      await a.commit({
        owner,
        epoch: old,
        outputs: [{ topic: output, records: [{ partition: 0, key: 'k', value: 'first' }] }],
      });
      const current = await b.fence(owner);
      assert.ok(current > old);
      await rejectsWithCode(
        a.commit({
          owner,
          epoch: old,
          outputs: [{ topic: output, records: [{ partition: 0, key: 'k', value: 'zombie' }] }],
          state: { namespace: ns, writes: [{ partition: 0, key: 'k', value: 'zombie' }] },
          offsets: { group, offsets: [{ topic: input, partition: 0, offset: 1 }] },
        }),
        'SLIPWAY_FENCED',
      );
      assert.deepEqual(
        (await b.read(output, 0, 0, 10)).map((r) => r.value),
        ['first'],
      );
      assert.deepEqual(await b.readState(ns, 0), []);
      assert.deepEqual(await b.committedOffsets(group), []);
      await b.commit({
        owner,
        epoch: current,
        outputs: [{ topic: output, records: [{ partition: 0, key: 'k', value: 'new' }] }],
      });
      assert.deepEqual(
        (await b.read(output, 0, 0, 10)).map((r) => r.value),
        ['first', 'new'],
      );
    });

    it('a commit that fails part-way writes nothing', async () => {
      const log = await open();
      const output = unique('out');
      const input = unique('in');
      const group = unique('g');
      const owner = unique('owner');
      const ns = unique('ns');
      await log.createTopic(output, { partitions: 1 });
      await log.createTopic(input, { partitions: 1 });
      const epoch = await log.fence(owner);
      await assert.rejects(
        log.commit({
          owner,
          epoch,
          outputs: [
            { topic: output, records: [{ partition: 0, key: 'k', value: 'v' }] },
            { topic: unique('missing'), records: [{ partition: 0, key: 'k', value: 'v' }] },
          ],
          state: { namespace: ns, writes: [{ partition: 0, key: 'k', value: 'v' }] },
          offsets: { group, offsets: [{ topic: input, partition: 0, offset: 0 }] },
        }),
      );
      assert.equal(await log.endOffset(output, 0), 0);
      assert.deepEqual(await log.readState(ns, 0), []);
      assert.deepEqual(await log.committedOffsets(group), []);
    });

    it('snapshots committed offsets, state and end offsets together', async () => {
      const log = await open();
      const input = unique('in');
      const output = unique('out');
      const group = unique('g');
      const owner = unique('owner');
      const ns = unique('ns');
      await log.createTopic(input, { partitions: 2 });
      await log.createTopic(output, { partitions: 1 });
      await log.append(input, [
        { partition: 0, key: 'a', value: '1' },
        { partition: 1, key: 'b', value: '2' },
      ]);
      const epoch = await log.fence(owner);
      await log.commit({
        owner,
        epoch,
        outputs: [{ topic: output, records: [{ partition: 0, key: 'a', value: 'A' }] }],
        state: { namespace: ns, writes: [{ partition: 0, key: 'a', value: '"x"' }] },
        offsets: { group, offsets: [{ topic: input, partition: 0, offset: 1 }] },
      });
      const snap = await log.snapshot({ group, namespace: ns, partitions: [0, 1], topics: [output] });
      assert.deepEqual(snap.offsets, [{ topic: input, partition: 0, offset: 1 }]);
      assert.deepEqual(snap.state, { 0: [['a', '"x"']], 1: [] });
      assert.deepEqual(snap.endOffsets, [{ topic: output, partition: 0, offset: 1 }]);
    });

    it('keeps offsets unique when two handles append concurrently', async () => {
      const a = await open();
      const b = await open();
      const topic = unique('t');
      await a.createTopic(topic, { partitions: 1 });
      const batch = (tag: string) =>
        Array.from({ length: 20 }, (_, i) => ({ partition: 0, key: null, value: `${tag}${i}` }));
      const results = await Promise.all([
        a.append(topic, batch('a')),
        b.append(topic, batch('b')),
        a.append(topic, batch('c')),
        b.append(topic, batch('d')),
      ]);
      const all = results.flat().sort((x, y) => x - y);
      assert.deepEqual(
        all,
        Array.from({ length: 80 }, (_, i) => i),
      );
      const values = (await a.read(topic, 0, 0, 1000)).map((r) => r.value);
      assert.equal(new Set(values).size, 80);
    });

    it('waitForChange wakes on an append and times out when nothing happens', async () => {
      const a = await open();
      const b = await open();
      const topic = unique('t');
      await a.createTopic(topic, { partitions: 1 });
      assert.equal(await a.waitForChange({ timeoutMs: 50 }), false);
      const waiting = a.waitForChange({ timeoutMs: 10_000 });
      await b.append(topic, [{ partition: 0, key: null, value: 'x' }]);
      assert.equal(await waiting, true);
      const controller = new AbortController();
      const aborted = a.waitForChange({ timeoutMs: 10_000, signal: controller.signal });
      controller.abort();
      assert.equal(await aborted, false);
    });

    it('growTopic (where the engine has it) adds partitions every handle can write, never shrinks, refuses a missing topic', async (t) => {
      const a = await open();
      if (a.growTopic === undefined) {
        t.skip(`the ${a.engine} log has no growTopic`);
        return;
      }
      const b = await open();
      const topic = unique('t');
      await a.createTopic(topic, { partitions: 1 });
      // b knows the topic with one partition before it grows.
      await b.append(topic, [{ partition: 0, key: null, value: 'before' }]);
      await a.growTopic(topic, 3);
      await a.growTopic(topic, 2);
      assert.deepEqual(await a.describeTopic(topic), { name: topic, partitions: 3 });
      assert.deepEqual(await b.append(topic, [{ partition: 2, key: null, value: 'after' }]), [0]);
      assert.deepEqual(
        (await a.read(topic, 2, 0, 10)).map((r) => r.value),
        ['after'],
      );
      assert.deepEqual(
        (await a.read(topic, 0, 0, 10)).map((r) => r.value),
        ['before'],
      );
      await rejectsWithCode(a.growTopic(unique('missing'), 2), 'SLIPWAY_TOPIC_NOT_FOUND');
    });

    cleanupContract(open);

    it('refuses use after close', async () => {
      const log = await factory.open();
      await log.close();
      await log.close();
      await rejectsWithCode(log.listTopics(), 'SLIPWAY_LOG_CLOSED');
    });
  });
}

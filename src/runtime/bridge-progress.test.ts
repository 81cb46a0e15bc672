import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { bridgePipeline } from '../pipeline/bridge.js';
import { produceRecords } from '../testing/dataset-records.js';
import { runPipeline } from '../testing/run-pipeline.js';
import { withEmbeddedLog } from '../testing/with-embedded-log.js';
import { type BridgeProgressEvent, watchBridgeProgress } from './bridge-progress.js';

const v1 = defineDataset({
  name: 'orders',
  version: '1.0.0',
  key: 'id',
  partitions: 2,
  schema: Type.Object({ id: Type.String(), amount: Type.Number() }),
});
const v2 = defineDataset({
  name: 'orders',
  version: '2.0.0',
  key: 'id',
  partitions: 2,
  schema: Type.Object({ id: Type.String(), total: Type.Number() }),
  upcast: { from: v1, map: (o: { id: string; amount: number }) => ({ id: o.id, total: o.amount }) },
});

describe('watchBridgeProgress', () => {
  it('reports the history copied of its total per partition, then live; a later run counts only the new history', async () => {
    await withEmbeddedLog(async (log) => {
      const up = bridgePipeline(v2, 'up');
      const group = `slipway.${up.name}`;
      await produceRecords(log, v2, []);
      await produceRecords(
        log,
        v1,
        Array.from({ length: 40 }, (_, i) => ({ id: `o-${i}`, amount: i })),
      );
      const watch = (signal?: AbortSignal) =>
        watchBridgeProgress({
          log,
          topic: v1.topic,
          partitions: 2,
          group,
          intervalMs: 5,
          ...(signal ? { signal } : {}),
        });
      const events: BridgeProgressEvent[] = [];
      const first = watch();
      const head = await first.next(); // the history is fixed when the watch starts
      await runPipeline({ pipeline: up, log, until: 'caught-up', batchSize: 7 });
      for await (const e of { [Symbol.asyncIterator]: () => first }) events.push(e);
      assert.ok(!head.done && head.value.kind === 'history');
      assert.deepEqual([head.value.copied, head.value.total], [0, 40]);
      const last = events.at(-1);
      assert.deepEqual(last, { kind: 'live', topic: 'orders.v1', copied: 40, total: 40 });
      const history = events.filter((e) => e.kind === 'history');
      const final = history.at(-1);
      assert.ok(final?.kind === 'history');
      assert.equal(final.copied, 40);
      assert.equal(
        final.partitions.reduce((n, p) => n + p.total, 0),
        40,
      );
      assert.ok(final.partitions.every((p) => p.copied === p.total));

      // More arrives: a new watch counts from where the bridge stands.
      await produceRecords(
        log,
        v1,
        Array.from({ length: 6 }, (_, i) => ({ id: `n-${i}`, amount: i })),
      );
      const abort = new AbortController();
      const second = watch(abort.signal);
      const start = await second.next();
      assert.ok(!start.done && start.value.kind === 'history');
      assert.deepEqual([start.value.copied, start.value.total], [0, 6]);
      abort.abort();
      const rest: BridgeProgressEvent[] = [];
      for await (const e of { [Symbol.asyncIterator]: () => second }) rest.push(e);
      assert.ok(
        rest.every((e) => e.kind !== 'live'),
        'aborted before the bridge ran: never live',
      );
    });
  });
});

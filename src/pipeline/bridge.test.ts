import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, type RecordOf } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import { produceRecords, readTopic } from '../testing/dataset-records.js';
import { runPipeline } from '../testing/run-pipeline.js';
import { withEmbeddedLog } from '../testing/with-embedded-log.js';
import { bridgePipeline } from './bridge.js';

const ordersV1 = defineDataset({
  name: 'orders',
  version: '1.3.0',
  key: 'customerId',
  partitions: 3,
  schema: Type.Object(
    { orderId: Type.String(), customerId: Type.String(), amount: Type.Number() },
    { additionalProperties: false },
  ),
});
type V1 = RecordOf<typeof ordersV1>;
// v2 renames amount to total: a breaking change, so a new major (orders.v2) with an upcast and a downcast.
const ordersV2 = defineDataset({
  name: 'orders',
  version: '2.0.0',
  key: 'customerId',
  partitions: 3,
  schema: Type.Object(
    { orderId: Type.String(), customerId: Type.String(), total: Type.Number() },
    { additionalProperties: false },
  ),
  upcast: { from: ordersV1, map: (o: V1) => ({ orderId: o.orderId, customerId: o.customerId, total: o.amount }) },
  downcast: (o: { orderId: string; customerId: string; total: number }) => ({
    orderId: o.orderId,
    customerId: o.customerId,
    amount: o.total,
  }),
});

const v1Order = (i: number): V1 => ({ orderId: `o-${i}`, customerId: `c-${i % 7}`, amount: i });
const v2Order = (i: number) => ({ orderId: `o-${i}`, customerId: `c-${i % 7}`, total: i });

describe('bridges between majors', () => {
  it('fills v2 from v1 (history, then what arrives), feeds v1 from v2 after producers switch, each record once in each major', async () => {
    await withEmbeddedLog(async (log) => {
      const up = bridgePipeline(ordersV2, 'up');
      const down = bridgePipeline(ordersV2, 'down');
      assert.equal(up.name, 'bridge-orders-v1-to-v2');
      assert.equal(down.name, 'bridge-orders-v2-to-v1');
      await produceRecords(log, ordersV2, []);
      // A v1 producer's history, then the bridge, then more while it runs again (it resumes).
      await produceRecords(
        log,
        ordersV1,
        Array.from({ length: 100 }, (_, i) => v1Order(i)),
      );
      assert.equal((await runPipeline({ pipeline: up, log, until: 'caught-up' })).outputs, 100);
      await produceRecords(
        log,
        ordersV1,
        Array.from({ length: 50 }, (_, i) => v1Order(100 + i)),
      );
      assert.equal((await runPipeline({ pipeline: up, log, until: 'caught-up' })).outputs, 50);
      // Producers switch to v2; the downcast bridge keeps v1's readers fed, and the upcast bridge skips what it wrote.
      await produceRecords(
        log,
        ordersV2,
        Array.from({ length: 30 }, (_, i) => v2Order(150 + i)),
      );
      assert.equal((await runPipeline({ pipeline: down, log, until: 'caught-up' })).outputs, 30);
      const again = await runPipeline({ pipeline: up, log, until: 'caught-up' });
      assert.deepEqual([again.inputs, again.outputs], [30, 0]);

      for (const [topic, field] of [
        ['orders.v1', 'amount'],
        ['orders.v2', 'total'],
      ] as const) {
        const records = await readTopic(log, topic);
        const values = records.map((r) => JSON.parse(r.value) as Record<string, unknown>);
        assert.equal(records.length, 180, topic);
        assert.deepEqual(
          values.map((v) => v.orderId as string).sort(),
          Array.from({ length: 180 }, (_, i) => `o-${i}`).sort(),
          `${topic}: every order exactly once`,
        );
        assert.ok(
          values.every((v) => v[field] === Number((v.orderId as string).slice(2))),
          `${topic}: ${field} carried`,
        );
        // Bridged records name their source: each source offset once.
        const sources = records.map((r) => r.headers?.['slipway-source']).filter((s) => s !== undefined);
        assert.equal(sources.length, topic === 'orders.v2' ? 150 : 30);
        assert.equal(new Set(sources).size, sources.length);
      }
    });
  });

  it('refuses a bridge a dataset does not declare, and an upcast from another dataset', () => {
    const plain = defineDataset({
      name: 'orders',
      version: '2.1.0',
      key: 'id',
      schema: Type.Object({ id: Type.String() }),
    });
    assert.throws(
      () => bridgePipeline(plain, 'up'),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_INVALID_DEFINITION'),
    );
    const upOnly = defineDataset({
      name: 'orders',
      version: '3.0.0',
      key: 'id',
      schema: Type.Object({ id: Type.String() }),
      upcast: { from: plain, map: (o: { id: string }) => o },
    });
    assert.throws(() => bridgePipeline(upOnly, 'down'), /declares no downcast/);
    assert.throws(
      () =>
        defineDataset({
          name: 'payments',
          version: '2.0.0',
          key: 'id',
          schema: Type.Object({ id: Type.String() }),
          upcast: { from: plain, map: (o: { id: string }) => o },
        }),
      /upcast.from must be an earlier major of 'payments'/,
    );
  });
});

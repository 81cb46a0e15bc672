// Unit tests of the pipeline with the harness: the real runner on an in-memory log, in milliseconds.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSlipwayError } from 'slipway';
import { createHarness, loadSample, type PipelineHarness } from 'slipway/testing';
import { enrichedOrders, orders } from './datasets.js';
import { enrichOrders } from './pipeline.js';

const order = (id: number, customerId: string, amount: number, currency: 'EUR' | 'USD' | 'GBP' = 'EUR') => ({
  orderId: `o-${id}`,
  customerId,
  amount,
  currency,
  items: 1,
  createdAt: '2026-01-01T00:00:00.000Z',
});

let h: PipelineHarness | undefined;
afterEach(() => h?.close());

describe('enrich-orders', () => {
  it('converts amounts to EUR and keeps a running total per customer', async () => {
    h = await createHarness(enrichOrders);
    await h.send(orders, [order(1, 'c1', 100), order(2, 'c2', 10, 'GBP'), order(3, 'c1', 50, 'USD')]);
    const out = h.outputs(enrichedOrders);
    assert.deepEqual(
      out.map((o) => [o.orderId, o.amountEur, o.customerTotalEur, o.customerOrders]),
      [
        ['o-1', 100, 100, 1],
        ['o-2', 11.7, 11.7, 1],
        ['o-3', 46, 146, 2],
      ],
    );
    assert.deepEqual(h.state('c1'), { totalEur: 146, orders: 2 });
    assert.deepEqual(h.state('c2'), { totalEur: 11.7, orders: 1 });
  });

  it('makes a customer vip once their total passes the configured threshold', async () => {
    h = await createHarness(enrichOrders, { config: { vipThresholdEur: 120 } });
    await h.send(orders, [order(1, 'c1', 100)]);
    const { outputs } = await h.send(orders, [order(2, 'c1', 30), order(3, 'c2', 30)]);
    assert.deepEqual(
      outputs.map((o) => (o.value as { tier: string }).tier),
      ['vip', 'standard'],
    );
    assert.deepEqual(
      h.outputs(enrichedOrders).map((o) => o.tier),
      ['standard', 'vip', 'standard'],
    );
  });

  it('sends an order above the fraud limit to the DLQ, without touching the state', async () => {
    h = await createHarness(enrichOrders);
    await h.send(orders, [order(1, 'c1', 100), order(2, 'c1', 2_000_000), order(3, 'c1', 1)]);
    assert.deepEqual(
      h.outputs(enrichedOrders).map((o) => o.orderId),
      ['o-1', 'o-3'],
    );
    const [entry, ...rest] = h.dlq(orders);
    assert.equal(rest.length, 0);
    assert.equal(entry?.reason, 'process-error');
    assert.match(entry?.message ?? '', /amount 2000000 is above the fraud limit/);
    assert.equal((entry?.value as { orderId?: string } | undefined)?.orderId, 'o-2');
    assert.deepEqual(h.state('c1'), { totalEur: 101, orders: 2 });
  });

  it('dead-letters orders that break the schema or are not JSON', async () => {
    h = await createHarness(enrichOrders);
    await h.send(orders, [{ ...order(1, 'c1', 5), amount: -5 }]);
    await h.sendRaw(orders, [{ key: 'c1', value: '{"orderId": ' }]);
    assert.deepEqual(
      h.dlq().map((e) => e.reason),
      ['input-schema', 'invalid-json'],
    );
    assert.match(h.dlq()[0]?.message ?? '', /amount/);
    assert.equal(h.outputs(enrichedOrders).length, 0);
    assert.deepEqual(h.stateEntries(), []);
  });

  it('refuses a bad config as a real start would', async () => {
    await assert.rejects(createHarness(enrichOrders, { config: { vipThresholdEur: -1 } }), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_INVALID_CONFIG'), String(err));
      assert.match(err.message, /vipThresholdEur/);
      return true;
    });
  });

  it('processes the masked sample of real orders: every record enriched, none dead-lettered', async () => {
    // samples/orders.v1/default.jsonl: 200 orders captured with `slipway sample capture orders --masking ordersMasking`
    const sample = await loadSample('orders.v1/default', {
      root: fileURLToPath(new URL('./samples', import.meta.url)),
      dataset: orders,
    });
    assert.equal(sample.length, 200);
    h = await createHarness(enrichOrders);
    const { outputs, dlq } = await h.send(orders, sample);
    assert.equal(dlq.length, 0);
    assert.equal(outputs.length, sample.length);
    assert.ok(
      outputs.every((o) => (o.value as { customerId: string }).customerId.startsWith('c-')),
      'keys stay masked',
    );
  });
});

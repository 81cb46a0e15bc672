import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from 'slipway';
import { createHarness } from 'slipway/testing';
import { orders } from '../../examples/orders/datasets.js';
import { euOrders, newPricing, pricedOrders, priceOrders } from '../../test/fixtures/toggled-orders.js';
import { makeOrder } from '../../test/helpers/orders.js';

const batch = Array.from({ length: 300 }, (_, i) => makeOrder(i, 300));

describe('the harness takes toggles', () => {
  it('covers every variant: defaults, a fixed variant, a share, rules, a guarded output, changed between sends', async () => {
    const h = await createHarness(priceOrders, { toggles: { 'new-pricing': { fixed: 'new' } } });
    try {
      const first = await h.send(orders, batch.slice(0, 100));
      const priced = first.outputs.filter((o) => o.topic === pricedOrders.topic);
      assert.equal(priced.length, 100);
      for (const [i, o] of priced.entries()) {
        const order = batch[i] as { amount: number };
        assert.equal((o.value as { price: number }).price, Math.round(order.amount * 90) / 100, 'new pricing');
        assert.equal((o.value as { lane: string }).lane, 'normal', 'fast-lane at its default');
        assert.deepEqual(o.toggles, { version: 1, variants: { 'fast-lane': 'off', 'new-pricing': 'new' } });
      }
      assert.equal(h.outputs(euOrders).length, 0, 'eu-output off: the guarded output does not flow');

      h.setToggle('eu-output', { where: [{ field: 'currency', op: 'eq', value: 'EUR' }] });
      h.setToggle('fast-lane', { percent: 50 });
      h.setToggle('new-pricing', null);
      const second = await h.send(orders, batch.slice(100, 300));
      const eu = second.outputs.filter((o) => o.topic === euOrders.topic);
      const eur = batch.slice(100, 300).filter((o) => o.currency === 'EUR').length;
      assert.equal(eu.length, eur, 'only EUR orders flow to the guarded output');
      const lanes = second.outputs
        .filter((o) => o.topic === pricedOrders.topic)
        .map((o) => (o.value as { lane: string }).lane);
      const fast = lanes.filter((l) => l === 'fast').length;
      assert.ok(fast > 60 && fast < 140, `about half the keys on the fast lane: ${fast}/200`);
      assert.ok(second.outputs.every((o) => o.toggles?.version === 4));
    } finally {
      await h.close();
    }
  });

  it('refuses unknown toggles and bad settings; ctx.toggle of an undeclared toggle dead-letters the record with its code', async () => {
    await assert.rejects(createHarness(priceOrders, { toggles: { 'no-such': { percent: 5 } } }), (e) =>
      isSlipwayError(e, 'SLIPWAY_UNKNOWN_TOGGLE'),
    );
    const h = await createHarness(priceOrders);
    assert.throws(
      () => h.setToggle('new-pricing', { fixed: 'purple' }),
      (e) => isSlipwayError(e, 'SLIPWAY_INVALID_TOGGLE'),
    );
    await h.close();
    const { definePipeline } = await import('slipway');
    const sloppy = definePipeline({
      name: 'sloppy',
      version: '1.0.0',
      inputs: [orders],
      outputs: [pricedOrders],
      toggles: [newPricing],
      process(order, ctx) {
        ctx.emit(pricedOrders, {
          orderId: order.orderId,
          customerId: order.customerId,
          price: 1,
          lane: ctx.toggle('typo'),
        });
      },
    });
    const s = await createHarness(sloppy);
    const r = await s.send(orders, batch.slice(0, 1));
    assert.equal(r.dlq[0]?.code, 'SLIPWAY_UNKNOWN_TOGGLE');
    await s.close();
  });
});

describe('the slipway-toggles header', () => {
  it('names, in evaluation order, every toggle a record was evaluated for, also with many toggles and repeated reads', async () => {
    const { defineDataset, definePipeline, defineToggle } = await import('slipway');
    const { describePipeline } = await import('../artifact/manifest.js');
    const { Type } = await import('@sinclair/typebox');
    const many = Array.from({ length: 14 }, (_, i) =>
      defineToggle({ name: `t${i}`, kind: 'feature', variants: ['a', 'b', 'c'], default: 'a' }),
    );
    const out = defineDataset({
      name: 'flags-out',
      version: '1.0.0',
      key: 'customerId',
      partitions: 2,
      schema: Type.Object({ customerId: Type.String(), seen: Type.String() }),
    });
    const p = definePipeline({
      name: 'many-flags',
      version: '1.0.0',
      inputs: [orders],
      outputs: [out],
      toggles: many,
      process(order, ctx) {
        // Each record reads its own subset, in its own order, some twice; emits between reads.
        const n = Number(order.orderId.slice(2));
        const seen: string[] = [];
        for (let k = 0; k < 1 + (n % 14); k++) {
          const name = `t${(n + k * 5) % 14}`;
          seen.push(`${name}=${ctx.toggle(name)}`);
          ctx.toggle(name);
          if (k === 2) ctx.emit(out, { customerId: order.customerId, seen: seen.join(',') });
        }
        ctx.emit(out, { customerId: order.customerId, seen: [...new Set(seen)].join(',') });
      },
    });
    const settings: Record<string, { percent: number; variant: string }> = {};
    for (let i = 0; i < 14; i++) settings[`t${i}`] = { percent: 50, variant: i % 2 === 0 ? 'b' : 'c' };
    const h = await createHarness(p, { toggles: settings });
    try {
      const r = await h.send(orders, batch);
      assert.ok(r.outputs.length > batch.length);
      for (const o of r.outputs) {
        const seen = (o.value as { seen: string }).seen;
        const header = Object.entries(o.toggles?.variants ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        assert.equal(header, seen, `header of ${o.source}`);
        assert.equal(o.toggles?.version, 14);
      }
      assert.deepEqual(
        describePipeline(p).toggles?.map((t) => t.name),
        many.map((t) => t.name),
        'the manifest lists the toggles',
      );
      assert.equal(describePipeline(priceOrders).toggles?.[1]?.guards[0], euOrders.topic);
    } finally {
      await h.close();
    }
  });
});

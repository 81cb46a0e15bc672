import { Type } from '@sinclair/typebox';
import { definePipeline } from 'slipway';
import { enrichedOrders, orders } from './datasets.js';

interface CustomerState {
  totalEur: number;
  orders: number;
}

/**
 * orders → enriched-orders: converts the amount to EUR and keeps a running total per customer.
 * A customer becomes `vip` once their total passes `vipThresholdEur`.
 */
export const enrichOrders = definePipeline({
  name: 'enrich-orders',
  version: '1.0.0',
  inputs: [orders],
  outputs: [enrichedOrders],
  config: Type.Object({
    vipThresholdEur: Type.Number({ minimum: 0, default: 1000 }),
    eurPer: Type.Object(
      {
        EUR: Type.Number({ default: 1 }),
        USD: Type.Number({ default: 0.92 }),
        GBP: Type.Number({ default: 1.17 }),
      },
      { default: {} },
    ),
  }),
  process(order, ctx) {
    if (order.amount > 1_000_000) throw new Error(`amount ${order.amount} is above the fraud limit`);
    const amountEur = Math.round(order.amount * ctx.config.eurPer[order.currency] * 100) / 100;
    const prev = ctx.state.get<CustomerState>(order.customerId) ?? { totalEur: 0, orders: 0 };
    const next = { totalEur: Math.round((prev.totalEur + amountEur) * 100) / 100, orders: prev.orders + 1 };
    ctx.state.set(order.customerId, next);
    ctx.emit(enrichedOrders, {
      orderId: order.orderId,
      customerId: order.customerId,
      amount: order.amount,
      currency: order.currency,
      amountEur,
      customerTotalEur: next.totalEur,
      customerOrders: next.orders,
      tier: next.totalEur >= ctx.config.vipThresholdEur ? 'vip' : 'standard',
      createdAt: order.createdAt,
    });
  },
});

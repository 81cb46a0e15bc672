import { Type } from '@sinclair/typebox';
import { definePipeline } from 'slipway';
import { enrichedOrders, orders } from '../datasets.js';

interface CustomerState {
  totalEur: number;
  orders: number;
}

/**
 * v1.1.0 of enrich-orders: picks up this quarter's USD rate (0.93 instead of 0.92). USD orders get
 * a different `amountEur`, and their customers' running totals follow: the shadow diff shows exactly
 * those fields changing, and the deployment declares them as expected to change.
 */
export const enrichOrdersV2 = definePipeline({
  name: 'enrich-orders',
  version: '1.1.0',
  inputs: [orders],
  outputs: [enrichedOrders],
  config: Type.Object({
    vipThresholdEur: Type.Number({ minimum: 0, default: 1000 }),
    eurPer: Type.Object(
      {
        EUR: Type.Number({ default: 1 }),
        USD: Type.Number({ default: 0.93 }),
        GBP: Type.Number({ default: 1.17 }),
      },
      { default: {} },
    ),
  }),
  process(order, ctx) {
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

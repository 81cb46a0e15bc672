import { definePipeline } from 'slipway';
import { enrichedOrders, orders } from '../datasets.js';
import { enrichOrdersV2 } from './v2.js';

/** v1.2.0: a deliberately broken release — it throws on every order whose item count is a multiple of 3. The gates roll it back. */
export const enrichOrdersBroken = definePipeline({
  name: 'enrich-orders',
  version: '1.2.0',
  inputs: [orders],
  outputs: [enrichedOrders],
  config: enrichOrdersV2.configSchema,
  process(order, ctx) {
    if (order.items % 3 === 0) throw new Error(`cannot price an order with ${order.items} items`);
    enrichOrdersV2.process(order, ctx as never);
  },
});

import { Type } from '@sinclair/typebox';
import { defineDataset } from 'slipway';

/** Orders as the shop writes them. Keyed by customer, so a customer's orders stay in one partition. */
export const orders = defineDataset({
  name: 'orders',
  version: '1.0.0',
  key: 'customerId',
  partitions: 4,
  description: 'Orders placed in the shop',
  schema: Type.Object(
    {
      orderId: Type.String({ minLength: 1 }),
      customerId: Type.String({ minLength: 1 }),
      amount: Type.Number({ minimum: 0 }),
      currency: Type.Union([Type.Literal('EUR'), Type.Literal('USD'), Type.Literal('GBP')]),
      items: Type.Integer({ minimum: 1 }),
      email: Type.Optional(Type.String({ format: 'email' })),
      createdAt: Type.String({ format: 'date-time' }),
    },
    { additionalProperties: false },
  ),
});

/** Orders with the amount in EUR and the customer's running total. */
export const enrichedOrders = defineDataset({
  name: 'enriched-orders',
  version: '1.0.0',
  key: 'customerId',
  partitions: 4,
  schema: Type.Object(
    {
      orderId: Type.String(),
      customerId: Type.String(),
      amount: Type.Number(),
      currency: Type.String(),
      amountEur: Type.Number(),
      customerTotalEur: Type.Number(),
      customerOrders: Type.Integer({ minimum: 1 }),
      tier: Type.Union([Type.Literal('standard'), Type.Literal('vip')]),
      createdAt: Type.String(),
    },
    { additionalProperties: false },
  ),
});

/**
 * Orders in Avro, in and out, for the registry crash test (test/registry-crash.test.ts and its child): the input is
 * written by an outside producer in the Confluent wire format, the pipeline maps each order to a score in Avro.
 */
import { Type } from '@sinclair/typebox';
import { avro, defineDataset, definePipeline } from 'slipway';

export const ORDER_AVRO = {
  type: 'record',
  name: 'Order',
  namespace: 'slipway.crash',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'amount', type: 'long' },
  ],
};

export const SCORE_AVRO = {
  type: 'record',
  name: 'Score',
  namespace: 'slipway.crash',
  fields: [
    { name: 'id', type: 'string' },
    { name: 'doubled', type: 'long' },
  ],
};

export const REGISTRY_PARTITIONS = 3;

/** The datasets and pipeline of run `id`. */
export function registryOrders(id: string) {
  const orders = defineDataset({
    name: `avro-orders-${id}`,
    version: '1.0.0',
    key: 'id',
    partitions: REGISTRY_PARTITIONS,
    schema: Type.Object({ id: Type.String(), amount: Type.Integer() }),
    format: avro(ORDER_AVRO),
  });
  const scores = defineDataset({
    name: `avro-scores-${id}`,
    version: '1.0.0',
    key: 'id',
    partitions: REGISTRY_PARTITIONS,
    schema: Type.Object({ id: Type.String(), doubled: Type.Integer() }),
    format: avro(SCORE_AVRO),
  });
  const pipeline = definePipeline({
    name: `avro-score-${id}`,
    version: '1.0.0',
    inputs: [orders],
    outputs: [scores],
    process(order, ctx) {
      ctx.emit(scores, { id: order.id, doubled: order.amount * 2 });
    },
  });
  return { orders, scores, pipeline };
}

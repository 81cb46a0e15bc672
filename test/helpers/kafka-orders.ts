import { type Dataset, defineDataset, definePipeline, type Pipeline } from 'slipway';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';

/** The example orders pipeline under names of its own, so that a run on a shared Kafka cluster touches nothing else. */
export interface IsolatedOrders {
  orders: Dataset;
  enriched: Dataset;
  pipeline: Pipeline;
}

/**
 * The datasets `orders-<id>` → `enriched-orders-<id>` and the pipeline `enrich-orders-<id>`, whose `process` is
 * the example's own (its emits to `enrichedOrders` go to `enriched-orders-<id>`). The same `id` gives
 * equivalent definitions in every process, e.g. a test and the child it runs.
 */
export function isolatedOrders(id: string): IsolatedOrders {
  const copy = (d: Dataset, name: string): Dataset =>
    defineDataset({ name, version: d.version, key: d.key, partitions: d.partitions, schema: d.schema });
  const input = copy(orders, `orders-${id}`);
  const enriched = copy(enrichedOrders, `enriched-orders-${id}`);
  const pipeline = definePipeline({
    name: `enrich-orders-${id}`,
    version: enrichOrders.version,
    inputs: [input],
    outputs: [enriched],
    config: enrichOrders.configSchema,
    process(order, ctx) {
      const emit = ((dataset: Dataset, value: unknown) =>
        ctx.emit(dataset === enrichedOrders ? enriched : dataset, value)) as typeof ctx.emit;
      enrichOrders.process(order, { ...ctx, emit } as Parameters<typeof enrichOrders.process>[1]);
    },
  }) as Pipeline;
  return { orders: input, enriched, pipeline };
}

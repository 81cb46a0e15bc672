import type { Dataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import { definePipeline, type Pipeline } from './pipeline.js';

/** The header every output carries, naming its input (`orders.v1/2/1042`). */
const SOURCE_HEADER = 'slipway-source';

/**
 * The bridge between two majors of a dataset, as an ordinary pipeline (built, deployed, rolled back
 * and run exactly once like any other): `up` reads the earlier major (`dataset.upcast.from`) from its
 * first record — history first, then live — and writes each record, upcast, to `dataset`; `down` does
 * the reverse with `dataset.downcast`, so readers of the old major keep being fed after producers move.
 *
 * Both may run at once without a loop: a bridge skips the records the other bridge wrote (their
 * `slipway-source` header names the topic it reads from), so each record is in each major exactly once.
 *
 * @example
 * // bridges.ts, deployed with `slipway deploy bridges.ts --pipeline bridge-orders-v1-to-v2`
 * export const ordersUp = bridgePipeline(ordersV2, 'up')
 * export const ordersDown = bridgePipeline(ordersV2, 'down')
 */
export function bridgePipeline(dataset: Dataset, direction: 'up' | 'down' = 'up'): Pipeline {
  const upcast = dataset.upcast;
  if (upcast === undefined)
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `${dataset.name}@${dataset.version} declares no upcast: declare upcast: { from: <${dataset.name} of an earlier major>, map(record) } to bridge into ${dataset.topic}.`,
      { details: { dataset: dataset.name, field: 'upcast' } },
    );
  const { from } = upcast;
  if (direction === 'down' && dataset.downcast === undefined)
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `${dataset.name}@${dataset.version} declares no downcast: declare downcast(record) to bridge back into ${from.topic}.`,
      { details: { dataset: dataset.name, field: 'downcast' } },
    );
  const [input, output] = direction === 'up' ? [from, dataset] : [dataset, from];
  const map = (direction === 'up' ? upcast.map : dataset.downcast) as (record: unknown) => unknown;
  // A record the opposite bridge wrote came from our output's topic: carrying it back would loop.
  const loopPrefix = `${output.topic}/`;
  return definePipeline({
    name: `bridge-${dataset.name}-v${input.major}-to-v${output.major}`,
    version: dataset.version,
    description: `${direction === 'up' ? 'Upcasts' : 'Downcasts'} ${input.topic} into ${output.topic} (${dataset.name}@${dataset.version})`,
    inputs: [input],
    outputs: [output],
    process(record, ctx) {
      if (ctx.source.headers[SOURCE_HEADER]?.startsWith(loopPrefix)) return;
      ctx.emit(output, map(record) as never);
    },
  });
}

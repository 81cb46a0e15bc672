/**
 * How a CLI command reads or writes a dataset's topic: a dataset in a registry format (`avro()`, `jsonSchema()`)
 * on Kafka goes through its codec, as a runner's does — values written in the Confluent wire format, read back by
 * their schema id (an undecodable value comes marked `undecodable`, with its bytes); any other dataset, or the
 * embedded log, is read and written as it is.
 */
import type { Dataset } from '../dataset/dataset.js';
import type { Log } from '../log/log.js';
import { resolveSchemaRegistry } from '../runtime/registry-options.js';
import { logWithFormats } from '../runtime/value-codecs.js';
import type { CliContext } from './context.js';

/**
 * `log` itself, or a view of it encoding and decoding `dataset`'s values at `topic` (default: the dataset's topic). Closing the
 * view is closing `log`: close `log`. Thrown: `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` when a registry is needed and
 * none is configured (the environment's `schemaRegistry`, or `SCHEMA_REGISTRY_URL`).
 * @example const reader = await withDatasetFormat(ctx, log, orders, 'slipway tail')
 */
export async function withDatasetFormat(
  ctx: CliContext,
  log: Log,
  dataset: Dataset | undefined,
  command: string,
  topic = dataset?.topic,
): Promise<Log> {
  if (dataset?.format === undefined || topic === undefined || log.withValueCodecs === undefined) return log;
  const registry = await resolveSchemaRegistry(ctx.logConfig().schemaRegistry);
  return logWithFormats(log, new Map([[topic, dataset]]), registry, command).log;
}

/**
 * How the controller reads a pipeline's outputs for a diff: an output dataset in a registry format (`avro()`,
 * `jsonSchema()`) on Kafka is decoded by each value's schema id, as a runner reads it, so a shadow diff compares
 * field by field; other outputs, and the embedded log, are read as they are.
 */
import type { DatasetManifest } from '../artifact/manifest.js';
import { SchemaRegistryClient } from '../dataset/registry/schema-registry-client.js';
import { RegistryCodec } from '../dataset/registry/value-format.js';
import type { Log } from '../log/log.js';
import type { SchemaRegistryConfig } from '../log/open-log.js';
import { resolveSchemaRegistry } from '../runtime/registry-options.js';
import { RegistryValueCodec } from '../runtime/value-codecs.js';

/**
 * `log`, or a view of it decoding each listed topic with its dataset's format (a shadow topic with its live
 * dataset's: a shadow writes under the live subject). No registry configured: `log` (the runners, refused at
 * start without one, never wrote such values).
 * @example const reader = await outputReader(log, config.schemaRegistry, [{ topic: d.topic, dataset: d }])
 */
export async function outputReader(
  log: Log,
  registryConfig: SchemaRegistryConfig | undefined,
  topics: ReadonlyArray<{ topic: string; dataset: DatasetManifest }>,
): Promise<Log> {
  const formatted = topics.filter((t) => t.dataset.valueFormat !== undefined);
  if (formatted.length === 0 || log.withValueCodecs === undefined) return log;
  const registry = await resolveSchemaRegistry(registryConfig);
  if (registry === undefined || registry.url === '') return log;
  const client = new SchemaRegistryClient(registry);
  const codecs = new Map<string, RegistryValueCodec>();
  for (const { topic, dataset } of formatted) {
    const f = dataset.valueFormat as NonNullable<DatasetManifest['valueFormat']>;
    const format = { kind: f.kind, schemaType: f.schemaType, schemaText: f.schema };
    codecs.set(topic, new RegistryValueCodec(new RegistryCodec(client, format, dataset.topic)));
  }
  return log.withValueCodecs(codecs);
}

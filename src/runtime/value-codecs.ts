/**
 * The value codecs of a runner's formatted datasets (`avro()`, `jsonSchema()`): what the Kafka log encodes outputs
 * and decodes inputs with (`Log.withValueCodecs`), in the Confluent wire format against a schema registry. The
 * seam is the log's edge, as a Kafka client's serializers: the batch core keeps working on JSON text,
 * synchronously; an input value that cannot be decoded reaches it marked `undecodable` with its bytes, and is
 * dead-lettered there (`unknown-schema-id`, `undecodable`).
 */
import type { Dataset } from '../dataset/dataset.js';
import type { SchemaRegistryOptions } from '../dataset/registry/schema-registry-client.js';
import { SchemaRegistryClient } from '../dataset/registry/schema-registry-client.js';
import { RegistryCodec } from '../dataset/registry/value-format.js';
import { decodeWire } from '../dataset/registry/wire-format.js';
import { ErrorCodes, isSlipwayError, SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { UndecodableValue, ValueCodec } from '../log/value-codec.js';

/** A registry codec as the log's value codec: JSON text in and out, Confluent wire format on the topic. */
export class RegistryValueCodec implements ValueCodec {
  constructor(readonly codec: RegistryCodec) {}

  async prepareEncode(): Promise<void> {
    await this.codec.schemaId();
  }

  encode(value: string): Uint8Array {
    return this.codec.encodeNow(JSON.parse(value));
  }

  async decode(values: ReadonlyArray<Uint8Array | null>): Promise<Array<string | UndecodableValue>> {
    const unknown = await this.codec.fetchWriterSchemas(values);
    return values.map((bytes) => {
      if (bytes === null) {
        return {
          reason: 'undecodable',
          message: `a null value (a tombstone) on ${this.codec.topic}, read as ${this.codec.format.kind}`,
          bytesBase64: '',
        };
      }
      const base64 = () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
      try {
        const { schemaId } = decodeWire(bytes);
        if (unknown.has(schemaId)) {
          return {
            reason: 'unknown-schema-id',
            message: `schema id ${schemaId} is not in the schema registry: the record was written against another registry, or its schema was deleted`,
            bytesBase64: base64(),
            schemaId,
          };
        }
        // A JSON value its schema rejects decodes: the runner refuses it as `input-schema`, as any other.
        return JSON.stringify(this.codec.decodeNow(bytes, false));
      } catch (err) {
        if (!isSlipwayError(err)) throw err;
        const schemaId = err.details.schemaId;
        return {
          reason: err.code === ErrorCodes.SCHEMA_UNKNOWN_ID ? 'unknown-schema-id' : 'undecodable',
          message: err.message,
          bytesBase64: base64(),
          ...(typeof schemaId === 'number' ? { schemaId } : {}),
        };
      }
    });
  }
}

/**
 * The log a runner uses: `log` itself when no dataset has a format or the engine keeps values as text (embedded,
 * memory: formats are checked as JSON there), else a handle applying a registry codec to each formatted topic.
 * Refused with `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE` when codecs are needed and no registry is given.
 */
export function logWithFormats(
  log: Log,
  topics: ReadonlyMap<string, Dataset>,
  registry: SchemaRegistryOptions | undefined,
  pipeline: string,
): { log: Log; codecs: ReadonlyMap<string, RegistryValueCodec> } {
  const formatted = [...topics].filter(([, d]) => d.format !== undefined);
  if (formatted.length === 0 || log.withValueCodecs === undefined) return { log, codecs: new Map() };
  if (registry === undefined || registry.url === '') {
    throw new SlipwayError(
      ErrorCodes.SCHEMA_REGISTRY_UNAVAILABLE,
      `${pipeline.startsWith('slipway ') ? pipeline : `'${pipeline}'`} reads or writes ${formatted.map(([t]) => t).join(', ')} in a schema-registry format on the ${log.engine} log, and no schema registry is configured: set schemaRegistry: { url } in the environment (slipway.config.ts), or SCHEMA_REGISTRY_URL where it runs`,
      { details: { pipeline, topics: formatted.map(([t]) => t) } },
    );
  }
  const client = new SchemaRegistryClient(registry);
  const codecs = new Map<string, RegistryValueCodec>();
  for (const [topic, d] of formatted) {
    // Subjects follow the dataset's topic (a shadow's outputs are written with the live topic's schema id).
    codecs.set(
      topic,
      new RegistryValueCodec(new RegistryCodec(client, d.format as NonNullable<Dataset['format']>, d.topic)),
    );
  }
  return { log: log.withValueCodecs(codecs), codecs };
}

/**
 * A runner's formats: the log it uses (with codecs for its formatted inputs and outputs, `named` giving the topic it
 * writes each output to), whether it has any codecs, the codecs of its outputs (registered at start), or why it
 * cannot run (thrown at start).
 */
export function runnerFormats(
  log: Log,
  pipeline: { name: string; inputs: ReadonlyArray<Dataset>; outputs: ReadonlyArray<Dataset> },
  named: (topic: string) => string,
  registry: SchemaRegistryOptions | undefined,
): { log: Log; hasCodecs: boolean; outputCodecs: RegistryValueCodec[]; error?: unknown } {
  const formatted = new Map<string, Dataset>();
  for (const d of pipeline.inputs) formatted.set(d.topic, d);
  for (const d of pipeline.outputs) formatted.set(named(d.topic), d);
  try {
    const coded = logWithFormats(log, formatted, registry, pipeline.name);
    const outputCodecs = pipeline.outputs.flatMap((d) => coded.codecs.get(named(d.topic)) ?? []);
    return { log: coded.log, hasCodecs: coded.codecs.size > 0, outputCodecs };
  } catch (error) {
    return { log, hasCodecs: false, outputCodecs: [], error };
  }
}

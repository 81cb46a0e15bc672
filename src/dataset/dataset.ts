import type { Static, TSchema } from '@sinclair/typebox';
import type { ValidateFunction } from 'ajv';
import { SlipwayError } from '../errors.js';
import {
  COMPATIBILITY_MODES,
  type CompatibilityMode,
  DEFAULT_COMPATIBILITY,
  isCompatibilityMode,
} from './compatibility.js';
import { formatMismatch, type RegistryValueFormat } from './registry/value-format.js';
import { parseRetention } from './retention.js';
import {
  compileFastSchemaCheck,
  compileSchema,
  describeErrors,
  type JsonSchema,
  schemaDigest,
  toCanonicalSchema,
} from './schema.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NAME = /^[a-z][a-z0-9_-]{0,99}$/;

/** What a runner does with an input record whose key belongs to another partition. */
export type WrongPartitionPolicy = 'dead-letter' | 'warn' | 'ignore';

export interface DatasetDefinition<S> {
  /** Logical name, lower case: `orders`. */
  name: string;
  /** Semantic version of the schema. The major goes into the physical topic name (`orders.v1`). */
  version: string;
  /** The field of the record whose value is the record key (partitioning, keyed state, canaries). */
  key: string;
  /** JSON Schema of one record, e.g. a TypeBox `Type.Object({...})`. */
  schema: S;
  /** Partitions of the physical topic (default 4). */
  partitions?: number;
  /**
   * An existing topic that holds this dataset (e.g. `'web.clicks'`, written by other producers), instead of
   * `<name>.v<major>`. Slipway never creates or changes it: it checks that it exists with the declared
   * partitions (and retention, when declared) and refuses to run otherwise (`SLIPWAY_TOPIC_NOT_FOUND`,
   * `SLIPWAY_TOPIC_MISMATCH`). Its dead-letter topic `<topic>.dlq` is Slipway's, created as usual.
   */
  topic?: string;
  /**
   * What a runner does with an input record whose key belongs to another partition (Slipway, like Kafka's Java
   * clients, partitions by murmur2; librdkafka clients default to CRC32 unless told `partitioner=murmur2_random`):
   * `dead-letter` it (reason `wrong-partition`), or process it with a `warn`ing (the runner's `wrong-partition`
   * event), or `ignore` (no check). Either way it is counted (`slipway_wrong_partition_total`). Keyed state is per
   * partition, so such a record would read and write another partition's state. Default: `dead-letter` for a
   * dataset bound to an existing `topic` (other producers write it), `ignore` for Slipway's own topics.
   */
  wrongPartition?: WrongPartitionPolicy;
  /**
   * How long the topic keeps records: ms, or text like `'7d'`, `'12h'`, `'30m'`, or `'forever'`. Slipway creates
   * the topic with it and reports a topic whose retention differs (`slipway topics plan`). Default: not declared
   * (the engine's default; not compared).
   */
  retention?: number | string;
  /**
   * How versions of this dataset within one major must relate (default `backward`: readers on a new
   * version read what earlier versions wrote). Checked by `slipway build` and `slipway datasets check`:
   * a patch may not change the schema, a minor must be compatible under this mode, a major may change
   * anything (it is a new topic).
   */
  compatibility?: CompatibilityMode;
  /**
   * For a new major: how a record of the previous major becomes one of this version. `slipway datasets
   * migrate` runs it as a bridge pipeline (`bridgePipeline`) that fills this topic from the old one.
   */
  upcast?: DatasetUpcast;
  /**
   * How values are written on the topic when a schema registry holds their schema: `avro(avscSchema)` or
   * `jsonSchema(schema)`, in the Confluent wire format under the subject `<topic>-value`. `slipway build` checks
   * the schema's compatibility with the subject's latest version in the registry (`SCHEMA_REGISTRY_URL`) and
   * refuses an incompatible one (`SLIPWAY_SCHEMA_INCOMPATIBLE`). Default: none (JSON values, no registry).
   */
  format?: RegistryValueFormat;
  /** And back: how a record of this version becomes one of `upcast.from`, so readers of the old major keep being fed. */
  downcast?(record: never): unknown;
  description?: string;
}

/** How records of an earlier major are carried into a dataset (see {@link DatasetDefinition.upcast}). */
export interface DatasetUpcast {
  /** The dataset of the earlier major (`orders` at 1.x). */
  from: Dataset;
  /** One record of `from` as one record of this dataset. */
  map(record: never): unknown;
}

/** A typed, versioned dataset. Create with {@link defineDataset}. */
export interface Dataset<T = unknown> {
  readonly kind: 'slipway.dataset';
  readonly name: string;
  readonly version: string;
  readonly major: number;
  /** Physical topic: `<name>.v<major>`, or the existing topic the definition names. */
  readonly topic: string;
  /** True when the definition names an existing topic (`topic`): Slipway never creates or changes it. */
  readonly existingTopic?: true;
  /** What runners do with a record on the wrong partition for its key (see {@link DatasetDefinition.wrongPartition}). */
  readonly wrongPartition: WrongPartitionPolicy;
  readonly key: string;
  readonly partitions: number;
  /** Declared retention in ms (-1: forever); undefined when not declared. */
  readonly retentionMs?: number;
  /** The canonical JSON Schema (no TypeBox symbols). */
  readonly schema: JsonSchema;
  /** `sha256:<hex>` of the canonical schema. */
  readonly schemaDigest: string;
  /** How versions within a major must relate (see {@link DatasetDefinition.compatibility}). */
  readonly compatibility: CompatibilityMode;
  /** How a record of the previous major becomes one of this (see {@link DatasetDefinition.upcast}). */
  readonly upcast?: DatasetUpcast;
  /** How a record of this becomes one of `upcast.from`. */
  readonly downcast?: (record: unknown) => unknown;
  /** The registry value format, when declared (see {@link DatasetDefinition.format}). */
  readonly format?: RegistryValueFormat;
  readonly description?: string;
  /** True when `value` matches the schema. */
  is(value: unknown): value is T;
  /** Why `value` does not match, or undefined when it does. */
  explain(value: unknown): string | undefined;
  /** The record key of a valid value, as a string. */
  keyOf(value: T): string;
  /** Phantom field carrying the record type; never set at run time. */
  readonly __type?: T;
}

/** The record type of a dataset. */
export type RecordOf<D> = D extends Dataset<infer T> ? T : never;

/**
 * Defines a typed, versioned dataset.
 *
 * @example
 * import { Type } from '@sinclair/typebox'
 * export const orders = defineDataset({
 *   name: 'orders', version: '1.0.0', key: 'customerId', partitions: 4,
 *   schema: Type.Object({ orderId: Type.String(), customerId: Type.String(), amount: Type.Number() }),
 * })
 */
export function defineDataset<S extends TSchema>(definition: DatasetDefinition<S>): Dataset<Static<S>>;
export function defineDataset<T = unknown>(definition: DatasetDefinition<JsonSchema>): Dataset<T>;
export function defineDataset(definition: DatasetDefinition<unknown>): Dataset<unknown> {
  const where = `dataset '${String(definition?.name)}'`;
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid ${where}: ${message}`, {
      details: { dataset: definition?.name, field },
    });
  };
  if (typeof definition !== 'object' || definition === null) bad('pass an object', '(root)');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name))
    bad('name must be lower case letters, digits, _ or -, starting with a letter', 'name');
  if (typeof definition.version !== 'string' || !SEMVER.test(definition.version))
    bad(`version '${String(definition.version)}' is not a semantic version like 1.2.0`, 'version');
  const partitions = definition.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 10_000)
    bad('partitions must be a whole number from 1 to 10000', 'partitions');
  let retentionMs: number | undefined;
  if (definition.retention !== undefined) {
    const parsed = parseRetention(definition.retention);
    if ('error' in parsed) bad(parsed.error, 'retention');
    else retentionMs = parsed.ms;
  }
  if (definition.compatibility !== undefined && !isCompatibilityMode(definition.compatibility))
    bad(`compatibility must be one of ${COMPATIBILITY_MODES.join(', ')}`, 'compatibility');
  if (typeof definition.schema !== 'object' || definition.schema === null)
    bad('schema must be a JSON Schema object', 'schema');
  const upcast = definition.upcast;
  if (upcast !== undefined) {
    if (!isDataset(upcast.from) || typeof upcast.map !== 'function')
      bad('upcast must be { from: <dataset of an earlier major>, map(record) }', 'upcast');
    else if (
      upcast.from.name !== definition.name ||
      upcast.from.major >= Number(SEMVER.exec(definition.version)?.[1] ?? 0)
    )
      bad(
        `upcast.from must be an earlier major of '${definition.name}' (it is ${upcast.from.name}@${upcast.from.version})`,
        'upcast.from',
      );
  }
  if (definition.downcast !== undefined && (upcast === undefined || typeof definition.downcast !== 'function'))
    bad('downcast needs an upcast (it maps back to upcast.from) and must be a function', 'downcast');
  if (
    definition.topic !== undefined &&
    (typeof definition.topic !== 'string' ||
      !/^[A-Za-z0-9._-]{1,249}$/.test(definition.topic) ||
      definition.topic.startsWith('__'))
  )
    bad(
      `topic ${JSON.stringify(definition.topic)} is not a topic name: use 1-249 letters, digits, '.', '_' or '-', not starting with '__'`,
      'topic',
    );
  if (definition.wrongPartition !== undefined && !['dead-letter', 'warn', 'ignore'].includes(definition.wrongPartition))
    bad(
      `wrongPartition must be 'dead-letter', 'warn' or 'ignore', got ${JSON.stringify(definition.wrongPartition)}`,
      'wrongPartition',
    );
  const format = definition.format;
  if (
    format !== undefined &&
    (typeof format !== 'object' ||
      format === null ||
      !['avro', 'jsonSchema'].includes(format.kind) ||
      typeof format.schemaText !== 'string')
  )
    bad('format must be made by avro(schema) or jsonSchema(schema)', 'format');
  const schema = toCanonicalSchema(definition.schema);
  let validate: ValidateFunction;
  try {
    validate = compileSchema(schema);
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `Invalid ${where}: schema is not valid JSON Schema: ${(err as Error).message}`,
      {
        cause: err,
        details: { dataset: definition.name, field: 'schema' },
      },
    );
  }
  const key = definition.key;
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = (schema.required ?? []) as string[];
  if (typeof key !== 'string' || !(key in properties))
    bad(
      `key '${String(key)}' is not a property of the schema (properties: ${Object.keys(properties).join(', ') || 'none'})`,
      'key',
    );
  if (!required.includes(key)) bad(`key '${key}' must be a required property of the schema`, 'key');
  const keyType = properties[key]?.type;
  if (keyType !== 'string' && keyType !== 'integer' && keyType !== 'number')
    bad(`key '${key}' must be a string or a number, not ${JSON.stringify(keyType)}`, 'key');

  const fast = compileFastSchemaCheck(schema);
  const major = Number((SEMVER.exec(definition.version) as RegExpExecArray)[1]);
  return Object.freeze({
    kind: 'slipway.dataset' as const,
    name: definition.name,
    version: definition.version,
    major,
    topic: definition.topic ?? `${definition.name}.v${major}`,
    ...(definition.topic === undefined ? {} : { existingTopic: true as const }),
    wrongPartition: definition.wrongPartition ?? (definition.topic === undefined ? 'ignore' : 'dead-letter'),
    key,
    partitions,
    ...(retentionMs === undefined ? {} : { retentionMs }),
    schema,
    schemaDigest: schemaDigest(schema),
    compatibility: definition.compatibility ?? DEFAULT_COMPATIBILITY,
    ...(upcast === undefined ? {} : { upcast }),
    ...(definition.downcast === undefined ? {} : { downcast: definition.downcast as (record: unknown) => unknown }),
    ...(format === undefined ? {} : { format }),
    ...(definition.description === undefined ? {} : { description: definition.description }),
    // The fast check first (one read per property); the validator decides when it says no. A registry format's
    // own schema is checked too, on every engine (see formatMismatch).
    is:
      format !== undefined
        ? (value: unknown): value is unknown =>
            (validate(value) as boolean) && formatMismatch(format, value) === undefined
        : fast === undefined
          ? (value: unknown): value is unknown => validate(value) as boolean
          : (value: unknown): value is unknown => fast(value) || (validate(value) as boolean),
    explain: (value: unknown): string | undefined =>
      validate(value)
        ? format === undefined
          ? undefined
          : formatMismatch(format, value)
        : describeErrors(validate.errors),
    keyOf: (value: unknown): string => String((value as Record<string, unknown>)[key]),
  });
}

/** True when `value` is a Dataset made by defineDataset. */
export function isDataset(value: unknown): value is Dataset {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.dataset';
}

/** The dead-letter topic of an input dataset: `<topic>.dlq`. */
export function dlqTopic(dataset: Pick<Dataset, 'topic'>): string {
  return `${dataset.topic}.dlq`;
}

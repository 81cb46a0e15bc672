import type { Static, TSchema } from '@sinclair/typebox';
import { parseRange, satisfies } from '../dataset/compatibility.js';
import type { Dataset } from '../dataset/dataset.js';
import { isDataset } from '../dataset/dataset.js';
import { compileSchema, type JsonSchema, toCanonicalSchema } from '../dataset/schema.js';
import type { Table } from '../datastore/table.js';
import { SlipwayError } from '../errors.js';
import { isToggle, type Toggle } from '../toggles/toggle.js';
import { resolveConfig } from './config.js';
import type { Secrets } from './secrets.js';
import { checkStateMigration, type StateMigration } from './state-migration.js';
import { isTableSink, type TableSink } from './table-sink.js';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const NAME = /^[a-z][a-z0-9_-]{0,99}$/;

/** Where the record being processed came from. */
export interface SourceInfo {
  /** Input dataset name (logical, e.g. `orders`). */
  dataset: string;
  /** Physical topic (`orders.v1`). */
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  /** Append time of the input record, ms since the epoch. */
  timestamp: number;
  headers: Readonly<Record<string, string>>;
}

/**
 * Keyed state of the pipeline, scoped to the input partition being processed: records with the same
 * dataset key always land in the same partition, so key your state by the input dataset's key.
 * Values are JSON. Writes commit atomically with the outputs and the input offsets.
 */
export interface KeyedState {
  get<V = unknown>(key: string): V | undefined;
  set(key: string, value: unknown): void;
  delete(key: string): void;
}

/** What `process` gets beside the record. */
export interface ProcessContext<C> {
  /**
   * Writes one record to an output dataset (validated against the dataset's schema), or one row to the
   * pipeline's sink table: a record whose fields fill the table's columns (`TableColumn.field`).
   */
  // One signature, not two overloads: a wrong field in a dataset's record is then reported by the type
  // checker as that field's error, not as "no overload matches this call".
  // biome-ignore lint/suspicious/noExplicitAny: a dataset of any record type
  emit<D extends Dataset<any> | Table>(
    target: D,
    value: D extends Dataset<infer T> ? T : Record<string, unknown>,
  ): void;
  /**
   * Deletes the row of the sink table with the primary key given by `key`'s fields (a sink declared with
   * `deleteOnTombstone`). Within a batch, the last emit or tombstone of a key wins.
   */
  tombstone(table: Table, key: Record<string, unknown>): void;
  readonly state: KeyedState;
  /** The pipeline's config, validated (with defaults applied) when the runner starts. */
  readonly config: C;
  readonly source: SourceInfo;
  /** The pipeline's name and version. */
  readonly pipeline: { name: string; version: string };
  /**
   * The secrets the environment gives this pipeline (declared by reference in slipway.config.ts, resolved
   * in the runner process at start): `ctx.secrets.get('db-password')`. Never in artifacts, the control
   * plane, events, logs or metrics.
   */
  readonly secrets: Secrets;
  /**
   * The variant of a toggle (declared in the pipeline's `toggles`) for the current record: from the
   * toggle's setting in the environment at the version this record's offset range was committed with,
   * key-sticky, synchronous. Outputs emitted after it carry it in their `slipway-toggles` header.
   */
  toggle(name: string): string;
}

export interface PipelineDefinition<I extends Dataset, CS> {
  name: string;
  version: string;
  inputs: readonly I[];
  /** Datasets it writes (topics). Leave out (or `[]`) for a pipeline with a `sink`. */
  outputs?: readonly Dataset[];
  /**
   * A table it writes rows to (see {@link tableSink}), exactly once with its input offsets. A pipeline writes
   * topics or a table, not both: the two cannot commit in one transaction (`SLIPWAY_SINK_WITH_TOPICS`).
   */
  sink?: TableSink;
  /** JSON Schema of the config (TypeBox works); config is validated once, at start. */
  config?: CS;
  /** Version of the keyed state's layout. Bump it when the shape of stored state changes. */
  stateVersion?: number;
  /**
   * How each key's state is carried over from the layout of the version before (`from`), when
   * `stateVersion` changed; with `down`, how it goes back (a rollback). See {@link StateMigration}.
   */
  migrateState?: StateMigration;
  /**
   * The versions of each input this pipeline reads, by dataset name: `{ orders: '^1.2' }` (it needs
   * producers on 1.2 or later). Default: the input's whole major; a deployment is refused when the
   * producers in the environment write outside the range, or a schema this version cannot read.
   */
  reads?: Readonly<Record<string, string>>;
  description?: string;
  /** Feature and data toggles the pipeline reads (`ctx.toggle(name)`) or whose guards hold its outputs. */
  toggles?: readonly Toggle[];
  process(record: I extends Dataset<infer T> ? T : never, ctx: ProcessContext<ConfigOf<CS>>): void;
}

type ConfigOf<CS> = CS extends TSchema ? Static<CS> : Record<string, unknown>;

/** A pipeline made by {@link definePipeline}. */
export interface Pipeline<C = Record<string, unknown>> {
  readonly kind: 'slipway.pipeline';
  readonly name: string;
  readonly version: string;
  readonly inputs: readonly Dataset[];
  readonly outputs: readonly Dataset[];
  /** The table it writes to, when it is a sink pipeline (then `outputs` is empty). */
  readonly sink?: TableSink;
  readonly configSchema: JsonSchema | undefined;
  readonly stateVersion: number;
  /** How state is migrated from the layout before (absent: it is not). */
  readonly migrateState?: StateMigration;
  /** The declared reader ranges of inputs, by dataset name (see {@link PipelineDefinition.reads}). */
  readonly reads?: Readonly<Record<string, string>>;
  readonly description?: string;
  /** Its toggles (none: `[]`). */
  readonly toggles: readonly Toggle[];
  process(record: unknown, ctx: ProcessContext<C>): void;
  /** Validates config and applies its defaults; throws `SLIPWAY_INVALID_CONFIG` naming the bad field. */
  resolveConfig(config: unknown): C;
}

/**
 * Defines a pipeline: code that reads datasets and writes datasets.
 *
 * @example
 * export const enrich = definePipeline({
 *   name: 'enrich-orders', version: '1.0.0', inputs: [orders], outputs: [enrichedOrders],
 *   config: Type.Object({ vatRate: Type.Number({ default: 0.2 }) }),
 *   process(order, ctx) {
 *     const total = (ctx.state.get<number>(order.customerId) ?? 0) + order.amount
 *     ctx.state.set(order.customerId, total)
 *     ctx.emit(enrichedOrders, { ...order, customerTotal: total })
 *   },
 * })
 */
export function definePipeline<I extends Dataset, CS = undefined>(
  definition: PipelineDefinition<I, CS>,
): Pipeline<ConfigOf<CS>> {
  const where = `pipeline '${String(definition?.name)}'`;
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid ${where}: ${message}`, {
      details: { pipeline: definition?.name, field },
    });
  };
  if (typeof definition !== 'object' || definition === null) bad('pass an object', '(root)');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name))
    bad('name must be lower case letters, digits, _ or -, starting with a letter', 'name');
  if (typeof definition.version !== 'string' || !SEMVER.test(definition.version))
    bad(`version '${String(definition.version)}' is not a semantic version like 1.2.0`, 'version');
  if (!Array.isArray(definition.inputs) || definition.inputs.length === 0)
    bad('inputs must list at least one dataset', 'inputs');
  const outputs = definition.outputs ?? (definition.sink !== undefined ? [] : undefined);
  if (!Array.isArray(outputs)) bad('outputs must be a list of datasets', 'outputs');
  definition.inputs.forEach((d, i) => {
    if (!isDataset(d)) bad(`inputs[${i}] is not a dataset made by defineDataset`, `inputs[${i}]`);
  });
  if (definition.sink !== undefined) {
    if (!isTableSink(definition.sink)) bad('sink must be made by tableSink(table, options)', 'sink');
    if ((outputs as Dataset[]).length > 0)
      throw new SlipwayError(
        'SLIPWAY_SINK_WITH_TOPICS',
        `Invalid ${where}: it writes the table ${definition.sink.table.name} and the topics ${(outputs as Dataset[]).map((d) => d.topic).join(', ')}. The rows commit in a PostgreSQL transaction and the records in the log's, and no transaction spans both, so a crash between them would lose or repeat one side: not exactly once. Write the table from this pipeline and the topics from another one reading the same inputs, or emit to a topic here and route that topic to a sink pipeline.`,
        { details: { pipeline: definition.name, field: 'outputs', table: definition.sink.table.name } },
      );
  }
  (outputs as Dataset[]).forEach((d, i) => {
    if (!isDataset(d)) bad(`outputs[${i}] is not a dataset made by defineDataset`, `outputs[${i}]`);
  });
  const topics = new Set<string>();
  for (const d of [...definition.inputs, ...(outputs as Dataset[])]) {
    if (topics.has(d.topic))
      bad(`dataset ${d.topic} is listed twice (a pipeline may not read its own output)`, 'outputs');
    topics.add(d.topic);
  }
  if (typeof definition.process !== 'function') bad('process must be a function (record, ctx) => void', 'process');
  for (const [name, range] of Object.entries(definition.reads ?? {})) {
    if (!definition.inputs.some((d) => d.name === name))
      bad(
        `reads names '${name}', which is not an input (inputs: ${definition.inputs.map((d) => d.name).join(', ')})`,
        `reads.${name}`,
      );
    const version = definition.inputs.find((d) => d.name === name)?.version ?? '';
    if (typeof range !== 'string' || parseRange(range) === undefined)
      bad(`reads.${name} '${String(range)}' is not a range like ^1.2, ~1.2, >=1.2.0 or 1.x`, `reads.${name}`);
    else if (satisfies(version, range) !== true)
      bad(
        `reads.${name} '${range}' does not include the version this pipeline is built with (${version})`,
        `reads.${name}`,
      );
  }
  const toggles = definition.toggles ?? [];
  if (!Array.isArray(toggles)) bad('toggles must be a list of toggles made by defineToggle', 'toggles');
  const toggleNames = new Set<string>();
  const guarded = new Set<string>();
  toggles.forEach((t, i) => {
    if (!isToggle(t)) bad(`toggles[${i}] is not a toggle made by defineToggle`, `toggles[${i}]`);
    if (toggleNames.has(t.name)) bad(`toggle '${t.name}' is listed twice`, `toggles[${i}]`);
    toggleNames.add(t.name);
    for (const g of t.guards) {
      if (!(outputs as Dataset[]).includes(g))
        bad(`toggle '${t.name}' guards ${g.topic}, which is not an output of the pipeline`, `toggles[${i}]`);
      if (guarded.has(g.topic)) bad(`output ${g.topic} is guarded by two toggles`, `toggles[${i}]`);
      guarded.add(g.topic);
    }
  });
  const stateVersion = definition.stateVersion ?? 1;
  if (!Number.isInteger(stateVersion) || stateVersion < 1)
    bad('stateVersion must be a whole number ≥ 1', 'stateVersion');
  const migrateState =
    definition.migrateState === undefined
      ? undefined
      : checkStateMigration(definition.name, stateVersion, definition.migrateState);

  const configSchema = definition.config === undefined ? undefined : toCanonicalSchema(definition.config);
  if (configSchema !== undefined) {
    try {
      compileSchema(configSchema, { defaults: true });
    } catch (err) {
      bad(`config is not valid JSON Schema: ${(err as Error).message}`, 'config');
    }
  }
  const name = definition.name;
  return Object.freeze({
    kind: 'slipway.pipeline' as const,
    name,
    version: definition.version,
    inputs: Object.freeze([...definition.inputs]) as readonly Dataset[],
    outputs: Object.freeze([...(outputs as Dataset[])]),
    ...(definition.sink === undefined ? {} : { sink: definition.sink }),
    configSchema,
    stateVersion,
    ...(migrateState === undefined ? {} : { migrateState }),
    ...(definition.reads === undefined ? {} : { reads: Object.freeze({ ...definition.reads }) }),
    ...(definition.description === undefined ? {} : { description: definition.description }),
    toggles: Object.freeze([...toggles]),
    process: definition.process as unknown as (record: unknown, ctx: ProcessContext<ConfigOf<CS>>) => void,
    resolveConfig(config: unknown): ConfigOf<CS> {
      return resolveConfig<ConfigOf<CS>>(configSchema, name, config);
    },
  });
}

/** True when `value` is a Pipeline made by definePipeline. */
export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.pipeline';
}

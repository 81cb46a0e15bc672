import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { AppendRecord, Headers, LogRecord } from '../log/log.js';
import { partitionFor } from '../log/partitioner.js';
import type { Pipeline, ProcessContext, SourceInfo } from '../pipeline/pipeline.js';
import { NO_SECRETS, type Secrets } from '../pipeline/secrets.js';
import { TOGGLES_HEADER, ToggleEvaluator } from '../toggles/toggle-evaluator.js';
import { EMPTY_SNAPSHOT, type ToggleSnapshot } from '../toggles/toggle-log.js';
import { evaluateVariant, type VariantPlan } from '../toggles/variant-plan.js';
import type { StateStore } from './keyed-state.js';
import {
  DLQ_HEADERS,
  type DlqEvent,
  type DlqReason,
  keyBucket,
  type Provenance,
  SOURCE_HEADER,
  type WrongPartitionEvent,
} from './runner-types.js';
import { type SinkBatch, SinkRowError, SinkRows } from './sink-rows.js';

/** Where the outputs of one output dataset go (its topic carries a shadow runner's suffix). */
export interface OutputSlot {
  dataset: Dataset;
  topic: string;
  records: AppendRecord[];
}

/** What one batch produced: the outputs and dead letters to commit (per topic), and counts. */
export interface ProcessedBatch {
  outputs: Array<{ topic: string; records: AppendRecord[] }>;
  /** Output records, dead letters, and records passed over (outside the canary key share). */
  outputCount: number;
  dlqCount: number;
  skipped: number;
  /** Emits to a toggle-guarded output dropped because the record's variant was the default. */
  guarded: number;
  /** A sink pipeline's rows (and tombstones) to commit with the batch's offsets. */
  rows?: SinkBatch;
}

export interface BatchCoreOptions {
  pipeline: Pipeline;
  /** Output slots by dataset topic. */
  outputs: Map<string, OutputSlot>;
  /** Input datasets by topic. */
  inputs: Map<string, Dataset>;
  store: StateStore;
  /** Dead-letter topic by input topic (default `<input>.dlq`; a shadow's are under its shadow names). */
  dlqTopics?: ReadonlyMap<string, string>;
  /** Stamped on every dead letter beside the pipeline version. */
  provenance?: Provenance;
  /** Told of each record sent to a dead-letter topic (for metrics and `dlq` events). */
  onDlq(inputTopic: string, event: DlqEvent): void;
  /** An input record whose key belongs to another partition (its dataset's `wrongPartition` is not `ignore`). */
  onWrongPartition?(inputTopic: string, event: WrongPartitionEvent): void;
  /** What `ctx.secrets` gives `process` (default: none). */
  secrets?: Secrets;
}

/**
 * The runner's per-record core, shared by the polling loop and the test harness: each record's
 * input JSON and schema are checked, `process` runs with keyed state scoped to the record's input
 * partition (undone if the record fails), outputs are checked against their datasets and stamped
 * with the `slipway-source` header, and a record that fails anywhere goes to its input's dead-letter
 * topic with the reason and the source. Synchronous: the state writes stay pending in the store
 * until the caller commits them.
 */
export class BatchCore {
  readonly #pipeline: Pipeline;
  readonly #outputs: Map<string, OutputSlot>;
  readonly #inputs: Map<string, Dataset>;
  readonly #store: StateStore;
  readonly #onDlq: BatchCoreOptions['onDlq'];
  readonly #onWrongPartition: BatchCoreOptions['onWrongPartition'];
  readonly #dlqTopics: ReadonlyMap<string, string>;
  /** The headers every dead letter carries (which version wrote it), built once. */
  readonly #dlqHeaders: Headers;
  readonly #secrets: Secrets;
  /** The pipeline's toggles compiled per snapshot; undefined when it declares none. */
  readonly #toggles: ToggleEvaluator | undefined;
  /** The sink's rows of the batch in progress (a sink pipeline). */
  readonly #sink: SinkRows | undefined;

  constructor(options: BatchCoreOptions) {
    this.#sink = options.pipeline.sink === undefined ? undefined : new SinkRows(options.pipeline.sink);
    this.#secrets = options.secrets ?? NO_SECRETS;
    this.#pipeline = options.pipeline;
    this.#outputs = options.outputs;
    this.#inputs = options.inputs;
    this.#store = options.store;
    this.#onDlq = options.onDlq;
    this.#onWrongPartition = options.onWrongPartition;
    this.#dlqTopics = options.dlqTopics ?? new Map(options.pipeline.inputs.map((d) => [d.topic, dlqTopic(d)] as const));
    this.#toggles = options.pipeline.toggles.length === 0 ? undefined : new ToggleEvaluator(options.pipeline.toggles);
    const p = options.provenance;
    this.#dlqHeaders = {
      [DLQ_HEADERS.version]: options.pipeline.version,
      ...(p?.artifact === undefined ? {} : { [DLQ_HEADERS.artifact]: p.artifact }),
      ...(p?.deployment === undefined ? {} : { [DLQ_HEADERS.deployment]: p.deployment }),
    };
  }

  /** Processes a batch with `config`, passing over records whose key bucket is outside `range` (a canary's share). */
  process(
    batch: LogRecord[],
    config: unknown,
    range: { from: number; to: number } | undefined,
    toggles: ToggleSnapshot = EMPTY_SNAPSHOT,
  ): ProcessedBatch {
    const store = this.#store;
    const pipeline = this.#pipeline;
    const outputs = this.#outputs;
    const inputs = this.#inputs;
    const dlqRecords = new Map<string, AppendRecord[]>();
    let dlqCount = 0;
    let outCount = 0;
    let skipped = 0;
    let guarded = 0;
    // Toggles: the evaluators at this batch's snapshot, the variants the current record was given (for the
    // `slipway-toggles` header of its outputs and dead letters), and the outputs a data toggle guards.
    const evaluator = this.#toggles;
    const hasToggles = evaluator !== undefined;
    const compiled: ReadonlyMap<string, VariantPlan> = hasToggles ? evaluator.at(toggles) : new Map();
    const versionPrefix = `${toggles.version};`;
    const guards = new Map<string, { name: string; def: string }>();
    if (hasToggles)
      for (const t of evaluator.toggles.values())
        for (const g of t.guards) guards.set(g.topic, { name: t.name, def: t.default });
    // The header of a record's outputs names the variants it was given, in evaluation order: its text is
    // built once per combination (a number: each evaluation one digit, base `radix`) and reused, so most
    // records allocate nothing for it.
    // `stamp` is the number of the record the entry was last evaluated for and `last` its variant: a toggle asked
    // for twice by one record (or by a guarded output after `process` asked) is evaluated once.
    type Entry = {
      name: string;
      plan: VariantPlan;
      base: number;
      variants: readonly string[];
      stamp: number;
      last: string;
    };
    const entries = new Map<string, Entry>();
    const order = hasToggles ? [...evaluator.toggles.values()] : [];
    const maxVariants = Math.max(1, ...order.map((t) => t.variants.length));
    const ordered: Entry[] = order.map((t, i) => {
      const e: Entry = {
        name: t.name,
        plan: compiled.get(t.name) as VariantPlan,
        base: i * maxVariants + 1,
        variants: t.variants,
        stamp: -1,
        last: '',
      };
      entries.set(t.name, e);
      return e;
    });
    const radix = order.length * maxVariants + 1;
    // Header texts by combination: small combinations (a few toggles, as most pipelines have) index an array,
    // cheaper than a Map lookup per output; larger ones go to the Map.
    // Every toggle is a digit once at most, so combinations stay below radix ** toggles.
    const small = Math.min(4096, radix ** order.length);
    const headerAt = new Array<string | undefined>(small);
    const headerOf = new Map<number, string>();
    let combo = 0;
    /** The number of the record in progress (see Entry's stamp). */
    let recordNo = 0;
    /** The toggles the current record was given, in evaluation order (the first evaluatedCount entries). */
    const evaluated: Entry[] = [];
    let evaluatedCount = 0;
    let currentValue: unknown;
    const togglesHeader = (): string => {
      let h = combo < 0 ? undefined : combo < small ? headerAt[combo] : headerOf.get(combo);
      if (h === undefined) {
        h = versionPrefix;
        for (let i = 0; i < evaluatedCount; i++) {
          const e = evaluated[i] as Entry;
          h += `${i === 0 ? '' : ','}${e.name}=${e.last}`;
        }
        if (combo >= 0) {
          if (combo < small) headerAt[combo] = h;
          else headerOf.set(combo, h);
        }
      }
      return h;
    };
    /** The entry of a toggle the pipeline asked for out of its usual order (an unknown name is refused). */
    const entryOf = (name: string): Entry => {
      const e = entries.get(name);
      if (e !== undefined) return e;
      throw new SlipwayError(
        'SLIPWAY_UNKNOWN_TOGGLE',
        `ctx.toggle('${name}'): '${pipeline.name}' does not declare that toggle (its toggles: ${[...entries.keys()].join(', ') || 'none'}); add it to the pipeline's toggles.`,
        { details: { toggle: name } },
      );
    };
    // Small, so V8 inlines it into the pipeline's `process` at each `ctx.toggle` (the refusal is in entryOf).
    const variantOf = (name: string): string => {
      // A pipeline asks for its toggles in the same order record after record: the entry at this position is
      // usually the one (one comparison of the same interned text), else it is looked up by name.
      let e = ordered[evaluatedCount];
      if (e === undefined || e.name !== name) e = entryOf(name);
      if (e.stamp === recordNo) return e.last;
      const plan = e.plan;
      // A fixed variant (kind 0, a toggle fully on or off) without a call.
      const index = plan.kind === 0 ? plan.index : evaluateVariant(plan, current.key, currentValue);
      const v = e.variants[index] as string;
      e.stamp = recordNo;
      e.last = v;
      evaluated[evaluatedCount++] = e;
      // Past what a double holds exactly, combinations are no longer cached (-1): the text is built each time.
      combo = combo < 0 || combo > 1e13 ? -1 : combo * radix + e.base + index;
      return v;
    };
    const guarding = guards.size > 0;
    /** Whether an emit to `topic` is dropped: a data toggle guards it and the record's variant is the default. */
    const isGuarded = (topic: string): boolean => {
      const guard = guards.get(topic);
      if (guard === undefined || variantOf(guard.name) !== guard.def) return false;
      guarded++;
      return true;
    };
    // The headers of an output: one closure or the other for the whole batch, so `emit` stays small enough for
    // V8 to inline its checks (literal keys, SOURCE_HEADER's and TOGGLES_HEADER's values: one object shape each).
    const headersOf: (src: string) => Headers = hasToggles
      ? (src) => ({ 'slipway-source': src, 'slipway-toggles': togglesHeader() })
      : (src) => ({ 'slipway-source': src });
    // The output slot of each emit of the current record (the first emitIndex entries), to take them back
    // if the record fails. Written by index, never shortened: emitting allocates nothing here.
    const emittedThisRecord: OutputSlot[] = [];
    let source = '';
    let emitIndex = 0;
    let current: LogRecord = batch[0] as LogRecord;
    const sourceInfo: SourceInfo = {
      dataset: '',
      topic: '',
      partition: 0,
      offset: 0,
      key: null,
      timestamp: 0,
      headers: {},
    };
    const sink = this.#sink;
    const sinkTable = sink?.sink.table;
    const ctx: ProcessContext<unknown> = {
      emit: (target: Dataset | NonNullable<typeof sinkTable>, value: unknown) => {
        if (target === sinkTable && sink !== undefined) {
          sink.emit(value, source);
          return;
        }
        const dataset = target as Dataset;
        const out = outputs.get(dataset?.topic);
        if (out === undefined || out.dataset !== dataset) {
          throw new OutputError(
            `emitted to dataset '${String(dataset?.topic)}', which is not an output of '${pipeline.name}' (outputs: ${[...outputs.keys()].join(', ')})`,
          );
        }
        if (!dataset.is(value)) throw new OutputError(`output to ${dataset.topic} ${dataset.explain(value)}`);
        if (guarding && isGuarded(dataset.topic)) return;
        const key = dataset.keyOf(value);
        const src = emitIndex === 0 ? source : `${source}#${emitIndex}`;
        out.records.push({
          partition: partitionFor(key, dataset.partitions),
          key,
          value: JSON.stringify(value),
          headers: headersOf(src),
        });
        emittedThisRecord[emitIndex] = out;
        emitIndex++;
      },
      state: store,
      config,
      source: sourceInfo,
      pipeline: { name: pipeline.name, version: pipeline.version },
      secrets: this.#secrets,
      toggle: variantOf,
      tombstone: (table, key) => {
        if (sink === undefined || table !== sinkTable)
          throw new OutputError(
            `tombstone to table '${String(table?.name)}', which is not the sink of '${pipeline.name}'${sinkTable === undefined ? '' : ` (its sink: ${sinkTable.name})`}`,
          );
        sink.tombstone(key);
      },
    };
    const dlqTopics = this.#dlqTopics;
    const dlqHeaders = this.#dlqHeaders;
    const toDlq = (reason: DlqReason, message: string, err?: unknown): void => {
      const topic = dlqTopics.get(current.topic) as string;
      let list = dlqRecords.get(topic);
      if (list === undefined) {
        list = [];
        dlqRecords.set(topic, list);
      }
      const code = isSlipwayError(err) ? err.code : undefined;
      const undecodable = current.undecodable;
      list.push({
        partition: current.partition,
        key: current.key,
        value: JSON.stringify({
          reason,
          message,
          ...(code === undefined ? {} : { code }),
          source,
          pipeline: pipeline.name,
          version: pipeline.version,
          key: current.key,
          // A value that could not be decoded has no text: its bytes are kept, base64, so nothing is lost.
          value: undecodable === undefined ? current.value : null,
          ...(undecodable === undefined
            ? {}
            : {
                valueBase64: undecodable.bytesBase64,
                ...(undecodable.schemaId === undefined ? {} : { schemaId: undecodable.schemaId }),
              }),
          at: new Date().toISOString(),
        }),
        headers: {
          ...dlqHeaders,
          [SOURCE_HEADER]: source,
          [DLQ_HEADERS.reason]: reason,
          ...(hasToggles ? { [TOGGLES_HEADER]: togglesHeader() } : {}),
        },
      });
      dlqCount++;
      this.#onDlq(current.topic, { reason, message, source });
    };

    let prefix = '';
    let prefixTopic = '';
    let prefixPartition = -1;
    for (let i = 0; i < batch.length; i++) {
      current = batch[i] as LogRecord;
      if (range !== undefined) {
        const bucket = keyBucket(current.key ?? '');
        if (bucket < range.from || bucket >= range.to) {
          skipped++;
          continue;
        }
      }
      if (current.partition !== prefixPartition || current.topic !== prefixTopic) {
        // Records of a batch come partition by partition: the prefix changes rarely.
        prefixTopic = current.topic;
        prefixPartition = current.partition;
        prefix = `${prefixTopic}/${prefixPartition}/`;
      }
      source = prefix + current.offset;
      emitIndex = 0;
      if (hasToggles) {
        combo = 0;
        evaluatedCount = 0;
        recordNo++;
      }
      const dataset = inputs.get(current.topic) as Dataset;
      // Cheap check (one murmur2 of the key) only where declared: a record another producer partitioned otherwise.
      if (dataset.wrongPartition !== 'ignore' && current.key !== null && current.key !== undefined) {
        const expected = partitionFor(current.key, dataset.partitions);
        if (expected !== current.partition) {
          this.#onWrongPartition?.(current.topic, {
            source,
            key: current.key,
            expected,
            actual: current.partition,
            policy: dataset.wrongPartition,
          });
          if (dataset.wrongPartition === 'dead-letter') {
            toDlq(
              'wrong-partition',
              `key '${current.key}' belongs to partition ${expected} of ${dataset.partitions} (murmur2), found on ${current.partition}: its producer partitions otherwise (librdkafka: set partitioner=murmur2_random)`,
            );
            continue;
          }
        }
      }
      if (current.undecodable !== undefined) {
        // The log's value codec could not decode it (Kafka, a registry format): its reason, its original bytes.
        toDlq(current.undecodable.reason, current.undecodable.message);
        continue;
      }
      let value: unknown;
      try {
        value = JSON.parse(current.value);
      } catch (err) {
        toDlq('invalid-json', `input is not JSON: ${(err as Error).message}`);
        continue;
      }
      if (!dataset.is(value)) {
        toDlq('input-schema', `input does not match ${dataset.topic}: ${dataset.explain(value)}`);
        continue;
      }
      sourceInfo.dataset = dataset.name;
      sourceInfo.topic = current.topic;
      sourceInfo.partition = current.partition;
      sourceInfo.offset = current.offset;
      sourceInfo.key = current.key;
      sourceInfo.timestamp = current.timestamp;
      sourceInfo.headers = current.headers;
      currentValue = value;
      store.beginRecord(current.partition);
      try {
        pipeline.process(value, ctx as ProcessContext<never>);
        outCount += emitIndex;
        if (sink !== undefined) outCount += sink.commitRecord();
      } catch (err) {
        store.rollbackRecord();
        sink?.rollbackRecord();
        for (let e = 0; e < emitIndex; e++) (emittedThisRecord[e] as OutputSlot).records.pop();
        if (err instanceof OutputError || err instanceof SinkRowError) toDlq('output-schema', err.message);
        else toDlq('process-error', err instanceof Error ? err.message : String(err), err);
      }
    }

    const commitOutputs: Array<{ topic: string; records: AppendRecord[] }> = [];
    for (const out of outputs.values()) {
      if (out.records.length > 0) commitOutputs.push({ topic: out.topic, records: out.records });
      out.records = [];
    }
    for (const [topic, records] of dlqRecords) commitOutputs.push({ topic, records });
    return {
      outputs: commitOutputs,
      outputCount: outCount,
      dlqCount,
      skipped,
      guarded,
      ...(sink === undefined ? {} : { rows: sink.takeBatch() }),
    };
  }
}

/** An emit that the pipeline made wrongly: the record goes to the DLQ as `output-schema`. */
class OutputError extends Error {}

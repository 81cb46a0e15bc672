import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { AppendRecord, Log, LogRecord } from '../log/log.js';
import { openMemoryLog } from '../log/memory/memory-log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { type DlqReason, processBatchDirect, Runner, SOURCE_HEADER } from '../runtime/runner.js';
import { parseTogglesHeader, TOGGLES_HEADER } from '../toggles/toggle-evaluator.js';
import { StaticToggleSource } from '../toggles/toggle-log.js';
import { checkToggleSetting, type ToggleSetting } from '../toggles/toggle-setting.js';
import { keyOfValue, partitionOfKey, type RawRecord } from './dataset-records.js';
import { TestClock } from './test-clock.js';

export interface HarnessOptions {
  /** Pipeline config, validated as at a real start (`SLIPWAY_INVALID_CONFIG` names the bad field). */
  config?: unknown;
  /** The clock that stamps sent records (default: a `TestClock` at 2026-01-01T00:00:00Z). */
  clock?: TestClock;
  /**
   * Most input records per batch through the runner's core (default: the runner's 2000). Outputs, state
   * and DLQ entries do not depend on it, as with the runner.
   */
  batchSize?: number;
  /**
   * Settings of the pipeline's toggles by name (`{ 'new-pricing': { fixed: 'new' } }`, `{ percent: 10 }`,
   * `{ where: [...] }`); those left out serve their default. Change them between sends with `setToggle`.
   */
  toggles?: Record<string, ToggleSetting | null>;
}

/** An output record, in the order its input was sent. */
export interface HarnessOutput<T = unknown> {
  value: T;
  key: string | null;
  /** The output's topic (`enriched-orders.v1`). */
  topic: string;
  /** The input it came from: `<topic>/<partition>/<offset>[#n]` (the `slipway-source` header). */
  source: string;
  timestamp: number;
  /** The toggle version and the variants that produced it (pipelines with toggles). */
  toggles?: { version: number; variants: Record<string, string> };
}

/** A record the pipeline sent to its dead-letter dataset, and why. */
export interface HarnessDlqEntry {
  reason: DlqReason;
  message: string;
  /** The SlipwayError code thrown by `process`, if it threw one. */
  code?: string;
  /** The input's topic. */
  topic: string;
  source: string;
  key: string | null;
  /** The input's value: parsed when it is JSON, else the raw text. */
  value: unknown;
}

/** What one `send` produced. */
export interface SendResult {
  outputs: HarnessOutput[];
  dlq: HarnessDlqEntry[];
}

/** The runner's default batch size, which the harness keeps. */
const DEFAULT_BATCH_SIZE = 2000;
const NO_HEADERS: Record<string, string> = Object.freeze({}) as Record<string, string>;

/**
 * A pipeline under test, run in-process by the real `Runner`'s own batch core (`processBatchDirect`):
 * records are written as JSON and partitioned by key like a producer writes them, and each batch goes
 * through the runner's validation (input JSON and schema; outputs against their datasets), `process`,
 * keyed state (scoped to the input partition, undone for a failing record) and DLQ routing (reason,
 * message, source), exactly as in production. What the harness leaves out is the log between them:
 * the runner's polling loop, commits and reading back. `send` hands the records to the core and takes
 * each batch's outputs back directly, with no copy or encoding beyond the JSON a real log would hold.
 * Runner-agnostic: it imports no test framework. Make one with {@link createHarness}.
 */
export class PipelineHarness {
  readonly pipeline: Pipeline;
  /**
   * The private in-memory log the runner was started on (its topics). Records do not go through it:
   * read what a send produced from the harness (`outputs`, `dlq`, `state`).
   */
  readonly log: Log;
  /** The runner whose core processes the records; it stays in `standby` (nothing polls a log). */
  readonly runner: Runner;
  readonly clock: TestClock;
  readonly #batchSize: number;
  /** Output records per output topic, in input order. */
  readonly #outputs = new Map<string, HarnessOutput[]>();
  /** Dead-letter entries per DLQ topic, in input order. */
  readonly #dlq = new Map<string, HarnessDlqEntry[]>();
  /** Every dead-letter entry, in input order (sends are processed one after another). */
  readonly #dlqAll: HarnessDlqEntry[] = [];
  /** Input dataset of each DLQ topic. */
  readonly #dlqInputs = new Map<string, Dataset>();
  /** Next offset per input topic and partition. */
  readonly #ends = new Map<string, number[]>();
  /** Partition of each key seen, per input topic: hashing a key costs more than looking it up. */
  readonly #partitionOf = new Map<string, Map<string, number>>();
  #closing: Promise<void> | undefined;
  readonly #toggles: StaticToggleSource;

  constructor(
    pipeline: Pipeline,
    log: Log,
    runner: Runner,
    clock: TestClock,
    batchSize = DEFAULT_BATCH_SIZE,
    toggles = new StaticToggleSource(),
  ) {
    this.#toggles = toggles;
    this.pipeline = pipeline;
    this.log = log;
    this.runner = runner;
    this.clock = clock;
    this.#batchSize = batchSize;
    for (const d of pipeline.outputs) this.#outputs.set(d.topic, []);
    for (const d of pipeline.inputs) {
      this.#dlq.set(dlqTopic(d), []);
      this.#dlqInputs.set(dlqTopic(d), d);
      this.#ends.set(d.topic, new Array<number>(d.partitions).fill(0));
      this.#partitionOf.set(d.topic, new Map());
    }
  }

  /**
   * Sends values to an input (written as JSON, partitioned by key like production, stamped with
   * `clock.now()`), processes them, and returns what these values produced.
   */
  async send(dataset: Dataset | string, values: ReadonlyArray<unknown>): Promise<SendResult> {
    return this.#send(this.#input(dataset), values, []);
  }

  /** Like `send`, for records written as they are: text that is not JSON, or an explicit key. */
  async sendRaw(dataset: Dataset | string, records: ReadonlyArray<RawRecord>): Promise<SendResult> {
    return this.#send(this.#input(dataset), [], records);
  }

  /**
   * Sets (or with null clears) one of the pipeline's toggles for the records sent from now on: a new toggle
   * version, as `slipway toggle set` makes. Refused with `SLIPWAY_UNKNOWN_TOGGLE` for a toggle the pipeline
   * does not declare, `SLIPWAY_INVALID_TOGGLE` for a bad setting or variant.
   *
   * @example
   * h.setToggle('new-pricing', { percent: 50, where: [{ field: 'currency', op: 'eq', value: 'EUR' }] })
   */
  setToggle(name: string, setting: ToggleSetting | null): void {
    setHarnessToggle(this.pipeline, this.#toggles, name, setting);
  }

  /** Output values of one dataset, in the order of the inputs that produced them. */
  outputs<T = unknown>(dataset: Dataset<T> | string): T[] {
    const records = this.#outputList(dataset);
    const values = new Array<T>(records.length);
    for (let i = 0; i < records.length; i++) values[i] = (records[i] as HarnessOutput).value as T;
    return values;
  }

  /** Output records (value, key, source, timestamp) of one dataset, in input order. */
  outputRecords<T = unknown>(dataset: Dataset<T> | string): Array<HarnessOutput<T>> {
    return [...this.#outputList(dataset)] as Array<HarnessOutput<T>>;
  }

  /** Dead-letter entries of one input dataset, or of every input, in input order. */
  dlq(dataset?: Dataset | string): HarnessDlqEntry[] {
    if (dataset !== undefined) return [...(this.#dlq.get(dlqTopic(this.#input(dataset))) ?? [])];
    return [...this.#dlqAll];
  }

  /** The committed keyed state of a key (looked up in every input partition), or undefined. */
  state<T = unknown>(key: string): T | undefined {
    for (const p of this.#partitions()) {
      const snapshot = this.runner.stateSnapshot(p);
      if (Object.hasOwn(snapshot, key)) return snapshot[key] as T;
    }
    return undefined;
  }

  /** Every committed state entry, sorted by key. */
  stateEntries(): Array<[string, unknown]> {
    const all: Array<[string, unknown]> = [];
    for (const p of this.#partitions()) all.push(...Object.entries(this.runner.stateSnapshot(p)));
    return all.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** Stops the runner and discards the in-memory log. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.runner.stop();
      } finally {
        await this.log.close();
      }
    })();
    return this.#closing;
  }

  // Synchronous from start to end, so concurrent sends cannot interleave: each is processed whole, in call order.
  async #send(dataset: Dataset, values: ReadonlyArray<unknown>, raw: ReadonlyArray<RawRecord>): Promise<SendResult> {
    if (this.#closing !== undefined) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `The harness of '${this.pipeline.name}' is closed; create another.`,
      );
    }
    const inputs = this.#records(dataset, values, raw);
    const outputs: HarnessOutput[] = [];
    const dlq: HarnessDlqEntry[] = [];
    const outputTopics = new Set<string>();
    for (let from = 0; from < inputs.length; from += this.#batchSize) {
      const commit = processBatchDirect(this.runner, inputs.slice(from, from + this.#batchSize));
      // Stamped like the log stamps a commit's records: at commit time.
      const timestamp = Date.now();
      for (const { topic, records } of commit.outputs ?? []) {
        const list = this.#outputs.get(topic);
        if (list !== undefined) {
          if (records.length > 0) outputTopics.add(topic);
          for (const r of records) {
            const output: HarnessOutput = {
              // A copy, as written: what a reader of the topic would get.
              value: JSON.parse(r.value),
              key: r.key,
              topic,
              source: r.headers?.[SOURCE_HEADER] ?? '',
              timestamp,
            };
            const toggles = parseTogglesHeader(r.headers?.[TOGGLES_HEADER]);
            if (toggles !== undefined) output.toggles = toggles;
            list.push(output);
            outputs.push(output);
          }
        } else {
          const input = this.#dlqInputs.get(topic) as Dataset;
          const entries = this.#dlq.get(topic) as HarnessDlqEntry[];
          for (const r of records) {
            const entry = dlqEntry(input, r);
            entries.push(entry);
            dlq.push(entry);
            this.#dlqAll.push(entry);
          }
        }
      }
    }
    // Outputs of one dataset are already in input order; those of several are merged by their sources.
    if (outputTopics.size > 1) inInputOrder(outputs, inputs);
    return { outputs, dlq };
  }

  /**
   * The input records of a send, as the log would hold them: values as JSON, then raw records; each in
   * the partition of its key, at the next offset, stamped with `clock.now()`.
   */
  #records(dataset: Dataset, values: ReadonlyArray<unknown>, raw: ReadonlyArray<RawRecord>): LogRecord[] {
    const topic = dataset.topic;
    const timestamp = this.clock.now();
    const ends = this.#ends.get(topic) as number[];
    const partitions = this.#partitionOf.get(topic) as Map<string, number>;
    const partitionOf = (key: string | null): number => {
      if (key === null) return partitionOfKey(dataset, key);
      let p = partitions.get(key);
      if (p === undefined) {
        p = partitionOfKey(dataset, key);
        partitions.set(key, p);
      }
      return p;
    };
    const records = new Array<LogRecord>(values.length + raw.length);
    for (let i = 0; i < values.length; i++) {
      const value = values[i];
      const text = JSON.stringify(value) as string | undefined;
      if (typeof text !== 'string') {
        throw new SlipwayError(
          'SLIPWAY_VALIDATION',
          `Value ${i} for '${topic}' cannot be written as JSON (it is ${value === undefined ? 'undefined' : typeof value}). Nothing was sent.`,
          { details: { topic, index: i } },
        );
      }
      const key = keyOfValue(dataset, value);
      const partition = partitionOf(key);
      records[i] = { topic, partition, offset: 0, key, value: text, headers: NO_HEADERS, timestamp };
    }
    for (let i = 0; i < raw.length; i++) {
      const r = raw[i] as RawRecord;
      if (typeof r?.value !== 'string') {
        throw new SlipwayError(
          'SLIPWAY_VALIDATION',
          `Raw record ${i} for '${topic}' has no string value. Nothing was sent.`,
          {
            details: { topic, index: i },
          },
        );
      }
      const partition = partitionOf(r.key);
      records[values.length + i] = {
        topic,
        partition,
        offset: 0,
        key: r.key,
        value: r.value,
        headers: r.headers === undefined ? NO_HEADERS : Object.freeze({ ...r.headers }),
        timestamp,
      };
    }
    // Offsets last, once every record is known to be writable: a bad one sends nothing.
    for (const r of records) r.offset = (ends[r.partition] as number)++;
    return records;
  }

  #outputList(dataset: Dataset | string): HarnessOutput[] {
    const topic = this.#resolve(dataset, this.pipeline.outputs, 'output').topic;
    return this.#outputs.get(topic) ?? [];
  }

  #partitions(): number[] {
    const most = Math.max(0, ...this.pipeline.inputs.map((d) => d.partitions));
    return Array.from({ length: most }, (_, p) => p);
  }

  #input(dataset: Dataset | string): Dataset {
    return this.#resolve(dataset, this.pipeline.inputs, 'input');
  }

  #resolve(dataset: Dataset | string, list: readonly Dataset[], role: 'input' | 'output'): Dataset {
    const found =
      typeof dataset === 'string'
        ? list.find((d) => d.topic === dataset || d.name === dataset)
        : list.find((d) => d.topic === dataset.topic);
    if (found === undefined) {
      const name = typeof dataset === 'string' ? dataset : dataset.topic;
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `'${name}' is not an ${role} of '${this.pipeline.name}' (its ${role}s: ${list.map((d) => d.topic).join(', ') || 'none'}).`,
      );
    }
    return found;
  }
}

/** A DLQ record as the harness shows it: the runner's entry, with the input's value parsed when it is JSON. */
function dlqEntry(input: Dataset, r: AppendRecord): HarnessDlqEntry {
  const entry = JSON.parse(r.value) as { reason: DlqReason; message: string; code?: string; value: string };
  let value: unknown = entry.value;
  try {
    value = JSON.parse(entry.value);
  } catch {
    // Not JSON (an `invalid-json` entry): keep the raw text.
  }
  return {
    reason: entry.reason,
    message: entry.message,
    ...(entry.code === undefined ? {} : { code: entry.code }),
    topic: input.topic,
    source: r.headers?.[SOURCE_HEADER] ?? '',
    key: r.key,
    value,
  };
}

/**
 * Sorts outputs of several datasets into the order of the inputs that produced them, then by the
 * output's index among its input's outputs (`#n` in the source): a stable merge by precomputed ranks.
 */
function inInputOrder(outputs: HarnessOutput[], inputs: ReadonlyArray<LogRecord>): void {
  const seq = new Map<string, number>();
  for (let i = 0; i < inputs.length; i++) {
    const r = inputs[i] as LogRecord;
    seq.set(`${r.topic}/${r.partition}/${r.offset}`, i);
  }
  const ranked = outputs.map((output) => {
    const hash = output.source.indexOf('#');
    const position = hash < 0 ? output.source : output.source.slice(0, hash);
    return {
      output,
      seq: seq.get(position) ?? inputs.length,
      index: hash < 0 ? 0 : Number(output.source.slice(hash + 1)),
    };
  });
  ranked.sort((a, b) => a.seq - b.seq || a.index - b.index);
  for (let i = 0; i < ranked.length; i++) outputs[i] = (ranked[i] as (typeof ranked)[number]).output;
}

/**
 * Starts a pipeline under test on a private in-memory log. Fast: a unit test runs in milliseconds.
 *
 * @example
 * const h = await createHarness(enrichOrders, { config: { vipThresholdEur: 500 } })
 * await h.send(orders, [{ orderId: 'o-1', customerId: 'c1', amount: 600, currency: 'EUR', items: 1, createdAt }])
 * assert.equal(h.outputs(enrichedOrders)[0].tier, 'vip')
 * assert.deepEqual(h.state('c1'), { totalEur: 600, orders: 1 })
 * await h.close()
 */
export async function createHarness(pipeline: Pipeline, options: HarnessOptions = {}): Promise<PipelineHarness> {
  const toggles = new StaticToggleSource();
  for (const [name, setting] of Object.entries(options.toggles ?? {}))
    setHarnessToggle(pipeline, toggles, name, setting);
  const log = await openMemoryLog();
  const runner = new Runner({
    pipeline,
    log,
    toggles,
    config: options.config,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
  try {
    await runner.start();
  } catch (err) {
    await log.close();
    throw err;
  }
  return new PipelineHarness(pipeline, log, runner, options.clock ?? new TestClock(), options.batchSize, toggles);
}

function setHarnessToggle(
  pipeline: Pipeline,
  source: StaticToggleSource,
  name: string,
  setting: ToggleSetting | null,
): void {
  const toggle = pipeline.toggles.find((t) => t.name === name);
  if (toggle === undefined)
    throw new SlipwayError(
      'SLIPWAY_UNKNOWN_TOGGLE',
      `'${pipeline.name}' declares no toggle '${name}' (its toggles: ${pipeline.toggles.map((t) => t.name).join(', ') || 'none'}).`,
      { details: { toggle: name } },
    );
  source.set(name, setting === null ? null : checkToggleSetting(setting, toggle.variants));
}

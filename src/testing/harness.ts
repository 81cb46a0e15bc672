import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { Log, LogRecord } from '../log/log.js';
import { openMemoryLog } from '../log/memory/memory-log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { type DlqReason, Runner, SOURCE_HEADER } from '../runtime/runner.js';
import { produceRecords, type RawRecord, readTopic } from './dataset-records.js';
import { TestClock } from './test-clock.js';

export interface HarnessOptions {
  /** Pipeline config, validated as at a real start (`SLIPWAY_INVALID_CONFIG` names the bad field). */
  config?: unknown;
  /** The clock that stamps sent records (default: a `TestClock` at 2026-01-01T00:00:00Z). */
  clock?: TestClock;
  /** Most input records per atomic commit (default: the runner's 2000). */
  batchSize?: number;
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

/**
 * A pipeline under test: the real `Runner` over a private in-memory Log (`openMemoryLog`, which passes
 * the same Log contract suite as the embedded and Kafka engines), so records go through the same
 * validation, partitioning, keyed state, DLQ and atomic commits as in production, in milliseconds. Runner-agnostic: it imports no test framework. Make one with {@link createHarness}.
 */
export class PipelineHarness {
  readonly pipeline: Pipeline;
  readonly log: Log;
  readonly runner: Runner;
  readonly clock: TestClock;
  /** Send order of every input record: per `topic/partition`, indexed by offset. */
  readonly #order = new Map<string, number[]>();
  #seq = 0;
  readonly #outputs = new Map<string, HarnessOutput[]>();
  readonly #dlq = new Map<string, HarnessDlqEntry[]>();
  /** Next offset to read per watched topic and partition. */
  readonly #read = new Map<string, Map<number, number>>();
  #closing: Promise<void> | undefined;

  constructor(pipeline: Pipeline, log: Log, runner: Runner, clock: TestClock) {
    this.pipeline = pipeline;
    this.log = log;
    this.runner = runner;
    this.clock = clock;
    for (const d of pipeline.outputs) this.#outputs.set(d.topic, []);
    for (const d of pipeline.inputs) this.#dlq.set(dlqTopic(d), []);
  }

  /**
   * Sends values to an input (partitioned by key like production, stamped with `clock.now()`), runs
   * the pipeline until it has processed everything, and returns what these values produced.
   */
  async send(dataset: Dataset | string, values: ReadonlyArray<unknown>): Promise<SendResult> {
    return this.#send(this.#input(dataset), values, []);
  }

  /** Like `send`, for records written as they are: text that is not JSON, or an explicit key. */
  async sendRaw(dataset: Dataset | string, records: ReadonlyArray<RawRecord>): Promise<SendResult> {
    return this.#send(this.#input(dataset), [], records);
  }

  /** Output values of one dataset, in the order of the inputs that produced them. */
  outputs<T = unknown>(dataset: Dataset<T> | string): T[] {
    return this.outputRecords(dataset).map((r) => r.value);
  }

  /** Output records (value, key, source, timestamp) of one dataset, in input order. */
  outputRecords<T = unknown>(dataset: Dataset<T> | string): Array<HarnessOutput<T>> {
    const topic = this.#resolve(dataset, this.pipeline.outputs, 'output').topic;
    return [...(this.#outputs.get(topic) ?? [])] as Array<HarnessOutput<T>>;
  }

  /** Dead-letter entries of one input dataset, or of every input, in input order. */
  dlq(dataset?: Dataset | string): HarnessDlqEntry[] {
    if (dataset !== undefined) return [...(this.#dlq.get(dlqTopic(this.#input(dataset))) ?? [])];
    return this.#inOrder([...this.#dlq.values()].flat(), (e) => e.source);
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

  async #send(dataset: Dataset, values: ReadonlyArray<unknown>, raw: ReadonlyArray<RawRecord>): Promise<SendResult> {
    if (this.#closing !== undefined) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `The harness of '${this.pipeline.name}' is closed; create another.`,
      );
    }
    const positions = await produceRecords(this.log, dataset, values, { timestamp: this.clock.now(), raw });
    for (const p of positions) {
      const key = `${dataset.topic}/${p.partition}`;
      let seqs = this.#order.get(key);
      if (seqs === undefined) {
        seqs = [];
        this.#order.set(key, seqs);
      }
      seqs[p.offset] = this.#seq++;
    }
    await this.runner.drain();
    const outputs: HarnessOutput[] = [];
    for (const d of this.pipeline.outputs) {
      const fresh = (await this.#fresh(d.topic)).map(
        (r): HarnessOutput => ({
          value: JSON.parse(r.value),
          key: r.key,
          topic: d.topic,
          source: r.headers[SOURCE_HEADER] ?? '',
          timestamp: r.timestamp,
        }),
      );
      (this.#outputs.get(d.topic) as HarnessOutput[]).push(...fresh);
      outputs.push(...fresh);
    }
    const dlq: HarnessDlqEntry[] = [];
    for (const d of this.pipeline.inputs) {
      const fresh = (await this.#fresh(dlqTopic(d))).map((r): HarnessDlqEntry => {
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
          topic: d.topic,
          source: r.headers[SOURCE_HEADER] ?? '',
          key: r.key,
          value,
        };
      });
      (this.#dlq.get(dlqTopic(d)) as HarnessDlqEntry[]).push(...fresh);
      dlq.push(...fresh);
    }
    return { outputs: this.#inOrder(outputs, (o) => o.source), dlq: this.#inOrder(dlq, (e) => e.source) };
  }

  /** New records of a topic since the last look, in input order (by their source header). */
  async #fresh(topic: string): Promise<LogRecord[]> {
    const from = this.#read.get(topic) ?? new Map<number, number>();
    this.#read.set(topic, from);
    const records = await readTopic(this.log, topic, from);
    for (const r of records) from.set(r.partition, Math.max(from.get(r.partition) ?? 0, r.offset + 1));
    return this.#inOrder(records, (r) => r.headers[SOURCE_HEADER]);
  }

  /** Sorts by input send order; each rank is computed once (a comparator that parses is too slow at 100k records). */
  #inOrder<T>(items: T[], sourceOf: (item: T) => string | undefined): T[] {
    const ranked = items.map((item) => ({ item, rank: this.#rank(sourceOf(item)) }));
    ranked.sort((a, b) => a.rank - b.rank);
    return ranked.map((r) => r.item);
  }

  /** Sort rank of a source header: the input's send order, then the output's index (`#n`). */
  #rank(source: string | undefined): number {
    if (source === undefined) return Number.MAX_SAFE_INTEGER;
    const hash = source.indexOf('#');
    const position = hash < 0 ? source : source.slice(0, hash);
    const slash = position.lastIndexOf('/');
    const seq =
      this.#order.get(position.slice(0, slash))?.[Number(position.slice(slash + 1))] ?? Number.MAX_SAFE_INTEGER / 1024;
    return seq * 1024 + (hash < 0 ? 0 : Number(source.slice(hash + 1)));
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
  const log = await openMemoryLog();
  const runner = new Runner({
    pipeline,
    log,
    config: options.config,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
  try {
    await runner.start();
  } catch (err) {
    await log.close();
    throw err;
  }
  return new PipelineHarness(pipeline, log, runner, options.clock ?? new TestClock());
}

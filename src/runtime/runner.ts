import { EventEmitter } from 'node:events';
import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { AppendRecord, CommitBatch, Log, LogRecord, PartitionOffset } from '../log/log.js';
import { partitionFor } from '../log/partitioner.js';
import type { Pipeline, ProcessContext, SourceInfo } from '../pipeline/pipeline.js';
import { StateStore } from './keyed-state.js';
import { RunnerMetrics } from './metrics.js';
import {
  type ActivateOptions,
  type CommitEvent,
  type DlqEvent,
  type DlqReason,
  keyBucket,
  type RunnerMode,
  type RunnerOptions,
  type RunnerState,
  SOURCE_HEADER,
} from './runner-types.js';

export type {
  ActivateOptions,
  CommitEvent,
  DlqEvent,
  DlqReason,
  RunnerMode,
  RunnerOptions,
  RunnerState,
} from './runner-types.js';
export { keyBucket, SOURCE_HEADER } from './runner-types.js';

interface Slot {
  dataset: Dataset;
  topic: string;
  partition: number;
  /** Committed: the next offset to process after the last successful commit. */
  position: number;
  /** Read ahead: the next offset to read (ahead of `position` while a commit is in flight). */
  readPos: number;
  target: number | undefined;
}

/** A processed batch, ready to commit. */
interface PreparedBatch {
  commit: CommitBatch;
  touched: Array<[Slot, number, number]>;
  batch: LogRecord[];
  outputs: number;
  dlq: number;
  /** Records outside the canary key share, passed over. */
  skipped: number;
  started: number;
}

interface OutputSlot {
  dataset: Dataset;
  topic: string;
  records: AppendRecord[];
}

/** The first batch's size after an activation; each next batch may be twice as large, up to batchSize. */
const RAMP_START = 128;

/** Set by Runner's static block: the per-record core, reached from outside the class (see `processBatchDirect`). */
let processDirect: (runner: Runner, batch: LogRecord[]) => CommitBatch;

/**
 * Internal (the in-memory test harness of `slipway/testing`; not exported from the package): runs the
 * runner's own batch core — input JSON and schema, `process`, keyed state with per-record undo,
 * output validation, DLQ with reason and source — over `batch` without reading or committing, and
 * returns the commit the loop would make (its offsets empty). The batch's state writes become the
 * runner's base. Needs a runner in standby; a batch that throws (not a record: the core itself) fails it.
 */
export function processBatchDirect(runner: Runner, batch: LogRecord[]): CommitBatch {
  return processDirect(runner, batch);
}

/**
 * Runs one pipeline version over its input partitions: read a batch → process → one atomic commit
 * (outputs + state + input offsets, under the owner's epoch) → repeat.
 *
 * Lifecycle: `start()` → standby; `activate()` → running; `pause()` → paused (returns committed
 * offsets); `runUntil(offsets)` runs to an exact barrier then pauses; `stop()` → stopped.
 *
 * @example
 * const runner = new Runner({ pipeline: enrich, log })
 * await runner.start()
 * await runner.activate()
 * // ...
 * const offsets = await runner.pause()
 * await runner.stop()
 */
export class Runner extends EventEmitter {
  readonly pipeline: Pipeline;
  readonly log: Log;
  readonly mode: RunnerMode;
  #owner: string;
  #group: string;
  readonly stateNamespace: string;
  readonly metrics: RunnerMetrics;
  #state: RunnerState = 'created';
  #config: unknown;
  #epoch = 0;
  #slots: Slot[] = [];
  readonly #outputs = new Map<string, OutputSlot>();
  readonly #inputs = new Map<string, Dataset>();
  readonly #store = new StateStore();
  readonly #batchSize: number;
  readonly #idleWaitMs: number;
  readonly #options: RunnerOptions;
  #keyRange: { from: number; to: number } | undefined;
  #loop: Promise<void> | undefined;
  #halt: AbortController | undefined;
  #error: unknown;
  #labels: { pipeline: string; version: string };

  constructor(options: RunnerOptions) {
    super();
    this.#options = options;
    this.pipeline = options.pipeline as Pipeline;
    this.log = options.log;
    this.mode = options.mode ?? 'live';
    const name = this.pipeline.name;
    if (this.mode === 'shadow' && !options.shadowId) {
      throw new SlipwayError('SLIPWAY_USAGE', `A shadow runner of '${name}' needs a shadowId (the deployment id).`);
    }
    const suffix = this.mode === 'shadow' ? `.shadow.${options.shadowId}` : '';
    this.#owner = options.owner ?? `slipway.${name}${suffix}`;
    this.#group = options.group ?? `slipway.${name}${suffix}`;
    this.stateNamespace = `${name}${suffix}`;
    this.#batchSize = options.batchSize ?? 2000;
    this.#idleWaitMs = options.idleWaitMs ?? 250;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1) {
      throw new SlipwayError('SLIPWAY_USAGE', `batchSize must be a whole number ≥ 1, got ${options.batchSize}.`);
    }
    this.metrics = options.metrics ?? new RunnerMetrics();
    this.#keyRange = options.keyRange;
    this.#labels = { pipeline: name, version: this.pipeline.version };
    for (const d of this.pipeline.inputs) this.#inputs.set(d.topic, d);
    for (const d of this.pipeline.outputs) {
      this.#outputs.set(d.topic, { dataset: d, topic: `${d.topic}${suffix}`, records: [] });
    }
  }

  get state(): RunnerState {
    return this.#state;
  }

  /** The owner this runner fences and writes under. */
  get owner(): string {
    return this.#owner;
  }

  /** The consumer group its input offsets are committed for. */
  get group(): string {
    return this.#group;
  }

  /** Changes the canary key share; takes effect from the next batch (use at an offset barrier). */
  setKeyRange(range: { from: number; to: number } | undefined): void {
    this.#keyRange = range;
  }

  /** The epoch this runner writes under (0 before activation). */
  get epoch(): number {
    return this.#epoch;
  }

  /** The error that made the runner fail, if any. */
  get error(): unknown {
    return this.#error;
  }

  #setState(next: RunnerState): void {
    const prev = this.#state;
    this.#state = next;
    this.emit('state', next, prev);
  }

  #expect(command: string, ...allowed: RunnerState[]): void {
    if (!allowed.includes(this.#state)) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `Cannot ${command} runner of '${this.pipeline.name}' while it is ${this.#state} (allowed when ${allowed.join(' or ')}).`,
        { details: { state: this.#state, command } },
      );
    }
  }

  /** Validates config, creates missing topics and checks partition counts; ends in `standby`. */
  async start(): Promise<void> {
    this.#expect('start', 'created');
    this.#setState('starting');
    try {
      this.#config = this.pipeline.resolveConfig(this.#options.config);
      for (const d of this.pipeline.inputs) {
        // A topic a runner creates gets its declared retention (topics as code).
        const retention = d.retentionMs === undefined ? {} : { retentionMs: d.retentionMs };
        await this.log.createTopic(d.topic, { partitions: d.partitions, ...retention });
        await this.log.createTopic(dlqTopic(d), { partitions: d.partitions, ...retention });
      }
      for (const out of this.#outputs.values()) {
        await this.log.createTopic(out.topic, {
          partitions: out.dataset.partitions,
          ...(out.dataset.retentionMs === undefined ? {} : { retentionMs: out.dataset.retentionMs }),
        });
      }
      const assignment =
        this.#options.assignment ??
        this.pipeline.inputs.flatMap((d) =>
          Array.from({ length: d.partitions }, (_, p) => ({ topic: d.topic, partition: p })),
        );
      this.#slots = assignment.map((tp) => {
        const dataset = this.#inputs.get(tp.topic);
        if (dataset === undefined) {
          throw new SlipwayError(
            'SLIPWAY_USAGE',
            `Assigned topic '${tp.topic}' is not an input of '${this.pipeline.name}'.`,
          );
        }
        if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= dataset.partitions) {
          throw new SlipwayError(
            'SLIPWAY_PARTITION_NOT_FOUND',
            `Assigned partition ${tp.topic}/${tp.partition} does not exist.`,
          );
        }
        return { dataset, topic: tp.topic, partition: tp.partition, position: 0, readPos: 0, target: undefined };
      });
      this.#setState('standby');
    } catch (err) {
      this.#fail(err);
      throw err;
    }
  }

  /**
   * Takes ownership and starts processing. Without `offsets`, resumes from the group's committed
   * offsets; without `epoch`, fences the owner itself (a controller passes the epoch it fenced).
   */
  async activate(options: ActivateOptions = {}): Promise<void> {
    this.#expect('activate', 'standby', 'paused', 'fenced');
    await this.#prepare(options);
    this.#startLoop();
  }

  /** Fences (or takes the given epoch), sets positions and loads the partitions' committed state. */
  async #prepare(options: ActivateOptions): Promise<void> {
    if (options.keyRange !== undefined) this.#keyRange = options.keyRange ?? undefined;
    if (options.owner !== undefined) this.#owner = options.owner;
    if (options.group !== undefined) this.#group = options.group;
    this.#epoch = options.epoch ?? (await this.log.fence(this.owner));
    const committed = new Map<string, number>();
    for (const o of await this.log.committedOffsets(this.group)) committed.set(`${o.topic}/${o.partition}`, o.offset);
    for (const o of options.offsets ?? []) committed.set(`${o.topic}/${o.partition}`, o.offset);
    for (const slot of this.#slots) {
      slot.position = committed.get(`${slot.topic}/${slot.partition}`) ?? 0;
      slot.readPos = slot.position;
      slot.target = undefined;
    }
    this.#store.clear();
    for (const p of new Set(this.#slots.map((s) => s.partition))) {
      this.#store.load(p, options.state?.[p] ?? (await this.log.readState(this.stateNamespace, p)));
    }
  }

  #startLoop(): void {
    this.#halt = new AbortController();
    this.#setState('running');
    this.#loop = this.#run(this.#halt.signal);
  }

  /** Finishes the batch in flight, commits it, and stops reading. Returns the committed offsets. */
  async pause(): Promise<PartitionOffset[]> {
    if (this.#state === 'paused' || this.#state === 'standby' || this.#state === 'fenced') return this.offsets();
    this.#expect('pause', 'running', 'pausing');
    this.#setState('pausing');
    this.#halt?.abort();
    await this.#loop;
    if (this.#state === 'failed') throw this.#error;
    return this.offsets();
  }

  /**
   * Processes exactly up to `offsets` (exclusive: the next offset to read), then pauses.
   * Resolves with the committed offsets, equal to `offsets` for every assigned partition named.
   */
  async runUntil(
    offsets: ReadonlyArray<PartitionOffset>,
    options: { epoch?: number } = {},
  ): Promise<PartitionOffset[]> {
    this.#expect('runUntil', 'running', 'standby', 'paused');
    const wasRunning = this.#state === 'running';
    if (!wasRunning) await this.#prepare(options);
    const wanted = new Map(offsets.map((o) => [`${o.topic}/${o.partition}`, o.offset]));
    for (const slot of this.#slots) {
      const target = wanted.get(`${slot.topic}/${slot.partition}`);
      if (target !== undefined && target < slot.readPos) {
        throw new SlipwayError(
          'SLIPWAY_INVALID_STATE',
          `Runner of '${this.pipeline.name}' is already at ${slot.topic}/${slot.partition}@${slot.readPos}, past the barrier ${target}. Pause it first, then run it to a barrier ahead of it.`,
          { details: { topic: slot.topic, partition: slot.partition, position: slot.readPos, target } },
        );
      }
      slot.target = target ?? slot.readPos;
    }
    if (!wasRunning) this.#startLoop();
    await this.#loop;
    if (this.#state === 'failed') throw this.#error;
    return this.offsets();
  }

  /** Stops for good (after finishing the batch in flight). Idempotent. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    if (this.#state === 'running' || this.#state === 'pausing') {
      this.#halt?.abort();
      await this.#loop;
    }
    if (this.#state !== 'failed') this.#setState('stopped');
  }

  /** Processes until every assigned partition is caught up with its end offset, then pauses. */
  async drain(): Promise<PartitionOffset[]> {
    const ends: PartitionOffset[] = [];
    for (const s of this.#slots)
      ends.push({ topic: s.topic, partition: s.partition, offset: await this.log.endOffset(s.topic, s.partition) });
    return this.runUntil(ends);
  }

  /** The positions (committed offsets) of the assigned partitions. */
  offsets(): PartitionOffset[] {
    return this.#slots.map((s) => ({ topic: s.topic, partition: s.partition, offset: s.position }));
  }

  /** Records behind per assigned partition; also updates the lag gauge. */
  async lag(): Promise<Array<PartitionOffset & { lag: number }>> {
    const out: Array<PartitionOffset & { lag: number }> = [];
    for (const s of this.#slots) {
      const end = await this.log.endOffset(s.topic, s.partition);
      const lag = Math.max(0, end - s.position);
      this.metrics.lag.set({ ...this.#labels, topic: s.topic, partition: String(s.partition) }, lag);
      out.push({ topic: s.topic, partition: s.partition, offset: s.position, lag });
    }
    return out;
  }

  /** A copy of the committed keyed state of one partition. */
  stateSnapshot(partition: number): Record<string, unknown> {
    return this.#store.snapshot(partition);
  }

  #fail(err: unknown): void {
    this.#error = err;
    this.#setState('failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * The loop. Processing of batch k overlaps the commit of batch k-1 (at most one commit in flight):
   * batch k is processed against the state batch k-1 left, and its commit is issued only after
   * k-1's commit succeeded, so commits stay in order and a failed one stops everything after it.
   */
  async #run(halt: AbortSignal): Promise<void> {
    let next = 0;
    let inflight: Promise<void> | undefined;
    // Right after activation (a cutover, a rollback) the backlog of the pause is waiting: small first
    // batches put output out again sooner than one full batch would, then the batch size ramps up.
    let limit = Math.min(this.#batchSize, RAMP_START);
    try {
      while (!halt.aborted) {
        const started = performance.now();
        const batch: LogRecord[] = [];
        const touched: Array<[Slot, number, number]> = [];
        let allAtTarget = true;
        const batchSize = limit;
        limit = Math.min(this.#batchSize, limit * 2);
        for (let i = 0; i < this.#slots.length && batch.length < batchSize; i++) {
          const slot = this.#slots[(next + i) % this.#slots.length] as Slot;
          let max = batchSize - batch.length;
          if (slot.target !== undefined) max = Math.min(max, slot.target - slot.readPos);
          if (max <= 0) continue;
          allAtTarget = false;
          let records = await this.log.read(slot.topic, slot.partition, slot.readPos, max);
          const target = slot.target;
          if (target !== undefined && records.length > 0 && (records.at(-1) as LogRecord).offset >= target) {
            // `max` counts offsets, but Kafka's have gaps (transaction markers), so `max` records can reach past
            // the barrier: keep those before it. None: only markers lie between here and the barrier, so the
            // slot is at it (the position follows when the loop ends).
            records = records.filter((r) => r.offset < target);
            if (records.length === 0) slot.readPos = target;
          }
          if (records.length === 0) continue;
          for (const r of records) batch.push(r);
          // Offsets may have gaps (Kafka's transaction markers): continue after the last record read.
          touched.push([slot, records.length, (records.at(-1) as LogRecord).offset + 1]);
        }
        next = (next + 1) % Math.max(1, this.#slots.length);
        if (batch.length === 0) {
          if (inflight !== undefined) {
            const done = inflight;
            inflight = undefined;
            await done;
            continue;
          }
          if (allAtTarget && this.#slots.every((s) => s.target !== undefined)) break;
          await this.log.waitForChange({ timeoutMs: this.#idleWaitMs, signal: halt });
          continue;
        }
        const prepared = this.#processBatch(batch, touched, started);
        for (const [slot, , next] of touched) slot.readPos = next;
        if (inflight !== undefined) {
          const done = inflight;
          inflight = undefined;
          await done;
        }
        inflight = this.#commitPrepared(prepared);
        // Handled when awaited; this only keeps an early failure from being reported as unhandled.
        inflight.catch(() => {});
      }
      if (inflight !== undefined) await inflight;
      for (const s of this.#slots) {
        // Everything read is committed: past the position lie only transaction markers skipped to reach a barrier.
        s.position = s.readPos;
        s.target = undefined;
      }
      if (this.#state === 'running' || this.#state === 'pausing') this.#setState('paused');
    } catch (err) {
      this.#store.discardBatch();
      if (isSlipwayError(err, 'SLIPWAY_FENCED')) {
        this.#error = err;
        this.#setState('fenced');
        this.emit('fenced', err);
        return;
      }
      this.#fail(err);
    }
  }

  /** Runs `process` over a batch (synchronously) and prepares its commit; the batch's state writes become the base. */
  #processBatch(batch: LogRecord[], touched: Array<[Slot, number, number]>, started: number): PreparedBatch {
    const store = this.#store;
    const pipeline = this.pipeline;
    const outputs = this.#outputs;
    const dlqRecords = new Map<string, AppendRecord[]>();
    let dlqCount = 0;
    let outCount = 0;
    let skipped = 0;
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
    const ctx: ProcessContext<unknown> = {
      emit: (dataset, value) => {
        const out = outputs.get(dataset?.topic);
        if (out === undefined || out.dataset !== dataset) {
          throw new OutputError(
            `emitted to dataset '${String(dataset?.topic)}', which is not an output of '${pipeline.name}' (outputs: ${[...outputs.keys()].join(', ')})`,
          );
        }
        if (!dataset.is(value)) throw new OutputError(`output to ${dataset.topic} ${dataset.explain(value)}`);
        const key = dataset.keyOf(value);
        out.records.push({
          partition: partitionFor(key, dataset.partitions),
          key,
          value: JSON.stringify(value),
          headers: { 'slipway-source': emitIndex === 0 ? source : `${source}#${emitIndex}` },
        });
        emitIndex++;
        emittedThisRecord.push(out);
      },
      state: store,
      config: this.#config,
      source: sourceInfo,
      pipeline: { name: pipeline.name, version: pipeline.version },
    };
    const toDlq = (reason: DlqReason, message: string, err?: unknown): void => {
      const dataset = this.#inputs.get(current.topic) as Dataset;
      const topic = dlqTopic(dataset);
      let list = dlqRecords.get(topic);
      if (list === undefined) {
        list = [];
        dlqRecords.set(topic, list);
      }
      const code = isSlipwayError(err) ? err.code : undefined;
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
          value: current.value,
          at: new Date().toISOString(),
        }),
        headers: { [SOURCE_HEADER]: source, 'slipway-dlq-reason': reason },
      });
      dlqCount++;
      this.metrics.dlq.inc({ ...this.#labels, topic: current.topic, reason });
      if (this.listenerCount('dlq') > 0) this.emit('dlq', { reason, message, source } satisfies DlqEvent);
    };

    const range = this.#keyRange;
    for (let i = 0; i < batch.length; i++) {
      current = batch[i] as LogRecord;
      if (range !== undefined) {
        const bucket = keyBucket(current.key ?? '');
        if (bucket < range.from || bucket >= range.to) {
          skipped++;
          continue;
        }
      }
      source = `${current.topic}/${current.partition}/${current.offset}`;
      emitIndex = 0;
      const dataset = this.#inputs.get(current.topic) as Dataset;
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
      store.beginRecord(current.partition);
      emittedThisRecord.length = 0;
      try {
        pipeline.process(value, ctx as ProcessContext<never>);
        outCount += emittedThisRecord.length;
      } catch (err) {
        store.rollbackRecord();
        for (const out of emittedThisRecord) out.records.pop();
        if (err instanceof OutputError) toDlq('output-schema', err.message);
        else toDlq('process-error', err instanceof Error ? err.message : String(err), err);
      }
    }

    const commitOutputs: Array<{ topic: string; records: AppendRecord[] }> = [];
    for (const out of outputs.values()) {
      if (out.records.length > 0) commitOutputs.push({ topic: out.topic, records: out.records });
      out.records = [];
    }
    for (const [topic, records] of dlqRecords) commitOutputs.push({ topic, records });
    const offsets: PartitionOffset[] = touched.map(([slot, , next]) => ({
      topic: slot.topic,
      partition: slot.partition,
      offset: next,
    }));
    const commit: CommitBatch = {
      owner: this.owner,
      epoch: this.#epoch,
      outputs: commitOutputs,
      state: { namespace: this.stateNamespace, writes: store.pendingWrites() },
      offsets: { group: this.group, offsets },
    };
    // Optimistic: the next batch is processed against this one's state. If this commit fails the
    // runner stops, and the next activation reloads state from the log.
    store.applyBatch();
    return { commit, touched, batch, outputs: outCount, dlq: dlqCount, skipped, started };
  }

  async #commitPrepared(prepared: PreparedBatch): Promise<void> {
    await this.#commitWithRetry(prepared.commit);
    const { touched, batch } = prepared;
    for (const [slot, , next] of touched) slot.position = next;

    const now = Date.now();
    const m = this.metrics;
    for (const [slot, count] of touched) m.recordsIn.inc({ ...this.#labels, topic: slot.topic }, count);
    for (const out of prepared.commit.outputs ?? [])
      m.recordsOut.inc({ ...this.#labels, topic: out.topic }, out.records.length);
    m.commits.inc(this.#labels);
    // Latency is sampled (at most ~256 records per batch, evenly spread) to keep the hot path cheap.
    const e2e = m.endToEndSeconds.labels(this.#labels);
    const stride = Math.ceil(batch.length / 256);
    for (let i = 0; i < batch.length; i += stride) e2e.observe((now - (batch[i] as LogRecord).timestamp) / 1000);
    const durationMs = performance.now() - prepared.started;
    m.batchSeconds.observe(this.#labels, durationMs / 1000);
    if (this.listenerCount('commit') > 0) {
      this.emit('commit', {
        inputs: batch.length,
        processed: batch.length - prepared.skipped,
        outputs: prepared.outputs,
        dlq: prepared.dlq,
        offsets: (prepared.commit.offsets?.offsets ?? []).map((o) => ({ ...o })),
        inputTimestamps: batch.map((r) => r.timestamp),
        committedAt: now,
        durationMs,
      } satisfies CommitEvent);
    }
  }

  async #commitWithRetry(batch: Parameters<Log['commit']>[0]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.log.commit(batch);
        return;
      } catch (err) {
        if (!isSlipwayError(err) || !err.retryable || attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
    }
  }

  static {
    processDirect = (runner, batch) => {
      runner.#expect('hand a batch to the', 'standby');
      try {
        return runner.#processBatch(batch, [], performance.now()).commit;
      } catch (err) {
        runner.#store.discardBatch();
        runner.#fail(err);
        throw err;
      }
    };
  }
}

/** An emit that the pipeline made wrongly: the record goes to the DLQ as `output-schema`. */
class OutputError extends Error {}

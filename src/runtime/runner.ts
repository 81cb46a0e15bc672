import { EventEmitter } from 'node:events';
import { type Dataset, dlqTopic } from '../dataset/dataset.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { CommitBatch, Log, LogRecord, PartitionOffset } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { LogToggleSource } from '../toggles/toggle-log.js';
import { BatchCore, type OutputSlot } from './batch-core.js';
import type { ReplayRequest, ReplayResult } from './dead-letter-replay.js';
import { StateStore } from './keyed-state.js';
import { RunnerMetrics } from './metrics.js';
import { untilRegistry } from './registry-wait.js';
import { RunnerActivation } from './runner-activation.js';
import { setBarriers } from './runner-barriers.js';
import { commitWithRetry, type LoopHost, RunnerLoop } from './runner-loop.js';
import { RunnerReplay } from './runner-replay.js';
import { assignSlots, createRunnerTopics, lagOf, type Slot } from './runner-setup.js';
import { type RunnerStats, RunnerStatsRecorder } from './runner-stats.js';
import { RunnerToggles } from './runner-toggles.js';
import type { ActivateOptions, RunnerMode, RunnerOptions, RunnerState } from './runner-types.js';
import { checkShadowId, shadowTopic } from './shadow-topics.js';
import { SinkLog, sinkLogFor } from './sink-log.js';
import type { StateMigrationResult } from './state-migrate.js';
import { type RegistryValueCodec, runnerFormats } from './value-codecs.js';

export type { ReplayRequest, ReplayResult } from './dead-letter-replay.js';
export type { RegistryUnavailableEvent } from './registry-wait.js';
export type { RecentWindow, RunnerStats } from './runner-stats.js';
export { mergeRunnerStats } from './runner-stats.js';
export type {
  ActivateOptions,
  CommitEvent,
  DlqEvent,
  DlqReason,
  Provenance,
  RunnerMode,
  RunnerOptions,
  RunnerState,
  WrongPartitionEvent,
} from './runner-types.js';
export { DLQ_HEADERS, keyBucket, SOURCE_HEADER } from './runner-types.js';
export { shadowTopic, shadowTopics } from './shadow-topics.js';
export { shadowTableName } from './sink-log.js';
export type { StateMigrationResult } from './state-migrate.js';

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
  /** Dead-letter topic by input topic: `<input>.dlq`, or a shadow's `<input>.dlq.shadow.<id>`. */
  readonly #dlqTopics = new Map<string, string>();
  readonly #store = new StateStore();
  readonly #core: BatchCore;
  readonly #batchSize: number;
  readonly #idleWaitMs: number;
  readonly #options: RunnerOptions;
  #keyRange: { from: number; to: number } | undefined;
  #loop: Promise<void> | undefined;
  #halt: AbortController | undefined;
  #error: unknown;
  #labels: { pipeline: string; version: string };
  readonly #clock: () => number;
  readonly #stats = new RunnerStatsRecorder();
  /** The pipeline's toggles: changes looked for, and placed at offset barriers (undefined when it declares none). */
  readonly #toggles: RunnerToggles | undefined;
  /** Positions and state at activation (warm on Kafka), state migrations, the warm-up after a pause. */
  readonly #activation: RunnerActivation;
  /** The read → process → group → commit loop and its commit path (see runner-loop.ts). */
  readonly #processing: RunnerLoop;
  /** Dead-letter replays through this version (see runner-replay.ts). */
  readonly #replays: RunnerReplay;
  /** Codecs of the formatted outputs (registered at start), and why formats cannot run (refused at start). */
  readonly #outputCodecs: RegistryValueCodec[];
  readonly #formatError: unknown;

  constructor(options: RunnerOptions) {
    super();
    this.#options = options;
    this.pipeline = options.pipeline as Pipeline;
    this.mode = options.mode ?? 'live';
    const name = this.pipeline.name;
    const shadowId = this.mode === 'shadow' ? checkShadowId(name, options.shadowId) : undefined;
    // Everything a shadow writes goes under its shadow names: outputs, dead letters, owner, group, state.
    const named = (topic: string): string => (shadowId === undefined ? topic : shadowTopic(topic, shadowId));
    // Datasets in a registry format: the Kafka log encodes and decodes their values (see value-codecs.ts).
    const formats = runnerFormats(options.log, this.pipeline, named, options.schemaRegistry);
    this.#outputCodecs = formats.outputCodecs;
    this.#formatError = formats.error;
    this.log = sinkLogFor(this.pipeline, formats.log, options.datastore, shadowId);
    const suffix = shadowId === undefined ? '' : `.shadow.${shadowId}`;
    this.#owner = options.owner ?? `slipway.${name}${suffix}`;
    this.#group = options.group ?? `slipway.${name}${suffix}`;
    this.stateNamespace = `${name}${suffix}`;
    this.#batchSize = options.batchSize ?? 2000;
    this.#idleWaitMs = options.idleWaitMs ?? 250;
    if (!Number.isInteger(this.#batchSize) || this.#batchSize < 1) {
      throw new SlipwayError('SLIPWAY_USAGE', `batchSize must be a whole number ≥ 1, got ${options.batchSize}.`);
    }
    this.metrics = options.metrics ?? new RunnerMetrics();
    this.#clock = options.clock ?? Date.now;
    this.#keyRange = options.keyRange;
    this.#labels = { pipeline: name, version: this.pipeline.version };
    this.#toggles =
      this.pipeline.toggles.length === 0
        ? undefined
        : new RunnerToggles(options.toggles ?? new LogToggleSource(options.log), options.toggleRefreshMs);
    for (const d of this.pipeline.inputs) {
      this.#inputs.set(d.topic, d);
      this.#dlqTopics.set(d.topic, named(dlqTopic(d)));
    }
    for (const d of this.pipeline.outputs) {
      this.#outputs.set(d.topic, { dataset: d, topic: named(d.topic), records: [] });
    }
    this.#core = new BatchCore({
      pipeline: this.pipeline,
      outputs: this.#outputs,
      inputs: this.#inputs,
      store: this.#store,
      dlqTopics: this.#dlqTopics,
      ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      ...(options.provenance === undefined ? {} : { provenance: options.provenance }),
      onDlq: (topic, event) => {
        this.metrics.dlq.inc({ ...this.#labels, topic, reason: event.reason });
        if (this.listenerCount('dlq') > 0) this.emit('dlq', event);
      },
      onWrongPartition: (topic, event) => {
        this.metrics.wrongPartition.inc({ ...this.#labels, topic, policy: event.policy });
        if (this.listenerCount('wrong-partition') > 0) this.emit('wrong-partition', event);
      },
    });
    this.#activation = new RunnerActivation({
      log: this.log,
      pipeline: this.pipeline,
      stateNamespace: this.stateNamespace,
      store: this.#store,
      slots: () => this.#slots,
      commit: (batch) => commitWithRetry(this.log, batch),
    });
    const host: LoopHost = {
      log: this.log,
      store: this.#store,
      core: this.#core,
      toggles: this.#toggles,
      activation: this.#activation,
      metrics: this.metrics,
      stats: this.#stats,
      labels: this.#labels,
      stateNamespace: this.stateNamespace,
      batchSize: this.#batchSize,
      idleWaitMs: this.#idleWaitMs,
      clock: this.#clock,
      events: this,
      slots: () => this.#slots,
      owner: () => this.#owner,
      epoch: () => this.#epoch,
      group: () => this.#group,
      config: () => this.#config,
      keyRange: () => this.#keyRange,
      refreshToggles: () => this.#refreshToggles(),
      registryReads: formats.hasCodecs,
    };
    this.#processing = new RunnerLoop(host);
    this.#replays = new RunnerReplay({
      ...host,
      pipeline: this.pipeline,
      mode: this.mode,
      dlqTopics: this.#dlqTopics,
      artifact: options.provenance?.artifact,
    });
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
    this.#replays.refuseWhileActive(command, this.#state);
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
      if (this.#formatError !== undefined) throw this.#formatError;
      this.#config = this.pipeline.resolveConfig(this.#options.config);
      if (this.#outputCodecs.length > 0) {
        // Registered (or found) now, so commits never wait for the registry.
        await untilRegistry(
          'registering the output schemas',
          () => Promise.all(this.#outputCodecs.map((c) => c.prepareEncode())),
          this.#processing.tellRegistry,
        );
        this.#processing.registryReached();
      }
      await createRunnerTopics(this.log, this.pipeline.inputs, [...this.#outputs.values()], this.#dlqTopics);
      if (this.log instanceof SinkLog) await this.log.prepare();
      this.#slots = assignSlots(this.pipeline, this.#inputs, this.#options.assignment);
      if (this.mode === 'live' && this.#options.warmState !== false) this.#activation.startWarming();
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
    await this.#activation.prepare({
      owner: this.owner,
      group: this.group,
      epoch: this.#epoch,
      epochGiven: options.epoch !== undefined,
      offsets: options.offsets,
      state: options.state,
    });
    if (this.#toggles !== undefined) {
      this.#toggles.resume(this.#slots, this.#store);
      await this.#refreshToggles(true);
    }
  }

  /** The toggle version this runner evaluates new batches with (-1: the pipeline has no toggles, or not looked yet). */
  get toggleVersion(): number {
    return this.#toggles?.version ?? -1;
  }

  /** Looks for toggle changes (see RunnerToggles.refresh); tells `toggles` listeners of a new version. */
  async #refreshToggles(now = false): Promise<void> {
    const version = await this.#toggles?.refresh(now);
    if (version !== undefined) this.emit('toggles', version);
  }

  #startLoop(): void {
    this.#stats.activated(this.#clock());
    this.metrics.activated(this.#labels, this.#clock());
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
    setBarriers(this.pipeline.name, this.#slots, offsets);
    if (!wasRunning) this.#startLoop();
    await this.#loop;
    if (this.#state === 'failed') throw this.#error;
    return this.offsets();
  }

  /** Stops for good (after finishing the batch in flight). Idempotent. */
  async stop(): Promise<void> {
    this.#activation.stopWarming();
    if (this.#state === 'stopped') return;
    if (this.#state === 'running' || this.#state === 'pausing') {
      this.#halt?.abort();
      await this.#loop;
    }
    if (this.#state !== 'failed') this.#setState('stopped');
    // A sink's connection is the runner's own (the log it reads is its opener's).
    if (this.log instanceof SinkLog && this.log !== this.#options.log) await this.log.close();
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
    const out = await lagOf(this.log, this.#slots);
    for (const o of out) {
      this.metrics.lag.set({ ...this.#labels, topic: o.topic, partition: String(o.partition) }, o.lag);
    }
    return out;
  }

  /**
   * The runner's figures: state, epoch, counters since it started, the last 60 s of processed records
   * and dead letters, lag, offsets, and the end-to-end latency (p50, p99 from a histogram, null before
   * any) of the records appended after its first activation. Reading them changes nothing — not even
   * the lag gauge — so anything may poll them.
   *
   * @example
   * const { p99LatencyMs, processed, dlq } = await runner.stats()
   */
  async stats(): Promise<RunnerStats> {
    const lag = (await lagOf(this.log, this.#slots)).reduce((n, p) => n + p.lag, 0);
    const stats = this.#stats.snapshot(
      { state: this.#state, epoch: this.#epoch, lag, offsets: this.offsets() },
      this.#clock(),
    );
    const wait = this.#processing.registryWait;
    const waiting = wait === undefined ? {} : { registryUnavailable: { ...wait } };
    return this.#activation.warming ? { ...stats, ...waiting, warming: true } : { ...stats, ...waiting };
  }

  /**
   * Replays dead letters of its input partitions through this version (see dead-letter-replay.ts): each selected
   * source not replayed yet is processed by the batch core — state in the record's own partition, outputs with its
   * original `slipway-source` — and committed with a replay marker per source in one atomic commit under the
   * owner's epoch, without input offsets, so a paused runner resumes from the same offsets after it. A record that
   * fails again goes to the dead-letter topic again, marked with the replay, and is not replayed again unless
   * `retryFailed`. Only while paused (under the epoch it ran with) or in standby (under `epoch`, or one it fences).
   *
   * @example
   * await runner.pause()
   * const { replayed, failedAgain } = await runner.replayDeadLetters({ replay: 'dep-1', selection: { deployment: 'dep-0' } })
   * await runner.activate()
   */
  async replayDeadLetters(request: ReplayRequest): Promise<ReplayResult> {
    this.#expect('replay dead letters through the', 'paused', 'standby');
    return this.#replays.run(request, async () => {
      if (this.#state === 'standby') await this.#prepare(request.epoch === undefined ? {} : { epoch: request.epoch });
    });
  }

  /**
   * Takes the committed state of its partitions back to layout `version` with the pipeline's
   * `migrateState.down`, in one commit with the layout marks (partitions already there are left as
   * they are: running it again is safe). Only while paused (under the epoch it ran with) or in standby
   * (under `epoch`, or one it fences). Refused with `SLIPWAY_STATE_IRREVERSIBLE` without `down`,
   * `SLIPWAY_STATE_MIGRATION_MISSING` when `version` is not the layout it migrates from.
   *
   * @example
   * await green.pause()
   * await green.migrateState(1) // then hand off to the version before at the committed offsets
   */
  async migrateState(version: number, options: { epoch?: number } = {}): Promise<StateMigrationResult> {
    this.#expect('migrate the state of the', 'paused', 'standby', 'fenced');
    if (this.#state !== 'paused') this.#epoch = options.epoch ?? (await this.log.fence(this.owner));
    return this.#activation.migrateBack(version, this.owner, this.#epoch);
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

  /** Runs the loop (runner-loop.ts) and ends in the state it leaves the runner in: paused, fenced or failed. */
  async #run(halt: AbortSignal): Promise<void> {
    try {
      await this.#processing.run(halt);
      if (this.#state === 'running' || this.#state === 'pausing') {
        // Paused cleanly: a warm runner keeps its state current for a next activation (a rollback).
        this.#activation.warmAfterPause(this.#keyRange);
        this.#setState('paused');
      }
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

  static {
    processDirect = (runner, batch) => {
      runner.#expect('hand a batch to the', 'standby');
      try {
        return runner.#processing.processBatch(batch, [], performance.now()).commit;
      } catch (err) {
        runner.#store.discardBatch();
        runner.#fail(err);
        throw err;
      }
    };
  }
}

import { EventEmitter } from 'node:events';
import { type Dataset, dlqTopic } from '../dataset/dataset.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { CommitBatch, CommitResult, Log, LogRecord, PartitionOffset } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { LogToggleSource } from '../toggles/toggle-log.js';
import { BatchCore, type OutputSlot } from './batch-core.js';
import { CommitGroup } from './commit-group.js';
import { type ReplayRequest, type ReplayResult, replayThrough } from './dead-letter-replay.js';
import { StateStore } from './keyed-state.js';
import { RunnerMetrics } from './metrics.js';
import { type RegistryUnavailableEvent, untilRegistry } from './registry-wait.js';
import { RunnerActivation } from './runner-activation.js';
import { assignSlots, createRunnerTopics, lagOf, type Slot } from './runner-setup.js';
import { type RunnerStats, RunnerStatsRecorder } from './runner-stats.js';
import { RunnerToggles } from './runner-toggles.js';
import type { ActivateOptions, CommitEvent, RunnerMode, RunnerOptions, RunnerState } from './runner-types.js';
import { checkShadowId, shadowTopic } from './shadow-topics.js';
import { type SinkCommitBatch, SinkLog, sinkLogFor } from './sink-log.js';
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
  /** Batches gathered into this commit (see commit-group.ts). */
  batches: number;
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
  #replaying = false;
  /** The pipeline's toggles: changes looked for, and placed at offset barriers (undefined when it declares none). */
  readonly #toggles: RunnerToggles | undefined;
  /** Positions and state at activation (warm on Kafka), state migrations, the warm-up after a pause. */
  readonly #activation: RunnerActivation;
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
      commit: (batch) => this.#commitWithRetry(batch),
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
    if (this.#replaying) {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `Cannot ${command} runner of '${this.pipeline.name}' while it replays dead letters: wait for the replay to end.`,
        { details: { state: this.#state, command } },
      );
    }
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
          this.#tellRegistry,
        );
        this.#registryWait = undefined;
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
    const waiting = this.#registryWait === undefined ? {} : { registryUnavailable: { ...this.#registryWait } };
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
    if (this.mode === 'shadow') {
      throw new SlipwayError(
        'SLIPWAY_INVALID_STATE',
        `A shadow runner of '${this.pipeline.name}' cannot replay dead letters: its outputs are not the live ones.`,
      );
    }
    this.#replaying = true;
    try {
      if (this.#state === 'standby') await this.#prepare(request.epoch === undefined ? {} : { epoch: request.epoch });
      return await replayThrough(
        {
          log: this.log,
          owner: this.owner,
          epoch: this.#epoch,
          stateNamespace: this.stateNamespace,
          version: this.pipeline.version,
          ...(this.#options.provenance?.artifact === undefined ? {} : { artifact: this.#options.provenance.artifact }),
          inputs: this.pipeline.inputs,
          partitions: this.#slots,
          dlqTopic: (input) => this.#dlqTopics.get(input) as string,
          process: (records) => this.#core.process(records, this.#config, undefined, this.#toggles?.current()),
          pendingWrites: () => this.#store.pendingWrites(),
          applyBatch: () => this.#store.applyBatch(),
          discardBatch: () => this.#store.discardBatch(),
          commit: async (batch) => {
            await this.#commitWithRetry(batch);
          },
        },
        request,
      );
    } finally {
      this.#replaying = false;
    }
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

  /** Set while the runner waits for an unreachable schema registry (its stats say so). */
  #registryWait: RunnerStats['registryUnavailable'];

  /** Tells `registry-unavailable` listeners (and counts) that the runner waits for the schema registry. */
  readonly #tellRegistry = (event: RegistryUnavailableEvent): void => {
    this.#registryWait = {
      code: event.code,
      message: event.message,
      since: this.#registryWait?.since ?? this.#clock(),
      attempts: event.attempt,
    };
    this.metrics.registryUnavailable.inc(this.#labels);
    if (this.listenerCount('registry-unavailable') > 0) this.emit('registry-unavailable', event);
  };

  #fail(err: unknown): void {
    this.#error = err;
    this.#setState('failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /**
   * The loop. Processing overlaps the commit before (at most one commit in flight): batches read while a commit
   * is in flight are processed against the state it left and gathered into one group (up to GROUP_MAX_BATCHES,
   * see commit-group.ts), committed as one transaction once that commit succeeded, so commits stay in order and
   * a failed one stops everything after it. A log whose commits are quicker than a batch's processing commits
   * every batch on its own.
   */
  async #run(halt: AbortSignal): Promise<void> {
    let next = 0;
    let inflight: Promise<void> | undefined;
    let inflightDone = false;
    let group: CommitGroup | undefined;
    // Right after activation (a cutover, a rollback) the backlog of the pause is waiting: small first
    // batches put output out again sooner than one full batch would, then the batch size ramps up.
    let limit = Math.min(this.#batchSize, RAMP_START);
    try {
      while (!halt.aborted) {
        if (this.#toggles !== undefined) await this.#refreshToggles();
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
          const read = await untilRegistry(
            `reading ${slot.topic}/${slot.partition}`,
            () => this.log.read(slot.topic, slot.partition, slot.readPos, max),
            this.#tellRegistry,
            halt,
          );
          // Paused while waiting for the registry: nothing of this slot was read.
          if (read === undefined) break;
          this.#registryWait = undefined;
          let records = read;
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
        // Paused while reading: leave what was read for the next owner rather than hold the pause for one more
        // batch and commit (nothing of it is processed: the positions stay where they are).
        if (halt.aborted && batch.length > 0) break;
        if (batch.length > 0) {
          group ??= new CommitGroup(started);
          this.#processInto(group, batch, touched);
          for (const [slot, , next] of touched) slot.readPos = next;
          // The commit before is still in flight: read on, and commit this batch with the next ones.
          if (inflight !== undefined && !inflightDone && group.canGrow(this.#batchSize)) continue;
        }
        if (group === undefined) {
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
        const prepared = this.#seal(group);
        group = undefined;
        if (inflight !== undefined) {
          const done = inflight;
          inflight = undefined;
          await done;
          // Paused while the commit before was in flight: hand the group, processed but not committed, to the
          // next owner rather than hold the pause for one more commit (its state taken back, positions unmoved).
          if (halt.aborted) {
            this.#store.revertBatch();
            for (const [slot] of prepared.touched) slot.readPos = slot.position;
            break;
          }
        }
        const flight = this.#commitPrepared(prepared);
        inflight = flight;
        inflightDone = false;
        // Handled when awaited; this only keeps an early failure from being reported as unhandled.
        flight.then(
          () => {
            if (inflight === flight) inflightDone = true;
          },
          () => {
            if (inflight === flight) inflightDone = true;
          },
        );
      }
      if (inflight !== undefined) await inflight;
      if (group !== undefined) {
        // Paused while gathering a group: it is processed but neither applied nor committed. Its records are the
        // next owner's (its state writes dropped, positions back to the last commit).
        this.#store.discardBatch();
        for (const [slot] of group.touched) slot.readPos = slot.position;
        group = undefined;
      }
      for (const s of this.#slots) {
        // Everything read is committed: past the position lie only transaction markers skipped to reach a barrier.
        s.position = s.readPos;
        s.target = undefined;
      }
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

  /** Runs `process` over a batch (synchronously) into a group: its state writes stay in the store's overlay. */
  #processInto(group: CommitGroup, batch: LogRecord[], touched: Array<[Slot, number, number]>): void {
    const toggles = this.#toggles?.current();
    if (toggles !== undefined) this.#toggles?.markBarriers(touched, this.#store, toggles);
    group.add(batch, touched, this.#core.process(batch, this.#config, this.#keyRange, toggles));
  }

  /** Prepares a group's commit; its state writes become the base (`revertBatch` takes them back). */
  #seal(group: CommitGroup): PreparedBatch {
    const commit: SinkCommitBatch = {
      owner: this.owner,
      epoch: this.#epoch,
      outputs: group.outputs(),
      state: { namespace: this.stateNamespace, writes: this.#store.pendingWrites() },
      offsets: { group: this.group, offsets: group.offsets() },
      ...(group.rows === undefined ? {} : { rows: group.rows }),
    };
    // Optimistic: the next group is processed against this one's state. If this commit fails the
    // runner stops, and the next activation reloads state from the log.
    this.#store.applyBatch();
    return {
      commit,
      touched: group.touched,
      batch: group.batch,
      outputs: group.outputCount,
      dlq: group.dlqCount,
      skipped: group.skipped,
      started: group.started,
      batches: group.batches,
    };
  }

  /** Runs `process` over one batch and prepares its commit (the test harness's path). */
  #processBatch(batch: LogRecord[], touched: Array<[Slot, number, number]>, started: number): PreparedBatch {
    const group = new CommitGroup(started);
    this.#processInto(group, batch, touched);
    return this.#seal(group);
  }

  async #commitPrepared(prepared: PreparedBatch): Promise<void> {
    const result = await this.#commitWithRetry(prepared.commit);
    this.#activation.committed(result);
    const { touched, batch } = prepared;
    for (const [slot, , next] of touched) slot.position = next;

    const now = this.#clock();
    const durationMs = performance.now() - prepared.started;
    this.metrics.recordCommit(this.#labels, {
      inputs: touched.map(([slot, count]) => ({ topic: slot.topic, count })),
      outputs: prepared.commit.outputs ?? [],
      batch,
      batches: prepared.batches,
      committedAt: now,
      durationMs,
    });
    const processed = batch.length - prepared.skipped;
    this.#stats.recordCommit(
      now,
      { inputs: batch.length, processed, outputs: prepared.outputs, dlq: prepared.dlq },
      batch,
      prepared.batches,
    );
    if (this.listenerCount('commit') > 0) {
      this.emit('commit', {
        inputs: batch.length,
        processed,
        outputs: prepared.outputs,
        dlq: prepared.dlq,
        offsets: (prepared.commit.offsets?.offsets ?? []).map((o) => ({ ...o })),
        inputTimestamps: batch.map((r) => r.timestamp),
        committedAt: now,
        durationMs,
      } satisfies CommitEvent);
    }
  }

  async #commitWithRetry(batch: Parameters<Log['commit']>[0]): Promise<CommitResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.log.commit(batch);
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

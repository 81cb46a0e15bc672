import type { EventEmitter } from 'node:events';
import { isSlipwayError } from '../errors.js';
import type { CommitBatch, CommitResult, Log, LogRecord } from '../log/log.js';
import type { BatchCore } from './batch-core.js';
import { CommitGroup } from './commit-group.js';
import type { StateStore } from './keyed-state.js';
import type { RunnerMetrics } from './metrics.js';
import { type RegistryUnavailableEvent, untilRegistry } from './registry-wait.js';
import type { RunnerActivation } from './runner-activation.js';
import type { Slot } from './runner-setup.js';
import type { RunnerStats, RunnerStatsRecorder } from './runner-stats.js';
import type { RunnerToggles } from './runner-toggles.js';
import type { CommitEvent } from './runner-types.js';
import type { SinkCommitBatch } from './sink-log.js';

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

/**
 * What a runner lends its loop: the log and its slots, keyed state and the batch core, who it commits as (set at
 * activation), and where a commit's figures go (metrics, stats, `commit` listeners, the activation's positions).
 */
export interface LoopHost {
  readonly log: Log;
  readonly store: StateStore;
  readonly core: BatchCore;
  readonly toggles: RunnerToggles | undefined;
  /** Told of each commit's changelog positions (see RunnerActivation.committed). */
  readonly activation: Pick<RunnerActivation, 'committed'>;
  readonly metrics: RunnerMetrics;
  readonly stats: RunnerStatsRecorder;
  readonly labels: { pipeline: string; version: string };
  readonly stateNamespace: string;
  readonly batchSize: number;
  readonly idleWaitMs: number;
  readonly clock: () => number;
  /** The runner itself, to tell `commit` and `registry-unavailable` listeners (events built only when there are some). */
  readonly events: Pick<EventEmitter, 'emit' | 'listenerCount'>;
  /** The assigned partitions (set at start, fixed while the loop runs). */
  slots(): Slot[];
  owner(): string;
  epoch(): number;
  group(): string;
  /** The resolved pipeline config. */
  config(): unknown;
  /** The canary key share (undefined: every key). */
  keyRange(): { from: number; to: number } | undefined;
  /** Looks for toggle changes (see RunnerToggles.refresh) and tells `toggles` listeners of a new version. */
  refreshToggles(): Promise<void>;
  /**
   * Whether the log applies value codecs (datasets in a registry format): then a read waits out an unreachable
   * schema registry (registry-wait.ts); without codecs nothing read can need the registry, so reads go straight on.
   */
  readonly registryReads: boolean;
}

/**
 * A runner's processing loop and its commit path: read a batch → process → gather into a group → one atomic
 * commit (outputs + state + input offsets, under the owner's epoch) → repeat. Exactly once rests on it: a group
 * is committed whole under the epoch or not at all, and positions move only after its commit succeeded.
 */
export class RunnerLoop {
  readonly #host: LoopHost;
  /** Set while the runner waits for an unreachable schema registry (its stats say so). */
  #registryWait: RunnerStats['registryUnavailable'];

  constructor(host: LoopHost) {
    this.#host = host;
  }

  /** Since when, and why, the runner waits for its schema registry (at start, or reading); undefined: it does not. */
  get registryWait(): RunnerStats['registryUnavailable'] {
    return this.#registryWait;
  }

  /** Tells `registry-unavailable` listeners (and counts) that the runner waits for the schema registry. */
  readonly tellRegistry = (event: RegistryUnavailableEvent): void => {
    const host = this.#host;
    this.#registryWait = {
      code: event.code,
      message: event.message,
      since: this.#registryWait?.since ?? host.clock(),
      attempts: event.attempt,
    };
    host.metrics.registryUnavailable.inc(host.labels);
    if (host.events.listenerCount('registry-unavailable') > 0) host.events.emit('registry-unavailable', event);
  };

  /** The schema registry answered: the runner no longer waits for it. */
  registryReached(): void {
    this.#registryWait = undefined;
  }

  /**
   * The loop, until `halt` (or every slot at its `runUntil` target); throws what stops it (SLIPWAY_FENCED among
   * them). Processing overlaps the commit before (at most one commit in flight): batches read while a commit
   * is in flight are processed against the state it left and gathered into one group (up to GROUP_MAX_BATCHES,
   * see commit-group.ts), committed as one transaction once that commit succeeded, so commits stay in order and
   * a failed one stops everything after it. A log whose commits are quicker than a batch's processing commits
   * every batch on its own.
   */
  async run(halt: AbortSignal): Promise<void> {
    const host = this.#host;
    const slots = host.slots();
    let next = 0;
    let inflight: Promise<void> | undefined;
    let inflightDone = false;
    let group: CommitGroup | undefined;
    // Right after activation (a cutover, a rollback) the backlog of the pause is waiting: small first
    // batches put output out again sooner than one full batch would, then the batch size ramps up.
    let limit = Math.min(host.batchSize, RAMP_START);
    while (!halt.aborted) {
      if (host.toggles !== undefined) await host.refreshToggles();
      const started = performance.now();
      const batch: LogRecord[] = [];
      const touched: Array<[Slot, number, number]> = [];
      let allAtTarget = true;
      const batchSize = limit;
      limit = Math.min(host.batchSize, limit * 2);
      for (let i = 0; i < slots.length && batch.length < batchSize; i++) {
        const slot = slots[(next + i) % slots.length] as Slot;
        let max = batchSize - batch.length;
        if (slot.target !== undefined) max = Math.min(max, slot.target - slot.readPos);
        if (max <= 0) continue;
        allAtTarget = false;
        const read = host.registryReads
          ? await untilRegistry(
              `reading ${slot.topic}/${slot.partition}`,
              () => host.log.read(slot.topic, slot.partition, slot.readPos, max),
              this.tellRegistry,
              halt,
            )
          : await host.log.read(slot.topic, slot.partition, slot.readPos, max);
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
      next = (next + 1) % Math.max(1, slots.length);
      // Paused while reading: leave what was read for the next owner rather than hold the pause for one more
      // batch and commit (nothing of it is processed: the positions stay where they are).
      if (halt.aborted && batch.length > 0) break;
      if (batch.length > 0) {
        group ??= new CommitGroup(started);
        this.#processInto(group, batch, touched);
        for (const [slot, , next] of touched) slot.readPos = next;
        // The commit before is still in flight: read on, and commit this batch with the next ones.
        if (inflight !== undefined && !inflightDone && group.canGrow(host.batchSize)) continue;
      }
      if (group === undefined) {
        if (inflight !== undefined) {
          const done = inflight;
          inflight = undefined;
          await done;
          continue;
        }
        if (allAtTarget && slots.every((s) => s.target !== undefined)) break;
        await host.log.waitForChange({ timeoutMs: host.idleWaitMs, signal: halt });
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
          host.store.revertBatch();
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
      host.store.discardBatch();
      for (const [slot] of group.touched) slot.readPos = slot.position;
      group = undefined;
    }
    for (const s of slots) {
      // Everything read is committed: past the position lie only transaction markers skipped to reach a barrier.
      s.position = s.readPos;
      s.target = undefined;
    }
  }

  /** Runs `process` over one batch and prepares its commit (the test harness's path). */
  processBatch(batch: LogRecord[], touched: Array<[Slot, number, number]>, started: number): PreparedBatch {
    const group = new CommitGroup(started);
    this.#processInto(group, batch, touched);
    return this.#seal(group);
  }

  /** Runs `process` over a batch (synchronously) into a group: its state writes stay in the store's overlay. */
  #processInto(group: CommitGroup, batch: LogRecord[], touched: Array<[Slot, number, number]>): void {
    const host = this.#host;
    const toggles = host.toggles?.current();
    if (toggles !== undefined) host.toggles?.markBarriers(touched, host.store, toggles);
    group.add(batch, touched, host.core.process(batch, host.config(), host.keyRange(), toggles));
  }

  /** Prepares a group's commit; its state writes become the base (`revertBatch` takes them back). */
  #seal(group: CommitGroup): PreparedBatch {
    const host = this.#host;
    const commit: SinkCommitBatch = {
      owner: host.owner(),
      epoch: host.epoch(),
      outputs: group.outputs(),
      state: { namespace: host.stateNamespace, writes: host.store.pendingWrites() },
      offsets: { group: host.group(), offsets: group.offsets() },
      ...(group.rows === undefined ? {} : { rows: group.rows }),
    };
    // Optimistic: the next group is processed against this one's state. If this commit fails the
    // runner stops, and the next activation reloads state from the log.
    host.store.applyBatch();
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

  async #commitPrepared(prepared: PreparedBatch): Promise<void> {
    const host = this.#host;
    const result = await commitWithRetry(host.log, prepared.commit);
    host.activation.committed(result);
    const { touched, batch } = prepared;
    for (const [slot, , next] of touched) slot.position = next;

    const now = host.clock();
    const durationMs = performance.now() - prepared.started;
    host.metrics.recordCommit(host.labels, {
      inputs: touched.map(([slot, count]) => ({ topic: slot.topic, count })),
      outputs: prepared.commit.outputs ?? [],
      batch,
      batches: prepared.batches,
      committedAt: now,
      durationMs,
    });
    const processed = batch.length - prepared.skipped;
    host.stats.recordCommit(
      now,
      { inputs: batch.length, processed, outputs: prepared.outputs, dlq: prepared.dlq },
      batch,
      prepared.batches,
    );
    if (host.events.listenerCount('commit') > 0) {
      host.events.emit('commit', {
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
}

/** Commits `batch` on `log`, asking again (up to 5 times, backing off) while the error says it may be retried. */
export async function commitWithRetry(log: Log, batch: Parameters<Log['commit']>[0]): Promise<CommitResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await log.commit(batch);
    } catch (err) {
      if (!isSlipwayError(err) || !err.retryable || attempt >= 5) throw err;
      await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
    }
  }
}

import type { CommitBatch, CommitResult, Log, PartitionOffset, StateWrite } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { StateStore } from './keyed-state.js';
import type { Slot } from './runner-setup.js';
import {
  activationWrites,
  applyWrites,
  type PartitionEntries,
  reverseWrites,
  type StateMigrationResult,
} from './state-migrate.js';
import { StateWarmer, seedOf } from './state-warmer.js';

/** What a runner lends its activation side: the log, its slots and keyed state, and its commit (with retries). */
export interface ActivationHost {
  readonly log: Log;
  readonly pipeline: Pipeline;
  readonly stateNamespace: string;
  readonly store: StateStore;
  /** The assigned partitions (set at start). */
  slots(): Slot[];
  commit(batch: CommitBatch): Promise<CommitResult>;
}

/** Where and with what state an activation starts: positions, the state given (a handoff), the epoch. */
export interface ActivationStart {
  owner: string;
  group: string;
  epoch: number;
  /** Whether the epoch was fenced by someone else (a controller): then the producer session is claimed. */
  epochGiven: boolean;
  offsets?: ReadonlyArray<PartitionOffset> | undefined;
  state?: Record<number, PartitionEntries> | undefined;
}

/**
 * A runner's activation side: positions and committed state loaded at activation (from a warm copy kept current
 * while not running when the log has a changelog to follow, else read), the state migrations committed at
 * activation or back to an older layout, and the warm-up again after a clean pause.
 */
export class RunnerActivation {
  readonly #host: ActivationHost;
  /** Keeps a copy of the state current from the changelog while not running (Kafka), for a fast activation. */
  #warmer: StateWarmer | undefined;
  /** Changelog position per state partition that the state held is exact up to, when known. */
  #stateAt: Map<number, number> | undefined;

  constructor(host: ActivationHost) {
    this.#host = host;
  }

  /** Whether the warm copy is still catching up with the changelog. */
  get warming(): boolean {
    return this.#warmer?.warming === true;
  }

  /** At start: begins keeping a warm copy of the assigned partitions' state (logs with a changelog to follow). */
  startWarming(): void {
    const { log, stateNamespace } = this.#host;
    this.#warmer = StateWarmer.for(log, stateNamespace, [...new Set(this.#host.slots().map((s) => s.partition))]);
    this.#warmer?.start();
  }

  stopWarming(): void {
    this.#warmer?.stop();
  }

  /** Sets positions and loads the partitions' committed state (warm, given or read), migrated under the epoch. */
  async prepare(start: ActivationStart): Promise<void> {
    const { log, pipeline, store } = this.#host;
    const slots = this.#host.slots();
    const committed = new Map<string, number>();
    for (const o of start.offsets ?? []) committed.set(`${o.topic}/${o.partition}`, o.offset);
    // The group's committed offsets, unless the offsets given name every partition (a handoff: one read less).
    if (!slots.every((s) => committed.has(`${s.topic}/${s.partition}`))) {
      for (const o of await log.committedOffsets(start.group)) {
        const key = `${o.topic}/${o.partition}`;
        if (!start.offsets?.some((g) => `${g.topic}/${g.partition}` === key)) committed.set(key, o.offset);
      }
    }
    for (const slot of slots) {
      slot.position = committed.get(`${slot.topic}/${slot.partition}`) ?? 0;
      slot.readPos = slot.position;
      slot.target = undefined;
    }
    // Kafka: take over the producer session now, beside the state's last delta, not at the first commit. A stale
    // epoch is found at the first commit as before (SLIPWAY_FENCED there).
    const claim = !start.epochGiven ? undefined : log.claimEpoch?.(start.owner, start.epoch).catch(() => undefined);
    store.clear();
    if (start.state !== undefined) this.#warmer?.stop();
    const warm = start.state === undefined ? await this.#warmer?.take() : undefined;
    this.#stateAt = warm?.next;
    const state = new Map<number, PartitionEntries>();
    for (const p of new Set(slots.map((s) => s.partition)))
      state.set(p, start.state?.[p] ?? warm?.state.get(p) ?? (await log.readState(this.#host.stateNamespace, p)));
    await claim;
    // State of the layout before is migrated here, committed with its mark under this epoch, before any record.
    const migration = activationWrites(pipeline, state).writes;
    // A migration's writes follow the warm position in the changelog: a later warm-up reads the state anew.
    if (migration.length > 0) this.#stateAt = undefined;
    for (const [p, entries] of await this.#commitMigration(state, migration, start.owner, start.epoch))
      store.load(p, entries);
  }

  /** Takes the committed state back to layout `version` (see Runner.migrateState), under `epoch`. */
  async migrateBack(version: number, owner: string, epoch: number): Promise<StateMigrationResult> {
    const { log, pipeline, store, stateNamespace } = this.#host;
    const state = new Map<number, PartitionEntries>();
    for (const p of new Set(this.#host.slots().map((s) => s.partition)))
      state.set(p, await log.readState(stateNamespace, p));
    const { writes, result } = reverseWrites(pipeline, state, version);
    for (const [p, entries] of await this.#commitMigration(state, writes, owner, epoch)) store.load(p, entries);
    return result;
  }

  /** Commits a migration's writes (if any) as one commit under the runner's epoch; returns the state after. */
  async #commitMigration(
    state: Map<number, PartitionEntries>,
    writes: StateWrite[],
    owner: string,
    epoch: number,
  ): Promise<Map<number, PartitionEntries>> {
    if (writes.length === 0) return state;
    const namespace = this.#host.stateNamespace;
    await this.#host.commit({ owner, epoch, state: { namespace, writes } });
    return applyWrites(state, writes);
  }

  /** After a commit: the changelog positions just past its state writes, when the state held is exact. */
  committed(result: CommitResult): void {
    if (this.#stateAt !== undefined && result.stateNext !== undefined) {
      for (const [p, next] of Object.entries(result.stateNext)) this.#stateAt.set(Number(p), next);
    }
  }

  /**
   * Paused cleanly (everything it processed committed), a warm runner keeps its state current for a next
   * activation (a rollback): from the state it holds and the changelog positions of its own last writes when known.
   */
  warmAfterPause(keyRange: { from: number; to: number } | undefined): void {
    const partitions = [...new Set(this.#host.slots().map((s) => s.partition))];
    // A key share (canary) writes its partitions' state beside another runner: its own copy is not the whole state.
    const at = keyRange === undefined ? this.#stateAt : undefined;
    this.#warmer?.start(seedOf(partitions, (p) => this.#host.store.snapshot(p), at));
  }
}

import type { StateWrite } from '../log/log.js';
import type { KeyedState } from '../pipeline/pipeline.js';

const DELETED = Symbol('deleted');
type Slot = unknown | typeof DELETED;

/**
 * In-memory keyed state for the partitions a runner owns: the committed base, an overlay of the
 * batch being processed, and an undo log for the record being processed (so a record that fails
 * leaves no trace). The base is loaded from the log at activation.
 */
export class StateStore implements KeyedState {
  readonly #base = new Map<number, Map<string, unknown>>();
  #overlay = new Map<number, Map<string, Slot>>();
  /**
   * The current record's writes as (partition, key, previous overlay slot) triples, flat, in the first
   * #undoLength entries. Never shortened (setting an array's length to 0 frees its storage, and the next
   * write would allocate it again): a record's writes allocate nothing.
   */
  readonly #undo: unknown[] = [];
  #undoLength = 0;
  #partition = 0;
  /**
   * What the last `applyBatch` overwrote, as (base, key, previous value or DELETED when absent) triples: a batch
   * applied before its commit (the runner processes the next batch meanwhile) can still be taken back.
   */
  #applied: unknown[] = [];

  /** Replaces the committed base of one partition (values are JSON text). */
  load(partition: number, entries: Array<[string, string]>): void {
    const map = new Map<string, unknown>();
    for (const [k, v] of entries) map.set(k, JSON.parse(v));
    this.#base.set(partition, map);
  }

  clear(): void {
    this.#base.clear();
    this.#applied = [];
    this.#overlay = new Map();
    this.#undo.length = 0;
    this.#undoLength = 0;
  }

  /** Scopes the following get/set/delete calls to one input partition and starts a record. */
  beginRecord(partition: number): void {
    this.#partition = partition;
    this.#undoLength = 0;
  }

  /** Undoes every write of the current record. */
  rollbackRecord(): void {
    const undo = this.#undo;
    for (let i = this.#undoLength - 3; i >= 0; i -= 3) {
      const overlay = this.#overlay.get(undo[i] as number) as Map<string, Slot>;
      const key = undo[i + 1] as string;
      const prev = undo[i + 2] as Slot | undefined;
      if (prev === undefined) overlay.delete(key);
      else overlay.set(key, prev);
    }
    this.#undoLength = 0;
  }

  get<V = unknown>(key: string): V | undefined {
    const overlay = this.#overlay.get(this.#partition);
    if (overlay !== undefined) {
      const v = overlay.get(key);
      if (v === DELETED) return undefined;
      if (v !== undefined) return v as V;
    }
    return this.#base.get(this.#partition)?.get(key) as V | undefined;
  }

  set(key: string, value: unknown): void {
    this.#write(key, value === undefined ? DELETED : value);
  }

  delete(key: string): void {
    this.#write(key, DELETED);
  }

  #write(key: string, slot: Slot): void {
    if (typeof key !== 'string') throw new TypeError(`state keys are strings, got ${typeof key}`);
    let overlay = this.#overlay.get(this.#partition);
    if (overlay === undefined) {
      overlay = new Map();
      this.#overlay.set(this.#partition, overlay);
    }
    const undo = this.#undo;
    const n = this.#undoLength;
    undo[n] = this.#partition;
    undo[n + 1] = key;
    undo[n + 2] = overlay.get(key);
    this.#undoLength = n + 3;
    overlay.set(key, slot);
  }

  /** The batch's writes, serialised for the commit. */
  pendingWrites(): StateWrite[] {
    const writes: StateWrite[] = [];
    for (const [partition, overlay] of this.#overlay) {
      for (const [key, slot] of overlay) {
        writes.push({ partition, key, value: slot === DELETED ? null : JSON.stringify(slot) });
      }
    }
    return writes;
  }

  /**
   * The batch's writes become the base (after its commit, or before it: the next batch is processed against
   * them). Until the next `applyBatch`, `revertBatch` takes them back.
   */
  applyBatch(): void {
    const applied: unknown[] = [];
    for (const [partition, overlay] of this.#overlay) {
      let base = this.#base.get(partition);
      if (base === undefined) {
        base = new Map();
        this.#base.set(partition, base);
      }
      for (const [key, slot] of overlay) {
        applied.push(base, key, base.has(key) ? base.get(key) : DELETED);
        if (slot === DELETED) base.delete(key);
        else base.set(key, slot);
      }
    }
    this.#applied = applied;
    this.#overlay = new Map();
    this.#undo.length = 0;
    this.#undoLength = 0;
  }

  /** Takes back the last `applyBatch` (a batch processed but never committed); the base is as before it. */
  revertBatch(): void {
    const applied = this.#applied;
    for (let i = applied.length - 3; i >= 0; i -= 3) {
      const base = applied[i] as Map<string, unknown>;
      const key = applied[i + 1] as string;
      const prev = applied[i + 2];
      if (prev === DELETED) base.delete(key);
      else base.set(key, prev);
    }
    this.#applied = [];
  }

  /** After a failed commit: forget the batch. */
  discardBatch(): void {
    this.#overlay = new Map();
    this.#undo.length = 0;
    this.#undoLength = 0;
  }

  /** A snapshot of one partition's committed state (for tests and the harness). */
  snapshot(partition: number): Record<string, unknown> {
    const state = Object.fromEntries(this.#base.get(partition) ?? []);
    // The layout mark of a state migration is Slipway's, not the pipeline's (state-migrate.ts).
    delete state['\u0000slipway.state-version'];
    return state;
  }
}

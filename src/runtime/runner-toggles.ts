import type { ToggleSnapshot, ToggleSource } from '../toggles/toggle-log.js';
import type { StateStore } from './keyed-state.js';
import type { Slot } from './runner-setup.js';
import { barrierKey, nextBarriers, type ToggleBarrier } from './toggle-barriers.js';

/**
 * A runner's side of its pipeline's toggles: it looks for changes on the toggle source (at most every
 * `refreshMs`), and places each change at an offset barrier per input partition (see toggle-barriers.ts),
 * so a batch is evaluated with one toggle version and a replay after a crash uses the committed one.
 */
export class RunnerToggles {
  readonly #source: ToggleSource;
  readonly #refreshMs: number;
  #checkedAt = 0;
  #version = -1;

  constructor(source: ToggleSource, refreshMs = 100) {
    this.#source = source;
    this.#refreshMs = refreshMs;
  }

  /** The toggle version new batches are evaluated with (-1: not looked yet). */
  get version(): number {
    return this.#version;
  }

  /** The snapshot new batches are evaluated with. */
  current(): ToggleSnapshot {
    return this.#source.current();
  }

  /**
   * After the partitions' committed state is loaded into `store`: each partition goes on with the toggle
   * version committed for its range; a newer one starts at its next batch.
   */
  resume(slots: readonly Slot[], store: StateStore): void {
    for (const slot of slots) {
      store.beginRecord(slot.partition);
      slot.toggleVersion = store.get<ToggleBarrier[]>(barrierKey(slot.topic))?.at(-1)?.version;
    }
    store.discardBatch();
  }

  /**
   * Looks for toggle changes (at most every `refreshMs` unless `now`); returns the new version when it
   * changed, else undefined.
   */
  async refresh(now = false): Promise<number | undefined> {
    const t = performance.now();
    if (!now && t - this.#checkedAt < this.#refreshMs) return undefined;
    this.#checkedAt = t;
    await this.#source.refresh();
    const version = this.#source.current().version;
    if (version === this.#version) return undefined;
    this.#version = version;
    return version;
  }

  /**
   * A change takes effect at an offset barrier per partition: the first offset of the first batch that uses
   * `snapshot`, written into the partition's state (pending in `store`) in the same commit as the outputs it
   * produced. `touched` are the batch's partitions; each slot's `readPos` is still the batch's first offset.
   */
  markBarriers(
    touched: ReadonlyArray<readonly [Slot, number, number]>,
    store: StateStore,
    snapshot: ToggleSnapshot,
  ): void {
    for (const [slot] of touched) {
      if (slot.toggleVersion === snapshot.version) continue;
      store.beginRecord(slot.partition);
      const key = barrierKey(slot.topic);
      store.set(key, nextBarriers(store.get<ToggleBarrier[]>(key), slot.readPos, snapshot.version));
      slot.toggleVersion = snapshot.version;
    }
  }
}

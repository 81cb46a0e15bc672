/**
 * What a Fetch returned beyond what `read` was asked for, kept for the read that continues where it stopped.
 * A Fetch brings up to 1 MiB of a partition (thousands of records) while a runner asks for a batch's worth:
 * without this, each batch fetched and decoded the same bytes again. Only committed records are kept (they
 * never change), briefly, keyed by the offset the next read will start at, so readers at other positions
 * (another runner on the same handle) never see them.
 */
import type { RawRecord } from './kafka-reader.js';

/** Records left over from one fetch, from `records[index]` on. */
export interface ReadAheadEntry {
  records: RawRecord[];
  index: number;
  /** Where the fetch that gave them ended (past control and aborted batches): the next fetch starts there. */
  next: bigint;
  /** True when that fetch reached the partition's last stable offset. */
  reachedEnd: boolean;
  at: number;
}

/** Longest time leftovers are kept (a topic deleted and created again must not serve old records for long). */
const MAX_AGE_MS = 5_000;
/** Most entries kept; the oldest goes first. */
const MAX_ENTRIES = 256;

export class ReadAhead {
  readonly #entries = new Map<string, ReadAheadEntry>();

  static #key(topic: string, partition: number, from: number): string {
    return `${topic}\u0000${partition}\u0000${from}`;
  }

  /** Takes (and removes) the leftovers of `topic/partition` starting exactly at `from`. */
  take(topic: string, partition: number, from: number): ReadAheadEntry | undefined {
    const key = ReadAhead.#key(topic, partition, from);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return Date.now() - entry.at <= MAX_AGE_MS ? entry : undefined;
  }

  /** Keeps leftovers for the read that will start at `from`. */
  keep(topic: string, partition: number, from: number, entry: ReadAheadEntry): void {
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(ReadAhead.#key(topic, partition, from), entry);
  }

  clear(): void {
    this.#entries.clear();
  }
}

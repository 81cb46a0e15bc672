import type { StoredBatch } from './record-batch.js';

/**
 * The last stored batch each partition's reads ended in, kept so the next read (which usually starts
 * inside it: a reader takes a number of records, not whole batches) does not fetch its text from
 * SQLite again. Stored batches never change once written, so a kept one is never stale. Bounded:
 * at most `capacity` partitions are kept (the least recently read is dropped), since a batch can
 * hold up to a megabyte of text.
 */
export class LastBatchCache {
  readonly #batches = new Map<string, StoredBatch>();
  readonly #capacity: number;

  constructor(capacity = 32) {
    this.#capacity = capacity;
  }

  /**
   * The kept batch of `table` if it holds `offset` or ends right before it (a read that goes on where
   * the last one ended then needs only the batches after it), else undefined.
   */
  holding(table: string, offset: number): StoredBatch | undefined {
    const batch = this.#batches.get(table);
    if (batch === undefined || offset < batch[0] || offset > batch[0] + batch[1]) return undefined;
    return batch;
  }

  /** Keeps the last of the batches a read fetched from `table`. */
  keep(table: string, rows: ReadonlyArray<StoredBatch>): void {
    const last = rows.at(-1);
    if (last === undefined) return;
    this.#batches.delete(table);
    this.#batches.set(table, last);
    if (this.#batches.size > this.#capacity) this.#batches.delete(this.#batches.keys().next().value as string);
  }

  clear(): void {
    this.#batches.clear();
  }
}

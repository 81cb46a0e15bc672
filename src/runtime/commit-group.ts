import type { AppendRecord, LogRecord, PartitionOffset } from '../log/log.js';
import type { ProcessedBatch } from './batch-core.js';
import type { Slot } from './runner-setup.js';

/** Most batches (of the runner's batch size) one transaction takes while the commit before it is in flight. */
export const GROUP_MAX_BATCHES = 4;
/** Most bytes of input values one group takes (a bound on what it holds in memory, and on a transaction's size). */
export const GROUP_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Batches processed while the commit before them is in flight, committed together in one transaction (group
 * commit, as Kafka Streams' commit interval gathers what a thread processed): a log whose commits take longer
 * than a batch takes to process (Kafka: a transaction is several round trips) then makes fewer, larger commits
 * instead of waiting for each batch's. The group's state writes are the state store's overlay, applied once, when
 * the group is sealed; its offsets are the last position reached in each partition.
 */
export class CommitGroup {
  readonly batch: LogRecord[] = [];
  readonly touched: Array<[Slot, number, number]> = [];
  readonly started: number;
  readonly #outputs = new Map<string, AppendRecord[]>();
  outputCount = 0;
  dlqCount = 0;
  skipped = 0;
  /** Batches in the group, and the bytes of their input values. */
  batches = 0;
  bytes = 0;
  /** A sink pipeline's rows: such a group is one batch (its rows are committed as they are). */
  rows: ProcessedBatch['rows'];

  constructor(started: number) {
    this.started = started;
  }

  /** Adds one processed batch: its records, the partitions it moved, and what processing it gave. */
  add(batch: LogRecord[], touched: ReadonlyArray<[Slot, number, number]>, done: ProcessedBatch): void {
    for (const r of batch) {
      this.batch.push(r);
      this.bytes += r.value.length;
    }
    for (const t of touched) this.touched.push(t);
    for (const out of done.outputs) {
      const list = this.#outputs.get(out.topic);
      if (list === undefined) this.#outputs.set(out.topic, out.records);
      else for (const r of out.records) list.push(r);
    }
    this.outputCount += done.outputCount;
    this.dlqCount += done.dlqCount;
    this.skipped += done.skipped;
    if (done.rows !== undefined) this.rows = done.rows;
    this.batches++;
  }

  /** True while one more batch of `batchSize` records may join the group. */
  canGrow(batchSize: number): boolean {
    return (
      this.rows === undefined &&
      this.batches < GROUP_MAX_BATCHES &&
      this.batch.length + batchSize <= GROUP_MAX_BATCHES * batchSize &&
      this.bytes < GROUP_MAX_BYTES
    );
  }

  /** The outputs and dead letters to commit, one entry per topic. */
  outputs(): Array<{ topic: string; records: AppendRecord[] }> {
    return [...this.#outputs].map(([topic, records]) => ({ topic, records }));
  }

  /** The offsets to commit: the next offset to read of each partition the group moved. */
  offsets(): PartitionOffset[] {
    const last = new Map<Slot, number>();
    for (const [slot, , next] of this.touched) last.set(slot, next);
    return [...last].map(([slot, offset]) => ({ topic: slot.topic, partition: slot.partition, offset }));
  }
}

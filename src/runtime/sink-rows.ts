import type { TableColumn } from '../datastore/table.js';
import type { TableSink } from '../pipeline/table-sink.js';

/** The rows one batch writes to a sink's table, column by column (what `unnest($1::type[], …)` takes). */
export interface SinkBatch {
  /**
   * Rows to insert (append) or upsert: one array per column of the table, in the table's column order, then
   * one of their sources (the `_slipway_source` column: the input record that wrote each row).
   */
  readonly upserts: unknown[][];
  /** Rows to delete: one array per primary key column, in the primary key's order. */
  readonly deletes: unknown[][];
  /** How many rows (upserted or appended) and deletes. */
  readonly rows: number;
}

/** A row the pipeline wrote wrongly: its record goes to the dead-letter topic as `output-schema`. */
export class SinkRowError extends Error {}

/**
 * Collects a batch's emits and tombstones to a sink's table straight into the columns the statement takes
 * (no object per row): each record's own until it is processed (a record that fails takes them back), then
 * the batch's, where the last write of a primary key wins in upsert mode (PostgreSQL's `ON CONFLICT DO
 * UPDATE` cannot change one row twice in a statement): an earlier write of the key is marked superseded, and
 * only a batch that has one is compacted when it is taken.
 */
export class SinkRows {
  readonly sink: TableSink;
  readonly #columns: readonly TableColumn[];
  readonly #pkIndex: number[];
  readonly #json: boolean[];
  readonly #upsert: boolean;
  /**
   * Rows (upserts or appends) and tombstones of the batch, column by column (the rows' sources last); the
   * current record's at the end.
   */
  #rows: unknown[][];
  #deletes: unknown[][];
  /** Where the current record's rows and tombstones start. */
  #rowStart = 0;
  #deleteStart = 0;
  /** Upsert mode: the live write of each key (a row's index, or -1 - a tombstone's index) of committed records. */
  #live = new Map<string, number>();
  /** Superseded rows and tombstones (by index), when a key was written again; most batches have none. */
  #deadRows: number[] = [];
  #deadDeletes: number[] = [];
  /** With tombstones: the current record's writes in their order (a row's index, or -1 - a tombstone's). */
  #order: number[] = [];

  constructor(sink: TableSink) {
    this.sink = sink;
    this.#columns = sink.table.columns;
    this.#pkIndex = sink.table.primaryKey.map((name) => this.#columns.findIndex((c) => c.name === name));
    this.#json = this.#columns.map((c) => c.type === 'jsonb' || c.type === 'json');
    this.#upsert = sink.mode !== 'append';
    this.#rows = this.#newRows();
    this.#deletes = this.#pkIndex.map(() => []);
  }

  /** Empty columns for the rows: the table's, then the sources'. */
  #newRows(): unknown[][] {
    return Array.from({ length: this.#columns.length + 1 }, () => []);
  }

  /** A row of the current record, whose source is `source` (`topic/partition/offset`). */
  emit(row: unknown, source: string): void {
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      throw new SinkRowError(`a row of table ${this.sink.table.name} must be an object of its fields`);
    const r = row as Record<string, unknown>;
    const columns = this.#columns;
    // Every value is checked before any is written: a wrong row leaves the columns as they were.
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as TableColumn;
      const v = r[c.field];
      if (v === undefined || v === null) {
        if (!c.nullable)
          throw new SinkRowError(
            `row of table ${this.sink.table.name} has no ${c.field} (column ${c.name} is NOT NULL)`,
          );
      } else if (typeof v === 'object' && !this.#json[i] && !(v instanceof Date))
        throw new SinkRowError(
          `field ${c.field} of a row of table ${this.sink.table.name} is an object; column ${c.name} is ${c.type}`,
        );
    }
    const rows = this.#rows;
    const at = (rows[0] as unknown[]).length;
    if (this.sink.deleteOnTombstone) this.#order.push(at);
    for (let i = 0; i < columns.length; i++) {
      const v = r[(columns[i] as TableColumn).field];
      (rows[i] as unknown[]).push(v === undefined || v === null ? null : this.#json[i] ? JSON.stringify(v) : v);
    }
    // The record's n-th write is `source#n`, as its n-th output record's header would be.
    const n = at - this.#rowStart + (this.#deletes[0] as unknown[]).length - this.#deleteStart;
    (rows[columns.length] as unknown[]).push(n === 0 ? source : `${source}#${n}`);
  }

  tombstone(key: unknown): void {
    if (!this.sink.deleteOnTombstone)
      throw new SinkRowError(
        `tombstone to table ${this.sink.table.name}, whose sink does not delete: declare it with tableSink(table, { deleteOnTombstone: true })`,
      );
    if (typeof key !== 'object' || key === null)
      throw new SinkRowError(`a tombstone of table ${this.sink.table.name} names its primary key fields in an object`);
    const k = key as Record<string, unknown>;
    for (const i of this.#pkIndex) {
      const c = this.#columns[i] as TableColumn;
      const v = k[c.field];
      if (v === undefined || v === null)
        throw new SinkRowError(
          `tombstone of table ${this.sink.table.name} has no ${c.field} (primary key column ${c.name})`,
        );
    }
    this.#order.push(-1 - (this.#deletes[0] as unknown[]).length);
    this.#pkIndex.forEach((i, j) => {
      (this.#deletes[j] as unknown[]).push(k[(this.#columns[i] as TableColumn).field]);
    });
  }

  /** The key of a row or tombstone: its primary key values as text. */
  #keyOf(columns: unknown[][], index: number[], at: number): string {
    if (index.length === 1) return String((columns[index[0] as number] as unknown[])[at]);
    return JSON.stringify(index.map((i) => (columns[i] as unknown[])[at]));
  }

  /** The current record was processed: its writes join the batch. Returns how many it made. */
  commitRecord(): number {
    const rowEnd = (this.#rows[0] as unknown[]).length;
    const deleteEnd = (this.#deletes[0] as unknown[]).length;
    const n = rowEnd - this.#rowStart + deleteEnd - this.#deleteStart;
    if (n === 0) return 0;
    if (this.#upsert && deleteEnd === this.#deleteStart) {
      for (let at = this.#rowStart; at < rowEnd; at++) this.#supersede(this.#keyOf(this.#rows, this.#pkIndex, at), at);
    } else if (this.#upsert) {
      // Rows and tombstones in the order the record wrote them: the last write of a key wins.
      const pk = this.#pkIndex.map((_, i) => i);
      for (const w of this.#order)
        this.#supersede(w >= 0 ? this.#keyOf(this.#rows, this.#pkIndex, w) : this.#keyOf(this.#deletes, pk, -1 - w), w);
    }
    this.#order.length = 0;
    this.#rowStart = rowEnd;
    this.#deleteStart = deleteEnd;
    return n;
  }

  /** Makes `write` (a row's index, or -1 - a tombstone's) the live write of `key`; the one before is superseded. */
  #supersede(key: string, write: number): void {
    const before = this.#live.get(key);
    if (before !== undefined) {
      if (before >= 0) this.#deadRows.push(before);
      else this.#deadDeletes.push(-1 - before);
    }
    this.#live.set(key, write);
  }

  /** The current record failed: its writes are dropped. */
  rollbackRecord(): void {
    this.#order.length = 0;
    for (const c of this.#rows) c.length = this.#rowStart;
    for (const c of this.#deletes) c.length = this.#deleteStart;
  }

  /** The batch's rows, column by column, and a fresh start. */
  takeBatch(): SinkBatch {
    this.rollbackRecord();
    const upserts = compact(this.#rows, this.#deadRows);
    const deletes = compact(this.#deletes, this.#deadDeletes);
    const batch = {
      upserts,
      deletes,
      rows: (upserts[0] as unknown[]).length + (deletes[0] as unknown[]).length,
    };
    this.#rows = this.#newRows();
    this.#deletes = this.#pkIndex.map(() => []);
    this.#rowStart = 0;
    this.#deleteStart = 0;
    if (this.#live.size > 0) this.#live = new Map();
    this.#deadRows = [];
    this.#deadDeletes = [];
    return batch;
  }
}

/** The columns without the rows at `dead` (the columns themselves when there are none). */
function compact(columns: unknown[][], dead: number[]): unknown[][] {
  if (dead.length === 0) return columns;
  const drop = new Set(dead);
  return columns.map((c) => c.filter((_, i) => !drop.has(i)));
}

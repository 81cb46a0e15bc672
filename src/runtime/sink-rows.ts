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

/** One write of a record: a row's values (column order), or a tombstone's primary key values. */
type Op = { key: string; values: unknown[]; del: boolean };

/**
 * Collects a batch's emits and tombstones to a sink's table: each record's own until it is processed
 * (a record that fails takes them back), then the batch's, where the last write of a primary key wins in
 * upsert mode (PostgreSQL's `ON CONFLICT DO UPDATE` cannot change one row twice in a statement).
 */
export class SinkRows {
  readonly sink: TableSink;
  readonly #columns: readonly TableColumn[];
  readonly #pkIndex: number[];
  readonly #json: boolean[];
  #record: Op[] = [];
  #ops = new Map<string, Op>();
  #appended: unknown[][] = [];

  constructor(sink: TableSink) {
    this.sink = sink;
    this.#columns = sink.table.columns;
    this.#pkIndex = sink.table.primaryKey.map((name) => this.#columns.findIndex((c) => c.name === name));
    this.#json = this.#columns.map((c) => c.type === 'jsonb' || c.type === 'json');
  }

  /** A row of the current record, whose source is `source` (`topic/partition/offset`). */
  emit(row: unknown, source: string): void {
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      throw new SinkRowError(`a row of table ${this.sink.table.name} must be an object of its fields`);
    const r = row as Record<string, unknown>;
    const columns = this.#columns;
    const values: unknown[] = new Array(columns.length + 1);
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as TableColumn;
      let v = r[c.field];
      if (v === undefined || v === null) {
        if (!c.nullable)
          throw new SinkRowError(
            `row of table ${this.sink.table.name} has no ${c.field} (column ${c.name} is NOT NULL)`,
          );
        v = null;
      } else if (this.#json[i]) v = JSON.stringify(v);
      else if (typeof v === 'object' && !(v instanceof Date))
        throw new SinkRowError(
          `field ${c.field} of a row of table ${this.sink.table.name} is an object; column ${c.name} is ${c.type}`,
        );
      values[i] = v;
    }
    // The record's n-th write is `source#n`, as its n-th output record's header would be.
    const n = this.#record.length;
    values[columns.length] = n === 0 ? source : `${source}#${n}`;
    this.#record.push({
      key: this.sink.mode === 'append' ? '' : this.#keyOf(values, this.#pkIndex),
      values,
      del: false,
    });
  }

  tombstone(key: unknown): void {
    if (!this.sink.deleteOnTombstone)
      throw new SinkRowError(
        `tombstone to table ${this.sink.table.name}, whose sink does not delete: declare it with tableSink(table, { deleteOnTombstone: true })`,
      );
    if (typeof key !== 'object' || key === null)
      throw new SinkRowError(`a tombstone of table ${this.sink.table.name} names its primary key fields in an object`);
    const values: unknown[] = [];
    for (const i of this.#pkIndex) {
      const c = this.#columns[i] as TableColumn;
      const v = (key as Record<string, unknown>)[c.field];
      if (v === undefined || v === null)
        throw new SinkRowError(
          `tombstone of table ${this.sink.table.name} has no ${c.field} (primary key column ${c.name})`,
        );
      values.push(v);
    }
    this.#record.push({
      key: this.#keyOf(
        values,
        this.#pkIndex.map((_, i) => i),
      ),
      values,
      del: true,
    });
  }

  #keyOf(values: unknown[], index: number[]): string {
    if (index.length === 1) return String(values[index[0] as number]);
    return JSON.stringify(index.map((i) => values[i]));
  }

  /** The current record was processed: its writes join the batch. Returns how many it made. */
  commitRecord(): number {
    const n = this.#record.length;
    if (n === 0) return 0;
    if (this.sink.mode === 'append') for (const op of this.#record) this.#appended.push(op.values);
    else for (const op of this.#record) this.#ops.set(op.key, op);
    this.#record = [];
    return n;
  }

  /** The current record failed: its writes are dropped. */
  rollbackRecord(): void {
    this.#record = [];
  }

  /** The batch's rows, column by column, and a fresh start. */
  takeBatch(): SinkBatch {
    const columns = this.#columns.length + 1;
    const upserts: unknown[][] = Array.from({ length: columns }, () => []);
    const deletes: unknown[][] = this.#pkIndex.map(() => []);
    let rows = 0;
    const add = (values: unknown[]): void => {
      for (let i = 0; i < columns; i++) (upserts[i] as unknown[]).push(values[i]);
      rows++;
    };
    for (const values of this.#appended) add(values);
    for (const op of this.#ops.values()) {
      if (!op.del) add(op.values);
      else {
        for (let i = 0; i < deletes.length; i++) (deletes[i] as unknown[]).push(op.values[i]);
        rows++;
      }
    }
    this.#appended = [];
    this.#ops = new Map();
    return { upserts, deletes, rows };
  }
}

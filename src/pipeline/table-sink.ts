import type { Table } from '../datastore/table.js';
import { isTable } from '../datastore/table.js';
import { SlipwayError } from '../errors.js';

/**
 * How a sink writes its rows: `upsert` inserts a row or replaces the one with the same primary key (the last
 * record of a key wins); `append` only inserts (a key already in the table fails the batch: append to tables
 * whose key is unique per input record, such as the record's source).
 */
export type SinkMode = 'upsert' | 'append';

export interface TableSinkOptions {
  /** Default `upsert`. */
  mode?: SinkMode;
  /**
   * Let `ctx.tombstone(table, key)` delete the row with that primary key (upsert mode only). Without it, a
   * tombstone is a mistake of the pipeline: the record goes to the dead-letter topic.
   */
  deleteOnTombstone?: boolean;
}

/** A table a pipeline writes its rows to, made by {@link tableSink}. */
export interface TableSink {
  readonly kind: 'slipway.table-sink';
  readonly table: Table;
  readonly mode: SinkMode;
  readonly deleteOnTombstone: boolean;
}

/**
 * Declares a table as a pipeline's output (its `sink`): `process` writes rows with `ctx.emit(table, row)` — a
 * record whose fields fill the columns by {@link TableColumn.field} — and deletes them with `ctx.tombstone(table,
 * key)`. Rows are written in batches in ONE PostgreSQL transaction with the input offsets, the keyed state and a
 * check of the owner's epoch, so each input record's rows are in the table exactly once, across crashes,
 * dropped connections and deployments. A pipeline with a sink writes no topics (`outputs` empty).
 *
 * @example
 * const customerTotals = defineTable({ name: 'customer_totals', from: customerTotalsDataset, primaryKey: 'customer_id' })
 * export const totals = definePipeline({
 *   name: 'customer-totals', version: '1.0.0', inputs: [orders], outputs: [],
 *   sink: tableSink(customerTotals, { mode: 'upsert', deleteOnTombstone: true }),
 *   process(order, ctx) {
 *     if (order.cancelled) return ctx.tombstone(customerTotals, { customerId: order.customerId })
 *     const total = (ctx.state.get<number>(order.customerId) ?? 0) + order.amount
 *     ctx.state.set(order.customerId, total)
 *     ctx.emit(customerTotals, { customerId: order.customerId, total })
 *   },
 * })
 */
export function tableSink(table: Table, options: TableSinkOptions = {}): TableSink {
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid table sink: ${message}`, { details: { field } });
  };
  if (!isTable(table)) bad('pass a table made by defineTable', 'table');
  const mode = options.mode ?? 'upsert';
  if (mode !== 'upsert' && mode !== 'append') bad(`mode must be 'upsert' or 'append', not '${String(mode)}'`, 'mode');
  const deleteOnTombstone = options.deleteOnTombstone ?? false;
  if (deleteOnTombstone && mode !== 'upsert')
    bad('deleteOnTombstone needs mode upsert (an append-only table never deletes)', 'deleteOnTombstone');
  return Object.freeze({ kind: 'slipway.table-sink' as const, table, mode, deleteOnTombstone });
}

export function isTableSink(value: unknown): value is TableSink {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.table-sink';
}

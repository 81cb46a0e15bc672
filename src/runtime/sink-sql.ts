import { quoteIdent, SOURCE_COLUMN } from '../datastore/table.js';
import type { TableSink } from '../pipeline/table-sink.js';

/**
 * The SQL of a sink (see sink-log.ts): its bookkeeping tables in the datastore's schema, and the one statement
 * that commits a batch — rows, tombstones, keyed state and input offsets, each part conditioned on the owner's
 * epoch row, locked FOR SHARE so a fence (an UPDATE of that row) waits for the commit in flight and every
 * commit after it finds the epoch changed and writes nothing.
 */

export const OWNERS = 'slipway_sink_owners';
export const OFFSETS = 'slipway_sink_offsets';
export const STATE = 'slipway_sink_state';

/** The bookkeeping tables, created when missing (under an advisory lock: concurrent CREATE IF NOT EXISTS races). */
export function bookkeepingStatements(schema: string): string[] {
  const s = quoteIdent(schema);
  return [
    `SELECT pg_advisory_xact_lock(hashtext('slipway_sink:' || ${literal(schema)}))`,
    `CREATE SCHEMA IF NOT EXISTS ${s}`,
    `CREATE TABLE IF NOT EXISTS ${s}.${OWNERS} (owner text PRIMARY KEY, epoch bigint NOT NULL)`,
    `CREATE TABLE IF NOT EXISTS ${s}.${OFFSETS} (pipeline_group text NOT NULL, topic text NOT NULL, "partition" integer NOT NULL, next_offset bigint NOT NULL, owner text NOT NULL, owner_epoch bigint NOT NULL, committed_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline_group, topic, "partition"))`,
    `CREATE TABLE IF NOT EXISTS ${s}.${STATE} (namespace text NOT NULL, "partition" integer NOT NULL, key text NOT NULL, value text NOT NULL, PRIMARY KEY (namespace, "partition", key))`,
  ];
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}

/** Where a table's rows go: the live table, or a shadow's copy. */
export function commitStatement(schema: string, sink: TableSink, tableName = sink.table.name): string {
  const s = quoteIdent(schema);
  const t = `${s}.${quoteIdent(tableName)}`;
  const { columns, primaryKey } = sink.table;
  const ok = 'EXISTS (SELECT 1 FROM fence)';
  let n = 10;
  // The declared columns, then the rows' sources (SOURCE_COLUMN).
  const rowParams = [...columns.map((c) => `$${++n}::${c.type}[]`), `$${++n}::text[]`];
  const pkColumns = primaryKey.map((name) => columns.find((c) => c.name === name));
  const deleteParams = pkColumns.map((c) => `$${++n}::${c?.type}[]`);
  const names = [...columns.map((c) => quoteIdent(c.name)), quoteIdent(SOURCE_COLUMN)];
  const pk = primaryKey.map(quoteIdent);
  const rest = [
    ...columns.filter((c) => !primaryKey.includes(c.name)).map((c) => quoteIdent(c.name)),
    quoteIdent(SOURCE_COLUMN),
  ];
  const onConflict =
    sink.mode === 'append'
      ? ''
      : ` ON CONFLICT (${pk.join(', ')}) DO UPDATE SET ${rest.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
  const parts = [
    `fence AS (SELECT epoch FROM ${s}.${OWNERS} WHERE owner = $1 AND epoch = $2 FOR SHARE)`,
    `put AS (INSERT INTO ${t} (${names.join(', ')}) SELECT * FROM unnest(${rowParams.join(', ')}) WHERE ${ok}${onConflict})`,
    `state_put AS (INSERT INTO ${s}.${STATE} (namespace, "partition", key, value) SELECT $7, w.p, w.k, w.v FROM unnest($8::integer[], $9::text[], $10::text[]) AS w(p, k, v) WHERE w.v IS NOT NULL AND ${ok} ON CONFLICT (namespace, "partition", key) DO UPDATE SET value = EXCLUDED.value)`,
    `state_gone AS (DELETE FROM ${s}.${STATE} d USING unnest($8::integer[], $9::text[], $10::text[]) AS w(p, k, v) WHERE w.v IS NULL AND d.namespace = $7 AND d."partition" = w.p AND d.key = w.k AND ${ok})`,
    `offsets AS (INSERT INTO ${s}.${OFFSETS} (pipeline_group, topic, "partition", next_offset, owner, owner_epoch) SELECT $3, x.t, x.p, x.o, $1, $2 FROM unnest($4::text[], $5::integer[], $6::bigint[]) AS x(t, p, o) WHERE ${ok} ON CONFLICT (pipeline_group, topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset, owner = EXCLUDED.owner, owner_epoch = EXCLUDED.owner_epoch, committed_at = now())`,
  ];
  if (sink.deleteOnTombstone)
    parts.push(
      `gone AS (DELETE FROM ${t} WHERE (${pk.join(', ')}) IN (SELECT * FROM unnest(${deleteParams.join(', ')})) AND ${ok})`,
    );
  return `WITH ${parts.join(',\n')}\nSELECT count(*)::integer AS ok FROM fence`;
}

/**
 * Adds the rows' source column to a sink's table when it lacks it (a table its migrations made): nullable, no
 * default, so PostgreSQL changes only its catalog. Run after checking the catalog, so a table that has it is
 * never locked for it.
 */
export function sourceColumnStatement(schema: string, table: string): string {
  return `ALTER TABLE ${quoteIdent(schema)}.${quoteIdent(table)} ADD COLUMN IF NOT EXISTS ${quoteIdent(SOURCE_COLUMN)} text`;
}

/** A shadow's copy of a table: its shape (columns, types, NOT NULL, primary key), empty, made when missing. */
export function shadowTableStatement(schema: string, table: string, shadow: string): string {
  const s = quoteIdent(schema);
  return `CREATE TABLE IF NOT EXISTS ${s}.${quoteIdent(shadow)} (LIKE ${s}.${quoteIdent(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING INDEXES)`;
}

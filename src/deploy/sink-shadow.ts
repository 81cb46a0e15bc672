import type pg from 'pg';
import type { PipelineDescription, SinkDescription } from '../artifact/manifest.js';
import { quoteIdent, SOURCE_COLUMN } from '../datastore/table.js';
import type { PartitionOffset } from '../log/log.js';
import { shadowTableName } from '../runtime/sink-log.js';
import { OFFSETS, OWNERS, STATE } from '../runtime/sink-sql.js';
import { compareOutputs, type OutputDiff } from './output-diff.js';
import { shadowNames } from './shadow-names.js';

/**
 * The shadow of a sink pipeline: green in shadow mode writes `<table>__shadow_<id>` (a copy of the live
 * table's shape, made when the shadow starts), and its rows are compared with the live table's rows **by
 * source** — the input record (`topic/partition/offset`) that last wrote each row, kept in the sink's
 * `_slipway_source` column — like the topic shadow diff compares output records by their `slipway-source`.
 *
 * Blue keeps writing the live table meanwhile, so the two sides are read at the same input offsets: the
 * shadow is seeded with blue's committed offsets and state (one snapshot), runs, pauses at E; once blue has
 * committed past E, the live rows are read in one snapshot with blue's offsets B there, and the shadow runs
 * on to exactly B. Both tables then hold what the inputs [seed, B) made of them.
 */

/** What a sink shadow touches in the datastore, by name. */
export interface SinkShadowNames {
  schema: string;
  /** The live table (read only). */
  table: string;
  /** The shadow's copy, `<table>__shadow_<id>`. */
  shadowTable: string;
  liveGroup: string;
  liveNamespace: string;
  shadowGroup: string;
  shadowOwner: string;
  shadowNamespace: string;
}

/** The names of a sink pipeline's shadow run `shadowId`, in the datastore schema `schema`. */
export function sinkShadowNames(
  manifest: Pick<PipelineDescription, 'name' | 'inputs' | 'outputs' | 'sink'>,
  shadowId: string,
  schema: string,
): SinkShadowNames {
  const table = (manifest.sink as SinkDescription).table;
  const names = shadowNames(manifest, shadowId);
  return {
    schema,
    table,
    shadowTable: shadowTableName(table, shadowId),
    liveGroup: `slipway.${manifest.name}`,
    liveNamespace: manifest.name,
    shadowGroup: names.group,
    shadowOwner: names.owner,
    shadowNamespace: names.stateNamespace,
  };
}

function offsetsOf(rows: Array<{ topic: string; partition: number; next_offset: string | number }>): PartitionOffset[] {
  return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.next_offset) }));
}

/**
 * Gives the shadow blue's committed offsets and keyed state as its own (its group and namespace), read and
 * copied in one snapshot, so that the shadow starts exactly where blue's rows stand and can pause and go on.
 * Returns the offsets it starts from.
 */
export async function seedSinkShadow(client: pg.Client, n: SinkShadowNames): Promise<PartitionOffset[]> {
  const s = quoteIdent(n.schema);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
  try {
    const { rows } = await client.query(
      `SELECT topic, "partition", next_offset FROM ${s}.${OFFSETS} WHERE pipeline_group = $1 ORDER BY topic, "partition"`,
      [n.liveGroup],
    );
    await client.query(`DELETE FROM ${s}.${STATE} WHERE namespace = $1`, [n.shadowNamespace]);
    await client.query(
      `INSERT INTO ${s}.${STATE} (namespace, "partition", key, value) SELECT $2, "partition", key, value FROM ${s}.${STATE} WHERE namespace = $1`,
      [n.liveNamespace, n.shadowNamespace],
    );
    await client.query(`DELETE FROM ${s}.${OFFSETS} WHERE pipeline_group = $1`, [n.shadowGroup]);
    await client.query(
      `INSERT INTO ${s}.${OFFSETS} (pipeline_group, topic, "partition", next_offset, owner, owner_epoch)
       SELECT $2, topic, "partition", next_offset, '', 0 FROM ${s}.${OFFSETS} WHERE pipeline_group = $1`,
      [n.liveGroup, n.shadowGroup],
    );
    await client.query('COMMIT');
    return offsetsOf(rows);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** A table's rows whose source is in [from, to) per input partition: source → the row as JSON (columns by name). */
async function rowsBySource(
  client: pg.Client,
  schema: string,
  table: string,
  from: PartitionOffset[],
  to: PartitionOffset[],
): Promise<Map<string, string>> {
  const lo = new Map(from.map((o) => [`${o.topic}/${o.partition}`, o.offset]));
  const ranges = to.map((o) => ({ ...o, lo: lo.get(`${o.topic}/${o.partition}`) ?? 0 })).filter((r) => r.offset > r.lo);
  const src = quoteIdent(SOURCE_COLUMN);
  const { rows } = await client.query(
    `SELECT t.src, t.row FROM (
       SELECT x.${src} AS src, (to_jsonb(x) - '${SOURCE_COLUMN}')::text AS row,
              regexp_match(x.${src}, '^(.*)/([0-9]+)/([0-9]+)(#[0-9]+)?$') AS m
         FROM ${quoteIdent(schema)}.${quoteIdent(table)} x WHERE x.${src} IS NOT NULL) t
     JOIN unnest($1::text[], $2::integer[], $3::bigint[], $4::bigint[]) AS r(topic, p, lo, hi)
       ON t.m[1] = r.topic AND t.m[2]::integer = r.p AND t.m[3]::bigint >= r.lo AND t.m[3]::bigint < r.hi`,
    [ranges.map((r) => r.topic), ranges.map((r) => r.partition), ranges.map((r) => r.lo), ranges.map((r) => r.offset)],
  );
  return new Map(rows.map((r) => [r.src as string, r.row as string]));
}

/**
 * The live table as blue left it at one moment: blue's committed offsets there (B) and, in the same
 * snapshot, the rows whose source is in [from, B). Reads only.
 */
export async function readLiveRows(
  client: pg.Client,
  n: SinkShadowNames,
  from: PartitionOffset[],
): Promise<{ at: PartitionOffset[]; rows: Map<string, string> }> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const { rows } = await client.query(
      `SELECT topic, "partition", next_offset FROM ${quoteIdent(n.schema)}.${OFFSETS} WHERE pipeline_group = $1 ORDER BY topic, "partition"`,
      [n.liveGroup],
    );
    const at = offsetsOf(rows);
    const live = await rowsBySource(client, n.schema, n.table, from, at);
    await client.query('COMMIT');
    return { at, rows: live };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The shadow table's rows whose source is in [from, to). */
export function readShadowRows(
  client: pg.Client,
  n: SinkShadowNames,
  from: PartitionOffset[],
  to: PartitionOffset[],
): Promise<Map<string, string>> {
  return rowsBySource(client, n.schema, n.shadowTable, from, to);
}

/**
 * Row by row, by source: identical, changed only in allowed columns, changed (which columns), missing (blue
 * wrote it, green did not), extra. `allowChangedFields` names columns, or the record fields that fill them.
 */
export function diffSinkRows(
  sink: Pick<SinkDescription, 'table' | 'columns'>,
  live: ReadonlyMap<string, string>,
  shadow: ReadonlyMap<string, string>,
  allowChangedFields: readonly string[] = [],
): OutputDiff {
  const byField = new Map(sink.columns.map((c) => [c.field, c.name]));
  const allowed = [...new Set(allowChangedFields.map((f) => byField.get(f) ?? f))];
  return compareOutputs([{ topic: sink.table, live, shadow }], allowed);
}

/**
 * Removes what a sink shadow made in the datastore: its table, its offsets and state; its owner's epoch
 * moves on (the row is kept, so no old epoch comes back). Returns what it removed. The live table is never
 * touched.
 */
export async function removeSinkShadow(client: pg.Client, n: SinkShadowNames): Promise<string[]> {
  const s = quoteIdent(n.schema);
  await client.query(`DROP TABLE IF EXISTS ${s}.${quoteIdent(n.shadowTable)}`);
  await client.query(`DELETE FROM ${s}.${OFFSETS} WHERE pipeline_group = $1`, [n.shadowGroup]);
  await client.query(`DELETE FROM ${s}.${STATE} WHERE namespace = $1`, [n.shadowNamespace]);
  await client.query(`UPDATE ${s}.${OWNERS} SET epoch = epoch + 1 WHERE owner = $1`, [n.shadowOwner]);
  return [`table ${n.schema}.${n.shadowTable}`];
}

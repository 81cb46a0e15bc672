import type pg from 'pg';
import { canonicalType } from './statement-safety.js';
import { SOURCE_COLUMN, type Table } from './table.js';

/** A table as the database has it, read from pg_catalog. */
export interface LiveTable {
  readonly columns: ReadonlyArray<{ name: string; type: string; nullable: boolean }>;
  readonly primaryKey: readonly string[];
}

/** One way a table in the database differs from its declaration. */
export interface DriftItem {
  readonly problem: 'table-missing' | 'column-missing' | 'column-extra' | 'type' | 'nullability' | 'primary-key';
  readonly column?: string;
  /** What the declaration says (a type, `NOT NULL`/`NULL`, the key's columns). */
  readonly declared?: string;
  /** What the database has. */
  readonly actual?: string;
}

/** Reads a table's columns (types as `format_type` spells them) and primary key; undefined when it does not exist. */
export async function readLiveTable(client: pg.Client, schema: string, table: string): Promise<LiveTable | undefined> {
  const columns = await client.query(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, NOT a.attnotnull AS nullable
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  if (columns.rows.length === 0) {
    const exists = await client.query(
      `SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, table],
    );
    if (exists.rows.length === 0) return undefined;
  }
  const key = await client.query(
    `SELECT a.attname AS name
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
      WHERE n.nspname = $1 AND c.relname = $2 AND i.indisprimary ORDER BY k.ord`,
    [schema, table],
  );
  return {
    columns: columns.rows.map((r) => ({ name: r.name, type: r.type, nullable: r.nullable })),
    primaryKey: key.rows.map((r) => r.name as string),
  };
}

const nullability = (nullable: boolean): string => (nullable ? 'NULL' : 'NOT NULL');

/** How the live table differs from the declaration: missing, extra, retyped or re-nulled columns, another primary key. */
export function compareTable(table: Table, live: LiveTable | undefined): DriftItem[] {
  if (live === undefined) return [{ problem: 'table-missing' }];
  const drift: DriftItem[] = [];
  const actual = new Map(live.columns.map((c) => [c.name, c]));
  for (const declared of table.columns) {
    const found = actual.get(declared.name);
    if (found === undefined) {
      drift.push({ problem: 'column-missing', column: declared.name, declared: declared.type });
      continue;
    }
    if (canonicalType(found.type) !== canonicalType(declared.type))
      drift.push({
        problem: 'type',
        column: declared.name,
        declared: canonicalType(declared.type),
        actual: canonicalType(found.type),
      });
    if (found.nullable !== declared.nullable)
      drift.push({
        problem: 'nullability',
        column: declared.name,
        declared: nullability(declared.nullable),
        actual: nullability(found.nullable),
      });
  }
  const names = new Set(table.columns.map((c) => c.name));
  for (const c of live.columns)
    if (!names.has(c.name) && c.name !== SOURCE_COLUMN)
      drift.push({ problem: 'column-extra', column: c.name, actual: canonicalType(c.type) });
  if (live.primaryKey.join(',') !== table.primaryKey.join(','))
    drift.push({
      problem: 'primary-key',
      declared: `(${table.primaryKey.join(', ')})`,
      actual: live.primaryKey.length === 0 ? 'none' : `(${live.primaryKey.join(', ')})`,
    });
  return drift;
}

/** A drift item as text: `column note: extra (text)`, `column total: type numeric(12,2), declared double precision`. */
export function describeDrift(item: DriftItem): string {
  switch (item.problem) {
    case 'table-missing':
      return 'the table does not exist, but its steps are recorded as applied';
    case 'column-missing':
      return `column ${item.column}: missing (declared ${item.declared})`;
    case 'column-extra':
      return `column ${item.column}: not declared (${item.actual} in the database)`;
    case 'type':
      return `column ${item.column}: type ${item.actual} in the database, declared ${item.declared}`;
    case 'nullability':
      return `column ${item.column}: ${item.actual} in the database, declared ${item.declared}`;
    case 'primary-key':
      return `primary key ${item.actual} in the database, declared ${item.declared}`;
  }
}

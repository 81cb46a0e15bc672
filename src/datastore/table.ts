import type { Dataset } from '../dataset/dataset.js';
import type { JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';

/**
 * A database table declared as code, beside the datasets: its columns (from a dataset's schema, explicit, or
 * both), its primary key and its versioned migrations. A pipeline writes to it as a sink; `slipway datastores
 * plan|apply` brings a datastore to the declaration.
 */

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;
/** The SQL column types a declaration may use (PostgreSQL spelling). */
const SQL_TYPE =
  /^(text|bigint|integer|smallint|double precision|real|boolean|jsonb|json|timestamptz|timestamp|date|uuid|bytea|numeric(\(\d{1,4}(, ?\d{1,4})?\))?|varchar\(\d{1,5}\))$/;

/** One column of a {@link Table}. */
export interface TableColumn {
  /** Column name (lower case, a PostgreSQL identifier). */
  readonly name: string;
  /** PostgreSQL type: `text`, `bigint`, `double precision`, `boolean`, `jsonb`, `timestamptz`, `numeric(12,2)`, … */
  readonly type: string;
  readonly nullable: boolean;
  /** The record field whose value fills the column (default: the column's name). */
  readonly field: string;
}

/** How a column is declared: its type alone, or with options. */
export type ColumnDeclaration = string | { type: string; nullable?: boolean; field?: string };

/**
 * One versioned step of a table's schema. Versions count from 1 in declaration order. `up` runs in a
 * transaction with the record of the step; `down` undoes it when it can be undone.
 */
export interface TableMigration {
  readonly version: number;
  readonly description?: string;
  readonly up: string | readonly string[];
  readonly down?: string | readonly string[];
}

export interface TableDefinition {
  /** Table name in the environment's datastore schema (lower case). */
  name: string;
  /** Which datastore of the environment holds the table (default `main`). */
  datastore?: string;
  /** Take the columns from this dataset's schema: one per top-level property (see {@link columnsFromSchema}). */
  from?: Dataset;
  /** Columns, by name; with `from`, these add to or replace the derived ones. */
  columns?: Record<string, ColumnDeclaration>;
  /** The primary key: the row a record upserts or deletes. */
  primaryKey: string | string[];
  /**
   * The table's history. Without it, the table's creation from `columns` is its only step (version 1).
   * With it, step 1 usually creates the table and later steps alter it; the declared columns are what the
   * steps must arrive at (`slipway datastores plan` reports drift against them).
   */
  migrations?: Array<Omit<TableMigration, 'version'> & { version?: number }>;
  description?: string;
}

/** A table declared with {@link defineTable}. */
export interface Table {
  readonly kind: 'slipway.table';
  readonly name: string;
  readonly datastore: string;
  readonly columns: readonly TableColumn[];
  readonly primaryKey: readonly string[];
  readonly migrations: readonly TableMigration[];
  readonly from?: Dataset;
  readonly description?: string;
}

/**
 * Declares a table.
 *
 * @example
 * export const orderTotals = defineTable({
 *   name: 'order_totals',
 *   from: orderTotalsDataset,
 *   primaryKey: 'customer_id',
 *   migrations: [
 *     { description: 'create', up: 'CREATE TABLE order_totals (customer_id text PRIMARY KEY, total double precision NOT NULL)' },
 *     { description: 'add currency', up: 'ALTER TABLE order_totals ADD COLUMN currency text', down: 'ALTER TABLE order_totals DROP COLUMN currency' },
 *   ],
 * });
 */
export function defineTable(definition: TableDefinition): Table {
  const bad = (message: string, field: string): never => {
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Invalid table '${String(definition?.name)}': ${message}`, {
      details: { table: definition?.name, field },
    });
  };
  if (typeof definition !== 'object' || definition === null) bad('pass an object', '(root)');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name))
    bad('name must be lower case letters, digits or _, starting with a letter or _ (at most 63)', 'name');
  const datastore = definition.datastore ?? 'main';
  if (typeof datastore !== 'string' || !/^[a-z][a-z0-9_-]{0,62}$/.test(datastore))
    bad('datastore must be the name of a datastore of the environment, like main', 'datastore');

  const columns = new Map<string, TableColumn>();
  if (definition.from !== undefined) {
    if ((definition.from as { kind?: unknown })?.kind !== 'slipway.dataset')
      bad('from must be a dataset made by defineDataset', 'from');
    for (const column of columnsFromSchema(definition.from.schema)) columns.set(column.name, column);
  }
  for (const [name, declared] of Object.entries(definition.columns ?? {})) {
    if (!NAME.test(name)) bad(`column name '${name}' must be lower case letters, digits or _`, `columns.${name}`);
    const spec = typeof declared === 'string' ? { type: declared } : declared;
    if (typeof spec?.type !== 'string' || !SQL_TYPE.test(spec.type.toLowerCase()))
      bad(
        `column '${name}' has type '${String(spec?.type)}'; use a PostgreSQL type such as text, bigint, double precision, boolean, jsonb, timestamptz, numeric(12,2)`,
        `columns.${name}.type`,
      );
    const derived = columns.get(name); // an override keeps what the schema says unless it says otherwise
    columns.set(name, {
      name,
      type: spec.type.toLowerCase(),
      nullable: spec.nullable ?? derived?.nullable ?? true,
      field: spec.field ?? derived?.field ?? name,
    });
  }
  if (columns.size === 0) bad('declare its columns (columns, or from: a dataset)', 'columns');

  const primaryKey = typeof definition.primaryKey === 'string' ? [definition.primaryKey] : definition.primaryKey;
  if (!Array.isArray(primaryKey) || primaryKey.length === 0)
    bad('primaryKey must name one or more columns', 'primaryKey');
  for (const name of primaryKey) {
    const column = columns.get(name);
    if (column === undefined) bad(`primary key column '${name}' is not one of its columns`, 'primaryKey');
    else columns.set(name, { ...column, nullable: false });
  }

  const migrations: TableMigration[] = [];
  (definition.migrations ?? []).forEach((step, i) => {
    const where = `migrations[${i}]`;
    const version = step?.version ?? i + 1;
    if (version !== i + 1) bad(`versions count from 1 in order; this step is ${i + 1}, not ${version}`, where);
    const statements = (s: unknown): boolean =>
      typeof s === 'string'
        ? s.trim() !== ''
        : Array.isArray(s) && s.length > 0 && s.every((x) => typeof x === 'string');
    if (!statements(step?.up)) bad('up must be an SQL statement or a list of them', `${where}.up`);
    if (step.down !== undefined && !statements(step.down))
      bad('down, when given, must be an SQL statement or a list of them', `${where}.down`);
    migrations.push(Object.freeze({ ...step, version }));
  });

  return Object.freeze({
    kind: 'slipway.table' as const,
    name: definition.name,
    datastore,
    columns: Object.freeze([...columns.values()]),
    primaryKey: Object.freeze([...primaryKey]),
    migrations: Object.freeze(migrations),
    ...(definition.from !== undefined ? { from: definition.from } : {}),
    ...(definition.description !== undefined ? { description: definition.description } : {}),
  });
}

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === 'slipway.table';
}

/**
 * The columns a record schema maps to: one per top-level property; `string` → text (`date-time` → timestamptz,
 * `date` → date, `uuid` → uuid), `integer` → bigint, `number` → double precision, `boolean` → boolean, anything
 * else (objects, arrays, unions) → jsonb. A property is NOT NULL when required and not nullable in the schema.
 */
export function columnsFromSchema(schema: JsonSchema): TableColumn[] {
  const s = schema as { properties?: Record<string, JsonSchema>; required?: string[] };
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([field, property]) => {
    const p = property as { type?: string | string[]; format?: string };
    const types = Array.isArray(p.type) ? p.type : p.type === undefined ? [] : [p.type];
    const nonNull = types.filter((t) => t !== 'null');
    const one = nonNull.length === 1 ? nonNull[0] : undefined;
    const type =
      one === 'string'
        ? p.format === 'date-time'
          ? 'timestamptz'
          : p.format === 'date'
            ? 'date'
            : p.format === 'uuid'
              ? 'uuid'
              : 'text'
        : one === 'integer'
          ? 'bigint'
          : one === 'number'
            ? 'double precision'
            : one === 'boolean'
              ? 'boolean'
              : 'jsonb';
    const name = field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/[^a-z0-9_]/g, '_');
    return { name, type, nullable: !required.has(field) || types.includes('null'), field };
  });
}

/**
 * The column a sink adds to its table: the input record each row was last written by (`topic/partition/offset`,
 * `#n` for a record's n-th row, as the `slipway-source` header of a topic output). The shadow diff matches a
 * shadow's rows with the live table's by it. Not a declared column: drift checks leave it out.
 */
export const SOURCE_COLUMN = '_slipway_source';

/** `"name"`: an identifier quoted for PostgreSQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `CREATE TABLE IF NOT EXISTS` for the declared columns, in `schema` — the implied step 1 of a table without migrations. */
export function createTableStatement(table: Table, schema: string): string {
  const columns = table.columns.map((c) => `${quoteIdent(c.name)} ${c.type}${c.nullable ? '' : ' NOT NULL'}`);
  const key = `PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`;
  return `CREATE TABLE IF NOT EXISTS ${quoteIdent(schema)}.${quoteIdent(table.name)} (${[...columns, key].join(', ')})`;
}

import { createHash } from 'node:crypto';
import type pg from 'pg';
import { splitStatements } from './statement-safety.js';
import { createTableStatement, quoteIdent, type Table } from './table.js';

/**
 * The migrations ledger: one row per applied step of each table, in the datastore's schema
 * (`<schema>.slipway_migrations`), with the checksum of the statements that ran. A recorded step is never
 * run again; a declared step whose checksum differs from its record was edited after it was applied.
 * A step a deployment left for later (the contract of expand-and-contract) is recorded as
 * `pending-contract` until it is applied.
 */

export const LEDGER_TABLE = 'slipway_migrations';

/** One declared step of a table, ready to run. */
export interface MigrationStep {
  readonly table: string;
  readonly version: number;
  readonly description: string;
  /** The statements of `up`, one per entry (a text with several is split on `;`). */
  readonly statements: readonly string[];
  readonly down?: readonly string[];
  /** `sha256:<hex>` of the statements: what the ledger records. */
  readonly checksum: string;
  /** True for the table's creation from its columns when it declares no migrations. */
  readonly implied: boolean;
}

export interface LedgerRow {
  readonly table: string;
  readonly version: number;
  readonly description: string;
  readonly checksum: string;
  readonly state: 'applied' | 'pending-contract';
  readonly appliedAt?: string;
  readonly appliedBy?: string;
  /** For a pending contract: what left it for later (the deployment). */
  readonly note?: string;
}

function statementsOf(sql: string | readonly string[]): string[] {
  return (typeof sql === 'string' ? [sql] : [...sql]).flatMap(splitStatements);
}

/** sha256 of the statements, whitespace-normalised (reformatting a step is not an edit). */
export function checksumOf(statements: readonly string[]): string {
  const text = statements.map((s) => s.replace(/\s+/g, ' ').trim()).join(';\n');
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/**
 * The steps of a table, in order. Without declared migrations, its creation from its columns is step 1
 * (unqualified: steps run with the datastore's schema as the search path, so one declaration serves every
 * environment).
 */
export function tableSteps(table: Table): MigrationStep[] {
  if (table.migrations.length === 0) {
    const create = createTableStatement(table, '§').replace(`${quoteIdent('§')}.`, '');
    return [
      {
        table: table.name,
        version: 1,
        description: `create ${table.name}`,
        statements: [create],
        checksum: checksumOf([create]),
        implied: true,
      },
    ];
  }
  return table.migrations.map((m) => {
    const statements = statementsOf(m.up);
    return {
      table: table.name,
      version: m.version,
      description: m.description ?? `step ${m.version}`,
      statements,
      ...(m.down === undefined ? {} : { down: statementsOf(m.down) }),
      checksum: checksumOf(statements),
      implied: false,
    };
  });
}

const qualified = (schema: string): string => `${quoteIdent(schema)}.${quoteIdent(LEDGER_TABLE)}`;

/** Creates the schema and the ledger when missing (under an advisory lock: two first applies do not race). */
export async function ensureLedger(client: pg.Client, schema: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`slipway_migrations:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${qualified(schema)} (
      table_name text NOT NULL,
      version integer NOT NULL,
      description text NOT NULL DEFAULT '',
      checksum text NOT NULL,
      state text NOT NULL DEFAULT 'applied' CHECK (state IN ('applied', 'pending-contract')),
      applied_at timestamptz,
      applied_by text,
      note text,
      PRIMARY KEY (table_name, version))`);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

/** The ledger's rows (of one table, or all), by table and version; none when the ledger does not exist yet. */
export async function readLedger(client: pg.Client, schema: string, table?: string): Promise<LedgerRow[]> {
  const exists = await client.query('SELECT to_regclass($1) AS t', [qualified(schema)]);
  if (exists.rows[0]?.t === null) return [];
  const { rows } = await client.query(
    `SELECT table_name, version, description, checksum, state, applied_at, applied_by, note FROM ${qualified(schema)}
      ${table === undefined ? '' : 'WHERE table_name = $1'} ORDER BY table_name, version`,
    table === undefined ? [] : [table],
  );
  return rows.map((r) => ({
    table: r.table_name,
    version: r.version,
    description: r.description,
    checksum: r.checksum,
    state: r.state,
    ...(r.applied_at === null ? {} : { appliedAt: (r.applied_at as Date).toISOString() }),
    ...(r.applied_by === null ? {} : { appliedBy: r.applied_by }),
    ...(r.note === null ? {} : { note: r.note }),
  }));
}

/** Records a step as applied (replacing a pending-contract record of it), in the caller's transaction. */
export async function recordApplied(client: pg.Client, schema: string, step: MigrationStep, by: string): Promise<void> {
  await client.query(
    `INSERT INTO ${qualified(schema)} (table_name, version, description, checksum, state, applied_at, applied_by)
     VALUES ($1, $2, $3, $4, 'applied', now(), $5)
     ON CONFLICT (table_name, version) DO UPDATE SET description = EXCLUDED.description, checksum = EXCLUDED.checksum,
       state = 'applied', applied_at = now(), applied_by = EXCLUDED.applied_by, note = NULL`,
    [step.table, step.version, step.description, step.checksum, by],
  );
}

/** Records steps left for after a deployment (the contract), unless already recorded. */
export async function recordPendingContract(
  client: pg.Client,
  schema: string,
  steps: readonly MigrationStep[],
  note: string,
): Promise<void> {
  for (const step of steps)
    await client.query(
      `INSERT INTO ${qualified(schema)} (table_name, version, description, checksum, state, note)
       VALUES ($1, $2, $3, $4, 'pending-contract', $5) ON CONFLICT (table_name, version) DO NOTHING`,
      [step.table, step.version, step.description, step.checksum, note],
    );
}

/** Removes the records of undone steps, in the caller's transaction. */
export async function forgetSteps(client: pg.Client, schema: string, table: string, versions: number[]): Promise<void> {
  await client.query(`DELETE FROM ${qualified(schema)} WHERE table_name = $1 AND version = ANY($2::int[])`, [
    table,
    versions,
  ]);
}

import type pg from 'pg';
import { compareTable, type DriftItem, readLiveTable } from './drift.js';
import { type LedgerRow, type MigrationStep, readLedger, tableSteps } from './migration-ledger.js';
import { classifyStep, type StepSafety } from './statement-safety.js';
import type { Table } from './table.js';

/** A declared step not applied yet, classified. */
export interface PendingStep {
  readonly version: number;
  readonly description: string;
  readonly safety: StepSafety;
  /** Why, per statement: `adds column note`, `drops column total`. */
  readonly reasons: readonly string[];
  readonly statements: readonly string[];
  /** Set when a deployment left this step for after the old version retired (the contract). */
  readonly pendingContract?: string;
}

/** An applied step whose declaration changed since: an error (add a new step instead of editing one). */
export interface EditedStep {
  readonly version: number;
  readonly description: string;
  readonly recorded: string;
  readonly declared: string;
}

export interface TablePlan {
  readonly table: string;
  readonly applied: ReadonlyArray<{ version: number; description: string; appliedAt?: string; appliedBy?: string }>;
  readonly pending: readonly PendingStep[];
  readonly edited: readonly EditedStep[];
  /** Versions the ledger records as applied that the declaration no longer has. */
  readonly undeclared: readonly number[];
  /** How the table in the database differs from the declared columns (checked when no step is pending). */
  readonly drift: readonly DriftItem[];
  readonly driftChecked: boolean;
}

export interface DatastorePlan {
  readonly schema: string;
  readonly tables: readonly TablePlan[];
  readonly summary: { pending: number; destructive: number; edited: number; drift: number };
}

/** The steps of a table not recorded as applied, in order, and the records of those that are. */
export function pendingSteps(table: Table, ledger: readonly LedgerRow[]): MigrationStep[] {
  const applied = new Set(ledger.filter((r) => r.table === table.name && r.state === 'applied').map((r) => r.version));
  return tableSteps(table).filter((s) => !applied.has(s.version));
}

/** Plans one table against the ledger and the live table. */
async function planTable(
  client: pg.Client,
  schema: string,
  table: Table,
  ledger: readonly LedgerRow[],
): Promise<TablePlan> {
  const rows = ledger.filter((r) => r.table === table.name);
  const steps = tableSteps(table);
  const declared = new Map(steps.map((s) => [s.version, s]));
  const applied = rows.filter((r) => r.state === 'applied');
  const edited: EditedStep[] = [];
  for (const r of applied) {
    const step = declared.get(r.version);
    if (step !== undefined && step.checksum !== r.checksum)
      edited.push({ version: r.version, description: step.description, recorded: r.checksum, declared: step.checksum });
  }
  const undeclared = applied.filter((r) => !declared.has(r.version)).map((r) => r.version);
  const live = await readLiveTable(client, schema, table.name);
  // The types as they are, followed through the pending steps: a type change can then be seen to widen.
  const types = new Map((live?.columns ?? []).map((c) => [c.name, c.type]));
  const contract = new Map(rows.filter((r) => r.state === 'pending-contract').map((r) => [r.version, r.note ?? '']));
  const pending = pendingSteps(table, ledger).map((step) => {
    const { safety, reasons } = classifyStep(step.statements, types);
    const note = contract.get(step.version);
    return {
      version: step.version,
      description: step.description,
      safety,
      reasons,
      statements: step.statements,
      ...(note === undefined ? {} : { pendingContract: note }),
    };
  });
  const driftChecked = pending.length === 0;
  return {
    table: table.name,
    applied: applied.map((r) => ({
      version: r.version,
      description: r.description,
      ...(r.appliedAt === undefined ? {} : { appliedAt: r.appliedAt }),
      ...(r.appliedBy === undefined ? {} : { appliedBy: r.appliedBy }),
    })),
    pending,
    edited,
    undeclared,
    drift: driftChecked ? compareTable(table, live) : [],
    driftChecked,
  };
}

/**
 * Compares a datastore with its declared tables: per table, the steps pending (additive or destructive),
 * the applied steps edited since, and the drift of the table in the database from its declared columns.
 * Reads only: it creates nothing, not even the ledger.
 *
 * @example
 * const client = await connectDatastore(datastore, 'datastores plan');
 * const plan = await planDatastore(client, { schema: datastore.schema, tables: [orderTotals] });
 * for (const t of plan.tables) console.log(t.table, t.pending.length, 'pending', t.drift.length, 'drifted');
 */
export async function planDatastore(
  client: pg.Client,
  options: { schema: string; tables: readonly Table[] },
): Promise<DatastorePlan> {
  const ledger = await readLedger(client, options.schema);
  const tables: TablePlan[] = [];
  for (const table of options.tables) tables.push(await planTable(client, options.schema, table, ledger));
  return {
    schema: options.schema,
    tables,
    summary: {
      pending: tables.reduce((n, t) => n + t.pending.length, 0),
      destructive: tables.reduce((n, t) => n + t.pending.filter((p) => p.safety === 'destructive').length, 0),
      edited: tables.reduce((n, t) => n + t.edited.length + t.undeclared.length, 0),
      drift: tables.reduce((n, t) => n + t.drift.length, 0),
    },
  };
}

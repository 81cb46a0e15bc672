import { userInfo } from 'node:os';
import type pg from 'pg';
import { SlipwayError } from '../errors.js';
import {
  ensureLedger,
  forgetSteps,
  type MigrationStep,
  readLedger,
  recordApplied,
  tableSteps,
} from './migration-ledger.js';
import { type DatastorePlan, type PendingStep, pendingSteps, planDatastore } from './migration-plan.js';
import { classifyStep } from './statement-safety.js';
import { quoteIdent, type Table } from './table.js';

/** Progress of an apply or a down, step by step (the CLI prints it; the library never prints). */
export type MigrationEvent =
  | { kind: 'table'; table: string; steps: number }
  | { kind: 'step'; table: string; version: number; description: string; direction: 'up' | 'down' }
  | { kind: 'committed'; table: string; version: number }
  | { kind: 'rolled-back'; table: string; version: number };

export interface ApplyOptions {
  schema: string;
  tables: readonly Table[];
  /** Run destructive steps too (otherwise their presence refuses the whole apply, before anything runs). */
  allowDestructive?: boolean;
  /** Run only each table's pending steps up to its first destructive one (the expand of a deployment). */
  additiveOnly?: boolean;
  /**
   * Run only each table's pending steps a deployment left pending-contract (up to the first that is not): the
   * contract, once the version before it is retired. Give `allowDestructive` too.
   */
  contractOnly?: boolean;
  /** Who applies, for the ledger (default: the OS user). */
  appliedBy?: string;
  onProgress?: (event: MigrationEvent) => void;
}

export interface AppliedStep {
  readonly table: string;
  readonly version: number;
  readonly description: string;
  readonly safety: PendingStep['safety'];
}

export interface ApplyResult {
  readonly schema: string;
  readonly applied: readonly AppliedStep[];
  /** The plan before the apply. */
  readonly plan: DatastorePlan;
}

/** The OS user, for the ledger (a container without a passwd entry has none). */
function whoApplies(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** Refuses a plan with edited or undeclared applied steps (`SLIPWAY_MIGRATION_EDITED`); nothing runs. */
export function checkNotEdited(plan: DatastorePlan): void {
  const steps = plan.tables.flatMap((t) => [
    ...t.edited.map((e) => ({ table: t.table, version: e.version, problem: 'edited after it was applied' })),
    ...t.undeclared.map((v) => ({ table: t.table, version: v, problem: 'applied, but no longer declared' })),
  ]);
  if (steps.length === 0) return;
  throw new SlipwayError(
    'SLIPWAY_MIGRATION_EDITED',
    `Applied migration steps no longer match their declaration: ${steps.map((s) => `${s.table} step ${s.version} (${s.problem})`).join('; ')}. An applied step never runs again: put the declaration back as it was, and make the change as a new step. Nothing was changed.`,
    { details: { steps } },
  );
}

function takeAdditivePrefix(steps: readonly PendingStep[]): PendingStep[] {
  const cut = steps.findIndex((s) => s.safety === 'destructive');
  return cut === -1 ? [...steps] : steps.slice(0, cut);
}

function takeContractPrefix(steps: readonly PendingStep[]): PendingStep[] {
  const cut = steps.findIndex((s) => s.pendingContract === undefined);
  return cut === -1 ? [...steps] : steps.slice(0, cut);
}

async function inTableTransaction<T>(
  client: pg.Client,
  schema: string,
  table: string,
  work: () => Promise<T>,
): Promise<T> {
  await client.query('BEGIN');
  try {
    // One apply of a table at a time, across processes; the steps run with the environment's schema as the path.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`slipway_migrations:${schema}.${table}`]);
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}`);
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

async function runStatements(
  client: pg.Client,
  table: string,
  step: { version: number; description: string },
  statements: readonly string[],
): Promise<void> {
  for (const statement of statements) {
    try {
      await client.query(statement);
    } catch (cause) {
      throw new SlipwayError(
        'SLIPWAY_MIGRATION_FAILED',
        `Migration of ${table}, step ${step.version} (${step.description}), failed: ${(cause as Error).message}. Statement: ${statement.slice(0, 200)}. The table's whole apply was rolled back; fix the step (it was not recorded) and apply again.`,
        { cause, details: { table, version: step.version, statement } },
      );
    }
  }
}

/**
 * Brings a datastore to its declared tables: per table, the pending steps run in ONE transaction with their
 * records in the ledger (all or nothing; a failing step is `SLIPWAY_MIGRATION_FAILED` and leaves that
 * table as it was). A recorded step never runs again. Refused before anything runs when an applied step
 * was edited (`SLIPWAY_MIGRATION_EDITED`) or a destructive step is pending without `allowDestructive`
 * (`SLIPWAY_DESTRUCTIVE_CHANGE`).
 *
 * @example
 * const client = await connectDatastore(datastore, 'datastores apply');
 * const { applied } = await applyMigrations(client, { schema: datastore.schema, tables: [orderTotals] });
 */
export async function applyMigrations(client: pg.Client, options: ApplyOptions): Promise<ApplyResult> {
  const plan = await planDatastore(client, options);
  checkNotEdited(plan);
  const selected = new Map(
    plan.tables.map((t) => [
      t.table,
      options.additiveOnly === true
        ? takeAdditivePrefix(t.pending)
        : options.contractOnly === true
          ? takeContractPrefix(t.pending)
          : [...t.pending],
    ]),
  );
  const destructive = [...selected.entries()].flatMap(([table, steps]) =>
    steps.filter((s) => s.safety === 'destructive').map((s) => ({ table, version: s.version, reasons: s.reasons })),
  );
  if (destructive.length > 0 && options.allowDestructive !== true)
    throw new SlipwayError(
      'SLIPWAY_DESTRUCTIVE_CHANGE',
      `Destructive migration steps are pending: ${destructive.map((d) => `${d.table} step ${d.version} (${d.reasons.join(', ')})`).join('; ')}. They may lose data or break a running version: apply them with --allow-destructive once nothing running needs what they remove. Nothing was changed.`,
      { details: { changes: destructive } },
    );
  const by = options.appliedBy ?? whoApplies();
  const applied: AppliedStep[] = [];
  if ([...selected.values()].some((s) => s.length > 0)) await ensureLedger(client, options.schema);
  for (const table of options.tables) {
    const wanted = new Set((selected.get(table.name) ?? []).map((s) => s.version));
    if (wanted.size === 0) continue;
    options.onProgress?.({ kind: 'table', table: table.name, steps: wanted.size });
    let current: MigrationStep | undefined;
    try {
      const done = await inTableTransaction(client, options.schema, table.name, async () => {
        // Read again under the lock: another apply may have run some steps meanwhile.
        const steps = pendingSteps(table, await readLedger(client, options.schema, table.name)).filter((s) =>
          wanted.has(s.version),
        );
        for (const step of steps) {
          current = step;
          options.onProgress?.({
            kind: 'step',
            table: table.name,
            version: step.version,
            description: step.description,
            direction: 'up',
          });
          await runStatements(client, table.name, step, step.statements);
          await recordApplied(client, options.schema, step, by);
        }
        return steps;
      });
      for (const step of done) {
        const safety = selected.get(table.name)?.find((p) => p.version === step.version)?.safety ?? 'destructive';
        applied.push({ table: table.name, version: step.version, description: step.description, safety });
      }
      options.onProgress?.({ kind: 'committed', table: table.name, version: done.at(-1)?.version ?? 0 });
    } catch (err) {
      options.onProgress?.({
        kind: 'rolled-back',
        table: table.name,
        version: (current as MigrationStep | undefined)?.version ?? 0,
      });
      if (err instanceof SlipwayError) err.details.applied = applied;
      throw err;
    }
  }
  return { schema: options.schema, applied, plan };
}

export interface DownOptions {
  schema: string;
  table: Table;
  /** The version to go back to: every applied step above it is undone, newest first. */
  to: number;
  allowDestructive?: boolean;
  onProgress?: (event: MigrationEvent) => void;
}

/**
 * Undoes a table's applied steps above `to`, newest first, with their `down` statements, in one transaction,
 * and removes their records. Refused before anything runs when one of them has no `down`
 * (`SLIPWAY_MIGRATION_IRREVERSIBLE`), was edited since it was applied (`SLIPWAY_MIGRATION_EDITED`), or undoing
 * it is destructive without `allowDestructive` (`SLIPWAY_DESTRUCTIVE_CHANGE`).
 *
 * @example
 * await undoMigrations(client, { schema: 'prod', table: orderTotals, to: 1, allowDestructive: true });
 */
export async function undoMigrations(client: pg.Client, options: DownOptions): Promise<{ undone: number[] }> {
  const { table, schema } = options;
  const plan = await planDatastore(client, { schema, tables: [table] });
  checkNotEdited(plan);
  const byVersion = new Map(tableSteps(table).map((s) => [s.version, s]));
  const undo = (plan.tables[0]?.applied ?? [])
    .map((a) => a.version)
    .filter((v) => v > options.to)
    .sort((a, b) => b - a)
    .map((v) => byVersion.get(v) as MigrationStep);
  if (undo.length === 0) return { undone: [] };
  const missing = undo.filter((s) => s.down === undefined).map((s) => s.version);
  if (missing.length > 0)
    throw new SlipwayError(
      'SLIPWAY_MIGRATION_IRREVERSIBLE',
      `${table.name} cannot go back to version ${options.to}: step${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ${missing.length === 1 ? 'has' : 'have'} no down. Declare down for ${missing.length === 1 ? 'it' : 'them'}, or go forward with a new step that undoes the change. Nothing was changed.`,
      { details: { table: table.name, to: options.to, withoutDown: missing } },
    );
  const destructive = undo.filter((s) => classifyStep(s.down ?? []).safety === 'destructive').map((s) => s.version);
  if (destructive.length > 0 && options.allowDestructive !== true)
    throw new SlipwayError(
      'SLIPWAY_DESTRUCTIVE_CHANGE',
      `Undoing ${table.name} step${destructive.length === 1 ? '' : 's'} ${destructive.join(', ')} is destructive (drops or changes what the step made). Run it with --allow-destructive. Nothing was changed.`,
      { details: { table: table.name, changes: destructive } },
    );
  options.onProgress?.({ kind: 'table', table: table.name, steps: undo.length });
  try {
    await inTableTransaction(client, schema, table.name, async () => {
      for (const step of undo) {
        options.onProgress?.({
          kind: 'step',
          table: table.name,
          version: step.version,
          description: step.description,
          direction: 'down',
        });
        await runStatements(client, table.name, step, step.down ?? []);
      }
      await forgetSteps(
        client,
        schema,
        table.name,
        undo.map((s) => s.version),
      );
    });
  } catch (err) {
    options.onProgress?.({ kind: 'rolled-back', table: table.name, version: options.to });
    throw err;
  }
  options.onProgress?.({ kind: 'committed', table: table.name, version: options.to });
  return { undone: undo.map((s) => s.version) };
}

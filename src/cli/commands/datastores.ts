import type { Command } from 'commander';
import type pg from 'pg';
import { connectDatastore, describeDatastore } from '../../datastore/connection.js';
import { describeDrift } from '../../datastore/drift.js';
import {
  applyMigrations,
  checkNotEdited,
  type MigrationEvent,
  undoMigrations,
} from '../../datastore/migration-apply.js';
import { type DatastorePlan, planDatastore } from '../../datastore/migration-plan.js';
import type { Table } from '../../datastore/table.js';
import { resolveDatastore, tablesOfDatastore } from '../../environment/datastores.js';
import type { ResolvedEnvironment } from '../../environment/resolve.js';
import { SlipwayError } from '../../errors.js';
import { loadModule } from '../../project/load-module.js';
import { loadProjectFile } from '../../project/load-project.js';
import { type CliContext, intOption } from '../context.js';

interface DatastoresOptions {
  project?: string;
  datastore?: string;
  json?: boolean;
  allowDestructive?: boolean;
  detailedExitcode?: boolean;
  to?: number;
}

/** Exit code of `datastores plan --detailed-exitcode` when steps are pending or a table drifted (as `env plan`). */
const PLAN_CHANGES_PENDING = 2;

/** One datastore of the environment with its declared tables, connected. */
interface Target {
  name: string;
  where: string;
  schema: string;
  tables: Table[];
  client: pg.Client;
}

/**
 * The environment's datastores that hold declared tables (or the one `--datastore` names), each connected;
 * `work` gets them and they are closed after.
 */
async function withTargets<T>(
  ctx: CliContext,
  opts: DatastoresOptions,
  purpose: string,
  work: (env: ResolvedEnvironment, targets: Target[]) => Promise<T>,
): Promise<T> {
  const loaded = ctx.project() ?? (await loadProjectFile(opts.project));
  const env = ctx.environment();
  if (env === undefined)
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `Name the environment whose datastores to ${purpose.split(' ')[1]} with --env (declared: ${Object.keys(loaded.project.spec.environments).join(', ')}).`,
    );
  const module = await loadModule(loaded.path);
  // Every table's datastore must be declared here, whichever is chosen (a typo is not silently skipped).
  tablesOfDatastore(env, module.tables, '');
  const names = Object.keys(env.spec.datastores ?? {});
  const chosen = opts.datastore === undefined ? names : [opts.datastore];
  const targets: Target[] = [];
  try {
    for (const name of chosen) {
      const tables = tablesOfDatastore(env, module.tables, name);
      if (tables.length === 0 && opts.datastore === undefined) continue;
      const datastore = await resolveDatastore(env, name, loaded.dir);
      const client = await connectDatastore(datastore, purpose);
      targets.push({ name, where: describeDatastore(datastore), schema: datastore.schema, tables, client });
    }
    if (targets.length === 0 && module.tables.length === 0)
      throw new SlipwayError(
        'SLIPWAY_NOT_EXPORTED',
        `${module.path} exports no tables: declare them with defineTable() and export them (see the README, "Datastores and migrations").`,
        { details: { path: module.path } },
      );
    return await work(env, targets);
  } finally {
    for (const t of targets) await t.client.end().catch(() => {});
  }
}

function printPlan(ctx: CliContext, target: Target, plan: DatastorePlan): void {
  ctx.io.out(`datastore ${target.name}: ${target.where}`);
  for (const t of plan.tables) {
    const version = t.applied.at(-1)?.version ?? 0;
    const problems = t.pending.length + t.edited.length + t.undeclared.length + t.drift.length;
    if (problems === 0) {
      ctx.io.out(`  ${t.table}: up to date (version ${version})`);
      continue;
    }
    ctx.io.out(`  ${t.table} (version ${version}):`);
    for (const p of t.pending) {
      const tag =
        p.safety === 'destructive'
          ? `destructive: ${p.reasons.join(', ')}; only with --allow-destructive`
          : `additive: ${p.reasons.join(', ')}`;
      ctx.io.out(`    + step ${p.version} ${p.description}  [${tag}]`);
      if (p.pendingContract !== undefined) ctx.io.out(`        contract left by ${p.pendingContract}`);
    }
    for (const e of t.edited)
      ctx.io.out(
        `    ! step ${e.version} ${e.description}: edited after it was applied (recorded ${e.recorded.slice(0, 19)}, declared ${e.declared.slice(0, 19)})`,
      );
    for (const v of t.undeclared) ctx.io.out(`    ! step ${v}: applied, but no longer declared`);
    for (const d of t.drift) ctx.io.out(`    ~ drift: ${describeDrift(d)}`);
    if (!t.driftChecked) ctx.io.out('    (drift is checked once the pending steps are applied)');
  }
  const s = plan.summary;
  ctx.io.out(
    `Plan: ${s.pending} step${s.pending === 1 ? '' : 's'} pending${s.destructive > 0 ? ` (${s.destructive} destructive)` : ''}, ${s.edited} edited, ${s.drift} drifted.`,
  );
}

function progress(ctx: CliContext): (event: MigrationEvent) => void {
  return (e) => {
    if (e.kind === 'table') ctx.io.err(`${e.table}: ${e.steps} step${e.steps === 1 ? '' : 's'}`);
    else if (e.kind === 'step')
      ctx.io.err(`  ${e.direction === 'up' ? 'applying' : 'undoing'} step ${e.version} ${e.description}`);
    else if (e.kind === 'committed') ctx.io.err(`  committed: ${e.table} is at version ${e.version}`);
    else ctx.io.err(`  rolled back: ${e.table} is as it was before (step ${e.version} failed)`);
  };
}

export function registerDatastores(program: Command, ctx: CliContext): void {
  const datastores = program
    .command('datastores')
    .description(
      "Bring an environment's databases to the declared tables: `plan` shows pending migrations and drift, `apply` runs them",
    );
  const withOptions = (cmd: Command) =>
    cmd
      .option('-p, --project <file>', 'the project file (default: $SLIPWAY_PROJECT, else slipway.config.ts)')
      .option('--datastore <name>', 'only this datastore of the environment (default: all those with tables)')
      .option('--json', 'print the result as JSON');

  withOptions(datastores.command('plan'))
    .description(
      'Show, per table of the environment (--env), the pending migration steps (additive or destructive), applied steps edited since, and drift of the database from the declared columns. Changes nothing',
    )
    .option(
      '--detailed-exitcode',
      `exit ${PLAN_CHANGES_PENDING} when steps are pending or a table drifted, 0 when none`,
    )
    .action(async (opts: DatastoresOptions) => {
      await withTargets(ctx, opts, 'datastores plan', async (env, targets) => {
        const plans: Array<{ datastore: string; where: string; plan: DatastorePlan }> = [];
        for (const t of targets)
          plans.push({ datastore: t.name, where: t.where, plan: await planDatastore(t.client, t) });
        if (opts.json) ctx.io.out(JSON.stringify({ environment: env.name, datastores: plans }, null, 2));
        else for (const [i, p] of plans.entries()) printPlan(ctx, targets[i] as Target, p.plan);
        for (const p of plans) checkNotEdited(p.plan);
        const pending = plans.some((p) => p.plan.summary.pending + p.plan.summary.drift > 0);
        if (opts.detailedExitcode && pending) process.exitCode = PLAN_CHANGES_PENDING;
      });
    });

  withOptions(datastores.command('apply'))
    .description(
      'Run the pending migration steps of the environment (--env): one transaction per table, each step recorded and never run again. Destructive steps only with --allow-destructive',
    )
    .option('--allow-destructive', 'also run steps that drop, rename, narrow or constrain what exists')
    .action(async (opts: DatastoresOptions) => {
      await withTargets(ctx, opts, 'datastores apply', async (env, targets) => {
        const results = [];
        for (const t of targets) {
          ctx.io.err(`datastore ${t.name}: ${t.where}`);
          const result = await applyMigrations(t.client, {
            schema: t.schema,
            tables: t.tables,
            allowDestructive: opts.allowDestructive === true,
            onProgress: progress(ctx),
          });
          results.push({
            datastore: t.name,
            where: t.where,
            applied: result.applied,
            drift: result.plan.summary.drift,
          });
        }
        if (opts.json) ctx.io.out(JSON.stringify({ environment: env.name, datastores: results }, null, 2));
        else {
          const n = results.reduce((sum, r) => sum + r.applied.length, 0);
          ctx.io.out(
            n === 0
              ? `Nothing to apply: ${env.name}'s tables are at their declared versions.`
              : `Apply complete: ${n} step${n === 1 ? '' : 's'} applied.`,
          );
        }
      });
    });

  withOptions(datastores.command('down'))
    .description("Undo a table's applied steps above a version, newest first, with their down steps (one transaction)")
    .argument('<table>', 'the table')
    .requiredOption('--to <version>', 'the version to go back to (0: before its first step)', intOption('--to', 0))
    .option('--allow-destructive', 'run down steps that drop or change what the steps made')
    .action(async (name: string, opts: DatastoresOptions) => {
      await withTargets(ctx, opts, 'datastores down', async (env, targets) => {
        const target = targets.find((t) => t.tables.some((x) => x.name === name));
        const table = target?.tables.find((x) => x.name === name);
        if (target === undefined || table === undefined)
          throw new SlipwayError(
            'SLIPWAY_NOT_EXPORTED',
            `No table '${name}' is declared in ${env.name}'s datastores (declared: ${targets.flatMap((t) => t.tables.map((x) => x.name)).join(', ') || 'none'}).`,
            { details: { table: name } },
          );
        const { undone } = await undoMigrations(target.client, {
          schema: target.schema,
          table,
          to: opts.to as number,
          allowDestructive: opts.allowDestructive === true,
          onProgress: progress(ctx),
        });
        if (opts.json) ctx.io.out(JSON.stringify({ environment: env.name, table: name, to: opts.to, undone }));
        else
          ctx.io.out(
            undone.length === 0
              ? `${name} is at version ${opts.to} or below already: nothing to undo.`
              : `${name} is back at version ${opts.to} (undid step${undone.length === 1 ? '' : 's'} ${undone.join(', ')}).`,
          );
      });
    });
}

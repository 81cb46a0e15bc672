import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { readDaemonInfo } from '../../control/daemon-info.js';
import { alertRulesSection } from '../../environment/alert-rules-section.js';
import { configSection, type LiveRelease } from '../../environment/config-section.js';
import {
  applyEnvironment,
  destructiveRefusal,
  type EnvApplyResult,
  type EnvPlan,
  type FieldChange,
  type PlanChange,
  type PlanSection,
  planEnvironment,
} from '../../environment/env-plan.js';
import type { ResolvedEnvironment } from '../../environment/resolve.js';
import { topicSection } from '../../environment/topic-section.js';
import { isWorkspace, readWorkspaces, resolveEnvironmentOrWorkspace } from '../../environment/workspaces.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
import type { Log } from '../../log/log.js';
import { describeLogConfig, type LogConfig, openLog } from '../../log/open-log.js';
import { loadModule } from '../../project/load-module.js';
import { loadProjectFile } from '../../project/load-project.js';
import type { CliContext } from '../context.js';

interface EnvOptions {
  project?: string;
  json?: boolean;
  controlPlane?: string;
  detailedExitcode?: boolean;
  allowDestructive?: boolean;
  rulesDir?: string;
}

/** Exit code of `env plan --detailed-exitcode` when changes are pending (as Terraform's). */
export const PLAN_CHANGES_PENDING = 2;

function logKey(log: LogConfig): string {
  return log.engine === 'kafka' ? `kafka:${[...log.brokers].sort().join(',')}` : `embedded:${log.path}`;
}

/**
 * Prefixes of others sharing this environment's log, as its namespace sees topic names: declared environments
 * and workspaces whose prefixes lie inside this one's namespace. Their topics are never planned for deletion.
 */
function othersPrefixes(
  env: ResolvedEnvironment,
  all: ReadonlyArray<ResolvedEnvironment>,
  workspaces: ReadonlyArray<string>,
): string[] {
  const mine = env.log.namespace ?? '';
  const out = new Set<string>();
  for (const other of all) {
    const theirs = other.log.namespace ?? '';
    if (other.name === env.name || logKey(other.log) !== logKey(env.log) || theirs === mine) continue;
    if (theirs.startsWith(mine)) out.add(theirs.slice(mine.length));
  }
  // Workspaces of other clones and developers are not recorded here: on a log without a namespace, every
  // `ws-` prefix is someone's workspace.
  if (mine === '') out.add('ws-');
  for (const w of workspaces) if (w.startsWith(mine) && w !== mine) out.add(w.slice(mine.length));
  return [...out];
}

/** The live releases of the environment from its control plane, or why they cannot be known. */
function liveReleases(
  env: ResolvedEnvironment,
  stateDir: string,
  url: string | undefined,
): () => Promise<ReadonlyArray<LiveRelease> | { skipped: string }> {
  return async () => {
    const found = url ?? process.env.SLIPWAY_CONTROL_PLANE ?? readDaemonInfo(stateDir)?.url;
    if (found === undefined)
      return {
        skipped:
          'no control plane is running for this project (start one with `slipway up`, or pass --control-plane <url>)',
      };
    try {
      let status: Awaited<ReturnType<ControlPlaneClient['status']>>;
      try {
        status = await new ControlPlaneClient(found, env.name).status();
      } catch (err) {
        if (!isSlipwayError(err, 'SLIPWAY_UNKNOWN_ENVIRONMENT')) throw err;
        return { skipped: `the control plane at ${found} does not serve ${env.name}` };
      }
      const releases = status.releases.filter((r) => r.environment === env.name);
      if (releases.length === 0 && status.environment !== env.name)
        return { skipped: `the control plane at ${found} serves ${status.environment}, not ${env.name}` };
      return releases.map((r) => ({
        pipeline: r.pipeline,
        environment: r.environment,
        artifact: { digest: r.artifact.digest, version: r.artifact.version },
        config: r.config,
      }));
    } catch (err) {
      if (!isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE')) throw err;
      return { skipped: `the control plane at ${found} does not answer` };
    }
  };
}

function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function describeField(f: FieldChange): string {
  if (!('from' in f)) return `${f.field} ${show(f.to)}`;
  if (!('to' in f)) return `${f.field} ${show(f.from)}`;
  return `${f.field} ${show(f.from)} → ${show(f.to)}`;
}

const SYMBOL = { create: '+', update: '~', delete: '-' } as const;

function printChanges(ctx: CliContext, changes: ReadonlyArray<PlanChange>): void {
  const width = Math.max(0, ...changes.map((c) => `${c.section === 'topics' ? 'topic ' : ''}${c.target}`.length));
  for (const c of changes) {
    const target = `${c.section === 'topics' ? 'topic ' : ''}${c.target}`;
    const tags = [
      ...(c.destructive ? ['destructive: only with --allow-destructive'] : []),
      ...(c.applicable ? [] : ['apply does not make this']),
    ];
    ctx.io.out(
      `  ${SYMBOL[c.action]} ${target.padEnd(width)}  ${c.fields.map(describeField).join(', ')}${tags.length > 0 ? `  [${tags.join('; ')}]` : ''}`,
    );
    if (c.note !== undefined) ctx.io.out(`      ${c.note}`);
    if (c.fix !== undefined) ctx.io.out(`      to fix: ${c.fix}`);
  }
}

function summaryLine(plan: EnvPlan): string {
  const s = plan.summary;
  if (plan.changes.length === 0) return `No changes: ${plan.environment} is as declared (${s.unchanged} checked).`;
  const destructive = plan.changes.filter((c) => c.destructive).length;
  const manual = plan.changes.filter((c) => !c.applicable).length;
  const extra = [
    ...(destructive > 0 ? [`${destructive} destructive`] : []),
    ...(manual > 0 ? [`${manual} for you to make`] : []),
  ];
  return `Plan: ${s.create} to create, ${s.update} to change, ${s.delete} to delete${extra.length > 0 ? ` (${extra.join(', ')})` : ''}; ${s.unchanged} unchanged.`;
}

function printPlan(ctx: CliContext, plan: EnvPlan): void {
  ctx.io.out(`${plan.environment} (${plan.log}):`);
  if (plan.changes.length > 0) printChanges(ctx, plan.changes);
  for (const s of plan.sections) if (s.skipped !== undefined) ctx.io.out(`  ${s.section}: not checked: ${s.skipped}`);
  ctx.io.out(summaryLine(plan));
}

function printApply(ctx: CliContext, result: EnvApplyResult): void {
  const count = (a: PlanChange['action']) => result.applied.filter((c) => c.action === a).length;
  if (result.applied.length > 0) {
    ctx.io.out(`${result.environment} (${result.log}): made`);
    printChanges(ctx, result.applied);
  }
  ctx.io.out(
    `Apply complete: ${count('create')} created, ${count('update')} changed, ${count('delete')} deleted.` +
      (result.changes.length === 0 ? ` ${result.environment} is as declared.` : ''),
  );
  if (result.manual.length > 0) {
    ctx.io.out(`Left for you (apply does not make these):`);
    printChanges(ctx, result.manual);
  }
  for (const s of result.sections) if (s.skipped !== undefined) ctx.io.out(`  ${s.section}: not checked: ${s.skipped}`);
}

export function registerEnv(program: Command, ctx: CliContext): void {
  const env = program
    .command('env')
    .description(
      "Compare an environment's declarations with what exists (`env plan`), and make them real (`env apply`)",
    );

  const withOptions = (cmd: Command) =>
    cmd
      .argument('[environment]', 'a declared environment or a workspace (default: --env / $SLIPWAY_ENV)')
      .option('-p, --project <file>', 'the project file (default: $SLIPWAY_PROJECT, else slipway.config.ts)')
      .option('--control-plane <url>', 'control plane to read live releases from (default: the daemon of this project)')
      .option(
        '--rules-dir <dir>',
        'where the SLO alert rules file is (as `slipway observability export --out` wrote it; default: observability, in the project)',
      )
      .option('--json', 'print the plan as JSON');

  const prepare = async (name: string | undefined, opts: EnvOptions, forWriting: boolean) => {
    const loaded = ctx.project() ?? (await loadProjectFile(opts.project));
    const envName = name ?? ctx.environment()?.name;
    if (envName === undefined)
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Name the environment to plan (declared: ${Object.keys(loaded.project.spec.environments).join(', ')}), e.g. \`slipway env plan ${Object.keys(loaded.project.spec.environments)[0]}\`.`,
      );
    const spec = loaded.project.spec;
    const environment = resolveEnvironmentOrWorkspace(spec, envName, loaded.dir);
    const workspaces = readWorkspaces(loaded.dir);
    const all: ResolvedEnvironment[] = Object.keys(spec.environments).map((n) =>
      resolveEnvironmentOrWorkspace(spec, n, loaded.dir),
    );
    for (const n of workspaces.keys()) {
      try {
        all.push(resolveEnvironmentOrWorkspace(spec, n, loaded.dir));
      } catch {
        // A workspace whose base is no longer declared: its prefix (below) still keeps its topics out of the plan.
      }
    }
    const module = await loadModule(loaded.path);
    let log: Log;
    if (forWriting) log = await openLog(environment.log);
    else {
      try {
        log = await openLog(environment.log, { mustExist: true });
      } catch (err) {
        if (!isSlipwayError(err, 'SLIPWAY_LOG_NOT_FOUND') || environment.log.engine !== 'embedded') throw err;
        // An embedded log not made yet: everything is still to create, and planning creates no file.
        log = await openLog({ ...environment.log, path: ':memory:' });
      }
    }
    const sections: PlanSection[] = [
      topicSection(log, module.datasets, {
        othersPrefixes: othersPrefixes(
          environment,
          all,
          [...workspaces.values()].map((w) => w.topicPrefix),
        ),
      }),
      configSection(
        environment.name,
        environment.spec,
        liveReleases(environment, join(loaded.dir, '.slipway'), opts.controlPlane),
      ),
      // The SLOs' alert rules: the rules file `slipway observability export` writes.
      alertRulesSection(spec, environment.name, resolve(loaded.dir, opts.rulesDir ?? 'observability')),
    ];
    const where = `${isWorkspace(environment) ? `workspace from ${environment.workspace.base}, ` : ''}${describeLogConfig(environment.log)}`;
    return { environment, log, sections, where };
  };

  withOptions(env.command('plan'))
    .description(
      'Show what differs between what the environment declares and what exists: topics (existence, partitions, retention), the config of live releases. Changes nothing',
    )
    .option('--detailed-exitcode', `exit ${PLAN_CHANGES_PENDING} when changes are pending, 0 when none, 1 on errors`)
    .addHelpText(
      'after',
      `\nExit codes: 0 success (with --detailed-exitcode: no changes), ${PLAN_CHANGES_PENDING} changes pending (--detailed-exitcode only), 1 an error.`,
    )
    .action(async (name: string | undefined, opts: EnvOptions) => {
      const { environment, log, sections, where } = await prepare(name, opts, false);
      let plan: EnvPlan;
      try {
        plan = await planEnvironment(environment.name, where, sections);
      } finally {
        await log.close();
      }
      if (opts.json) ctx.io.out(JSON.stringify(plan, null, 2));
      else printPlan(ctx, plan);
      if (opts.detailedExitcode && plan.changes.length > 0) process.exitCode = PLAN_CHANGES_PENDING;
    });

  withOptions(env.command('apply'))
    .description(
      'Make the environment as declared: create missing topics, add partitions, set retention. Deletions and shorter retention only with --allow-destructive; config drift is shown with the deployment that fixes it',
    )
    .option(
      '--allow-destructive',
      'also make changes that lose records (delete undeclared dataset topics, shorten retention)',
    )
    .addHelpText(
      'after',
      '\nExit codes: 0 applied, 1 an error, or destructive changes left undone without --allow-destructive (SLIPWAY_DESTRUCTIVE_CHANGE; the others were made).',
    )
    .action(async (name: string | undefined, opts: EnvOptions) => {
      const { environment, log, sections, where } = await prepare(name, opts, true);
      let result: EnvApplyResult;
      try {
        result = await applyEnvironment(environment.name, where, sections, {
          allowDestructive: opts.allowDestructive === true,
        });
      } finally {
        await log.close();
      }
      if (opts.json) ctx.io.out(JSON.stringify(result, null, 2));
      else printApply(ctx, result);
      const refused = destructiveRefusal(result);
      if (refused !== undefined) throw refused;
    });
}

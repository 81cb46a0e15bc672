import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { readDaemonInfo } from '../../control/daemon-info.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
import { findProjectFile, type LoadedModule, loadModule } from '../../project/load-module.js';
import type { Toggle } from '../../toggles/toggle.js';
import { readToggleHistory, setToggle } from '../../toggles/toggle-log.js';
import { rolloutToggle } from '../../toggles/toggle-rollout.js';
import {
  checkToggleSetting,
  describeSetting,
  parseToggleRule,
  type ToggleRule,
  type ToggleSetting,
} from '../../toggles/toggle-setting.js';
import { type CliContext, intOption } from '../context.js';
import { printTable } from '../io.js';

interface SetOptions {
  percent?: string;
  where?: string[];
  variant?: string;
  fixed?: string;
  clear?: boolean;
  by?: string;
  project?: string;
  controlPlane?: string;
  direct?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const who = (by: string | undefined): string => by ?? process.env.SLIPWAY_USER ?? safeUser();

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** The project module's toggles (its pipelines' too) and the pipelines that declare each; none without a project file. */
async function declared(
  project: string | undefined,
): Promise<{ toggles: Map<string, Toggle>; module: LoadedModule } | undefined> {
  let file: string;
  try {
    file = findProjectFile(project);
  } catch {
    return undefined;
  }
  const module = await loadModule(file);
  const toggles = new Map<string, Toggle>();
  for (const p of module.pipelines) for (const t of p.toggles) toggles.set(t.name, t);
  return { toggles, module };
}

/** The toggle as declared (refused with SLIPWAY_UNKNOWN_TOGGLE when the project declares toggles, but not this one). */
function pick(found: Awaited<ReturnType<typeof declared>>, name: string): Toggle | undefined {
  if (found === undefined || found.toggles.size === 0) return undefined;
  const t = found.toggles.get(name);
  if (t === undefined)
    throw new SlipwayError(
      'SLIPWAY_UNKNOWN_TOGGLE',
      `No toggle '${name}' in the project (its pipelines declare: ${[...found.toggles.keys()].join(', ')}).`,
      { details: { toggle: name } },
    );
  return t;
}

/**
 * Records a change through the project's control plane when one runs (its API writes it to the environment's
 * log, with who and its own time), else writes it to the log directly. A control plane that does not answer
 * (a stale daemon.json) or does not serve the environment is passed over: the log is the record either way.
 */
async function recordChange(
  ctx: CliContext,
  opts: SetOptions,
  change: { toggle: string; setting: ToggleSetting | null; by: string },
): Promise<{ version: number; by: string; via: string | undefined }> {
  const url = opts.direct
    ? undefined
    : (opts.controlPlane ?? process.env.SLIPWAY_CONTROL_PLANE ?? readDaemonInfo(ctx.stateDir())?.url);
  if (url !== undefined) {
    try {
      const client = new ControlPlaneClient(url, ctx.environment()?.name);
      const { change: made } = await client.setToggle(change.toggle, { setting: change.setting, by: change.by });
      return { version: made.version, by: made.by, via: url };
    } catch (err) {
      // Named explicitly, a control plane must answer; one found beside the log may be gone or serve others.
      if (opts.controlPlane !== undefined) throw err;
      if (!isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE') && !isSlipwayError(err, 'SLIPWAY_UNKNOWN_ENVIRONMENT'))
        throw err;
    }
  }
  const log = await ctx.openLog();
  try {
    const made = await setToggle(log, change);
    return { version: made.version, by: made.by, via: undefined };
  } finally {
    await log.close();
  }
}

function rulesOf(where: string[] | undefined): ToggleRule[] | undefined {
  return where === undefined || where.length === 0 ? undefined : where.map(parseToggleRule);
}

function percentOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text.replace(/%$/, ''));
  if (text.trim() === '' || !Number.isFinite(n))
    throw new SlipwayError('SLIPWAY_INVALID_TOGGLE', `--percent must be a number from 0 to 100, got '${text}'.`, {
      details: { field: 'percent' },
    });
  return n;
}

export function registerToggle(program: Command, ctx: CliContext): void {
  const toggle = program
    .command('toggle')
    .description("Feature and data toggles: set, list, history and progressive rollout, on the environment's log");

  toggle
    .command('set')
    .description('Change a toggle now: running pipelines pick it up within a second, at an offset barrier')
    .argument('<name>', 'the toggle (declared with defineToggle)')
    .option('--percent <n>', 'key-sticky share of keys (0-100) that get the variant')
    .option(
      '--where <rule>',
      'only records matching: field=v, field!=v, field^=prefix, field>n, field~a|b (repeatable)',
      collect,
    )
    .option('--variant <name>', "the variant the share or rules serve (default: the toggle's on)")
    .option('--fixed <variant>', 'serve one variant to every record')
    .option('--clear', 'clear the setting: every record gets the default')
    .option('--by <who>', 'recorded as who changed it (default: $SLIPWAY_USER, else your user name)')
    .option(
      '-p, --project <file>',
      'module declaring the toggles, to check names and variants (default: slipway.config.ts)',
    )
    .option(
      '--control-plane <url>',
      'change it through this control plane (default: the daemon of this project, if running)',
    )
    .option('--direct', "write to the environment's log directly, even when a control plane is running")
    .action(async (name: string, opts: SetOptions) => {
      const t = pick(await declared(opts.project), name);
      let setting: ToggleSetting | null = null;
      if (opts.clear) {
        if (opts.percent !== undefined || opts.where !== undefined || opts.fixed !== undefined)
          throw new SlipwayError('SLIPWAY_USAGE', '--clear takes no --percent, --where or --fixed.');
      } else {
        const where = rulesOf(opts.where);
        const percent = percentOf(opts.percent);
        setting = checkToggleSetting(
          {
            ...(opts.fixed === undefined ? {} : { fixed: opts.fixed }),
            ...(opts.variant === undefined ? {} : { variant: opts.variant }),
            ...(percent === undefined ? {} : { percent }),
            ...(where === undefined ? {} : { where }),
          },
          t?.variants,
        );
      }
      const change = await recordChange(ctx, opts, { toggle: name, setting, by: who(opts.by) });
      const env = ctx.environment()?.name;
      ctx.io.out(
        `toggle ${name}: ${describeSetting(setting, t?.on)} (version ${change.version}${env === undefined ? '' : `, ${env}`}, by ${change.by}${change.via === undefined ? '' : `, through ${change.via}`})`,
      );
    });

  toggle
    .command('list')
    .description('Every toggle with its current setting in the environment')
    .option('--json', 'one JSON object per toggle')
    .option('-p, --project <file>', 'module declaring the toggles, to list those never set too')
    .action(async (opts: { json?: boolean; project?: string }) => {
      const found = await declared(opts.project).catch(() => undefined);
      const log = await ctx.openLogForReading();
      try {
        const latest = new Map<string, Awaited<ReturnType<typeof readToggleHistory>>[number]>();
        for (const c of await readToggleHistory(log)) latest.set(c.toggle, c);
        const names = [...new Set([...(found?.toggles.keys() ?? []), ...latest.keys()])].sort();
        if (opts.json) {
          for (const n of names) {
            const c = latest.get(n);
            const t = found?.toggles.get(n);
            ctx.io.out(
              JSON.stringify({
                toggle: n,
                ...(t === undefined ? {} : { kind: t.kind, variants: t.variants, default: t.default }),
                setting: c?.setting ?? null,
                version: c?.version ?? null,
                by: c?.by ?? null,
                at: c?.at ?? null,
              }),
            );
          }
          return;
        }
        if (names.length === 0) {
          ctx.io.out('no toggles set in this environment');
          return;
        }
        printTable(
          ctx.io,
          ['TOGGLE', 'KIND', 'SETTING', 'VERSION', 'BY', 'AT'],
          names.map((n) => {
            const c = latest.get(n);
            const t = found?.toggles.get(n);
            return [
              n,
              t?.kind ?? '',
              describeSetting(c?.setting ?? null, t?.on),
              String(c?.version ?? '-'),
              c?.by ?? '',
              c?.at ?? '',
            ];
          }),
        );
      } finally {
        await log.close();
      }
    });

  toggle
    .command('history')
    .description('Every change of the toggles (or one): version, setting, who, when and why')
    .argument('[name]', 'only this toggle')
    .option('--json', 'one JSON object per change')
    .action(async (name: string | undefined, opts: { json?: boolean }) => {
      const log = await ctx.openLogForReading();
      try {
        const changes = (await readToggleHistory(log)).filter((c) => name === undefined || c.toggle === name);
        if (opts.json) {
          for (const c of changes) ctx.io.out(JSON.stringify(c));
          return;
        }
        if (changes.length === 0) {
          ctx.io.out(name === undefined ? 'no toggle changes in this environment' : `no changes of ${name}`);
          return;
        }
        printTable(
          ctx.io,
          ['VERSION', 'TOGGLE', 'SETTING', 'BY', 'AT', 'REASON'],
          changes.map((c) => [String(c.version), c.toggle, describeSetting(c.setting), c.by, c.at, c.reason ?? '']),
        );
      } finally {
        await log.close();
      }
    });

  toggle
    .command('rollout')
    .description(
      'Raise a toggle share step by step; each step bakes, then toggled keys are compared with untoggled ones, and a failed gate sets it back',
    )
    .argument('<name>', 'the toggle')
    .requiredOption('--steps <list>', 'shares to raise to, e.g. 1,10,50,100')
    .option('--bake <ms>', 'how long each step bakes before its gates are judged', intOption('--bake', 0), 10_000)
    .option('--where <rule>', 'keep the share within records matching these rules (repeatable)', collect)
    .option('--variant <name>', "the variant the share serves (default: the toggle's on)")
    .option(
      '--max-dlq-ratio <x>',
      "dead letters per record the toggled keys may have beyond the untoggled (default: the pipeline's SLO maxDlqRatio, else 0.01)",
    )
    .option(
      '--min-records <n>',
      'records of toggled keys a step needs before it is judged',
      intOption('--min-records', 0),
      20,
    )
    .option('--by <who>', 'recorded as who ran it')
    .option('-p, --project <file>', 'module declaring the toggles (default: slipway.config.ts)')
    .action(
      async (
        name: string,
        opts: {
          steps: string;
          bake: number;
          where?: string[];
          variant?: string;
          maxDlqRatio?: string;
          minRecords: number;
          by?: string;
          project?: string;
        },
      ) => {
        const found = await declared(opts.project);
        const t = pick(found, name);
        const steps = opts.steps.split(',').map((s) => Number(s.trim().replace(/%$/, '')));
        let maxDlqRatio = opts.maxDlqRatio === undefined ? undefined : Number(opts.maxDlqRatio);
        if (maxDlqRatio !== undefined && !(maxDlqRatio >= 0 && maxDlqRatio <= 1))
          throw new SlipwayError(
            'SLIPWAY_USAGE',
            `--max-dlq-ratio must be a number from 0 to 1, got '${opts.maxDlqRatio}'.`,
          );
        maxDlqRatio ??= sloDlqRatio(ctx, found?.module, name);
        const where = rulesOf(opts.where);
        if (opts.variant !== undefined) checkToggleSetting({ percent: 100, variant: opts.variant }, t?.variants);
        const log = await ctx.openLog();
        try {
          const result = await rolloutToggle({
            log,
            toggle: name,
            steps,
            bakeMs: opts.bake,
            minRecords: opts.minRecords,
            by: who(opts.by),
            signal: ctx.interrupted,
            ...(t === undefined ? {} : { defaultVariant: t.default }),
            ...(opts.variant === undefined ? {} : { variant: opts.variant }),
            ...(where === undefined ? {} : { where }),
            ...(maxDlqRatio === undefined ? {} : { maxDlqRatio }),
            onEvent: (e) => {
              if (e.type === 'step')
                ctx.io.out(`step ${e.step}/${e.of}: ${name} at ${e.percent} % (version ${e.version})`);
              else if (e.type === 'gate')
                ctx.io.out(`  gate ${e.gate} ${e.passed ? 'passed' : 'FAILED'}: ${e.message}`);
              else if (e.type === 'rolled-back') ctx.io.out(`set back (version ${e.version}): gate ${e.gate} failed`);
              else ctx.io.out(`rollout of ${name} completed (version ${e.version})`);
            },
          });
          if (result.status === 'rolled-back')
            throw new SlipwayError(
              'SLIPWAY_TOGGLE_ROLLED_BACK',
              `The rollout of ${name} was set back: gate ${result.gate} failed: ${result.message}. See slipway toggle history ${name}.`,
              { details: { toggle: name, gate: result.gate } },
            );
        } finally {
          await log.close();
        }
      },
    );
}

/** The tightest `maxDlqRatio` SLO of the pipelines that declare the toggle, in the environment (else the project's). */
function sloDlqRatio(ctx: CliContext, module: LoadedModule | undefined, toggle: string): number | undefined {
  const project = module?.project?.spec ?? ctx.project()?.project.spec;
  if (project === undefined || module === undefined) return undefined;
  const env = ctx.environment()?.spec;
  let out: number | undefined;
  for (const p of module.pipelines) {
    if (!p.toggles.some((t) => t.name === toggle)) continue;
    const v = env?.pipelines?.[p.name]?.slo?.maxDlqRatio ?? project.slos?.[p.name]?.maxDlqRatio;
    if (v !== undefined) out = Math.min(out ?? 1, v);
  }
  return out;
}

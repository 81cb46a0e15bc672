import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import type { ReplayRequestBody } from '../../deploy/replay-options.js';
import { SlipwayError } from '../../errors.js';
import type { Log } from '../../log/log.js';
import { openLog, parseBrokers } from '../../log/open-log.js';
import { findProjectFile, loadModule, pickDataset } from '../../project/load-module.js';
import {
  type DeadLetter,
  type DeadLetterGroup,
  type DeadLetterSelection,
  groupDeadLetters,
  parseSourceRange,
  type ReplayMarker,
  readDeadLetters,
  readReplayMarkers,
  replayStatus,
  selects,
} from '../../runtime/dead-letters.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';
import { follow } from './deploy.js';

interface FilterOptions {
  deployment?: string;
  version?: string;
  reason?: string;
  source?: string;
}

const REASONS = [
  'invalid-json',
  'input-schema',
  'process-error',
  'output-schema',
  'wrong-partition',
  'unknown-schema-id',
  'undecodable',
] as const;

function checkReason(reason: string | undefined): ReplayRequestBody['reason'] {
  if (reason === undefined) return undefined;
  if (!(REASONS as readonly string[]).includes(reason))
    throw new SlipwayError('SLIPWAY_USAGE', `--reason must be one of ${REASONS.join(', ')}; got '${reason}'.`);
  return reason as ReplayRequestBody['reason'];
}

/** The filters as a selection (the source range parsed: a bad one is refused naming the form). */
function selectionOf(opts: FilterOptions): DeadLetterSelection & Omit<ReplayRequestBody, 'dryRun' | 'retryFailed'> {
  const reason = checkReason(opts.reason);
  return {
    ...(opts.deployment === undefined ? {} : { deployment: opts.deployment }),
    ...(opts.version === undefined ? {} : { version: opts.version }),
    ...(reason === undefined ? {} : { reason }),
    ...(opts.source === undefined ? {} : { source: parseSourceRange(opts.source) }),
  };
}

const isDlq = (topic: string): boolean => topic.endsWith('.dlq');

/**
 * The dead-letter topics `name` means: an input topic's (`orders.v1`), a dead-letter topic itself, a dataset of the
 * project file's, or a pipeline (every dead-letter topic, entries of that pipeline only). None: every one.
 */
async function resolveTopics(
  log: Log,
  name: string | undefined,
  project: string | undefined,
): Promise<{ topics: string[]; pipeline?: string }> {
  const all = (await log.listTopics()).map((t) => t.name).filter(isDlq);
  if (name === undefined) return { topics: all };
  if (all.includes(`${name}.dlq`)) return { topics: [`${name}.dlq`] };
  if (all.includes(name)) return { topics: [name] };
  try {
    const topic = `${pickDataset(await loadModule(findProjectFile(project)), name).topic}.dlq`;
    return { topics: all.includes(topic) ? [topic] : [] };
  } catch {
    // Not a dataset of the project (or no project file here): a pipeline's name.
  }
  return { topics: all, pipeline: name };
}

const when = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const short = (artifact: string): string => (artifact.startsWith('sha256:') ? `${artifact.slice(0, 19)}…` : artifact);

function replayedText(markers: ReadonlyArray<ReplayMarker> | undefined): string {
  const status = replayStatus(markers);
  if (status === 'not-replayed') return 'no';
  const last = (markers ?? []).find((m) => m.outcome === 'replayed') ?? (markers ?? []).at(-1);
  return `${status === 'replayed' ? 'yes' : 'failed again'} (${last?.replay ?? '?'}, ${last?.version ?? '?'})`;
}

/**
 * Whether `argv` runs `slipway dlq …`. Its `--version <v>` filter would be the program's own `--version`: for this
 * command, program options go before it (commander's positional options), and it takes `--log`/`--kafka` itself.
 */
export function isDlqCommand(argv: readonly string[]): boolean {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--log' || a === '--kafka') i++;
    else if (!a.startsWith('-')) return a === 'dlq';
  }
  return false;
}

/** The log `dlq` reads: its own `--log`/`--kafka` when given after it, else the program's. */
async function openDlqLog(ctx: CliContext, opts: { log?: string; kafka?: string }): Promise<Log> {
  if (opts.kafka !== undefined) return openLog({ engine: 'kafka', brokers: parseBrokers(opts.kafka) });
  if (opts.log !== undefined) return openLog({ engine: 'embedded', path: resolve(opts.log) });
  return ctx.openLog();
}

export function registerDlq(program: Command, ctx: CliContext): void {
  const dlq = program
    .command('dlq')
    .enablePositionalOptions()
    .description(
      'Dead letters on the log, grouped by reason and by the version, artifact and deployment that wrote them, and whether a replay processed them (reads the log: no control plane needed). `dlq replay` sends them through the live version',
    )
    .argument(
      '[dataset-or-pipeline]',
      'an input topic or dataset (orders.v1, orders), or a pipeline name (default: all)',
    )
    .option('--list', 'list the dead letters: source, reason, version, deployment, replayed, message')
    .option('--deployment <id>', 'only those this deployment wrote')
    .option('--version <version>', 'only those this pipeline version wrote')
    .option('--reason <reason>', `only those dead-lettered for this reason (${REASONS.join(', ')})`)
    .option('--source <range>', 'only those of these input records: <topic>/<partition>[/<from>-<to>], both included')
    .option('-p, --project <file>', 'module exporting the datasets (default: slipway.config.ts)')
    .option('--json', 'print JSON')
    .option('--log <path>', 'embedded log file (as the program option)')
    .option('--kafka <brokers>', 'the Kafka cluster at host:port[,…] (as the program option)')
    .addHelpText(
      'after',
      '\nGroups without a version, artifact or deployment (dead letters written before Slipway recorded them) show "unknown".',
    )
    .action(
      async (
        name: string | undefined,
        opts: FilterOptions & { list?: boolean; project?: string; json?: boolean; log?: string; kafka?: string },
      ) => {
        const selection = selectionOf(opts);
        const log = await openDlqLog(ctx, opts);
        try {
          const { topics, pipeline } = await resolveTopics(log, name, opts.project);
          const chosen: DeadLetter[] = [];
          const markers = new Map<string, ReplayMarker[]>();
          for (const topic of topics) {
            for (const [source, list] of await readReplayMarkers(log, topic)) markers.set(source, list);
            for (const l of await readDeadLetters(log, topic))
              if (selects({ ...selection, ...(pipeline === undefined ? {} : { pipeline }) }, l)) chosen.push(l);
          }
          const groups = groupDeadLetters(chosen, markers);
          if (opts.json) {
            const entries = chosen.map((l) => ({ ...l, replayed: replayStatus(markers.get(l.source)) }));
            ctx.io.out(JSON.stringify({ topics, groups, ...(opts.list ? { entries } : {}) }, null, 2));
            return;
          }
          if (chosen.length === 0) {
            ctx.io.out(
              topics.length === 0
                ? `no dead-letter topics${name === undefined ? '' : ` for ${name}`} in the ${log.engine} log: nothing was dead-lettered`
                : `no dead letters${Object.keys(selection).length > 0 ? ' match the filters' : ''} in ${topics.join(', ')}`,
            );
            return;
          }
          if (opts.list) {
            printTable(
              ctx.io,
              ['SOURCE', 'REASON', 'VERSION', 'DEPLOYMENT', 'REPLAYED', 'MESSAGE'],
              chosen.map((l) => [
                l.source,
                l.reason,
                l.version,
                l.deployment,
                l.replay === null ? replayedText(markers.get(l.source)) : `(written by replay ${l.replay})`,
                l.message,
              ]),
            );
            return;
          }
          printGroups(ctx, groups, chosen, markers);
        } finally {
          await log.close();
        }
      },
    );

  dlq
    .command('replay')
    .description(
      'Replay dead letters through the live version of a pipeline, exactly once by source, as a recorded, resumable deployment (through the control plane)',
    )
    .argument('<pipeline>', 'pipeline name')
    .option('--deployment <id>', "the dead letters this deployment's version wrote (a rolled-back deployment)")
    .option('--version <version>', 'the dead letters this pipeline version wrote')
    .option('--reason <reason>', `only those dead-lettered for this reason (${REASONS.join(', ')})`)
    .option('--source <range>', 'only those of these input records: <topic>/<partition>[/<from>-<to>], both included')
    .option('--retry-failed', 'also replay records an earlier replay dead-lettered again (default: skip them)')
    .option('--dry-run', 'show what would be replayed; change nothing')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .option('--no-wait', 'return once the replay has started')
    .action(
      async (
        pipeline: string,
        opts: FilterOptions & { retryFailed?: boolean; dryRun?: boolean; controlPlane?: string; wait: boolean },
        cmd: Command,
      ) => {
        const selection = selectionOf(opts);
        // The project's daemon is found beside its log: `dlq --log <path> replay …` names it too.
        const log = cmd.parent?.opts().log as string | undefined;
        const c = ControlPlaneClient.find(
          log === undefined ? ctx.stateDir() : dirname(resolve(log)),
          opts.controlPlane,
        );
        const body: ReplayRequestBody = {
          ...selection,
          ...(opts.retryFailed ? { retryFailed: true } : {}),
          ...(opts.dryRun ? { dryRun: true } : {}),
        };
        const { plan, deployment } = await c.replayDeadLetters(pipeline, body);
        const skipped = [
          plan.alreadyReplayed > 0 ? `${plan.alreadyReplayed} replayed already` : undefined,
          plan.failedAgain > 0 ? `${plan.failedAgain} failed again when replayed (--retry-failed)` : undefined,
          plan.unreadable > 0 ? `${plan.unreadable} unreadable` : undefined,
        ].filter((s) => s !== undefined);
        const summary = `${plan.toReplay} of ${plan.selected} selected dead letters to replay through ${pipeline}@${plan.version}${
          skipped.length === 0 ? '' : ` (skipped: ${skipped.join(', ')})`
        }`;
        if (deployment === null) {
          ctx.io.out(`dry run: ${summary}`);
          if (plan.groups.length > 0) groupTable(ctx, plan.groups);
          return;
        }
        ctx.io.err(`replay ${deployment.id}: ${summary}`);
        if (!opts.wait) return void ctx.io.out(`\`slipway history ${deployment.id}\` shows its steps`);
        await follow(ctx, c, deployment.id);
      },
    );
}

function groupTable(ctx: CliContext, groups: DeadLetterGroup[]): void {
  printTable(
    ctx.io,
    ['TOPIC', 'REASON', 'VERSION', 'ARTIFACT', 'DEPLOYMENT', 'COUNT', 'REPLAYED', 'FIRST', 'LAST', 'EXAMPLE'],
    groups.map((g) => [
      g.topic,
      g.reason,
      g.version,
      short(g.artifact),
      g.deployment,
      String(g.count),
      g.failedAgain > 0 ? `${g.replayed} (${g.failedAgain} failed again)` : String(g.replayed),
      when(g.firstAt),
      when(g.lastAt),
      g.example.length > 80 ? `${g.example.slice(0, 79)}…` : g.example,
    ]),
  );
}

function printGroups(
  ctx: CliContext,
  groups: DeadLetterGroup[],
  chosen: DeadLetter[],
  markers: ReadonlyMap<string, ReadonlyArray<ReplayMarker>>,
): void {
  const sources = new Set(chosen.map((l) => l.source));
  let replayed = 0;
  let failed = 0;
  for (const s of sources) {
    const status = replayStatus(markers.get(s));
    if (status === 'replayed') replayed++;
    else if (status === 'failed-again') failed++;
  }
  ctx.io.out(
    `${chosen.length} dead letters of ${sources.size} records: ${replayed} replayed, ${failed} failed again when replayed, ${sources.size - replayed - failed} never replayed`,
  );
  groupTable(ctx, groups);
  // What to run next: the groups a deployment wrote that still wait for a replay.
  const offered = new Set<string>();
  for (const g of groups) {
    if (g.deployment === 'unknown' || g.replayed + g.failedAgain >= g.sources || offered.has(g.deployment)) continue;
    offered.add(g.deployment);
    const pipeline = chosen.find((l) => l.deployment === g.deployment && l.pipeline !== null)?.pipeline;
    if (pipeline === undefined || pipeline === null) continue;
    ctx.io.err(
      `replay what ${g.deployment} (${g.version}) wrote through the live version: slipway dlq replay ${pipeline} --deployment ${g.deployment}`,
    );
  }
}

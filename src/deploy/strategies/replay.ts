import type { PipelineDescription } from '../../artifact/manifest.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
import type { Log, PartitionOffset } from '../../log/log.js';
import {
  type DeadLetterGroup,
  type DeadLetterSelection,
  groupDeadLetters,
  planReplayOf,
  readReplayMarkers,
} from '../../runtime/dead-letters.js';
import type { ReplayRequest, ReplayResult, RunnerHandle } from '../../supervisor/supervisor.js';
import type { ControlStore } from '../control-store.js';
import type { DeploymentRecord, LiveOffsets, ReplayOutcome } from '../deployment.js';
import type { ReplayOptions, ReplaySelection } from '../replay-options.js';
import type { StrategyContext } from '../strategy-context.js';

const total = (offsets: PartitionOffset[]): number => offsets.reduce((n, o) => n + o.offset, 0);

/** The dead-letter topics of a pipeline's inputs: `<input>.dlq`. */
export const dlqTopicsOf = (manifest: PipelineDescription): string[] => manifest.inputs.map((d) => `${d.topic}.dlq`);

/** The runtime's selection of a replay's options. */
export function selectionOf(replay: ReplaySelection): DeadLetterSelection {
  return {
    ...(replay.deployment === undefined ? {} : { deployment: replay.deployment }),
    ...(replay.artifact === undefined ? {} : { artifact: replay.artifact }),
    ...(replay.version === undefined ? {} : { version: replay.version }),
    ...(replay.reason === undefined ? {} : { reason: replay.reason }),
    ...(replay.source === undefined ? {} : { source: replay.source }),
  };
}

/** What a replay would do, as the API shows it (a dry run, or before it starts). */
export interface ReplayPlanView {
  pipeline: string;
  /** The live version the dead letters would go through. */
  version: string;
  selection: ReplaySelection;
  selected: number;
  alreadyReplayed: number;
  failedAgain: number;
  unreadable: number;
  toReplay: number;
  /** The dead letters to replay, grouped by topic, reason, version, artifact and deployment. */
  groups: DeadLetterGroup[];
}

/**
 * The replay plan of a pipeline's dead letters: `deployment` (when given) must be one of the pipeline's, and
 * selects what its version wrote (its artifact too: a rollback's blue writes under the same deployment id).
 */
export async function planDeadLetterReplay(input: {
  log: Log;
  store: ControlStore;
  manifest: PipelineDescription;
  pipeline: string;
  liveVersion: string;
  options: ReplayOptions;
}): Promise<ReplayPlanView> {
  const { options, pipeline } = input;
  let selection: ReplaySelection = { ...options };
  if (options.deployment !== undefined) {
    const d = await input.store.getDeployment(options.deployment);
    if (d === undefined || d.pipeline !== pipeline) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `No deployment '${options.deployment}' of ${pipeline}. \`slipway history\` lists them; \`slipway dlq\` shows which deployment wrote which dead letters.`,
        { details: { deployment: options.deployment, pipeline } },
      );
    }
    selection = { ...selection, artifact: d.artifact.digest };
  }
  if (options.source !== undefined && !input.manifest.inputs.some((d) => d.topic === options.source?.topic)) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `--source names ${options.source.topic}, which is not an input of ${pipeline} (inputs: ${input.manifest.inputs.map((d) => d.topic).join(', ')}).`,
      { details: { field: '/source/topic' } },
    );
  }
  const plan = await planReplayOf(input.log, dlqTopicsOf(input.manifest), selectionOf(selection), {
    ...(options.retryFailed === undefined ? {} : { retryFailed: options.retryFailed }),
  });
  return {
    pipeline,
    version: input.liveVersion,
    selection,
    selected: plan.selected,
    alreadyReplayed: plan.alreadyReplayed,
    failedAgain: plan.failedAgain,
    unreadable: plan.unreadable,
    toReplay: plan.toReplay.length,
    groups: groupDeadLetters(plan.toReplay, new Map()),
  };
}

/** Refuses a replay that has nothing to do, saying why. */
export function nothingToReplay(plan: ReplayPlanView): SlipwayError {
  const why =
    plan.selected === 0
      ? 'no dead letter matches the selection'
      : `of the ${plan.selected} selected, ${plan.alreadyReplayed} were replayed already${
          plan.failedAgain > 0
            ? `, ${plan.failedAgain} failed again when replayed (add --retry-failed to try them again)`
            : ''
        }${plan.unreadable > 0 ? `, ${plan.unreadable} hold no readable record` : ''}`;
  return new SlipwayError(
    'SLIPWAY_NOTHING_TO_REPLAY',
    `Nothing to replay for ${plan.pipeline}: ${why}. \`slipway dlq ${plan.pipeline} --list\` shows its dead letters and which were replayed.`,
    { details: { ...plan, groups: undefined } },
  );
}

/** How many records (distinct sources) a deployment's version dead-lettered: what its rollback offers to replay. */
export async function deadLetteredBy(
  log: Log,
  manifest: PipelineDescription,
  record: DeploymentRecord,
): Promise<number> {
  const plan = await planReplayOf(log, dlqTopicsOf(manifest), {
    deployment: record.id,
    artifact: record.artifact.digest,
  });
  return plan.selected;
}

/** The markers of this replay, counted: what it did in total, across a crash and a resume. */
async function countMine(log: Log, manifest: PipelineDescription, replay: string) {
  const mine = { replayed: 0, failedAgain: 0, outputs: 0 };
  for (const topic of dlqTopicsOf(manifest)) {
    for (const markers of (await readReplayMarkers(log, topic)).values()) {
      for (const m of markers) {
        if (m.replay !== replay) continue;
        if (m.outcome === 'replayed') mine.replayed++;
        else mine.failedAgain++;
        mine.outputs += m.outputs;
      }
    }
  }
  return mine;
}

/** A new live runner of the live version, in standby, in place of one that is gone. */
async function replaceLive(ctx: StrategyContext, gone: RunnerHandle | undefined): Promise<RunnerHandle> {
  await gone?.stop().catch(() => {});
  const artifact = ctx.liveArtifact() ?? ctx.steps.record.artifact;
  const next = await ctx.startRunner(artifact, 'live', {}, ctx.runners());
  ctx.adoptLive(next, artifact);
  return next;
}

const usable = (r: RunnerHandle | undefined): r is RunnerHandle =>
  r !== undefined && r.state !== 'exited' && r.state !== 'failed' && r.state !== 'fenced';

/** Activates the live runner again from its committed offsets N (a new one if it is gone). */
async function resumeLive(
  ctx: StrategyContext,
  started: number | undefined,
): Promise<LiveOffsets & { pauseMs: number | null }> {
  let live = ctx.live();
  if (!usable(live)) live = await replaceLive(ctx, live);
  if (live.state !== 'running') await live.activate();
  const offsets = await ctx.log.committedOffsets(ctx.group);
  return {
    offsets,
    records: total(offsets),
    pauseMs: started === undefined ? null : Math.round((performance.now() - started) * 10) / 10,
  };
}

/**
 * Replay: the live version processes dead letters. The live runner pauses at its committed offsets N; it replays
 * the selected dead letters through its own batch core, committing outputs + state + a marker per source in one
 * commit per chunk under its owner's epoch, without input offsets; it is activated again from N. Exactly once by
 * source: the runner skips every source already marked, so a replay resumed after a crash (of the controller, or
 * of the live runner: a new one replays what is left) does only what is left. The record counts what this replay
 * did from its markers, so the figures hold across a resume.
 */
export async function runReplay(ctx: StrategyContext): Promise<DeploymentRecord> {
  const { steps } = ctx;
  const record = steps.record;
  const replay = record.options.replay ?? {};
  const version = ctx.liveArtifact()?.version ?? record.artifact.version;
  const request: ReplayRequest = {
    replay: record.id,
    selection: selectionOf(replay),
    ...(replay.retryFailed === undefined ? {} : { retryFailed: replay.retryFailed }),
    ...(record.options.batchSize === undefined ? {} : { chunk: record.options.batchSize }),
  };
  let outcome = steps.ended('replay');
  let started: number | undefined;
  if (outcome === undefined) {
    let live = ctx.live();
    if (!usable(live)) live = await replaceLive(ctx, live);
    started = performance.now();
    await steps.run('pause-live', async () => {
      const offsets = await (live as RunnerHandle).pause();
      return { offsets, records: total(offsets) };
    });
    try {
      outcome = await steps.run(
        'replay',
        async () => {
          let result: ReplayResult;
          try {
            result = await (live as RunnerHandle).replayDeadLetters(request);
          } catch (err) {
            if (!isSlipwayError(err, 'SLIPWAY_RUNNER_EXITED')) throw err;
            // The live runner died in the replay: each commit of it landed whole or not at all. A new runner
            // replays what is left; what landed is marked and skipped.
            live = await replaceLive(ctx, live);
            result = await live.replayDeadLetters(request);
          }
          const mine = await countMine(ctx.log, ctx.manifest, record.id);
          return {
            ...result,
            alreadyReplayed: result.alreadyReplayed - (mine.replayed - result.replayed),
            skippedFailed: result.skippedFailed - (mine.failedAgain - result.failedAgain),
            replayed: mine.replayed,
            failedAgain: mine.failedAgain,
            outputs: mine.outputs,
            version,
          } satisfies ReplayOutcome;
        },
        { version, planned: record.summary.replayPlanned ?? 0 },
      );
    } catch (err) {
      // The pipeline is never left paused: the live runner goes on from N whatever the replay came to.
      await resumeLive(ctx, started).catch(() => {});
      throw err;
    }
    await steps.summarize({ replay: outcome });
  }
  const resumed = await steps.run('resume-live', () => resumeLive(ctx, started));
  return steps.finish('completed', {
    replay: outcome,
    ...(resumed.pauseMs === null ? {} : { replayPauseMs: resumed.pauseMs }),
  });
}

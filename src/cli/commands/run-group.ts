import type { EventEmitter } from 'node:events';
import { ArtifactStore } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build-artifact.js';
import { shortDigest } from '../../artifact/manifest.js';
import { SlipwayError } from '../../errors.js';
import type { Log } from '../../log/log.js';
import { describeLogConfig, openLog } from '../../log/open-log.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { type MetricsServer, serveMetrics } from '../../runtime/metrics.js';
import { inputPartitions } from '../../runtime/runner-setup.js';
import { ChildProcessSupervisor } from '../../supervisor/child-process-supervisor.js';
import { possibleOwners, RunnerGroup, shareOut } from '../../supervisor/runner-group.js';
import type { RunnerExit } from '../../supervisor/supervisor.js';
import type { CliContext } from '../context.js';

/** The owner (and consumer group) `slipway run` runs a pipeline under, alone or as a group's base. */
export const runOwner = (pipeline: Pipeline): string => `slipway.${pipeline.name}`;

/**
 * Fences every owner the pipeline's runners may have written under, except `keep`, that has an epoch:
 * a `slipway run` takes the pipeline over whether it ran before as one runner or as a group of any size.
 */
export async function fenceOtherRunners(log: Log, pipeline: Pipeline, keep: readonly string[]): Promise<void> {
  for (const owner of possibleOwners(runOwner(pipeline), inputPartitions(pipeline).length)) {
    if (!keep.includes(owner) && (await log.currentEpoch(owner)) > 0) await log.fence(owner);
  }
}

/** A run's totals, kept from its commit events; each dead letter is printed as it happens. */
export function followRun(run: EventEmitter, ctx: CliContext): { inputs: number; outputs: number; dlq: number } {
  const totals = { inputs: 0, outputs: 0, dlq: 0 };
  run.on('commit', (e: { inputs: number; outputs: number; dlq: number }) => {
    totals.inputs += e.inputs;
    totals.outputs += e.outputs;
    totals.dlq += e.dlq;
  });
  run.on('dlq', (e: { reason: string; source: string; message: string }) =>
    ctx.io.err(`dlq ${e.source} (${e.reason}): ${e.message}`),
  );
  return totals;
}

export interface GroupRunOptions {
  file: string;
  runners: number;
  config: unknown;
  batchSize: number;
  untilCaughtUp: boolean;
  /** Serve the runners' metrics, aggregated, on this port. */
  metricsPort?: number;
}

/**
 * `slipway run --runners N`: the pipeline as N runner processes on the log (embedded or Kafka), each
 * owning a share of the input partitions (as `slipway scale` runs it under the daemon), so a pipeline
 * uses more than one core. The pipeline file is built into the project's artifact store first: runner
 * processes run artifacts. Same owner base, consumer group and exactly-once commits as one runner; a
 * runner that dies is restarted from its committed offsets, and only one that keeps dying ends the run,
 * with its error.
 */
export async function runAsGroup(ctx: CliContext, pipeline: Pipeline, options: GroupRunOptions): Promise<void> {
  const partitions = inputPartitions(pipeline);
  const shares = shareOut(pipeline.name, partitions, options.runners);
  const owner = runOwner(pipeline);
  const store = new ArtifactStore({ dir: ctx.artifactsDir() });
  const built = await buildArtifact({ entry: options.file, store, pipeline: pipeline.name });
  const supervisor = new ChildProcessSupervisor({ artifactsDir: store.dir });
  const logConfig = ctx.logConfig();
  const group = new RunnerGroup(
    supervisor,
    {
      id: `run:${pipeline.name}`,
      digest: built.digest,
      pipeline: pipeline.name,
      log: logConfig,
      owner,
      group: owner,
      batchSize: options.batchSize,
      ...(options.config === undefined ? {} : { config: options.config }),
    },
    shares,
  );
  const totals = followRun(group, ctx);
  group.on('member-exit', (id: string, exit: RunnerExit) =>
    ctx.io.err(`runner ${id} ${describeExit(exit)}; restarting it from its committed offsets`),
  );
  group.on('member-failed', (id: string, error: { code?: string; message: string }) =>
    ctx.io.err(
      `runner ${id} failed: ${error.code ?? 'error'}: ${error.message}; restarting it from its committed offsets`,
    ),
  );
  group.on('member-restarted', (id: string) => ctx.io.err(`runner ${id} restarted from its committed offsets`));
  const log = await openLog(logConfig);
  let timer: NodeJS.Timeout | undefined;
  let metrics: MetricsServer | undefined;
  try {
    await group.start();
    await fenceOtherRunners(log, pipeline, group.owners);
    if (options.metricsPort !== undefined) {
      metrics = await serveMetrics(() => group.registry(), { port: options.metricsPort });
      ctx.io.err(`metrics at ${metrics.url} (the ${options.runners} runners' together)`);
    }
    ctx.io.err(
      `running ${pipeline.name}@${pipeline.version} (${shortDigest(built.digest)}) as ${options.runners} runner processes on the ${describeLogConfig(logConfig)} (${pipeline.inputs.map((d) => d.topic).join(', ')} → ${pipeline.outputs.map((d) => d.topic).join(', ')})`,
    );
    const show = async (): Promise<void> => {
      let lag = 0;
      for (const tp of partitions) lag += await log.endOffset(tp.topic, tp.partition);
      for (const o of await log.committedOffsets(owner)) lag -= o.offset;
      ctx.io.progress(`in ${totals.inputs}  out ${totals.outputs}  dlq ${totals.dlq}  lag ${Math.max(0, lag)}`);
    };
    let ended: (() => void) | undefined;
    group.on('gave-up', () => ended?.());
    timer = setInterval(() => {
      void show().catch(() => {});
      if (group.state === 'fenced') ended?.();
    }, 1000);
    if (options.untilCaughtUp) {
      const ends = [];
      for (const tp of partitions) ends.push({ ...tp, offset: await log.endOffset(tp.topic, tp.partition) });
      await group.runUntil(ends);
    } else {
      await group.activate();
      await new Promise<void>((resolve) => {
        ended = resolve;
        ctx.interrupted.addEventListener('abort', () => resolve(), { once: true });
      });
    }
    clearInterval(timer);
    const gaveUp = group.gaveUp;
    if (gaveUp !== undefined) {
      const error =
        gaveUp.error === undefined
          ? describeExit(gaveUp.exit)
          : `${gaveUp.error.code ?? 'error'}: ${gaveUp.error.message}`;
      throw new SlipwayError(
        'SLIPWAY_RUNNER_FAILED',
        `Runner ${gaveUp.member} of ${pipeline.name} kept failing (${gaveUp.restarts + 1} times within a minute; last: ${error}); the others committed their last batch and stopped. Fix the cause and run again: it resumes from the committed offsets.`,
        {
          details: {
            member: gaveUp.member,
            restarts: gaveUp.restarts,
            ...(gaveUp.error === undefined ? {} : { error: gaveUp.error }),
          },
        },
      );
    }
    if (group.state === 'fenced') {
      throw new SlipwayError(
        'SLIPWAY_FENCED',
        `Another instance of ${pipeline.name} took over; these runners stopped without writing more.`,
      );
    }
    await group.stop();
    await show();
    ctx.io.done();
    ctx.io.err(
      `stopped ${pipeline.name} (${options.runners} runners): ${totals.inputs} in, ${totals.outputs} out, ${totals.dlq} to the DLQ; offsets committed`,
    );
  } finally {
    clearInterval(timer);
    await metrics?.close();
    await group.stop();
    await supervisor.close();
    await log.close();
  }
}

/** `exited (SIGKILL)`, `exited with code 1`, or `failed: SLIPWAY_…: message`. */
function describeExit(exit: RunnerExit): string {
  if (exit.error !== undefined) return `failed: ${exit.error.code ?? 'error'}: ${exit.error.message}`;
  return exit.signal !== null ? `was killed (${exit.signal})` : `exited with code ${exit.code}`;
}

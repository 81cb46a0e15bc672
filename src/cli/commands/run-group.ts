import type { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { SlipwayError } from '../../errors.js';
import { openEmbeddedLog } from '../../log/embedded/embedded-log.js';
import type { Log } from '../../log/log.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { type MetricsServer, serveMetrics } from '../../runtime/metrics.js';
import { inputPartitions } from '../../runtime/runner-setup.js';
import { possibleOwners, RunnerGroup, shareOut } from '../../supervisor/runner-group.js';
import { RunnerProcess } from '../../supervisor/runner-process.js';
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
 * `slipway run --runners N`: the pipeline as N runner processes on the embedded log, each owning a
 * share of the input partitions (as `slipway scale` runs it under the daemon), so a pipeline uses
 * more than one core. Same owner base, consumer group and exactly-once commits as one runner; a
 * runner that dies is restarted from its committed offsets.
 */
export async function runAsGroup(ctx: CliContext, pipeline: Pipeline, options: GroupRunOptions): Promise<void> {
  const partitions = inputPartitions(pipeline);
  const shares = shareOut(pipeline.name, partitions, options.runners);
  const owner = runOwner(pipeline);
  const group = new RunnerGroup(
    {
      id: `run:${pipeline.name}`,
      module: resolve(options.file),
      pipeline: pipeline.name,
      logPath: ctx.logPath(),
      owner,
      group: owner,
      batchSize: options.batchSize,
      ...(options.config === undefined ? {} : { config: options.config }),
    },
    shares,
    (spec) => new RunnerProcess(spec),
  );
  const totals = followRun(group, ctx);
  group.on('member-restarted', (id: string) => ctx.io.err(`runner ${id} exited; restarted from its committed offsets`));
  const log = await openEmbeddedLog({ path: ctx.logPath() });
  let timer: NodeJS.Timeout | undefined;
  let metrics: MetricsServer | undefined;
  try {
    await group.start();
    await fenceOtherRunners(log, pipeline, group.owners);
    if (options.metricsPort !== undefined) {
      metrics = await serveMetrics(() => group.metrics(), { port: options.metricsPort });
      ctx.io.err(`metrics at ${metrics.url} (the ${options.runners} runners' together)`);
    }
    ctx.io.err(
      `running ${pipeline.name}@${pipeline.version} as ${options.runners} runner processes on ${ctx.logPath()} (${pipeline.inputs.map((d) => d.topic).join(', ')} → ${pipeline.outputs.map((d) => d.topic).join(', ')})`,
    );
    const show = async (): Promise<void> => {
      let lag = 0;
      for (const tp of partitions) {
        const end = await log.endOffset(tp.topic, tp.partition);
        lag += end;
      }
      for (const o of await log.committedOffsets(owner)) lag -= o.offset;
      ctx.io.progress(`in ${totals.inputs}  out ${totals.outputs}  dlq ${totals.dlq}  lag ${Math.max(0, lag)}`);
    };
    let ended: (() => void) | undefined;
    timer = setInterval(() => {
      void show().catch(() => {});
      const state = group.state;
      if (state === 'failed' || state === 'fenced' || state === 'exited') ended?.();
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
    const state = group.state;
    if (state === 'fenced') {
      throw new SlipwayError(
        'SLIPWAY_FENCED',
        `Another instance of ${pipeline.name} took over; these runners stopped without writing more.`,
      );
    }
    if (state === 'failed' || state === 'exited') {
      throw new SlipwayError(
        'SLIPWAY_RUNNER_FAILED',
        `A runner of ${pipeline.name} failed (its error is above); the others committed their last batch and stopped.`,
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
    await log.close();
  }
}

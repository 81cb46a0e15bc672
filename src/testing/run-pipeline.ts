import type { Log, PartitionOffset } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { type CommitEvent, Runner } from '../runtime/runner.js';

export interface RunPipelineOptions {
  pipeline: Pipeline;
  log: Log;
  config?: unknown;
  /** `caught-up`: stop once every input partition is processed up to its end offset at the call. */
  until: 'caught-up';
  batchSize?: number;
}

export interface RunPipelineResult {
  /** Committed offsets after the run (the next offset to read, per input partition). */
  offsets: PartitionOffset[];
  inputs: number;
  outputs: number;
  dlq: number;
  commits: number;
}

/**
 * Runs a pipeline as `slipway run --until-caught-up` does: a `Runner` started, run to its inputs'
 * end offsets with atomic commits under its own epoch, and stopped. It resumes from the group's
 * committed offsets, so a second call processes only what arrived since.
 *
 * @example
 * const { inputs, outputs, dlq } = await runPipeline({ pipeline: enrichOrders, log, until: 'caught-up' })
 */
export async function runPipeline(options: RunPipelineOptions): Promise<RunPipelineResult> {
  const runner = new Runner({
    pipeline: options.pipeline,
    log: options.log,
    config: options.config,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
  const totals = { inputs: 0, outputs: 0, dlq: 0, commits: 0 };
  runner.on('commit', (e: CommitEvent) => {
    totals.inputs += e.inputs;
    totals.outputs += e.outputs;
    totals.dlq += e.dlq;
    totals.commits++;
  });
  try {
    await runner.start();
    const offsets = await runner.drain();
    return { offsets, ...totals };
  } finally {
    await runner.stop();
  }
}

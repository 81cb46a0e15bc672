import type { Dataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { Log, PartitionOffset } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { createDatasetTopic } from '../topics/dataset-topic.js';
import type { OutputSlot } from './batch-core.js';

// What a runner needs on the log before it starts: its topics, and a slot per input partition it reads.

/** One assigned input partition and where the runner is in it. */
export interface Slot {
  dataset: Dataset;
  topic: string;
  partition: number;
  /** Committed: the next offset to process after the last successful commit. */
  position: number;
  /** Read ahead: the next offset to read (ahead of `position` while a commit is in flight). */
  readPos: number;
  /** A barrier to stop at (`runUntil`), exclusive. */
  target: number | undefined;
  /** The toggle version this partition's committed (or pending) range runs with (pipelines with toggles). */
  toggleVersion?: number;
}

/**
 * Creates the inputs, their dead-letter topics (`dlqTopics`: by input topic, the runner's names for them)
 * and the outputs where missing, each with its declared retention.
 */
export async function createRunnerTopics(
  log: Log,
  inputs: ReadonlyArray<Dataset>,
  outputs: ReadonlyArray<OutputSlot>,
  dlqTopics: ReadonlyMap<string, string>,
): Promise<void> {
  // A topic a runner creates gets its declared partitions and retention (topics as code).
  for (const d of inputs) {
    await createDatasetTopic(log, d);
    const dlq = dlqTopics.get(d.topic);
    if (dlq !== undefined) await createDatasetTopic(log, d, { topic: dlq });
  }
  for (const out of outputs) await createDatasetTopic(log, out.dataset, { topic: out.topic });
}

/** Every partition of every input of a pipeline (or of what a manifest says of one), input by input. */
export function inputPartitions(pipeline: {
  inputs: ReadonlyArray<{ topic: string; partitions: number }>;
}): Array<{ topic: string; partition: number }> {
  return pipeline.inputs.flatMap((d) =>
    Array.from({ length: d.partitions }, (_, p) => ({ topic: d.topic, partition: p })),
  );
}

/** The slots of the assigned partitions (default: every partition of every input), checked against the inputs. */
export function assignSlots(
  pipeline: Pipeline,
  inputs: ReadonlyMap<string, Dataset>,
  assignment: ReadonlyArray<{ topic: string; partition: number }> | undefined,
): Slot[] {
  const wanted = assignment ?? inputPartitions(pipeline);
  return wanted.map((tp) => {
    const dataset = inputs.get(tp.topic);
    if (dataset === undefined) {
      throw new SlipwayError('SLIPWAY_USAGE', `Assigned topic '${tp.topic}' is not an input of '${pipeline.name}'.`);
    }
    if (!Number.isInteger(tp.partition) || tp.partition < 0 || tp.partition >= dataset.partitions) {
      throw new SlipwayError(
        'SLIPWAY_PARTITION_NOT_FOUND',
        `Assigned partition ${tp.topic}/${tp.partition} does not exist.`,
      );
    }
    return { dataset, topic: tp.topic, partition: tp.partition, position: 0, readPos: 0, target: undefined };
  });
}

/** Records behind per slot: the partition's end offset less the slot's committed position. */
export async function lagOf(log: Log, slots: ReadonlyArray<Slot>): Promise<Array<PartitionOffset & { lag: number }>> {
  const out: Array<PartitionOffset & { lag: number }> = [];
  for (const s of slots) {
    const end = await log.endOffset(s.topic, s.partition);
    out.push({ topic: s.topic, partition: s.partition, offset: s.position, lag: Math.max(0, end - s.position) });
  }
  return out;
}

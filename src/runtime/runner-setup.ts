import type { Dataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { createDatasetTopic, createDeadLetterTopic } from '../topics/dataset-topic.js';
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
}

/** Creates the inputs, their dead-letter topics and the outputs where missing, each with its declared retention. */
export async function createRunnerTopics(
  log: Log,
  inputs: ReadonlyArray<Dataset>,
  outputs: ReadonlyArray<OutputSlot>,
): Promise<void> {
  // A topic a runner creates gets its declared partitions and retention (topics as code).
  for (const d of inputs) {
    await createDatasetTopic(log, d);
    await createDeadLetterTopic(log, d);
  }
  for (const out of outputs) await createDatasetTopic(log, out.dataset, { topic: out.topic });
}

/** Every partition of every input of a pipeline, input by input. */
export function inputPartitions(pipeline: Pipeline): Array<{ topic: string; partition: number }> {
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

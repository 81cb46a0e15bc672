/**
 * The one rule for creating a dataset's topic, used by everything that creates one: runners (inputs, dead-letter
 * topics, outputs and shadow outputs), `slipway produce`, `slipway sample synth --produce`, `slipway topics apply`,
 * the demo and the testing harness. A topic created here is what `slipway topics plan` expects: the declared
 * partitions and the declared retention, so the plan never reports a difference Slipway itself made.
 *
 * Retention goes where the engine keeps it: Kafka's `retention.ms` (native), or, on engines without topic
 * settings (the embedded and memory logs), Slipway's own record of it (recorded-settings.ts), written when this
 * creates the topic. A topic that already exists is left as it is (a different partition count is refused with
 * `SLIPWAY_TOPIC_MISMATCH`, as `Log.createTopic` does).
 */
import type { Dataset } from '../dataset/dataset.js';
import { dlqTopic } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { recordSettings } from './recorded-settings.js';

/**
 * Creates `dataset`'s topic where missing, with its declared partitions and retention. `topic` names another
 * topic that holds the dataset's records (a shadow output); default the dataset's own. Resolves true when this
 * call created the topic.
 *
 * @example
 * await createDatasetTopic(log, orders) // orders.v1 with orders' partitions and retention
 */
export async function createDatasetTopic(
  log: Log,
  dataset: Dataset,
  options: { topic?: string } = {},
): Promise<boolean> {
  const topic = options.topic ?? dataset.topic;
  if (dataset.existingTopic === true && topic === dataset.topic) {
    await checkExistingTopic(log, dataset);
    return false;
  }
  const existed = (await log.describeTopic(topic)) !== undefined;
  await log.createTopic(topic, {
    partitions: dataset.partitions,
    ...(dataset.retentionMs === undefined ? {} : { retentionMs: dataset.retentionMs }),
  });
  if (existed) return false;
  // Native engines applied the retention with the topic; the others get it recorded, as `topics apply` records it.
  if (log.topicSettings === undefined && dataset.retentionMs !== undefined) {
    await recordSettings(log, [[topic, { retentionMs: dataset.retentionMs }]]);
  }
  return true;
}

/**
 * Checks the existing topic a dataset is bound to (`topic` in its definition), changing nothing: it must exist
 * (`SLIPWAY_TOPIC_NOT_FOUND`) with the declared partitions and, when declared and the engine keeps it, retention
 * (`SLIPWAY_TOPIC_MISMATCH`, `details.differences`).
 */
export async function checkExistingTopic(log: Log, dataset: Dataset): Promise<void> {
  const info = await log.describeTopic(dataset.topic);
  if (info === undefined) {
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `Dataset '${dataset.name}' is bound to the existing topic '${dataset.topic}', which does not exist on this log. Slipway never creates a topic a dataset names: create it (or fix \`topic\` in the dataset).`,
      { details: { dataset: dataset.name, topic: dataset.topic } },
    );
  }
  const differences: Array<{ field: 'partitions' | 'retention'; declared: number; actual: number }> = [];
  if (info.partitions !== dataset.partitions)
    differences.push({ field: 'partitions', declared: dataset.partitions, actual: info.partitions });
  if (dataset.retentionMs !== undefined && log.topicSettings !== undefined) {
    const actual = (await log.topicSettings(dataset.topic))?.retentionMs;
    if (actual !== undefined && actual !== dataset.retentionMs)
      differences.push({ field: 'retention', declared: dataset.retentionMs, actual });
  }
  if (differences.length > 0) {
    throw new SlipwayError(
      'SLIPWAY_TOPIC_MISMATCH',
      `The existing topic '${dataset.topic}' (dataset '${dataset.name}') differs from its declaration: ${differences.map((d) => `${d.field} declared ${d.declared}, actual ${d.actual}`).join('; ')}. Slipway never changes a topic a dataset names: declare what it has.`,
      { details: { dataset: dataset.name, topic: dataset.topic, differences } },
    );
  }
}

/** Creates the dead-letter topic of `dataset` (`<topic>.dlq`) where missing: its partitions and retention. */
export function createDeadLetterTopic(log: Log, dataset: Dataset): Promise<boolean> {
  return createDatasetTopic(log, dataset, { topic: dlqTopic(dataset) });
}

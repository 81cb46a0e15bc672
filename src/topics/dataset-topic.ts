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

/** Creates the dead-letter topic of `dataset` (`<topic>.dlq`) where missing: its partitions and retention. */
export function createDeadLetterTopic(log: Log, dataset: Dataset): Promise<boolean> {
  return createDatasetTopic(log, dataset, { topic: dlqTopic(dataset) });
}

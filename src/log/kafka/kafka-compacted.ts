/**
 * The compacted topics Slipway keeps for itself on Kafka: state changelogs (`<prefix>-state.<namespace>`) and the
 * owners topic. Only the last value per key matters, so they are compacted, and compacted soon:
 *
 * - `segment.ms` 1 hour: the log cleaner never touches the active segment, and Kafka's default rolls a segment
 *   after 7 days (or 1 GiB). A changelog that takes a few MB a day would keep every old value for a week, and a
 *   restore would replay all of it. An hour bounds that wait; the cost is at most 24 small segments a day per
 *   partition until the cleaner merges them.
 * - `min.cleanable.dirty.ratio` 0.1: the cleaner takes a log once 10% of it is not yet compacted (default 50%),
 *   so a restore reads at most about 1.1× the live state instead of up to 2×. State topics are small; the extra
 *   cleaner passes are cheap.
 * - `delete.retention.ms` 1 day: how long a tombstone (a deleted key) stays after compaction. A reader that began
 *   a replay before the cleaner ran must reach the tombstone within this time or it keeps the deleted key;
 *   restores take seconds to minutes. It is Kafka's default, set on the topic so a broker-wide change cannot
 *   shorten it.
 *
 * Topics created by an older Slipway have only `cleanup.policy=compact`: the first time a handle ensures such a
 * topic it sets whichever of these the topic does not set itself (configs an operator set on the topic are left
 * as they are). A cluster that refuses the change (ACLs, policies) keeps working, without it.
 */
import { alterTopicConfigs, type TopicConfig, topicConfigs } from './kafka-admin.js';
import type { KafkaClient } from './kafka-client.js';
import { hasKafkaError } from './kafka-errors.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The configs every compacted topic of Slipway is created with. */
export const COMPACTED_CONFIGS = [
  { name: 'cleanup.policy', value: 'compact' },
  { name: 'segment.ms', value: String(HOUR) },
  { name: 'min.cleanable.dirty.ratio', value: '0.1' },
  { name: 'delete.retention.ms', value: String(DAY) },
] as const;

/** Errors that mean the cluster will not let Slipway change a topic's configs. */
const REFUSED = ['TOPIC_AUTHORIZATION_FAILED', 'CLUSTER_AUTHORIZATION_FAILED', 'POLICY_VIOLATION'];

/** Topics each client has already checked (or created) with the settings. */
const checked = new WeakMap<KafkaClient, Set<string>>();

/** Makes sure a compacted topic exists with at least `count` partitions and the compaction settings. */
export async function ensureCompactedTopic(
  client: KafkaClient,
  topic: string,
  count: number,
  replicationFactor: number,
): Promise<void> {
  let meta = await client.topic(topic);
  if (meta === undefined || meta.partitions.length < count) meta = await client.topic(topic, true);
  if (meta === undefined) {
    const created = await client.createTopic(topic, count, COMPACTED_CONFIGS, replicationFactor);
    if (created) {
      checkedBy(client).add(topic);
      return;
    }
    meta = await client.topic(topic, true);
  }
  if (meta !== undefined && meta.partitions.length < count) await client.growTopic(topic, count);
  await upgradeConfigs(client, topic);
}

/** Forgets that a topic was checked (it was deleted: a topic of that name later is a new one). */
export function forgetCompactedTopic(client: KafkaClient, topic: string): void {
  checked.get(client)?.delete(topic);
}

function checkedBy(client: KafkaClient): Set<string> {
  let set = checked.get(client);
  if (set === undefined) {
    set = new Set();
    checked.set(client, set);
  }
  return set;
}

/** Sets the settings an existing topic lacks (once per client and topic). */
async function upgradeConfigs(client: KafkaClient, topic: string): Promise<void> {
  const done = checkedBy(client);
  if (done.has(topic)) return;
  const wanted = COMPACTED_CONFIGS.filter((c) => c.name !== 'cleanup.policy');
  const current = await topicConfigs(
    client,
    topic,
    wanted.map((c) => c.name),
  );
  if (current === undefined) return;
  const differs = (c: { name: string; value: string }, actual: TopicConfig | undefined) =>
    actual === undefined || (!actual.setOnTopic && actual.value !== c.value);
  const missing = wanted.filter((c) => differs(c, current.get(c.name)));
  try {
    await alterTopicConfigs(client, topic, missing);
  } catch (err) {
    // Housekeeping must not stop commits: a cluster that forbids it keeps the topic as it is.
    if (!hasKafkaError(err, REFUSED)) throw err;
  }
  done.add(topic);
}

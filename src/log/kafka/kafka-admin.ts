/**
 * Admin requests of the Kafka log beyond creating topics: reading and changing topic configs, deleting topics
 * and consumer groups. Each is idempotent: what does not exist (any more) is not an error.
 */
import { SlipwayError } from '../../errors.js';
import { CoordinatorType, type KafkaClient } from './kafka-client.js';
import { hasKafkaError, kafkaErrorIds } from './kafka-errors.js';

const TOPIC = 2; // ConfigResourceType.TOPIC
const TOPIC_CONFIG = 1; // ConfigSource.TOPIC_CONFIG: set on the topic itself
const SET = 0; // IncrementalAlterConfigs operation

/** One effective topic config: its value, and whether it is set on the topic (rather than a broker default). */
export interface TopicConfig {
  value: string;
  setOnTopic: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Effective configs of a topic (the values Kafka applies, defaults included), for the keys asked;
 * undefined when the topic does not exist. A config with a null value (sensitive, unset) is left out.
 */
export async function topicConfigs(
  client: KafkaClient,
  name: string,
  keys: ReadonlyArray<string>,
): Promise<Map<string, TopicConfig> | undefined> {
  const apis = await client.apis();
  return client.retry(`describing the configs of '${name}'`, async () => {
    let response: Awaited<ReturnType<typeof apis.describeConfigs.async>>;
    try {
      response = await apis.describeConfigs.async(
        await client.connection(),
        [{ resourceType: TOPIC, resourceName: name, configurationKeys: [...keys] }],
        false,
        false,
      );
    } catch (err) {
      // A topic that does not exist is an answer, not an error to retry.
      if (hasKafkaError(err, ['UNKNOWN_TOPIC_OR_PARTITION'])) return undefined;
      throw err;
    }
    const out = new Map<string, TopicConfig>();
    for (const c of response.results[0]?.configs ?? []) {
      if (typeof c.value === 'string') out.set(c.name, { value: c.value, setOnTopic: c.configSource === TOPIC_CONFIG });
    }
    return out;
  });
}

/** Sets configs on a topic (IncrementalAlterConfigs; configs not named keep their values). */
export async function alterTopicConfigs(
  client: KafkaClient,
  name: string,
  configs: ReadonlyArray<{ name: string; value: string }>,
): Promise<void> {
  if (configs.length === 0) return;
  const apis = await client.apis();
  await client.retry(`changing the configs of '${name}'`, async () =>
    apis.incrementalAlterConfigs.async(
      await client.connection(),
      [
        {
          resourceType: TOPIC,
          resourceName: name,
          configs: configs.map((c) => ({ name: c.name, configOperation: SET, value: c.value })),
        },
      ],
      false,
    ),
  );
}

/**
 * Deletes topics (DeleteTopics) and waits until the cluster's metadata no longer lists them, so a `listTopics`
 * right after does not show them. Topics that do not exist are skipped.
 */
export async function deleteTopics(client: KafkaClient, names: ReadonlyArray<string>): Promise<void> {
  if (names.length === 0) return;
  const apis = await client.apis();
  await client.retry('deleting topics', async () => {
    try {
      await apis.deleteTopics.async(
        await client.connection(),
        names.map((name) => ({ name })),
        client.requestTimeoutMs,
      );
    } catch (err) {
      const ids = kafkaErrorIds(err);
      if (ids.length > 0 && ids.every((id) => id === 'UNKNOWN_TOPIC_OR_PARTITION')) return;
      if (ids.includes('TOPIC_DELETION_DISABLED')) {
        throw new SlipwayError(
          'SLIPWAY_KAFKA_REJECTED',
          `The Kafka cluster at ${client.brokers.join(', ')} does not delete topics (delete.topic.enable=false). Enable it on the brokers, or delete ${names.join(', ')} by other means.`,
          { cause: err, details: { topics: [...names] } },
        );
      }
      throw err;
    }
  });
  const deadline = Date.now() + client.requestTimeoutMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    const left = [];
    for (const name of names) if ((await client.topic(name, true)) !== undefined) left.push(name);
    if (left.length === 0) return;
    if (Date.now() > deadline) {
      throw new SlipwayError(
        'SLIPWAY_KAFKA_UNAVAILABLE',
        `Kafka accepted the deletion of ${left.join(', ')} but still lists them after ${client.requestTimeoutMs} ms. Check the controller's health, then delete them again.`,
        { retryable: true, details: { topics: left } },
      );
    }
    await sleep(delay);
  }
}

/**
 * Deletes consumer groups (DeleteGroups), with their committed offsets. Groups Kafka does not know are skipped;
 * a group with active members is refused (Kafka refuses it): its consumers must stop first.
 */
export async function deleteGroups(client: KafkaClient, groups: ReadonlyArray<string>): Promise<void> {
  const apis = await client.apis();
  for (const group of new Set(groups)) {
    await client.retry(`deleting group '${group}'`, async () => {
      try {
        await apis.deleteGroups.async(await client.connection(await client.coordinator(CoordinatorType.GROUP, group)), [
          group,
        ]);
      } catch (err) {
        const ids = kafkaErrorIds(err);
        if (ids.length > 0 && ids.every((id) => id === 'GROUP_ID_NOT_FOUND')) return;
        if (ids.includes('NON_EMPTY_GROUP')) {
          throw new SlipwayError(
            'SLIPWAY_KAFKA_REJECTED',
            `Kafka did not delete group '${group}': it has active consumers. Stop them, then delete the group again.`,
            { cause: err, details: { group } },
          );
        }
        throw err;
      }
    });
  }
}

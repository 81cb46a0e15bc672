/**
 * Topic administration of the Kafka log (what `KafkaLog` delegates `createTopic` … `setTopicSettings` and
 * `listTopics` to): topics are created with `retention.ms` when a retention is given, `settings` reads it back,
 * partitions are only ever added. Topics created or grown here are watched from then on (kafka-watch.ts).
 * Errors are left to the log's guard, which turns the Kafka client's into SlipwayErrors.
 */
import { SlipwayError } from '../../errors.js';
import type { CreateTopicOptions, TopicInfo, TopicSettings } from '../log.js';
import { alterTopicConfigs, topicConfigs } from './kafka-admin.js';
import type { KafkaClient, TopicMeta } from './kafka-client.js';
import { checkRetention, checkTopicName, topicNotFound } from './kafka-validation.js';
import type { ChangeWatcher } from './kafka-watch.js';

export class KafkaTopicAdmin {
  readonly #client: KafkaClient;
  readonly #watcher: ChangeWatcher;
  readonly #internalPrefix: string;
  readonly #replicationFactor: number;

  constructor(client: KafkaClient, watcher: ChangeWatcher, internalPrefix: string, replicationFactor: number) {
    this.#client = client;
    this.#watcher = watcher;
    this.#internalPrefix = internalPrefix;
    this.#replicationFactor = replicationFactor;
  }

  /** Metadata of a topic that must exist (cached, else looked up afresh); SLIPWAY_TOPIC_NOT_FOUND when it does not. */
  async meta(name: string): Promise<TopicMeta> {
    const meta = (await this.#client.topic(name)) ?? (await this.#client.topic(name, true));
    if (meta === undefined) throw topicNotFound(name, this.#client.brokers);
    return meta;
  }

  /** Creates a topic where missing; an existing one must have the partition count asked for. */
  async create(name: string, options: CreateTopicOptions): Promise<void> {
    checkTopicName(name, options.partitions);
    const configs = checkRetention(name, options.retentionMs);
    let meta = await this.#client.topic(name, true);
    if (meta === undefined) {
      const created = await this.#client.createTopic(name, options.partitions, configs, this.#replicationFactor);
      meta = await this.meta(name);
      if (created) for (let p = 0; p < options.partitions; p++) this.#watcher.saw(name, p, 0n);
    }
    this.#watcher.touch(name);
    if (meta.partitions.length !== options.partitions) {
      throw new SlipwayError(
        'SLIPWAY_TOPIC_MISMATCH',
        `Topic '${name}' exists with ${meta.partitions.length} partitions, not ${options.partitions}. Slipway does not change partition counts: declare ${meta.partitions.length}, or use a new dataset version.`,
        { details: { topic: name, existing: meta.partitions.length, wanted: options.partitions } },
      );
    }
  }

  async describe(name: string): Promise<TopicInfo | undefined> {
    const meta = await this.#client.topic(name, true);
    return meta === undefined ? undefined : { name, partitions: meta.partitions.length };
  }

  /** The topic's effective retention (-1: forever); undefined when the topic does not exist. */
  async settings(name: string): Promise<TopicSettings | undefined> {
    const configs = await topicConfigs(this.#client, name, ['retention.ms']);
    if (configs === undefined) return undefined;
    const retention = Number(configs.get('retention.ms')?.value ?? Number.NaN);
    return { retentionMs: Number.isSafeInteger(retention) && retention >= 0 ? retention : -1 };
  }

  /** Adds partitions up to `partitions` (never removes any: fewer asked is nothing to do). */
  async grow(name: string, partitions: number): Promise<void> {
    checkTopicName(name, partitions);
    const meta = await this.#client.topic(name, true);
    if (meta === undefined) throw topicNotFound(name, this.#client.brokers);
    if (meta.partitions.length >= partitions) return;
    await this.#client.growTopic(name, partitions);
    this.#watcher.touch(name);
  }

  async setSettings(name: string, settings: TopicSettings): Promise<void> {
    await this.meta(name);
    await alterTopicConfigs(this.#client, name, checkRetention(name, settings.retentionMs));
  }

  /** The user's topics by name: Kafka's internal ones and Slipway's own (`<internal prefix>…`) left out. */
  async list(): Promise<TopicInfo[]> {
    return (await this.#client.allTopics())
      .filter((t) => !t.internal && !t.name.startsWith(this.#internalPrefix))
      .map((t) => ({ name: t.name, partitions: t.partitions.length }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

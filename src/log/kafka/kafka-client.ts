/**
 * A small Kafka wire client over @platformatic/kafka's protocol layer (its `apis/` functions and
 * `ConnectionPool`): version negotiation, a metadata cache, coordinator lookup and one retry loop.
 * The library's Producer/Consumer classes are not used: the Kafka log needs transactions that span
 * arbitrary partitions and groups, and reads of one partition without joining a group.
 */
import {
  addOffsetsToTxnV1,
  addOffsetsToTxnV2,
  addOffsetsToTxnV3,
  addOffsetsToTxnV4,
  addPartitionsToTxnV3,
  apiVersionsV3,
  type Broker,
  type Connection,
  ConnectionPool,
  createPartitionsV1,
  createPartitionsV2,
  createPartitionsV3,
  createTopicsV7,
  deleteGroupsV2,
  deleteTopicsV6,
  describeConfigsV2,
  describeConfigsV3,
  describeConfigsV4,
  describeTransactionsV0,
  endTxnV3,
  endTxnV4,
  fetchV13,
  fetchV14,
  fetchV15,
  findCoordinatorV4,
  findCoordinatorV5,
  findCoordinatorV6,
  incrementalAlterConfigsV1,
  initProducerIdV3,
  initProducerIdV4,
  initProducerIdV5,
  listOffsetsV5,
  listOffsetsV6,
  listOffsetsV7,
  listOffsetsV8,
  listOffsetsV9,
  metadataV10,
  metadataV11,
  metadataV12,
  offsetCommitV8,
  offsetCommitV9,
  offsetFetchV8,
  offsetFetchV9,
  parseBroker,
  produceV7,
  produceV8,
  produceV9,
  txnOffsetCommitV3,
  txnOffsetCommitV4,
} from '@platformatic/kafka';
import { SlipwayError } from '../../errors.js';
import {
  AUTHORIZATION_ERRORS,
  COORDINATOR_ERRORS,
  hasKafkaError,
  isAuthenticationFailure,
  isRetriable,
  kafkaErrorIds,
  STALE_METADATA_ERRORS,
  toSlipwayError,
} from './kafka-errors.js';
import { authenticationFailed, connectionSecurity, type KafkaConnectionSecurity } from './kafka-security.js';

/** Isolation levels of Fetch and ListOffsets. */
export const Isolation = { READ_UNCOMMITTED: 0, READ_COMMITTED: 1 } as const;
export type IsolationLevel = (typeof Isolation)[keyof typeof Isolation];

/** ListOffsets timestamps with a special meaning. */
export const OffsetSpec = { LATEST: -1n, EARLIEST: -2n } as const;

export interface PartitionMeta {
  leader: number;
  leaderEpoch: number;
}

export interface TopicMeta {
  name: string;
  id: string;
  internal: boolean;
  partitions: PartitionMeta[];
}

export interface KafkaClientOptions {
  brokers: ReadonlyArray<string>;
  clientId: string;
  /** Per request, and the budget of the retry loop. */
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  /** TLS and SASL of every connection (none: plaintext). */
  security?: KafkaConnectionSecurity;
}

/**
 * Protocol versions this client speaks, best first. Versions of one API share one call signature;
 * the highest one the broker supports is used. These lists make Kafka 3.1 the oldest usable broker.
 * - AddPartitionsToTxn stays at v3: v4+ is the broker-to-broker batch form (needs CLUSTER_ACTION).
 * - Produce stays at v9 and Fetch at v15: from Produce v10 / Fetch v16 (KIP-951) a broker that is not
 *   (yet) the leader answers with tagged fields (CurrentLeader, NodeEndpoints), and the library's
 *   `Reader.readTaggedFields` (1.35.0) skips them wrongly, so the response fails to parse (OUT_OF_BOUNDS).
 */
const CANDIDATES = {
  metadata: [metadataV12.api, metadataV11.api, metadataV10.api],
  fetch: [fetchV15.api, fetchV14.api, fetchV13.api],
  listOffsets: [listOffsetsV9.api, listOffsetsV8.api, listOffsetsV7.api, listOffsetsV6.api, listOffsetsV5.api],
  produce: [produceV9.api, produceV8.api, produceV7.api],
  offsetFetch: [offsetFetchV9.api, offsetFetchV8.api],
  offsetCommit: [offsetCommitV9.api, offsetCommitV8.api],
  findCoordinator: [findCoordinatorV6.api, findCoordinatorV5.api, findCoordinatorV4.api],
  initProducerId: [initProducerIdV5.api, initProducerIdV4.api, initProducerIdV3.api],
  addPartitionsToTxn: [addPartitionsToTxnV3.api],
  addOffsetsToTxn: [addOffsetsToTxnV4.api, addOffsetsToTxnV3.api, addOffsetsToTxnV2.api, addOffsetsToTxnV1.api],
  txnOffsetCommit: [txnOffsetCommitV4.api, txnOffsetCommitV3.api],
  endTxn: [endTxnV4.api, endTxnV3.api],
  createTopics: [createTopicsV7.api],
  createPartitions: [createPartitionsV3.api, createPartitionsV2.api, createPartitionsV1.api],
  describeTransactions: [describeTransactionsV0.api],
  describeConfigs: [describeConfigsV4.api, describeConfigsV3.api, describeConfigsV2.api],
  incrementalAlterConfigs: [incrementalAlterConfigsV1.api],
  deleteTopics: [deleteTopicsV6.api],
  deleteGroups: [deleteGroupsV2.api],
};

type Candidates = typeof CANDIDATES;
/** The negotiated API of each kind (typed as its newest version: all versions share the signature). */
export type Apis = { [K in keyof Candidates]: Candidates[K][0] };

/** FindCoordinator key types. */
export const CoordinatorType = { GROUP: 0, TRANSACTION: 1 } as const;
export type CoordinatorKind = (typeof CoordinatorType)[keyof typeof CoordinatorType];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class KafkaClient {
  readonly brokers: ReadonlyArray<string>;
  readonly requestTimeoutMs: number;
  readonly #security: KafkaConnectionSecurity | undefined;
  readonly #bootstrap: Broker[];
  readonly #pool: ConnectionPool;
  /** A second pool for long-polling fetches, so they never hold up other requests (Kafka answers in order). */
  readonly #waitPool: ConnectionPool;
  readonly #nodes = new Map<number, Broker>();
  readonly #topics = new Map<string, TopicMeta>();
  readonly #coordinators = new Map<string, number>();
  #apis: Apis | undefined;
  #closed = false;

  constructor(options: KafkaClientOptions) {
    this.brokers = options.brokers;
    this.requestTimeoutMs = options.requestTimeoutMs;
    this.#security = options.security;
    this.#bootstrap = options.brokers.map((b) => parseBroker(b, 9092));
    const poolOptions = {
      connectTimeout: options.connectTimeoutMs,
      requestTimeout: options.requestTimeoutMs,
      maxInflights: 16,
      ...connectionSecurity(options.security),
    };
    this.#pool = new ConnectionPool(options.clientId, poolOptions);
    this.#waitPool = new ConnectionPool(`${options.clientId}-wait`, poolOptions);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Negotiates protocol versions with the cluster (once). */
  async apis(): Promise<Apis> {
    if (this.#apis !== undefined) return this.#apis;
    const response = await this.retry('the version handshake', async () =>
      apiVersionsV3.api.async(await this.connection(), 'slipway', '0.1.0'),
    );
    const ranges = new Map(response.apiKeys.map((k) => [k.apiKey, [k.minVersion, k.maxVersion] as const]));
    const chosen: Record<string, unknown> = {};
    for (const [name, list] of Object.entries(CANDIDATES) as Array<
      [string, ReadonlyArray<{ key: number; version: number }>]
    >) {
      const pick = list.find((api) => {
        const range = ranges.get(api.key);
        return range !== undefined && api.version >= range[0] && api.version <= range[1];
      });
      if (pick === undefined) {
        throw new SlipwayError(
          'SLIPWAY_KAFKA_REJECTED',
          `The Kafka cluster at ${this.brokers.join(', ')} does not speak a version of ${name} that Slipway knows. Use Kafka 3.1 or newer.`,
          { details: { api: name, brokers: [...this.brokers] } },
        );
      }
      chosen[name] = pick;
    }
    this.#apis = chosen as Apis;
    return this.#apis;
  }

  /** A connection to a node, or to any broker when `node` is undefined. */
  async connection(node?: number, options: { longPoll?: boolean } = {}): Promise<Connection> {
    this.#checkOpen();
    const pool = options.longPoll === true ? this.#waitPool : this.#pool;
    if (node === undefined) return pool.getFirstAvailable([...this.#bootstrap, ...this.#nodes.values()]);
    let broker = this.#nodes.get(node);
    if (broker === undefined) {
      await this.#metadata([]);
      broker = this.#nodes.get(node);
      if (broker === undefined)
        throw Object.assign(new Error(`Broker ${node} is unknown`), { code: 'PLT_KFK_NETWORK' });
    }
    return pool.get(broker);
  }

  /**
   * Runs `op` until it succeeds, a non-retriable error comes back, or the request timeout passes.
   * Drops cached metadata or coordinators when an error says they are stale.
   */
  async retry<T>(what: string, op: (attempt: number) => Promise<T>): Promise<T> {
    const started = Date.now();
    let delay = 10;
    for (let attempt = 0; ; attempt++) {
      this.#checkOpen();
      try {
        return await op(attempt);
      } catch (err) {
        if (this.#closed) this.#checkOpen();
        // A SlipwayError comes from a nested retry that already gave up, or is final: never retry it here.
        if (err instanceof SlipwayError) throw err;
        // A refused login or certificate does not get better by retrying.
        if (isAuthenticationFailure(err)) throw authenticationFailed(this.brokers, this.#security, err);
        // A missing ACL: named here, where `what` says which topic, group or id was asked for.
        if (hasKafkaError(err, Object.keys(AUTHORIZATION_ERRORS))) throw toSlipwayError(err, what, this.brokers);
        if (!isRetriable(err)) throw err;
        if (hasKafkaError(err, STALE_METADATA_ERRORS)) this.#topics.clear();
        if (hasKafkaError(err, COORDINATOR_ERRORS)) this.#coordinators.clear();
        const elapsed = Date.now() - started;
        // An unknown topic is retried only briefly (metadata catching up after a create), then reported.
        const unknownTopic = hasKafkaError(err, ['UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID']);
        if (elapsed > (unknownTopic ? 2_000 : this.requestTimeoutMs)) throw toSlipwayError(err, what, this.brokers);
        await sleep(delay);
        delay = Math.min(delay * 2, 250);
      }
    }
  }

  /** Metadata of one topic: cached unless `refresh`; undefined when the topic does not exist. */
  async topic(name: string, refresh = false): Promise<TopicMeta | undefined> {
    if (!refresh) {
      const cached = this.#topics.get(name);
      if (cached !== undefined) return cached;
    }
    return (await this.#metadata([name])).get(name);
  }

  /** Every topic of the cluster, internal ones flagged. */
  async allTopics(): Promise<TopicMeta[]> {
    return [...(await this.#metadata(null)).values()];
  }

  /** Fetches metadata; topics that do not exist are absent from the result. Retries until leaders are known. */
  async #metadata(names: string[] | null): Promise<Map<string, TopicMeta>> {
    const apis = await this.apis();
    return this.retry('a metadata request', async () => {
      let response: Awaited<ReturnType<Apis['metadata']['async']>>;
      try {
        response = await apis.metadata.async(await this.connection(), names, false, false);
      } catch (err) {
        const partial = (err as { response?: typeof response }).response;
        // Unknown topics come back as a per-topic error; anything else is retried.
        if (partial === undefined || kafkaErrorIds(err).some((id) => id !== 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
        response = partial;
      }
      for (const b of response.brokers) this.#nodes.set(b.nodeId, { host: b.host, port: b.port });
      const out = new Map<string, TopicMeta>();
      for (const t of response.topics) {
        if (t.name === null || t.name === undefined) continue;
        if (t.errorCode !== 0) {
          this.#topics.delete(t.name);
          continue;
        }
        const partitions: PartitionMeta[] = [];
        for (const p of t.partitions) partitions[p.partitionIndex] = { leader: p.leaderId, leaderEpoch: p.leaderEpoch };
        const meta: TopicMeta = { name: t.name, id: t.topicId, internal: t.isInternal, partitions };
        out.set(t.name, meta);
        this.#topics.set(t.name, meta);
      }
      return out;
    });
  }

  /** Forgets cached metadata (after an error that says it is stale). */
  forgetTopic(name: string): void {
    this.#topics.delete(name);
  }

  /**
   * Creates a topic and waits until every partition has a leader.
   * Resolves false when it already existed.
   */
  async createTopic(
    name: string,
    partitions: number,
    configs: ReadonlyArray<{ name: string; value: string }>,
    replicationFactor: number,
  ): Promise<boolean> {
    const apis = await this.apis();
    let created = true;
    await this.retry(`creating topic '${name}'`, async () => {
      try {
        await apis.createTopics.async(
          await this.connection(),
          [{ name, numPartitions: partitions, replicationFactor, assignments: [], configs: [...configs] }],
          this.requestTimeoutMs,
          false,
        );
      } catch (err) {
        if (!hasKafkaError(err, ['TOPIC_ALREADY_EXISTS'])) throw err;
        created = false;
      }
    });
    await this.#awaitLeaders(name, partitions);
    return created;
  }

  /** Grows a topic to `count` partitions (no-op when it already has as many). */
  async growTopic(name: string, count: number): Promise<void> {
    const apis = await this.apis();
    await this.retry(`adding partitions to '${name}'`, async () => {
      try {
        await apis.createPartitions.async(
          await this.connection(),
          // A null assignment list lets the controller place the new partitions.
          [{ name, count, assignments: null as unknown as [] }],
          this.requestTimeoutMs,
          false,
        );
      } catch (err) {
        // INVALID_PARTITIONS: another writer grew it first (to this count or more).
        if (!hasKafkaError(err, ['INVALID_PARTITIONS'])) throw err;
      }
    });
    await this.#awaitLeaders(name, count);
  }

  async #awaitLeaders(name: string, atLeast: number): Promise<void> {
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      const meta = await this.topic(name, true);
      const ready = meta?.partitions.filter((p) => p !== undefined && p.leader >= 0).length ?? 0;
      if (meta !== undefined && ready >= atLeast) return;
      if (Date.now() - started > this.requestTimeoutMs) {
        throw new SlipwayError(
          'SLIPWAY_KAFKA_UNAVAILABLE',
          `Topic '${name}' was created but its partitions got no leader within ${this.requestTimeoutMs} ms. Check the brokers' health.`,
          { retryable: true, details: { topic: name } },
        );
      }
      await sleep(delay);
    }
  }

  /** The node coordinating a consumer group or a transactional id (cached). */
  async coordinator(type: CoordinatorKind, key: string): Promise<number> {
    const cacheKey = `${type}:${key}`;
    const cached = this.#coordinators.get(cacheKey);
    if (cached !== undefined) return cached;
    const apis = await this.apis();
    const response = await this.retry('finding a coordinator', async () =>
      apis.findCoordinator.async(await this.connection(), type, [key]),
    );
    const node = response.coordinators.find((c) => c.key === key) ?? response.coordinators[0];
    if (node === undefined)
      throw toSlipwayError(new Error('no coordinator in the response'), 'FindCoordinator', this.brokers);
    this.#nodes.set(node.nodeId, { host: node.host, port: node.port });
    this.#coordinators.set(cacheKey, node.nodeId);
    return node.nodeId;
  }

  /**
   * Offsets of partitions: `LATEST` is the high watermark (read uncommitted) or the last stable offset
   * (read committed); `EARLIEST` is the log start. Keys are `topic\0partition`.
   */
  async listOffsets(
    isolation: IsolationLevel,
    spec: bigint,
    targets: ReadonlyArray<{ topic: string; partition: number }>,
  ): Promise<Map<string, bigint>> {
    const apis = await this.apis();
    const out = new Map<string, bigint>();
    await this.retry('listing offsets', async () => {
      const byLeader = new Map<number, Map<string, number[]>>();
      for (const t of targets) {
        if (out.has(offsetKey(t.topic, t.partition))) continue;
        const meta = await this.topic(t.topic);
        const leader = meta?.partitions[t.partition]?.leader;
        if (leader === undefined) throw unknownTopicError(t.topic);
        const topics = getOrSet(byLeader, leader, () => new Map());
        const parts = getOrSet(topics, t.topic, () => []);
        parts.push(t.partition);
      }
      await Promise.all(
        [...byLeader].map(async ([leader, topics]) => {
          const response = await apis.listOffsets.async(
            await this.connection(leader),
            -1,
            isolation,
            [...topics].map(([name, parts]) => ({
              name,
              partitions: parts.map((partitionIndex) => ({ partitionIndex, currentLeaderEpoch: -1, timestamp: spec })),
            })),
          );
          for (const t of response.topics) {
            for (const p of t.partitions) out.set(offsetKey(t.name, p.partitionIndex), p.offset);
          }
        }),
      );
    });
    return out;
  }

  #checkOpen(): void {
    if (this.#closed) {
      throw new SlipwayError('SLIPWAY_LOG_CLOSED', 'The Kafka log is closed; open it again to use it.');
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#pool.close(), this.#waitPool.close()]);
  }
}

/** The map's value for `key`, created with `make` when missing. */
export function getOrSet<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

/** A library-shaped error for a topic missing from metadata, so the retry loop treats it like Kafka's own. */
export function unknownTopicError(topic: string): Error {
  return Object.assign(new Error(`Unknown topic ${topic}`), {
    apiId: 'UNKNOWN_TOPIC_OR_PARTITION',
    canRetry: true,
  });
}

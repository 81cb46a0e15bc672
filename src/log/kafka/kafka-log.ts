/**
 * The Kafka engine of the `Log` interface. Design:
 * - Topics, partitions and offsets are Kafka's own. Reads are read-committed Fetches of one partition (no
 *   consumer group); what a Fetch brings beyond the records asked for is kept briefly for the read that
 *   continues there (kafka-read-ahead.ts), so a runner's batches do not fetch and decode the same bytes again.
 *   Topics are created with `retention.ms` when a retention is given; `topicSettings` reads it back (topic
 *   administration: kafka-topic-admin.ts). Each transaction ends with a commit marker on every partition it
 *   wrote, so offsets of transactional outputs have gaps; plain `append`s (idempotent producer, no transaction)
 *   are consecutive. `endOffset` is the offset after the last committed data record (lag is 0 there even when
 *   a marker follows); `countRecords` counts by reading.
 * - Owners (kafka-owner-sessions.ts): owner X is a transactional id; `fence(X)` calls InitProducerId for it, which
 *   bumps Kafka's producer epoch and aborts any open transaction of an older session. The Slipway epoch names the
 *   new session (`producerId * 32768 + producerEpoch + 1`) and is written to the compacted owners topic
 *   `<prefix>-owners`, in a transaction of that session, before the fence returns.
 * - `commit(batch)` is one Kafka transaction of the session that holds `batch.epoch`: outputs, state changelog
 *   records and a TxnOffsetCommit for the group. A handle holds the session it fenced; a handle given an epoch
 *   fenced elsewhere (a controller fences, a runner commits) takes that session over with InitProducerId
 *   (expected id and epoch), which fails when anything fenced or took it over since. A stale epoch, or Kafka
 *   fencing the session (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH), gives `SLIPWAY_FENCED` and the transaction
 *   is aborted: read-committed readers never see any of it. `commit` resolves only after the transaction's
 *   markers are written (DescribeTransactions leaves PrepareCommit), so outputs, state and group offsets are
 *   visible to every handle when it returns; `committedOffsets` also asks Kafka for stable offsets only.
 * - State: namespace N lives in the compacted topic `<prefix>-state.N` (kafka-state.ts, kafka-compacted.ts).
 * - Cleanup: `deleteTopics` and `deleteStateNamespaces` are DeleteTopics, `deleteGroups` is DeleteGroups,
 *   `forgetOwners` fences and tombstones (kafka-admin.ts, kafka-owner-sessions.ts).
 * - `commitOffsets` is a plain OffsetCommit for a group without members (generation -1). `waitForChange` long-polls
 *   read-committed Fetches on the partitions of every topic the handle has used (see kafka-watch.ts).
 */
import { isSlipwayError, SlipwayError } from '../../errors.js';
import type {
  AppendRecord,
  CommitBatch,
  CommitResult,
  CreateTopicOptions,
  Log,
  LogRecord,
  PartitionOffset,
  Snapshot,
  SnapshotRequest,
  StateChanges,
  TopicInfo,
  TopicSettings,
  WaitOptions,
} from '../log.js';
import type { ValueCodecs } from '../value-codec.js';
import { deleteGroups, deleteTopics } from './kafka-admin.js';
import { commitResult, statePartitionsNeeded, stateRecords, toOutgoing } from './kafka-batch.js';
import { Isolation, KafkaClient, OffsetSpec, offsetKey, type TopicMeta } from './kafka-client.js';
import { type CodedLog, KafkaCodecView } from './kafka-codec-view.js';
import { forgetCompactedTopic } from './kafka-compacted.js';
import { isKafkaClientError, kafkaErrorIds, toSlipwayError } from './kafka-errors.js';
import { commitGroupOffsets, fetchGroupOffsets } from './kafka-groups.js';
import type { KafkaLogOptions } from './kafka-log-options.js';
import { stateTopicName } from './kafka-names.js';
import { OwnerSessions } from './kafka-owner-sessions.js';
import { OwnersView } from './kafka-owners.js';
import { IdempotentAppender, type OutgoingRecord } from './kafka-producer.js';
import { ReadAhead, readWithReadAhead } from './kafka-read-ahead.js';
import { committedEnd, countCommitted } from './kafka-reader.js';
import { takeSnapshot } from './kafka-snapshot.js';
import { ensureStateTopic, readStatePartition, stateChangesOf } from './kafka-state.js';
import { KafkaTopicAdmin } from './kafka-topic-admin.js';
import { fencedError } from './kafka-transactions.js';
import {
  checkDeletableTopics,
  checkList,
  checkNamespace,
  checkOffset,
  checkOptions,
  checkOwner,
  checkPartition,
  topicNotFound,
} from './kafka-validation.js';
import { ChangeWatcher } from './kafka-watch.js';

export type { KafkaLogOptions } from './kafka-log-options.js';

/**
 * Opens a Log on a Kafka cluster (3.1 or newer). Connects and negotiates protocol versions before resolving.
 *
 * @example
 * const log = await openKafkaLog({ brokers: ['127.0.0.1:9092'] })
 * await log.createTopic('orders.v1', { partitions: 4 })
 *
 * @example
 * // A secured cluster: SCRAM over TLS, trusting the cluster's CA
 * const secured = await openKafkaLog({
 *   brokers: ['kafka-1.example.com:9094'],
 *   sasl: { mechanism: 'SCRAM-SHA-512', username: 'orders-app', password: process.env.KAFKA_PASSWORD ?? '' },
 *   tls: { ca: readFileSync('ca.pem', 'utf8') },
 * })
 */
export async function openKafkaLog(options: KafkaLogOptions): Promise<Log> {
  checkOptions(options);
  const log = new KafkaLog(options);
  try {
    await log.connect();
  } catch (err) {
    await log.close();
    throw err;
  }
  return log;
}

class KafkaLog implements CodedLog {
  readonly engine = 'kafka';
  readonly #client: KafkaClient;
  readonly #sessions: OwnerSessions;
  readonly #watcher: ChangeWatcher;
  /** Creating, describing, growing and listing topics, their settings (kafka-topic-admin.ts). */
  readonly #topics: KafkaTopicAdmin;
  readonly #internalPrefix: string;
  readonly #replicationFactor: number;
  readonly #waiters = new Set<() => void>();
  readonly #readAhead = new ReadAhead();
  readonly #appender: IdempotentAppender;
  #closed = false;

  constructor(options: KafkaLogOptions) {
    this.#client = new KafkaClient({
      brokers: options.brokers,
      clientId: options.clientId ?? 'slipway',
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      ...(options.sasl === undefined && options.tls === undefined
        ? {}
        : {
            security: {
              ...(options.sasl === undefined ? {} : { sasl: options.sasl }),
              ...(options.tls === undefined ? {} : { tls: options.tls }),
            },
          }),
    });
    this.#internalPrefix = options.internalTopicPrefix ?? '__slipway';
    this.#replicationFactor = options.replicationFactor ?? -1;
    this.#sessions = new OwnerSessions(
      this.#client,
      new OwnersView(this.#client, `${this.#internalPrefix}-owners`, this.#replicationFactor),
      { prefix: options.transactionalIdPrefix, transactionTimeoutMs: options.transactionTimeoutMs ?? 10_000 },
    );
    this.#appender = new IdempotentAppender(this.#client);
    this.#watcher = new ChangeWatcher(this.#client, this.#internalPrefix);
    this.#topics = new KafkaTopicAdmin(this.#client, this.#watcher, this.#internalPrefix, this.#replicationFactor);
  }

  connect(): Promise<void> {
    return this.#guard('connecting', async () => {
      await this.#client.apis();
    });
  }

  /**
   * Runs an operation: refused after close; library errors become SlipwayErrors. When Kafka says a topic is unknown
   * (deleted since this handle cached it), `topics` are looked up afresh: one that is gone is SLIPWAY_TOPIC_NOT_FOUND.
   */
  async #guard<T>(what: string, fn: () => Promise<T>, topics: () => Iterable<string> = () => []): Promise<T> {
    if (this.#closed) throw closedError();
    try {
      return await fn();
    } catch (err) {
      if (this.#closed) throw closedError();
      if (mentionsUnknownTopic(err)) {
        for (const t of new Set(topics())) {
          if ((await this.#client.topic(t, true).catch(() => null)) === undefined) {
            throw topicNotFound(t, this.#client.brokers);
          }
        }
      }
      throw isKafkaClientError(err) ? toSlipwayError(err, what, this.#client.brokers) : err;
    }
  }

  /** Checks a partition number, refreshing metadata once in case partitions were added. */
  async #partition(meta: TopicMeta, partition: number): Promise<void> {
    if (Number.isInteger(partition) && partition >= meta.partitions.length) {
      const fresh = await this.#client.topic(meta.name, true);
      if (fresh !== undefined) meta = fresh;
    }
    checkPartition(meta.name, meta.partitions.length, partition);
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.#guard(`creating topic '${name}'`, () => this.#topics.create(name, options));
  }

  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.#guard(`describing topic '${name}'`, () => this.#topics.describe(name));
  }

  topicSettings(name: string): Promise<TopicSettings | undefined> {
    return this.#guard(`describing the configs of topic '${name}'`, () => this.#topics.settings(name));
  }

  growTopic(name: string, partitions: number): Promise<void> {
    return this.#guard(`adding partitions to topic '${name}'`, () => this.#topics.grow(name, partitions));
  }

  setTopicSettings(name: string, settings: TopicSettings): Promise<void> {
    return this.#guard(`changing the configs of topic '${name}'`, () => this.#topics.setSettings(name, settings));
  }

  listTopics(): Promise<TopicInfo[]> {
    return this.#guard('listing topics', () => this.#topics.list());
  }

  /** Checks the topic and partitions of records and turns them into Kafka records (values by the topic's codec). */
  async #outgoing(
    topic: string,
    records: ReadonlyArray<AppendRecord>,
    now: number,
    codecs: ValueCodecs | undefined,
  ): Promise<OutgoingRecord[]> {
    const meta = await this.#topics.meta(topic);
    for (const r of records) {
      if (!(Number.isInteger(r.partition) && r.partition >= 0 && r.partition < meta.partitions.length)) {
        await this.#partition(meta, r.partition);
      }
    }
    const codec = codecs?.get(topic);
    if (codec !== undefined && records.length > 0) await codec.prepareEncode();
    return toOutgoing(topic, records, now, codec);
  }

  withValueCodecs(codecs: ValueCodecs): Log {
    return new KafkaCodecView(this, codecs);
  }

  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.appendWith(undefined, topic, records);
  }

  appendWith(codecs: ValueCodecs | undefined, topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.#guard(
      `appending to '${topic}'`,
      async () => {
        const outgoing = await this.#outgoing(topic, records, Date.now(), codecs);
        this.#watcher.touch(topic);
        if (outgoing.length === 0) return [];
        return this.#appender.send(outgoing);
      },
      () => [topic],
    );
  }

  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.readWith(undefined, topic, partition, fromOffset, max);
  }

  readWith(
    codecs: ValueCodecs | undefined,
    topic: string,
    partition: number,
    fromOffset: number,
    max: number,
  ): Promise<LogRecord[]> {
    return this.#guard(
      `reading ${topic}/${partition}`,
      async () => {
        await this.#partition(await this.#topics.meta(topic), partition);
        checkOffset(fromOffset, 'The offset to read from');
        this.#watcher.touch(topic);
        return readWithReadAhead(
          this.#client,
          this.#readAhead,
          topic,
          partition,
          fromOffset,
          max,
          (lastStable) => this.#watcher.saw(topic, partition, lastStable),
          codecs?.get(topic),
        );
      },
      () => [topic],
    );
  }

  endOffset(topic: string, partition: number): Promise<number> {
    return this.#guard(
      `reading the end of ${topic}/${partition}`,
      async () => {
        await this.#partition(await this.#topics.meta(topic), partition);
        const ends = await this.#client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, [
          { topic, partition },
        ]);
        const lastStable = ends.get(offsetKey(topic, partition)) ?? 0n;
        this.#watcher.saw(topic, partition, lastStable);
        return Number(await committedEnd(this.#client, topic, partition, lastStable));
      },
      () => [topic],
    );
  }

  countRecords(topic: string, partition: number): Promise<number> {
    return this.#guard(
      `counting the records of ${topic}/${partition}`,
      async () => {
        await this.#partition(await this.#topics.meta(topic), partition);
        return countCommitted(this.#client, topic, partition);
      },
      () => [topic],
    );
  }

  committedOffsets(group: string): Promise<PartitionOffset[]> {
    return this.#guard(`reading the offsets of group '${group}'`, () => fetchGroupOffsets(this.#client, group));
  }

  async #checkOffsets(offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    for (const o of offsets) {
      await this.#partition(await this.#topics.meta(o.topic), o.partition);
      checkOffset(o.offset, `The committed offset of ${o.topic}/${o.partition}`);
    }
  }

  commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    return this.#guard(`committing offsets of group '${group}'`, async () => {
      await this.#checkOffsets(offsets);
      await commitGroupOffsets(this.#client, group, offsets);
    });
  }

  fence(owner: string): Promise<number> {
    return this.#guard(`fencing owner '${owner}'`, async () => {
      checkOwner(owner);
      return this.#sessions.fence(owner);
    });
  }

  currentEpoch(owner: string): Promise<number> {
    return this.#guard(`reading the epoch of owner '${owner}'`, async () => {
      checkOwner(owner);
      return this.#sessions.epochOf(owner);
    });
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.commitWith(undefined, batch);
  }

  commitWith(codecs: ValueCodecs | undefined, batch: CommitBatch): Promise<CommitResult> {
    return this.#guard(
      `committing for owner '${batch.owner}'`,
      async () => {
        checkOwner(batch.owner);
        const now = Date.now();
        const records: OutgoingRecord[] = [];
        for (const out of batch.outputs ?? [])
          records.push(...(await this.#outgoing(out.topic, out.records, now, codecs)));
        const outputCount = records.length;
        const offsets = batch.offsets;
        if (offsets !== undefined) await this.#checkOffsets(offsets.offsets);
        const writes = batch.state?.writes ?? [];
        const namespace = writes.length > 0 ? checkNamespace(batch.state?.namespace as string) : '';
        const statePartitions = statePartitionsNeeded(namespace, writes);
        const hasOffsets = offsets !== undefined && offsets.offsets.length > 0;
        if (records.length === 0 && writes.length === 0 && !hasOffsets) {
          // Nothing to write: Kafka has no empty transactions, so check the epoch against the owners topic.
          const current = await this.#sessions.epochOf(batch.owner);
          if (current !== batch.epoch) {
            throw fencedError(batch.owner, batch.epoch, undefined, `the current epoch is ${current}`);
          }
          return { offsets: {} };
        }
        // Everything is checked: claim the session (may take it over from another handle), then write.
        const producer = await this.#sessions.producerFor(batch.owner, batch.epoch);
        if (writes.length > 0) {
          const topic = stateTopicName(this.#internalPrefix, namespace);
          await ensureStateTopic(this.#client, topic, statePartitions, this.#replicationFactor);
          records.push(...stateRecords(topic, writes, now));
        }
        let assigned: number[];
        try {
          assigned = await producer.run(async (tx) => {
            // Records and offsets go to different brokers: send both at once, and let both settle before
            // the transaction ends either way (a late Produce must not land after an abort).
            const [produced, committed] = await Promise.allSettled([
              tx.addPartitions(records).then(() => (records.length > 0 ? tx.produce(records) : [])),
              hasOffsets ? tx.commitOffsets(offsets.group, offsets.offsets) : undefined,
            ]);
            if (produced.status === 'rejected') throw produced.reason;
            if (committed.status === 'rejected') throw committed.reason;
            return produced.value;
          });
        } catch (err) {
          if ((err as SlipwayError).code === 'SLIPWAY_FENCED') this.#sessions.release(batch.owner, producer);
          throw err;
        }
        // Seen up to our commit marker (right after each record), so our own commit does not wake waitForChange.
        return commitResult(records, assigned, outputCount, (r, offset) =>
          this.#watcher.saw(r.topic, r.partition, BigInt(offset) + 2n),
        );
      },
      () => [...(batch.outputs ?? []).map((o) => o.topic), ...(batch.offsets?.offsets ?? []).map((o) => o.topic)],
    );
  }

  readState(namespace: string, partition: number): Promise<Array<[key: string, value: string]>> {
    return this.#guard(`reading state '${namespace}'`, async () => {
      if (!Number.isInteger(partition) || partition < 0) return [];
      return readStatePartition(
        this.#client,
        stateTopicName(this.#internalPrefix, checkNamespace(namespace)),
        partition,
      );
    });
  }

  readStateChanges(namespace: string, partition: number, from: number): Promise<StateChanges> {
    return this.#guard(`reading the changes of state '${namespace}'`, () =>
      stateChangesOf(this.#client, this.#internalPrefix, namespace, partition, from),
    );
  }

  claimEpoch(owner: string, epoch: number): Promise<void> {
    const claim = async () => checkOwner(owner) ?? void (await this.#sessions.producerFor(owner, epoch));
    return this.#guard(`claiming owner '${owner}'`, claim);
  }

  deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    return this.#guard(`deleting topics ${String(names)}`, async () => {
      checkDeletableTopics(names, this.#internalPrefix);
      await this.#deleteTopics(names);
    });
  }

  async #deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    await deleteTopics(this.#client, names);
    this.#readAhead.clear();
    for (const name of names) {
      this.#watcher.forget(name);
      forgetCompactedTopic(this.#client, name);
    }
  }

  deleteGroups(groups: ReadonlyArray<string>): Promise<void> {
    return this.#guard(`deleting groups ${String(groups)}`, async () => {
      checkList('deleteGroups', 'group names', groups);
      await deleteGroups(this.#client, groups);
    });
  }

  forgetOwners(owners: ReadonlyArray<string>): Promise<void> {
    return this.#guard(`forgetting owners ${String(owners)}`, async () => {
      checkList('forgetOwners', 'owners', owners);
      for (const owner of owners) checkOwner(owner);
      for (const owner of owners) await this.#sessions.forget(owner);
    });
  }

  deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
    return this.#guard(`deleting state namespaces ${String(namespaces)}`, async () => {
      checkList('deleteStateNamespaces', 'namespaces', namespaces);
      await this.#deleteTopics(namespaces.map((ns) => stateTopicName(this.#internalPrefix, ns)));
    });
  }

  snapshot(request: SnapshotRequest): Promise<Snapshot> {
    return this.#guard(`taking a snapshot of group '${request.group}'`, async () =>
      takeSnapshot(
        {
          client: this.#client,
          stateTopic: stateTopicName(this.#internalPrefix, checkNamespace(request.namespace)),
          committedOffsets: (group) => this.committedOffsets(group),
          partitionsOf: async (topic) => (await this.#topics.meta(topic)).partitions.length,
        },
        request,
      ),
    );
  }

  waitForChange(options: WaitOptions): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return this.#watcher.waitForChange(options, this.#waiters);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#readAhead.clear();
    for (const wake of this.#waiters) wake();
    await this.#client.close();
  }
}

/** True when Kafka (or our metadata) said a topic is unknown, whether or not the retries gave up already. */
function mentionsUnknownTopic(err: unknown): boolean {
  const ids = isSlipwayError(err) ? err.details.kafkaErrors : kafkaErrorIds(err);
  return Array.isArray(ids) && ids.some((id) => id === 'UNKNOWN_TOPIC_OR_PARTITION' || id === 'UNKNOWN_TOPIC_ID');
}

function closedError(): SlipwayError {
  return new SlipwayError('SLIPWAY_LOG_CLOSED', 'The Kafka log is closed; open it again to use it.');
}

/**
 * The Log: the durable, partitioned record log under everything.
 * It knows topics, partitions, records, offsets, owners and epochs — nothing of pipelines or deployments.
 * Every engine (embedded SQLite, Kafka) implements this interface and passes the contract suite
 * in `contract.ts`.
 *
 * Offsets follow Kafka's convention: a committed offset is the offset of the *next* record to read.
 */

import type { UndecodableValue, ValueCodecs } from './value-codec.js';

/** Record headers: small string key/values carried beside the value. */
export type Headers = Record<string, string>;

/** A record as it is appended. */
export interface AppendRecord {
  /** Partition to write to. The caller partitions (see `partitionFor`). */
  partition: number;
  key: string | null;
  /** The value, as text (Slipway datasets store JSON). */
  value: string;
  headers?: Headers;
  /** Milliseconds since the epoch; defaults to the append time. */
  timestamp?: number;
}

/** A record as it is read back. */
export interface LogRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  headers: Headers;
  timestamp: number;
  /**
   * Set only on a topic read through a value codec (`withValueCodecs`) when the value could not be decoded:
   * why, and its original bytes. `value` is '' then. A runner dead-letters such a record with the reason.
   */
  undecodable?: UndecodableValue;
}

export interface TopicInfo {
  name: string;
  partitions: number;
}

export interface TopicPartition {
  topic: string;
  partition: number;
}

/** An offset for one topic partition. */
export interface PartitionOffset extends TopicPartition {
  offset: number;
}

/** One keyed state write; `value: null` deletes the key. */
export interface StateWrite {
  partition: number;
  key: string;
  value: string | null;
}

/**
 * Everything one processing step writes, committed atomically: all of it or none of it.
 * Refused with `SLIPWAY_FENCED` (nothing written) when `epoch` is not `owner`'s current epoch.
 */
export interface CommitBatch {
  /** The owner claiming the right to write (e.g. `pipeline:enrich-orders`). */
  owner: string;
  /** The epoch returned by `fence(owner)`. */
  epoch: number;
  /** Output records, by topic. */
  outputs?: ReadonlyArray<{ topic: string; records: ReadonlyArray<AppendRecord> }>;
  /** Keyed state writes, in one state namespace. */
  state?: { namespace: string; writes: ReadonlyArray<StateWrite> };
  /** Input offsets consumed, committed for `group`. */
  offsets?: { group: string; offsets: ReadonlyArray<PartitionOffset> };
}

export interface CommitResult {
  /** For each output topic, the offsets assigned to its records, in order. */
  offsets: Record<string, number[]>;
  /**
   * Engines with `readStateChanges`: for each state partition the commit wrote, the changelog position just past
   * its writes (where `readStateChanges` continues after them).
   */
  stateNext?: Record<number, number>;
}

/** What `readStateChanges` gives: writes since a changelog position, and where to continue. */
export interface StateChanges {
  changes: Array<[key: string, value: string | null]>;
  next: number;
}

export interface SnapshotRequest {
  group: string;
  namespace: string;
  /** State partitions to include. */
  partitions: number[];
  /** Topics whose end offsets (every partition) to include. */
  topics: string[];
}

export interface Snapshot {
  offsets: PartitionOffset[];
  state: Record<number, Array<[key: string, value: string]>>;
  endOffsets: PartitionOffset[];
}

export interface CreateTopicOptions {
  partitions: number;
  /**
   * Retention in ms (-1: forever), applied when the topic is created by an engine with native topic settings
   * (see `topicSettings`); an existing topic is left as it is. Engines without them ignore it.
   */
  retentionMs?: number;
}

/** A topic's settings as the engine keeps them natively. */
export interface TopicSettings {
  /** Effective retention in ms (-1: forever). */
  retentionMs: number;
}

/** Change notifications: a cheap way to wait for new data without busy polling. */
export interface WaitOptions {
  /** Give up after this many milliseconds (resolves false). */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The log interface every engine implements.
 *
 * @example
 * const log = await openEmbeddedLog({ path: '.slipway/log.db' })
 * await log.createTopic('orders.v1', { partitions: 4 })
 * await log.append('orders.v1', [{ partition: 0, key: 'o-1', value: '{"id":"o-1"}' }])
 * const records = await log.read('orders.v1', 0, 0, 100)
 */
export interface Log {
  /** Engine name, for messages and metrics (`embedded`, `kafka`). */
  readonly engine: string;

  /** Creates a topic; idempotent when it exists with the same partition count, `SLIPWAY_TOPIC_MISMATCH` otherwise. */
  createTopic(name: string, options: CreateTopicOptions): Promise<void>;
  /** The topic, or undefined when it does not exist. */
  describeTopic(name: string): Promise<TopicInfo | undefined>;
  listTopics(): Promise<TopicInfo[]>;
  /**
   * Optional: the topic's native settings (Kafka: its effective `retention.ms`), or undefined when it does not
   * exist. Engines without native topic settings leave it out; `src/topics` then records them itself.
   */
  topicSettings?(name: string): Promise<TopicSettings | undefined>;
  /**
   * Optional: grows a topic to `partitions` partitions (nothing when it has as many or more; never shrinks). Records
   * appended by key from then on may go to a new partition: readers see the new partitions when they next start.
   * `SLIPWAY_TOPIC_NOT_FOUND` when the topic does not exist.
   */
  growTopic?(name: string, partitions: number): Promise<void>;
  /** Optional, with `topicSettings`: changes a topic's native settings (Kafka: sets `retention.ms` on the topic). */
  setTopicSettings?(name: string, settings: TopicSettings): Promise<void>;

  /** Appends records outside any owner (producers, tests). Returns the assigned offsets, in order. */
  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]>;
  /**
   * Reads up to `max` records of one partition starting at `fromOffset` (inclusive). Offsets may have gaps (Kafka:
   * transaction markers, aborted and compacted records). Refused with `SLIPWAY_INVALID_OFFSET` when `fromOffset` is
   * before the partition's first record still kept (Kafka retention); `details.logStart` is that first offset then.
   */
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]>;
  /**
   * Where a reader that has read the whole partition stands: just past its last record (the high watermark where
   * offsets have no gaps).
   */
  endOffset(topic: string, partition: number): Promise<number>;
  /**
   * How many records reading the partition from its start up to `endOffset` gives: not offsets, so transaction
   * markers, aborted records and records removed by retention or compaction are not counted. Embedded and memory:
   * the end offset (offsets there are consecutive from 0). Kafka: counted by reading the partition, read-committed,
   * so it costs as much as reading it.
   */
  countRecords(topic: string, partition: number): Promise<number>;

  /** The committed offsets of a consumer group (only partitions it has committed). */
  committedOffsets(group: string): Promise<PartitionOffset[]>;
  /** Commits consumer-group offsets outside any owner (plain consumers). */
  commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void>;

  /** Claims ownership: bumps and returns `owner`'s epoch. Every commit under an older epoch is refused from now on. */
  fence(owner: string): Promise<number>;
  /** The owner's current epoch (0 when never fenced). */
  currentEpoch(owner: string): Promise<number>;
  /** Writes outputs, state and offsets atomically under an owner's epoch. */
  commit(batch: CommitBatch): Promise<CommitResult>;

  /** Every live key of one state namespace partition. */
  readState(namespace: string, partition: number): Promise<Array<[key: string, value: string]>>;
  /**
   * Optional, for engines whose `readState` costs a read of a changelog (Kafka): the state writes of one namespace
   * partition committed from changelog position `from` (0: from its start) up to now, the last write per key in the
   * order written (`null`: deleted), and the position to continue from; `from` -1 reads nothing and gives the
   * position of the end. A warm standby keeps its state current with
   * it and reads only the last delta at activation (see runtime/state-warmer.ts).
   */
  readStateChanges?(namespace: string, partition: number, from: number): Promise<StateChanges>;
  /**
   * Optional: gets ready to commit under `epoch` now rather than at the first commit (Kafka: takes over the
   * producer session the epoch was fenced with). Refused with `SLIPWAY_FENCED` when the epoch is not current.
   */
  claimEpoch?(owner: string, epoch: number): Promise<void>;

  /**
   * Optional, for engines that store values as bytes (Kafka): a handle on the same log whose `append`, `commit`
   * and `read` apply `codecs` to the values of the topics they name (other topics, state and offsets are as
   * before; the transaction of a commit is the same). The handle shares this one's connections; closing it
   * closes nothing. Engines without it store values as text: formats are checked as JSON there.
   */
  withValueCodecs?(codecs: ValueCodecs): Log;

  // Cleanup: what a finished run (a shadow run) leaves behind. Each call is idempotent: what does not exist is
  // skipped. None of them checks who still uses what it deletes: stop the readers and writers first.

  /**
   * Deletes topics with their records. Names starting with `__` (Kafka's and Slipway's internal topics) are refused
   * with `SLIPWAY_USAGE`. Consumer-group offsets of the topics go too (embedded, memory; Kafka drops them itself,
   * shortly after). A handle that uses a deleted topic later gets `SLIPWAY_TOPIC_NOT_FOUND`, or the new topic if one
   * was created under the same name since.
   */
  deleteTopics(names: ReadonlyArray<string>): Promise<void>;
  /**
   * Deletes consumer groups: their committed offsets (`committedOffsets` gives [] after). Kafka: DeleteGroups, which
   * refuses a group with active consumers (`SLIPWAY_KAFKA_REJECTED`).
   */
  deleteGroups(groups: ReadonlyArray<string>): Promise<void>;
  /**
   * Forgets owners: every commit under an epoch they had is refused from now on, `currentEpoch` gives 0, and a later
   * `fence` gives an epoch greater than any they had (so an old epoch never becomes valid again). Embedded and
   * memory: the epoch row goes. Kafka: the owner's transactional id is fenced once more and a tombstone goes to
   * the owners topic; Kafka cannot delete the transactional id itself: it expires after the broker's
   * `transactional.id.expiration.ms` (7 days by default) unused.
   */
  forgetOwners(owners: ReadonlyArray<string>): Promise<void>;
  /** Deletes state namespaces, every partition (`readState` gives [] after). Kafka: the namespace's changelog topic. */
  deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void>;

  /**
   * A consistent view as of one moment between commits: a group's committed offsets, the state of a
   * namespace for some partitions, and the end offsets of some topics. A shadow run starts from it.
   */
  snapshot(request: SnapshotRequest): Promise<Snapshot>;

  /**
   * Resolves true as soon as anything may have been appended or committed since the call,
   * false after `timeoutMs`. May resolve early (spurious wake-ups are allowed).
   */
  waitForChange(options: WaitOptions): Promise<boolean>;

  /** Idempotent. */
  close(): Promise<void>;
}

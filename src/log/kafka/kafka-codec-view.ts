/**
 * A handle on a Kafka log that applies value codecs (`Log.withValueCodecs`): `append`, `commit` and `read` encode
 * and decode the values of the codecs' topics; everything else is the shared handle's own. Each runner has its
 * own view (two versions of a pipeline read one topic with two reader schemas), over one set of connections,
 * owner sessions and read-ahead (which keeps raw bytes, so views with other codecs share it).
 */
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

/** The Kafka log's entry points that take codecs (internal). */
export interface CodedLog extends Log {
  appendWith(codecs: ValueCodecs | undefined, topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]>;
  readWith(
    codecs: ValueCodecs | undefined,
    topic: string,
    partition: number,
    fromOffset: number,
    max: number,
  ): Promise<LogRecord[]>;
  commitWith(codecs: ValueCodecs | undefined, batch: CommitBatch): Promise<CommitResult>;
}

export class KafkaCodecView implements Log {
  readonly engine: string;

  constructor(
    private readonly base: CodedLog,
    private readonly codecs: ValueCodecs,
  ) {
    this.engine = base.engine;
  }

  withValueCodecs(codecs: ValueCodecs): Log {
    return new KafkaCodecView(this.base, codecs);
  }
  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.base.appendWith(this.codecs, topic, records);
  }
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.base.readWith(this.codecs, topic, partition, fromOffset, max);
  }
  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.base.commitWith(this.codecs, batch);
  }
  /** The view owns no connection: closing it leaves the shared handle open. */
  async close(): Promise<void> {}

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.base.createTopic(name, options);
  }
  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.base.describeTopic(name);
  }
  listTopics(): Promise<TopicInfo[]> {
    return this.base.listTopics();
  }
  topicSettings(name: string): Promise<TopicSettings | undefined> {
    return (this.base.topicSettings as NonNullable<Log['topicSettings']>).call(this.base, name);
  }
  growTopic(name: string, partitions: number): Promise<void> {
    return (this.base.growTopic as NonNullable<Log['growTopic']>).call(this.base, name, partitions);
  }
  setTopicSettings(name: string, settings: TopicSettings): Promise<void> {
    return (this.base.setTopicSettings as NonNullable<Log['setTopicSettings']>).call(this.base, name, settings);
  }
  endOffset(topic: string, partition: number): Promise<number> {
    return this.base.endOffset(topic, partition);
  }
  countRecords(topic: string, partition: number): Promise<number> {
    return this.base.countRecords(topic, partition);
  }
  committedOffsets(group: string): Promise<PartitionOffset[]> {
    return this.base.committedOffsets(group);
  }
  commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    return this.base.commitOffsets(group, offsets);
  }
  fence(owner: string): Promise<number> {
    return this.base.fence(owner);
  }
  currentEpoch(owner: string): Promise<number> {
    return this.base.currentEpoch(owner);
  }
  readState(namespace: string, partition: number): Promise<Array<[key: string, value: string]>> {
    return this.base.readState(namespace, partition);
  }
  readStateChanges(namespace: string, partition: number, from: number): Promise<StateChanges> {
    return (this.base.readStateChanges as NonNullable<Log['readStateChanges']>).call(
      this.base,
      namespace,
      partition,
      from,
    );
  }
  claimEpoch(owner: string, epoch: number): Promise<void> {
    return (this.base.claimEpoch as NonNullable<Log['claimEpoch']>).call(this.base, owner, epoch);
  }
  deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    return this.base.deleteTopics(names);
  }
  deleteGroups(groups: ReadonlyArray<string>): Promise<void> {
    return this.base.deleteGroups(groups);
  }
  forgetOwners(owners: ReadonlyArray<string>): Promise<void> {
    return this.base.forgetOwners(owners);
  }
  deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
    return this.base.deleteStateNamespaces(namespaces);
  }
  snapshot(request: SnapshotRequest): Promise<Snapshot> {
    return this.base.snapshot(request);
  }
  waitForChange(options: WaitOptions): Promise<boolean> {
    return this.base.waitForChange(options);
  }
}

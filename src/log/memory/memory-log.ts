import { SlipwayError } from '../../errors.js';
import type {
  AppendRecord,
  CommitBatch,
  CommitResult,
  CreateTopicOptions,
  Headers,
  Log,
  LogRecord,
  PartitionOffset,
  Snapshot,
  SnapshotRequest,
  TopicInfo,
  WaitOptions,
} from '../log.js';
import {
  checkDeletableTopics,
  checkList,
  checkOffset,
  checkPartition,
  checkRecordFields,
  checkTopicName,
} from '../log-checks.js';

/** The data of an in-memory log; several handles (`openMemoryLog({ store })`) can share one. */
export class MemoryLogStore {
  readonly topics = new Map<string, LogRecord[][]>();
  readonly groups = new Map<string, Map<string, PartitionOffset>>();
  readonly owners = new Map<string, number>();
  /** The highest epoch a forgotten owner had: a first fence starts above it, so an old epoch is never valid again. */
  epochFloor = 0;
  readonly state = new Map<string, Map<number, Map<string, string>>>();
  readonly waiters = new Set<() => void>();

  notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

const NO_HEADERS: Headers = Object.freeze({}) as Headers;

/**
 * The Log in memory: no files, no threads, nothing to clean up. Same contract as the embedded and
 * Kafka engines (it runs the same contract suite), made for unit tests of pipelines (`slipway/testing`).
 * Not durable: the data lives as long as the store object.
 *
 * @example
 * const log = await openMemoryLog()
 */
export async function openMemoryLog(options: { store?: MemoryLogStore } = {}): Promise<Log> {
  return new MemoryLog(options.store ?? new MemoryLogStore());
}

class MemoryLog implements Log {
  readonly engine = 'memory';
  readonly #s: MemoryLogStore;
  #closed = false;

  constructor(store: MemoryLogStore) {
    this.#s = store;
  }

  #open(): void {
    if (this.#closed)
      throw new SlipwayError('SLIPWAY_LOG_CLOSED', 'The in-memory log handle is closed; open another one.');
  }

  #partitions(topic: string): LogRecord[][] {
    const parts = this.#s.topics.get(topic);
    if (parts === undefined) {
      throw new SlipwayError('SLIPWAY_TOPIC_NOT_FOUND', `Topic '${topic}' does not exist. Create it first.`, {
        details: { topic },
      });
    }
    return parts;
  }

  #partition(topic: string, partition: number): LogRecord[] {
    const parts = this.#partitions(topic);
    const p = Number.isInteger(partition) ? parts[partition] : undefined;
    if (p === undefined) checkPartition(topic, parts.length, partition);
    return p as LogRecord[];
  }

  async #run<T>(fn: () => T): Promise<T> {
    this.#open();
    return fn();
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.#run(() => {
      checkTopicName(name, options.partitions);
      const existing = this.#s.topics.get(name);
      if (existing !== undefined) {
        if (existing.length !== options.partitions) {
          throw new SlipwayError(
            'SLIPWAY_TOPIC_MISMATCH',
            `Topic '${name}' exists with ${existing.length} partitions, not ${options.partitions}.`,
            { details: { topic: name, existing: existing.length, wanted: options.partitions } },
          );
        }
        return;
      }
      this.#s.topics.set(
        name,
        Array.from({ length: options.partitions }, () => []),
      );
      this.#s.notify();
    });
  }

  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.#run(() => {
      const parts = this.#s.topics.get(name);
      return parts === undefined ? undefined : { name, partitions: parts.length };
    });
  }

  listTopics(): Promise<TopicInfo[]> {
    return this.#run(() =>
      [...this.#s.topics]
        .map(([name, parts]) => ({ name, partitions: parts.length }))
        .sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
  }

  /** Checks everything an append needs, so nothing is written when any of it is wrong. */
  #checkAppend(topic: string, records: ReadonlyArray<AppendRecord>): void {
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as AppendRecord;
      this.#partition(topic, r.partition);
      checkRecordFields(topic, r, i);
    }
  }

  #appendChecked(topic: string, records: ReadonlyArray<AppendRecord>, now: number): number[] {
    const parts = this.#partitions(topic);
    const offsets = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as AppendRecord;
      const part = parts[r.partition] as LogRecord[];
      const offset = part.length;
      part.push(
        Object.freeze({
          topic,
          partition: r.partition,
          offset,
          key: r.key,
          value: r.value,
          headers: r.headers === undefined ? NO_HEADERS : Object.freeze({ ...r.headers }),
          timestamp: r.timestamp ?? now,
        }),
      );
      offsets[i] = offset;
    }
    return offsets;
  }

  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.#run(() => {
      this.#checkAppend(topic, records);
      const offsets = this.#appendChecked(topic, records, Date.now());
      this.#s.notify();
      return offsets;
    });
  }

  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.#run(() => {
      const part = this.#partition(topic, partition);
      checkOffset(fromOffset, 'The offset to read from');
      return part.slice(fromOffset, fromOffset + Math.max(0, Math.floor(max)));
    });
  }

  endOffset(topic: string, partition: number): Promise<number> {
    return this.#run(() => this.#partition(topic, partition).length);
  }

  countRecords(topic: string, partition: number): Promise<number> {
    return this.endOffset(topic, partition);
  }

  committedOffsets(group: string): Promise<PartitionOffset[]> {
    return this.#run(() =>
      [...(this.#s.groups.get(group)?.values() ?? [])]
        .map((o) => ({ ...o }))
        .sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1)),
    );
  }

  #checkOffsets(offsets: ReadonlyArray<PartitionOffset>): void {
    for (const o of offsets) {
      this.#partition(o.topic, o.partition);
      checkOffset(o.offset, `The committed offset of ${o.topic}/${o.partition}`);
    }
  }

  #commitOffsetsChecked(group: string, offsets: ReadonlyArray<PartitionOffset>): void {
    let g = this.#s.groups.get(group);
    if (g === undefined) {
      g = new Map();
      this.#s.groups.set(group, g);
    }
    for (const o of offsets)
      g.set(`${o.topic}/${o.partition}`, { topic: o.topic, partition: o.partition, offset: o.offset });
  }

  commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    return this.#run(() => {
      this.#checkOffsets(offsets);
      this.#commitOffsetsChecked(group, offsets);
      this.#s.notify();
    });
  }

  fence(owner: string): Promise<number> {
    return this.#run(() => {
      const epoch = (this.#s.owners.get(owner) ?? this.#s.epochFloor) + 1;
      this.#s.owners.set(owner, epoch);
      this.#s.notify();
      return epoch;
    });
  }

  currentEpoch(owner: string): Promise<number> {
    return this.#run(() => this.#s.owners.get(owner) ?? 0);
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    return this.#run(() => {
      const current = this.#s.owners.get(batch.owner) ?? 0;
      if (current !== batch.epoch) {
        throw new SlipwayError(
          'SLIPWAY_FENCED',
          `Commit refused: owner '${batch.owner}' is at epoch ${current}, this writer holds epoch ${batch.epoch}. Another instance has taken over; this one must stop writing.`,
          { details: { owner: batch.owner, epoch: batch.epoch, currentEpoch: current } },
        );
      }
      // Check all of it first: a commit is all or nothing.
      for (const out of batch.outputs ?? []) this.#checkAppend(out.topic, out.records);
      if (batch.offsets !== undefined) this.#checkOffsets(batch.offsets.offsets);
      const now = Date.now();
      const offsets: Record<string, number[]> = {};
      for (const out of batch.outputs ?? []) {
        const assigned = this.#appendChecked(out.topic, out.records, now);
        offsets[out.topic] = (offsets[out.topic] ?? []).concat(assigned);
      }
      if (batch.state !== undefined) {
        let ns = this.#s.state.get(batch.state.namespace);
        if (ns === undefined) {
          ns = new Map();
          this.#s.state.set(batch.state.namespace, ns);
        }
        for (const w of batch.state.writes) {
          let part = ns.get(w.partition);
          if (part === undefined) {
            part = new Map();
            ns.set(w.partition, part);
          }
          if (w.value === null) part.delete(w.key);
          else part.set(w.key, w.value);
        }
      }
      if (batch.offsets !== undefined) this.#commitOffsetsChecked(batch.offsets.group, batch.offsets.offsets);
      this.#s.notify();
      return { offsets };
    });
  }

  #stateOf(namespace: string, partition: number): Array<[string, string]> {
    const part = this.#s.state.get(namespace)?.get(partition);
    if (part === undefined) return [];
    return [...part].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  readState(namespace: string, partition: number): Promise<Array<[string, string]>> {
    return this.#run(() => this.#stateOf(namespace, partition));
  }

  snapshot(request: SnapshotRequest): Promise<Snapshot> {
    return this.#run(() => {
      const offsets = [...(this.#s.groups.get(request.group)?.values() ?? [])].map((o) => ({ ...o }));
      const state: Snapshot['state'] = {};
      for (const p of request.partitions) state[p] = this.#stateOf(request.namespace, p);
      const endOffsets: PartitionOffset[] = [];
      for (const topic of request.topics) {
        this.#partitions(topic).forEach((part, partition) => {
          endOffsets.push({ topic, partition, offset: part.length });
        });
      }
      return { offsets, state, endOffsets };
    });
  }

  deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    return this.#run(() => {
      checkDeletableTopics(names);
      for (const name of names) {
        if (!this.#s.topics.delete(name)) continue;
        for (const group of this.#s.groups.values()) {
          for (const [key, o] of group) if (o.topic === name) group.delete(key);
        }
      }
      this.#s.notify();
    });
  }

  deleteGroups(groups: ReadonlyArray<string>): Promise<void> {
    return this.#run(() => {
      checkList('deleteGroups', 'group names', groups);
      for (const group of groups) this.#s.groups.delete(group);
    });
  }

  forgetOwners(owners: ReadonlyArray<string>): Promise<void> {
    return this.#run(() => {
      checkList('forgetOwners', 'owners', owners);
      for (const owner of owners) {
        this.#s.epochFloor = Math.max(this.#s.epochFloor, this.#s.owners.get(owner) ?? 0);
        this.#s.owners.delete(owner);
      }
    });
  }

  deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
    return this.#run(() => {
      checkList('deleteStateNamespaces', 'namespaces', namespaces);
      for (const ns of namespaces) this.#s.state.delete(ns);
    });
  }

  waitForChange(options: WaitOptions): Promise<boolean> {
    if (this.#closed || options.signal?.aborted) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const finish = (changed: boolean): void => {
        clearTimeout(timer);
        this.#s.waiters.delete(wake);
        options.signal?.removeEventListener('abort', onAbort);
        resolve(changed);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), options.timeoutMs);
      this.#s.waiters.add(wake);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}

import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SlipwayError } from '../../errors.js';
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
  TopicInfo,
  WaitOptions,
} from '../log.js';
import { checkDeletableTopics, checkList, checkOffset, checkRecordFields, checkTopicName } from '../log-checks.js';
import { LastBatchCache } from './batch-cache.js';
import { retryBusy } from './busy-retry.js';
import { ChangeWatcher } from './change-watcher.js';
import { CommitWriter } from './commit-writer.js';
import type { PackedBatch } from './packed-batch.js';
import { blobOf, decodeBatches, type EncodedRecords, encodeRecords, type StoredBatch } from './record-batch.js';
import { migrateSchema, prepareStatements, type SharedStatements } from './schema.js';
import { translateSqliteError } from './sqlite-errors.js';
import { type TopicRow, TopicTables } from './topic-tables.js';

export interface EmbeddedLogOptions {
  /** Path of the SQLite file; created with its folder when missing. `:memory:` for a private in-process log. */
  path: string;
  /**
   * Refuse a file that does not exist with `SLIPWAY_LOG_NOT_FOUND` instead of creating it (and its folder):
   * for callers that only read, where a missing file means a mistyped path (default false).
   */
  mustExist?: boolean;
  /** How long a write waits for another process's write lock, in ms (default 10,000). */
  busyTimeoutMs?: number;
  /**
   * `normal` (default) survives a killed process; `full` also survives power loss, at a cost per commit.
   */
  durability?: 'normal' | 'full';
  /** How often `waitForChange` looks for commits by other processes, in ms (default 1). */
  pollIntervalMs?: number;
  /**
   * Run `commit` on a worker thread with its own connection, so a runner processes its next batch
   * while the last one is written (default false). The thread is up when `openEmbeddedLog` resolves.
   */
  commitThread?: boolean;
}

/**
 * Opens (or creates) the embedded log: one SQLite file in WAL mode, shared safely by several processes.
 * Outputs, state and offsets live in one database, so a commit is one SQLite transaction.
 *
 * @example
 * const log = await openEmbeddedLog({ path: '.slipway/log.db' })
 */
export async function openEmbeddedLog(options: EmbeddedLogOptions): Promise<Log> {
  const log = EmbeddedLog.open(options);
  await log.ready();
  return log;
}

function logNotFound(path: string, cause?: unknown): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_LOG_NOT_FOUND',
    `No embedded log at ${path}; nothing was created. Check the path, or open it without mustExist to create it.`,
    { details: { path }, ...(cause === undefined ? {} : { cause }) },
  );
}

/** The embedded log (internal: users open it with `openEmbeddedLog`; the commit thread uses `commitPacked`). */
export class EmbeddedLog implements Log {
  readonly engine = 'embedded';
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #tables: TopicTables;
  readonly #changes: ChangeWatcher;
  readonly #lastBatches = new LastBatchCache();
  #closed = false;
  #writer: CommitWriter | undefined;
  readonly #busyTimeoutMs: number;
  readonly #writerOptions: EmbeddedLogOptions | undefined;

  readonly #s: SharedStatements;

  private constructor(
    db: Database.Database,
    path: string,
    pollIntervalMs: number,
    busyTimeoutMs: number,
    writerOptions?: EmbeddedLogOptions,
  ) {
    this.#db = db;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#writerOptions = writerOptions;
    this.#path = path;
    this.#s = prepareStatements(db);
    this.#tables = new TopicTables(db, this.#s, path);
    const dataVersion = this.#s.dataVersion;
    this.#changes = new ChangeWatcher(() => dataVersion.get() as number, pollIntervalMs);
    // Started now, not at the first commit: a runner's first commit (at a cutover) must not wait for a thread to boot.
    if (writerOptions !== undefined) this.#writer = new CommitWriter(writerOptions);
  }

  static open(options: EmbeddedLogOptions): EmbeddedLog {
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
    const mustExist = (options.mustExist ?? false) && path !== ':memory:';
    if (mustExist && !existsSync(path)) throw logNotFound(path);
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:' && !mustExist) mkdirSync(dirname(path), { recursive: true });
      // SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, which shows up as latency
      // spikes when two processes write; #guard retries with much shorter waits instead.
      // fileMustExist: a file removed since the check above is not created either.
      db = new Database(path, { timeout: 0, fileMustExist: mustExist });
      const opened = db;
      const busyTimeoutMs = options.busyTimeoutMs ?? 10_000;
      retryBusy(() => {
        if (path !== ':memory:') opened.pragma('journal_mode = WAL');
        opened.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
        migrateSchema(opened, path);
      }, busyTimeoutMs);
      const threaded = (options.commitThread ?? false) && path !== ':memory:';
      return new EmbeddedLog(
        db,
        path,
        options.pollIntervalMs ?? 1,
        busyTimeoutMs,
        threaded ? { ...options, path } : undefined,
      );
    } catch (err) {
      db?.close();
      if (mustExist && !existsSync(path)) throw logNotFound(path, err);
      throw translateSqliteError(err, path);
    }
  }

  #guard<T>(fn: () => T): Promise<T> {
    if (this.#closed) {
      return Promise.reject(
        new SlipwayError('SLIPWAY_LOG_CLOSED', `The embedded log ${this.#path} is closed; open it again to use it.`),
      );
    }
    try {
      return Promise.resolve(this.#run(fn));
    } catch (err) {
      return Promise.reject(translateSqliteError(err, this.#path));
    }
  }

  #run<T>(fn: () => T): T {
    try {
      return retryBusy(fn, this.#busyTimeoutMs);
    } catch (err) {
      // A topic another connection deleted is still cached here; its table is gone (SQLITE_ERROR, no such table).
      // Forget the caches and run once more (fn's transaction rolled back): the topic is then looked up afresh.
      if ((err as { code?: unknown }).code !== 'SQLITE_ERROR' || !this.#tables.cached) throw err;
      this.#forgetCaches();
      return retryBusy(fn, this.#busyTimeoutMs);
    }
  }

  #forgetCaches(): void {
    this.#tables.clear();
    this.#lastBatches.clear();
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.#guard(() => {
      checkTopicName(name, options.partitions);
      this.#db.transaction(() => this.#tables.createIn(name, options.partitions)).immediate();
      this.#notify();
    });
  }

  growTopic(name: string, partitions: number): Promise<void> {
    return this.#guard(() => {
      checkTopicName(name, partitions);
      this.#db.transaction(() => this.#tables.growIn(name, partitions)).immediate();
      this.#notify();
    });
  }

  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.#guard(() => {
      const row = this.#s.topicByName.get(name) as TopicRow | undefined;
      return row === undefined ? undefined : { name, partitions: row.partitions };
    });
  }

  listTopics(): Promise<TopicInfo[]> {
    return this.#guard(() => this.#s.allTopics.all() as TopicInfo[]);
  }

  /** Appends inside the caller's transaction; returns the assigned offsets. */
  #appendIn(topic: string, records: ReadonlyArray<AppendRecord>, now: number): number[] {
    const encoded = encodeRecords(records);
    if (encoded === undefined) this.#refuse(topic, records);
    return this.#insertIn(topic, encoded, now);
  }

  /** Throws the error for the first malformed record (encodeRecords found one). */
  #refuse(topic: string, records: ReadonlyArray<AppendRecord>): never {
    const row = this.#tables.row(topic);
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as AppendRecord;
      this.#tables.partition(topic, row, r.partition);
      checkRecordFields(topic, r, i);
    }
    throw new SlipwayError('SLIPWAY_VALIDATION', `The records for '${topic}' could not be encoded.`, {
      details: { topic },
    });
  }

  /** Writes encoded records inside the caller's transaction: one row per batch; returns the assigned offsets. */
  #insertIn(topic: string, encoded: EncodedRecords, now: number): number[] {
    const row = this.#tables.row(topic);
    // Indexed by partition: the first offset of this append, then the next offset to assign.
    const first: number[] = [];
    const next: number[] = [];
    for (const b of encoded.batches) {
      const p = b.partition;
      let base = next[p];
      if (base === undefined) {
        this.#tables.partition(topic, row, p);
        base = this.#s.nextOffset.get(row.id, p) as number;
        first[p] = base;
      }
      // One commit time for the batch, or every record's own (NaN: the commit time).
      const ts =
        b.timestamps === undefined ? now : blobOf(Float64Array.from(b.timestamps, (t) => (Number.isNaN(t) ? now : t)));
      this.#tables.statements(row, p).insert.run(base, b.count, blobOf(b.lengths), b.keys, b.values, b.headers, ts);
      next[p] = base + b.count;
    }
    next.forEach((offset, p) => {
      this.#s.setNextOffset.run(offset, row.id, p);
    });
    const offsets = new Array<number>(encoded.count);
    const parts = encoded.partitions;
    for (let i = 0; i < offsets.length; i++) {
      const p = parts[i] as number;
      const o = first[p] as number;
      offsets[i] = o;
      first[p] = o + 1;
    }
    return offsets;
  }

  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.#guard(() => {
      const now = Date.now();
      const offsets = this.#db.transaction(() => this.#appendIn(topic, records, now)).immediate();
      this.#notify();
      return offsets;
    });
  }

  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.#guard(() => {
      const row = this.#tables.row(topic);
      this.#tables.partition(topic, row, partition);
      checkOffset(fromOffset, 'The offset to read from');
      const n = max >= 0 ? Math.min(Math.floor(max), Number.MAX_SAFE_INTEGER) : 0;
      const out: LogRecord[] = [];
      if (n === 0) return out;
      const st = this.#tables.statements(row, partition);
      const kept = this.#lastBatches.holding(st.table, fromOffset);
      if (kept === undefined) {
        const rows = st.read.all(fromOffset, fromOffset + n) as StoredBatch[];
        decodeBatches(rows, topic, partition, fromOffset, n, out);
        this.#lastBatches.keep(st.table, rows);
        return out;
      }
      decodeBatches([kept], topic, partition, fromOffset, n, out);
      if (out.length < n) {
        const end = kept[0] + kept[1];
        const rows = st.readFrom.all(end, fromOffset + n) as StoredBatch[];
        decodeBatches(rows, topic, partition, end, n, out);
        this.#lastBatches.keep(st.table, rows);
      }
      return out;
    });
  }

  endOffset(topic: string, partition: number): Promise<number> {
    return this.#guard(() => {
      const row = this.#tables.row(topic);
      this.#tables.partition(topic, row, partition);
      return this.#s.nextOffset.get(row.id, partition) as number;
    });
  }

  countRecords(topic: string, partition: number): Promise<number> {
    // Offsets are consecutive from 0 and nothing is ever removed: the end offset is the count.
    return this.endOffset(topic, partition);
  }

  committedOffsets(group: string): Promise<PartitionOffset[]> {
    return this.#guard(() =>
      (this.#s.groupOffsets.all(group) as Array<[string, number, number]>).map(([topic, partition, offset]) => ({
        topic,
        partition,
        offset,
      })),
    );
  }

  #commitOffsetsIn(group: string, offsets: ReadonlyArray<PartitionOffset>): void {
    for (const o of offsets) {
      const row = this.#tables.row(o.topic);
      this.#tables.partition(o.topic, row, o.partition);
      checkOffset(o.offset, `The committed offset of ${o.topic}/${o.partition}`);
      this.#s.upsertGroupOffset.run(group, row.id, o.partition, o.offset);
    }
  }

  commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    return this.#guard(() => {
      this.#db.transaction(() => this.#commitOffsetsIn(group, offsets)).immediate();
      this.#notify();
    });
  }

  fence(owner: string): Promise<number> {
    return this.#guard(() => {
      const epoch = this.#db.transaction(() => this.#s.fence.get(owner) as number).immediate();
      this.#notify();
      return epoch;
    });
  }

  currentEpoch(owner: string): Promise<number> {
    return this.#guard(() => (this.#s.epoch.get(owner) as number | undefined) ?? 0);
  }

  commit(batch: CommitBatch): Promise<CommitResult> {
    if (this.#writerOptions !== undefined && !this.#closed) {
      this.#writer ??= new CommitWriter(this.#writerOptions);
      return this.#writer.commit(batch).then((result) => {
        this.#notify();
        return result;
      });
    }
    return this.#commitIn(batch, undefined);
  }

  /** Commits a batch packed by the main thread (the commit thread calls this). */
  commitPacked(batch: PackedBatch): Promise<CommitResult> {
    return this.#commitIn(batch, batch.packed);
  }

  #commitIn(
    batch: Omit<CommitBatch, 'outputs'> & Pick<CommitBatch, 'outputs'>,
    packed: PackedBatch['packed'] | undefined,
  ): Promise<CommitResult> {
    return this.#guard(() => {
      const now = Date.now();
      const result = this.#db
        .transaction((): CommitResult => {
          const current = (this.#s.epoch.get(batch.owner) as number | undefined) ?? 0;
          if (current !== batch.epoch) {
            throw new SlipwayError(
              'SLIPWAY_FENCED',
              `Commit refused: owner '${batch.owner}' is at epoch ${current}, this writer holds epoch ${batch.epoch}. ` +
                'Another instance has taken over; this one must stop writing.',
              { details: { owner: batch.owner, epoch: batch.epoch, currentEpoch: current } },
            );
          }
          const offsets: Record<string, number[]> = {};
          const add = (topic: string, assigned: number[]): void => {
            const prior = offsets[topic];
            offsets[topic] = prior === undefined ? assigned : prior.concat(assigned);
          };
          if (packed !== undefined)
            for (const out of packed) add(out.topic, this.#insertIn(out.topic, out.encoded, now));
          else for (const out of batch.outputs ?? []) add(out.topic, this.#appendIn(out.topic, out.records, now));
          if (batch.state !== undefined) {
            const ns = batch.state.namespace;
            for (const w of batch.state.writes) {
              if (w.value === null) this.#s.stateDelete.run(ns, w.partition, w.key);
              else this.#s.stateUpsert.run(ns, w.partition, w.key, w.value);
            }
          }
          if (batch.offsets !== undefined) this.#commitOffsetsIn(batch.offsets.group, batch.offsets.offsets);
          return { offsets };
        })
        .immediate();
      this.#notify();
      return result;
    });
  }

  /** Resolves once the commit thread (if any) has its connection open. */
  async ready(): Promise<void> {
    try {
      await this.#writer?.ready;
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  snapshot(request: SnapshotRequest): Promise<Snapshot> {
    return this.#guard(() =>
      // One read transaction: every part sees the same committed state of the database.
      this.#db.transaction((): Snapshot => {
        const offsets = (this.#s.groupOffsets.all(request.group) as Array<[string, number, number]>).map(
          ([topic, partition, offset]) => ({ topic, partition, offset }),
        );
        const state: Snapshot['state'] = {};
        for (const p of request.partitions)
          state[p] = this.#s.stateAll.all(request.namespace, p) as Array<[string, string]>;
        const endOffsets: PartitionOffset[] = [];
        for (const topic of request.topics) {
          const row = this.#tables.row(topic);
          for (let p = 0; p < row.partitions; p++) {
            endOffsets.push({ topic, partition: p, offset: this.#s.nextOffset.get(row.id, p) as number });
          }
        }
        return { offsets, state, endOffsets };
      })(),
    );
  }

  readState(namespace: string, partition: number): Promise<Array<[string, string]>> {
    return this.#guard(() => this.#s.stateAll.all(namespace, partition) as Array<[string, string]>);
  }

  deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    return this.#guard(() => {
      checkDeletableTopics(names);
      if (!this.#db.transaction(() => this.#tables.deleteIn(names)).immediate()) return;
      this.#forgetCaches();
      this.#notify();
    });
  }

  deleteGroups(groups: ReadonlyArray<string>): Promise<void> {
    return this.#guard(() => {
      checkList('deleteGroups', 'group names', groups);
      this.#db
        .transaction(() => {
          for (const group of groups) this.#s.deleteGroup.run(group);
        })
        .immediate();
    });
  }

  forgetOwners(owners: ReadonlyArray<string>): Promise<void> {
    return this.#guard(() => {
      checkList('forgetOwners', 'owners', owners);
      this.#db
        .transaction(() => {
          for (const owner of owners) {
            const epoch = this.#s.forgetOwner.get(owner) as number | undefined;
            if (epoch !== undefined) this.#s.raiseEpochFloor.run(epoch);
          }
        })
        .immediate();
    });
  }

  deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
    return this.#guard(() => {
      checkList('deleteStateNamespaces', 'namespaces', namespaces);
      this.#db
        .transaction(() => {
          for (const ns of namespaces) this.#s.deleteNamespace.run(ns);
        })
        .immediate();
    });
  }

  #notify(): void {
    this.#changes.notify();
  }

  waitForChange(options: WaitOptions): Promise<boolean> {
    return this.#changes.wait(options);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#changes.close();
    this.#lastBatches.clear();
    await this.#writer?.close();
    try {
      this.#db.close();
    } catch {
      // Closing twice or after a fatal error: nothing left to release.
    }
  }
}

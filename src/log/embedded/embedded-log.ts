import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
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
import { retryBusy } from './busy-retry.js';
import { CommitWriter } from './commit-writer.js';
import { encodeHeaders } from './packed-batch.js';
import { migrateSchema } from './schema.js';
import { translateSqliteError } from './sqlite-errors.js';

export interface EmbeddedLogOptions {
  /** Path of the SQLite file; created with its folder when missing. `:memory:` for a private in-process log. */
  path: string;
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

interface TopicRow {
  id: number;
  partitions: number;
}

/** Statements of one partition's table. */
interface PartitionStatements {
  insert1: Database.Statement;
  insertN: Database.Statement;
  read: Database.Statement;
}

/** Rows per multi-row INSERT: fewer statement runs, measurably faster appends. */
const ROWS_PER_INSERT = 32;

/**
 * Each partition is its own rowid table whose rowid is the offset: appends go to the end of one
 * B-tree and reads are rowid range scans, the fastest paths SQLite has.
 */
function partitionTable(topicId: number, partition: number): string {
  return `p_${topicId}_${partition}`;
}

type Stmt = Database.Statement;

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

class EmbeddedLog implements Log {
  readonly engine = 'embedded';
  readonly #db: Database.Database;
  readonly #path: string;
  readonly #pollIntervalMs: number;
  readonly #topics = new Map<string, TopicRow>();
  readonly #partitionStatements = new Map<string, PartitionStatements>();
  readonly #waiters = new Set<() => void>();
  #closed = false;
  #dataVersion = 0;
  #writer: CommitWriter | undefined;
  readonly #busyTimeoutMs: number;
  readonly #writerOptions: EmbeddedLogOptions | undefined;

  readonly #s: {
    topicByName: Stmt;
    allTopics: Stmt;
    insertTopic: Stmt;
    insertPartition: Stmt;
    nextOffset: Stmt;
    setNextOffset: Stmt;
    groupOffsets: Stmt;
    upsertGroupOffset: Stmt;
    epoch: Stmt;
    fence: Stmt;
    stateAll: Stmt;
    stateUpsert: Stmt;
    stateDelete: Stmt;
    dataVersion: Stmt;
  };

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
    this.#pollIntervalMs = pollIntervalMs;
    this.#s = {
      topicByName: db.prepare('SELECT id, partitions FROM topics WHERE name = ?'),
      allTopics: db.prepare('SELECT name, partitions FROM topics ORDER BY name'),
      insertTopic: db.prepare('INSERT INTO topics (name, partitions) VALUES (?, ?)'),
      insertPartition: db.prepare('INSERT INTO partitions (topic_id, partition, next_offset) VALUES (?, ?, 0)'),
      nextOffset: db.prepare('SELECT next_offset FROM partitions WHERE topic_id = ? AND partition = ?').pluck(),
      setNextOffset: db.prepare('UPDATE partitions SET next_offset = ? WHERE topic_id = ? AND partition = ?'),
      groupOffsets: db
        .prepare(
          'SELECT t.name, g.partition, g.offset FROM group_offsets g JOIN topics t ON t.id = g.topic_id WHERE g.grp = ? ORDER BY t.name, g.partition',
        )
        .raw(),
      upsertGroupOffset: db.prepare(
        'INSERT INTO group_offsets (grp, topic_id, partition, offset) VALUES (?, ?, ?, ?) ON CONFLICT (grp, topic_id, partition) DO UPDATE SET offset = excluded.offset',
      ),
      epoch: db.prepare('SELECT epoch FROM owners WHERE owner = ?').pluck(),
      fence: db
        .prepare(
          'INSERT INTO owners (owner, epoch) VALUES (?, 1) ON CONFLICT (owner) DO UPDATE SET epoch = epoch + 1 RETURNING epoch',
        )
        .pluck(),
      stateAll: db.prepare('SELECT key, value FROM state WHERE ns = ? AND partition = ? ORDER BY key').raw(),
      stateUpsert: db.prepare(
        'INSERT INTO state (ns, partition, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (ns, partition, key) DO UPDATE SET value = excluded.value',
      ),
      stateDelete: db.prepare('DELETE FROM state WHERE ns = ? AND partition = ? AND key = ?'),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
    };
    this.#dataVersion = this.#s.dataVersion.get() as number;
    // Started now, not at the first commit: a runner's first commit (at a cutover) must not wait for a thread to boot.
    if (writerOptions !== undefined) this.#writer = new CommitWriter(writerOptions);
  }

  static open(options: EmbeddedLogOptions): EmbeddedLog {
    const path = options.path === ':memory:' ? ':memory:' : resolve(options.path);
    let db: Database.Database | undefined;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
      // SQLite's own busy handler sleeps 1, 2, 5, 10… ms between tries, which shows up as latency
      // spikes when two processes write; #guard retries with much shorter waits instead.
      db = new Database(path, { timeout: 0 });
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
      return Promise.resolve(retryBusy(fn, this.#busyTimeoutMs));
    } catch (err) {
      return Promise.reject(translateSqliteError(err, this.#path));
    }
  }

  #topic(name: string): TopicRow {
    let row = this.#topics.get(name);
    if (row === undefined) {
      row = this.#s.topicByName.get(name) as TopicRow | undefined;
      if (row === undefined) {
        throw new SlipwayError(
          'SLIPWAY_TOPIC_NOT_FOUND',
          `Topic '${name}' does not exist in ${this.#path}. Create it first (pipelines create their topics when they start; \`slipway topics\` lists them).`,
          { details: { topic: name } },
        );
      }
      this.#topics.set(name, row);
    }
    return row;
  }

  #partition(topic: string, row: TopicRow, partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= row.partitions) {
      throw new SlipwayError(
        'SLIPWAY_PARTITION_NOT_FOUND',
        `Partition ${partition} is not in topic '${topic}', which has partitions 0..${row.partitions - 1}.`,
        { details: { topic, partition, partitions: row.partitions } },
      );
    }
  }

  #offset(value: number, what: string): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new SlipwayError('SLIPWAY_INVALID_OFFSET', `${what} must be a whole number ≥ 0, got ${value}.`, {
        details: { offset: value },
      });
    }
  }

  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.#guard(() => {
      if (typeof name !== 'string' || !/^[A-Za-z0-9._-]{1,249}$/.test(name)) {
        throw new SlipwayError(
          'SLIPWAY_INVALID_DEFINITION',
          `Topic name '${name}' is invalid: use 1–249 letters, digits, '.', '_' or '-'.`,
          { details: { topic: name } },
        );
      }
      if (!Number.isInteger(options.partitions) || options.partitions < 1 || options.partitions > 10_000) {
        throw new SlipwayError(
          'SLIPWAY_INVALID_DEFINITION',
          `Topic '${name}' needs a whole number of partitions from 1 to 10000, got ${options.partitions}.`,
          { details: { topic: name, partitions: options.partitions } },
        );
      }
      this.#db
        .transaction(() => {
          const existing = this.#s.topicByName.get(name) as TopicRow | undefined;
          if (existing !== undefined) {
            if (existing.partitions !== options.partitions) {
              throw new SlipwayError(
                'SLIPWAY_TOPIC_MISMATCH',
                `Topic '${name}' exists with ${existing.partitions} partitions, not ${options.partitions}. Slipway does not change partition counts: declare ${existing.partitions}, or use a new dataset version.`,
                { details: { topic: name, existing: existing.partitions, wanted: options.partitions } },
              );
            }
            return;
          }
          const id = Number(this.#s.insertTopic.run(name, options.partitions).lastInsertRowid);
          for (let p = 0; p < options.partitions; p++) {
            this.#s.insertPartition.run(id, p);
            this.#db.exec(
              `CREATE TABLE IF NOT EXISTS ${partitionTable(id, p)} (offset INTEGER PRIMARY KEY, key TEXT, value TEXT NOT NULL, headers TEXT, ts INTEGER NOT NULL)`,
            );
          }
        })
        .immediate();
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

  #statements(row: TopicRow, partition: number): PartitionStatements {
    const table = partitionTable(row.id, partition);
    let st = this.#partitionStatements.get(table);
    if (st === undefined) {
      const values = Array.from({ length: ROWS_PER_INSERT }, () => '(?, ?, ?, ?, ?)').join(', ');
      st = {
        insert1: this.#db.prepare(`INSERT INTO ${table} (offset, key, value, headers, ts) VALUES (?, ?, ?, ?, ?)`),
        insertN: this.#db.prepare(`INSERT INTO ${table} (offset, key, value, headers, ts) VALUES ${values}`),
        read: this.#db
          .prepare(`SELECT offset, key, value, headers, ts FROM ${table} WHERE offset >= ? ORDER BY offset LIMIT ?`)
          .raw(),
      };
      this.#partitionStatements.set(table, st);
    }
    return st;
  }

  /** Appends inside the caller's transaction; returns the assigned offsets. */
  #appendIn(topic: string, records: ReadonlyArray<AppendRecord>, now: number): number[] {
    const row = this.#topic(topic);
    const pending = new Map<number, { next: number; args: unknown[]; st: PartitionStatements }>();
    const offsets = new Array<number>(records.length);
    for (let i = 0; i < records.length; i++) {
      const r = records[i] as AppendRecord;
      let part = pending.get(r.partition);
      if (part === undefined) {
        this.#partition(topic, row, r.partition);
        part = {
          next: this.#s.nextOffset.get(row.id, r.partition) as number,
          args: [],
          st: this.#statements(row, r.partition),
        };
        pending.set(r.partition, part);
      }
      if (typeof r.value !== 'string') {
        throw new SlipwayError('SLIPWAY_VALIDATION', `Record ${i} for '${topic}' has no string value.`, {
          details: { topic, index: i },
        });
      }
      offsets[i] = part.next;
      // Records from the commit thread carry their headers as JSON already (see packed-batch.ts).
      const headers = (r as { headersJson?: string | null }).headersJson;
      part.args.push(
        part.next++,
        r.key,
        r.value,
        headers === undefined ? encodeHeaders(r.headers) : headers,
        r.timestamp ?? now,
      );
      if (part.args.length === ROWS_PER_INSERT * 5) {
        part.st.insertN.run(part.args);
        part.args = [];
      }
    }
    for (const [partition, part] of pending) {
      const args = part.args;
      for (let j = 0; j < args.length; j += 5)
        part.st.insert1.run(args[j], args[j + 1], args[j + 2], args[j + 3], args[j + 4]);
      this.#s.setNextOffset.run(part.next, row.id, partition);
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
      const row = this.#topic(topic);
      this.#partition(topic, row, partition);
      this.#offset(fromOffset, 'The offset to read from');
      const rows = this.#statements(row, partition).read.all(fromOffset, Math.max(0, Math.floor(max))) as Array<
        [number, string | null, string, string | null, number]
      >;
      const out = new Array<LogRecord>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i] as [number, string | null, string, string | null, number];
        out[i] = {
          topic,
          partition,
          offset: r[0],
          key: r[1],
          value: r[2],
          headers: r[3] === null ? NO_HEADERS : (JSON.parse(r[3]) as Headers),
          timestamp: r[4],
        };
      }
      return out;
    });
  }

  endOffset(topic: string, partition: number): Promise<number> {
    return this.#guard(() => {
      const row = this.#topic(topic);
      this.#partition(topic, row, partition);
      return this.#s.nextOffset.get(row.id, partition) as number;
    });
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
      const row = this.#topic(o.topic);
      this.#partition(o.topic, row, o.partition);
      this.#offset(o.offset, `The committed offset of ${o.topic}/${o.partition}`);
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
          for (const out of batch.outputs ?? []) {
            const assigned = this.#appendIn(out.topic, out.records, now);
            const prior = offsets[out.topic];
            offsets[out.topic] = prior === undefined ? assigned : prior.concat(assigned);
          }
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
          const row = this.#topic(topic);
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

  #notify(): void {
    for (const wake of this.#waiters) wake();
  }

  waitForChange(options: WaitOptions): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    return new Promise<boolean>((resolvePromise) => {
      let timer: NodeJS.Timeout | undefined;
      let poll: NodeJS.Timeout | undefined;
      const finish = (changed: boolean): void => {
        clearTimeout(timer);
        clearTimeout(poll);
        this.#waiters.delete(wake);
        options.signal?.removeEventListener('abort', onAbort);
        resolvePromise(changed);
      };
      const wake = (): void => finish(true);
      const onAbort = (): void => finish(false);
      const check = (): void => {
        if (this.#closed) {
          finish(false);
          return;
        }
        let version: number;
        try {
          version = this.#s.dataVersion.get() as number;
        } catch {
          finish(true);
          return;
        }
        if (version !== this.#dataVersion) {
          this.#dataVersion = version;
          finish(true);
          return;
        }
        poll = setTimeout(check, this.#pollIntervalMs);
      };
      if (options.signal?.aborted) return resolvePromise(false);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.add(wake);
      timer = setTimeout(() => finish(false), options.timeoutMs);
      check();
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#notify();
    await this.#writer?.close();
    try {
      this.#db.close();
    } catch {
      // Closing twice or after a fatal error: nothing left to release.
    }
  }
}

/** Shared by every record read without headers (frozen: readers must not add to it). */
const NO_HEADERS: Headers = Object.freeze({}) as Headers;

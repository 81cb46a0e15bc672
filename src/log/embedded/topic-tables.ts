import type Database from 'better-sqlite3';
import { SlipwayError } from '../../errors.js';
import { checkPartition } from '../log-checks.js';
import type { SharedStatements } from './schema.js';

/** A topic's row: its id names its partition tables. */
export interface TopicRow {
  id: number;
  partitions: number;
}

/** Statements of one partition's table. */
export interface PartitionStatements {
  table: string;
  insert: Database.Statement;
  read: Database.Statement;
  /** Every batch based from one offset (a kept batch's end) to before another. */
  readFrom: Database.Statement;
}

/**
 * Each partition is its own rowid table of record batches (see record-batch.ts) whose rowid is the
 * batch's base offset: appends go to the end of one B-tree and reads are rowid range scans, the
 * fastest paths SQLite has.
 */
function partitionTable(topicId: number, partition: number): string {
  return `p_${topicId}_${partition}`;
}

/**
 * The embedded log's topics: their rows, their partition tables, and the statements over those tables, cached
 * per connection. Topic ids are never given out twice (a deleted topic's id stays used), so a cache that still
 * holds a deleted topic fails with "no such table" (see `EmbeddedLog`), never writes into a newer topic.
 */
export class TopicTables {
  readonly #db: Database.Database;
  readonly #s: SharedStatements;
  readonly #path: string;
  readonly #rows = new Map<string, TopicRow>();
  readonly #statements = new Map<string, PartitionStatements>();

  constructor(db: Database.Database, statements: SharedStatements, path: string) {
    this.#db = db;
    this.#s = statements;
    this.#path = path;
  }

  /** The topic's row (cached), or `SLIPWAY_TOPIC_NOT_FOUND`. */
  row(name: string): TopicRow {
    let row = this.#rows.get(name);
    if (row === undefined) {
      row = this.#s.topicByName.get(name) as TopicRow | undefined;
      if (row === undefined) {
        throw new SlipwayError(
          'SLIPWAY_TOPIC_NOT_FOUND',
          `Topic '${name}' does not exist in ${this.#path}. Create it first (pipelines create their topics when they start; \`slipway topics\` lists them).`,
          { details: { topic: name } },
        );
      }
      this.#rows.set(name, row);
    }
    return row;
  }

  /** Checks a partition number against the topic's row (read afresh once: another connection may have grown it). */
  partition(topic: string, row: TopicRow, partition: number): void {
    if (Number.isInteger(partition) && partition >= row.partitions) {
      const fresh = this.#s.topicByName.get(topic) as TopicRow | undefined;
      if (fresh !== undefined && fresh.id === row.id) {
        row.partitions = fresh.partitions;
        this.#rows.set(topic, row);
      }
    }
    checkPartition(topic, row.partitions, partition);
  }

  /**
   * Grows a topic to `partitions` partitions in the caller's transaction (nothing when it has as many or more).
   * `SLIPWAY_TOPIC_NOT_FOUND` when it does not exist.
   */
  growIn(name: string, partitions: number): void {
    const row = this.#s.topicByName.get(name) as TopicRow | undefined;
    if (row === undefined) this.row(name);
    const existing = row as TopicRow;
    if (existing.partitions >= partitions) return;
    for (let p = existing.partitions; p < partitions; p++) {
      this.#s.insertPartition.run(existing.id, p);
      this.#db.exec(
        `CREATE TABLE IF NOT EXISTS ${partitionTable(existing.id, p)} (base INTEGER PRIMARY KEY, count INTEGER NOT NULL, lengths BLOB NOT NULL, keys TEXT NOT NULL, vals TEXT NOT NULL, headers TEXT NOT NULL, ts NOT NULL)`,
      );
    }
    this.#s.setTopicPartitions.run(partitions, existing.id);
    this.#rows.delete(name);
  }

  /** Creates a topic and its partition tables, in the caller's transaction; nothing when it exists alike. */
  createIn(name: string, partitions: number): void {
    const existing = this.#s.topicByName.get(name) as TopicRow | undefined;
    if (existing !== undefined) {
      if (existing.partitions !== partitions) {
        throw new SlipwayError(
          'SLIPWAY_TOPIC_MISMATCH',
          `Topic '${name}' exists with ${existing.partitions} partitions, not ${partitions}. Slipway does not change partition counts: declare ${existing.partitions}, or use a new dataset version.`,
          { details: { topic: name, existing: existing.partitions, wanted: partitions } },
        );
      }
      return;
    }
    const id = Number(this.#s.insertTopic.run(name, partitions).lastInsertRowid);
    for (let p = 0; p < partitions; p++) {
      this.#s.insertPartition.run(id, p);
      // ts: the commit time (INTEGER) when no record has its own, else a BLOB of float64s.
      this.#db.exec(
        `CREATE TABLE IF NOT EXISTS ${partitionTable(id, p)} (base INTEGER PRIMARY KEY, count INTEGER NOT NULL, lengths BLOB NOT NULL, keys TEXT NOT NULL, vals TEXT NOT NULL, headers TEXT NOT NULL, ts NOT NULL)`,
      );
    }
  }

  /**
   * Deletes topics, in the caller's transaction: their partition tables, rows and consumer-group offsets.
   * Missing topics are skipped. Returns true when anything was deleted.
   */
  deleteIn(names: ReadonlyArray<string>): boolean {
    let deleted = false;
    for (const name of names) {
      const row = this.#s.topicByName.get(name) as TopicRow | undefined;
      if (row === undefined) continue;
      for (let p = 0; p < row.partitions; p++) this.#db.exec(`DROP TABLE IF EXISTS ${partitionTable(row.id, p)}`);
      this.#s.deletePartitions.run(row.id);
      this.#s.deleteTopicOffsets.run(row.id);
      this.#s.deleteTopic.run(row.id);
      // Keeps the id used, so a topic created later never gets it (SQLite would reuse the highest rowid).
      this.#s.raiseTopicIdFloor.run(row.id);
      deleted = true;
    }
    if (deleted) this.clear();
    return deleted;
  }

  /** The statements over one partition's table (cached). */
  statements(row: TopicRow, partition: number): PartitionStatements {
    const table = partitionTable(row.id, partition);
    let st = this.#statements.get(table);
    if (st === undefined) {
      st = {
        table,
        insert: this.#db.prepare(
          `INSERT INTO ${table} (base, count, lengths, keys, vals, headers, ts) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ),
        // The batch holding the first offset wanted (the last one based at or before it), then every
        // batch based before the last offset wanted.
        read: this.#db
          .prepare(
            `SELECT base, count, lengths, keys, vals, headers, ts FROM ${table} WHERE base >= ifnull((SELECT base FROM ${table} WHERE base <= ? ORDER BY base DESC LIMIT 1), 0) AND base < ? ORDER BY base`,
          )
          .raw(),
        readFrom: this.#db
          .prepare(
            `SELECT base, count, lengths, keys, vals, headers, ts FROM ${table} WHERE base >= ? AND base < ? ORDER BY base`,
          )
          .raw(),
      };
      this.#statements.set(table, st);
    }
    return st;
  }

  /** True when anything is cached (a stale cache is the only way to meet a dropped table). */
  get cached(): boolean {
    return this.#rows.size > 0 || this.#statements.size > 0;
  }

  /** Forgets every cached row and statement (another connection may have deleted topics). */
  clear(): void {
    this.#rows.clear();
    this.#statements.clear();
  }
}

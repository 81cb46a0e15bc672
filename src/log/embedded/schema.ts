import type Database from 'better-sqlite3';
import { SlipwayError } from '../../errors.js';

/** The embedded log's tables (each partition's record batches live in a table of its own: see embedded-log.ts). */
const FORMAT = 'slipway-embedded-log';
/**
 * v1 kept one row per record; v2 keeps record batches (record-batch.ts); v3 adds the compact form of a
 * record's source and toggles headers (`compactSourceAndToggles`), which a v2 reader would take for header JSON
 * and fail on mid-read with a bare SyntaxError. Marking it v3 makes such a reader refuse the file at open,
 * saying to upgrade (its check: a version above its own).
 */
export const FORMAT_VERSION = 3;
/** The oldest version this Slipway reads as it is: v3 only adds a header form, so a v2 file is a v3 file without it. */
const OLDEST_READABLE = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS slipway_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, partitions INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS partitions (
  topic_id INTEGER NOT NULL, partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,
  PRIMARY KEY (topic_id, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS group_offsets (
  grp TEXT NOT NULL, topic_id INTEGER NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
  PRIMARY KEY (grp, topic_id, partition)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, epoch INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (
  ns TEXT NOT NULL, partition INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (ns, partition, key)) WITHOUT ROWID;
`;

/** Creates the tables of a new log, or checks that an existing file is a Slipway log this version reads. */
export function migrateSchema(db: Database.Database, path: string): void {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  if (tables.length > 0 && !tables.includes('slipway_meta')) {
    throw new SlipwayError(
      'SLIPWAY_LOG_CORRUPT',
      `${path} is a SQLite database but not a Slipway log (it has tables ${tables.slice(0, 5).join(', ')}). ` +
        'Point --log at a Slipway log file, or choose a new path.',
      { details: { path } },
    );
  }
  db.transaction(() => {
    db.exec(SCHEMA);
    const format = db.prepare("SELECT value FROM slipway_meta WHERE key = 'format'").pluck().get() as
      | string
      | undefined;
    if (format === undefined) {
      db.prepare("INSERT INTO slipway_meta (key, value) VALUES ('format', ?), ('version', ?)").run(
        FORMAT,
        String(FORMAT_VERSION),
      );
      return;
    }
    const version = Number(db.prepare("SELECT value FROM slipway_meta WHERE key = 'version'").pluck().get());
    if (format === FORMAT && version >= OLDEST_READABLE && version < FORMAT_VERSION) {
      // Marked v3 before this Slipway writes a compact header into it: an older Slipway then refuses the file
      // at open instead of failing on the first such record it reads.
      db.prepare("UPDATE slipway_meta SET value = ? WHERE key = 'version'").run(String(FORMAT_VERSION));
      return;
    }
    if (format === FORMAT && version < OLDEST_READABLE) {
      // v1 kept one row per record; v2 keeps record batches (see record-batch.ts). Nothing is changed in the file.
      throw new SlipwayError(
        'SLIPWAY_LOG_CORRUPT',
        `${path} has log format ${format} v${version}, written by an older Slipway; this Slipway reads v${OLDEST_READABLE}–v${FORMAT_VERSION} (records stored in batches) and does not convert files. ` +
          'Read it with the Slipway that wrote it, or move it aside to start a new log.',
        { details: { path, format, version, expectedVersion: FORMAT_VERSION } },
      );
    }
    if (format !== FORMAT || version > FORMAT_VERSION) {
      throw new SlipwayError(
        'SLIPWAY_LOG_CORRUPT',
        `${path} has log format ${format} v${version}; this Slipway reads ${FORMAT} v${FORMAT_VERSION}. Upgrade Slipway or use another file.`,
        { details: { path, format, version } },
      );
    }
  }).immediate();
}

/** The statements over the shared tables (each partition's own table has its own: see embedded-log.ts). */
export interface SharedStatements {
  topicByName: Database.Statement;
  allTopics: Database.Statement;
  insertTopic: Database.Statement;
  insertPartition: Database.Statement;
  setTopicPartitions: Database.Statement;
  nextOffset: Database.Statement;
  setNextOffset: Database.Statement;
  groupOffsets: Database.Statement;
  upsertGroupOffset: Database.Statement;
  epoch: Database.Statement;
  fence: Database.Statement;
  forgetOwner: Database.Statement;
  raiseEpochFloor: Database.Statement;
  deletePartitions: Database.Statement;
  deleteTopicOffsets: Database.Statement;
  deleteTopic: Database.Statement;
  raiseTopicIdFloor: Database.Statement;
  deleteGroup: Database.Statement;
  deleteNamespace: Database.Statement;
  stateAll: Database.Statement;
  stateUpsert: Database.Statement;
  stateDelete: Database.Statement;
  dataVersion: Database.Statement;
}

/** SQL for a number kept in `slipway_meta` (0 when absent). */
function metaNumber(key: string): string {
  return `ifnull((SELECT CAST(value AS INTEGER) FROM slipway_meta WHERE key = '${key}'), 0)`;
}

/** A statement that raises a number kept in `slipway_meta` to at least its argument. */
function raiseFloor(db: Database.Database, key: string): Database.Statement {
  return db.prepare(
    `INSERT INTO slipway_meta (key, value) VALUES ('${key}', CAST(? AS TEXT)) ON CONFLICT (key) DO UPDATE SET value = CAST(max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER)) AS TEXT)`,
  );
}

export function prepareStatements(db: Database.Database): SharedStatements {
  return {
    topicByName: db.prepare('SELECT id, partitions FROM topics WHERE name = ?'),
    allTopics: db.prepare('SELECT name, partitions FROM topics ORDER BY name'),
    // Above every id in use and every id a deleted topic had (the floor), so an id is never given out twice.
    insertTopic: db.prepare(
      `INSERT INTO topics (id, name, partitions) VALUES (max(ifnull((SELECT max(id) FROM topics), 0), ${metaNumber('topic_id_floor')}) + 1, ?, ?)`,
    ),
    insertPartition: db.prepare('INSERT INTO partitions (topic_id, partition, next_offset) VALUES (?, ?, 0)'),
    setTopicPartitions: db.prepare('UPDATE topics SET partitions = ? WHERE id = ?'),
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
    // A first fence starts above every epoch a forgotten owner had (the floor): an old epoch is never valid again.
    fence: db
      .prepare(
        `INSERT INTO owners (owner, epoch) VALUES (?, ${metaNumber('owner_epoch_floor')} + 1) ON CONFLICT (owner) DO UPDATE SET epoch = epoch + 1 RETURNING epoch`,
      )
      .pluck(),
    forgetOwner: db.prepare('DELETE FROM owners WHERE owner = ? RETURNING epoch').pluck(),
    raiseEpochFloor: raiseFloor(db, 'owner_epoch_floor'),
    deletePartitions: db.prepare('DELETE FROM partitions WHERE topic_id = ?'),
    deleteTopicOffsets: db.prepare('DELETE FROM group_offsets WHERE topic_id = ?'),
    deleteTopic: db.prepare('DELETE FROM topics WHERE id = ?'),
    raiseTopicIdFloor: raiseFloor(db, 'topic_id_floor'),
    deleteGroup: db.prepare('DELETE FROM group_offsets WHERE grp = ?'),
    deleteNamespace: db.prepare('DELETE FROM state WHERE ns = ?'),
    stateAll: db.prepare('SELECT key, value FROM state WHERE ns = ? AND partition = ? ORDER BY key').raw(),
    stateUpsert: db.prepare(
      'INSERT INTO state (ns, partition, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (ns, partition, key) DO UPDATE SET value = excluded.value',
    ),
    stateDelete: db.prepare('DELETE FROM state WHERE ns = ? AND partition = ? AND key = ?'),
    dataVersion: db.prepare('PRAGMA data_version').pluck(),
  };
}

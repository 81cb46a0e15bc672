import type Database from 'better-sqlite3';
import { compareVersions } from '../dataset/compatibility.js';
import type { ControlStore, DatasetVersionRecord } from '../deploy/control-store.js';

/** The dataset registry's tables in the SQLite control store: versions seen, who uses them, retired majors. */
export const DATASET_REGISTRY_SCHEMA = `
CREATE TABLE IF NOT EXISTS dataset_versions (
  name TEXT NOT NULL, version TEXT NOT NULL, schema_digest TEXT NOT NULL, major INTEGER NOT NULL, topic TEXT NOT NULL,
  schema TEXT NOT NULL, compatibility TEXT NOT NULL, first_seen_at INTEGER NOT NULL, first_seen_by TEXT NOT NULL,
  PRIMARY KEY (name, version, schema_digest));
CREATE TABLE IF NOT EXISTS dataset_uses (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL, schema_digest TEXT NOT NULL,
  artifact TEXT NOT NULL, digest TEXT NOT NULL, role TEXT NOT NULL, UNIQUE (digest, name, version, schema_digest, role));
CREATE TABLE IF NOT EXISTS dataset_retirements (
  name TEXT NOT NULL, major INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (name, major));
`;

type DatasetRegistry = Pick<ControlStore, 'putDatasetVersions' | 'datasetVersions' | 'retireDataset'>;

/** The registry half of the SQLite control store (its tables are made with the store's schema). */
export function sqliteDatasetRegistry(db: Database.Database): DatasetRegistry {
  const q = {
    putDatasetVersion: db.prepare(
      'INSERT INTO dataset_versions (name, version, schema_digest, major, topic, schema, compatibility, first_seen_at, first_seen_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    putDatasetUse: db.prepare(
      'INSERT INTO dataset_uses (name, version, schema_digest, artifact, digest, role) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    ),
    datasetVersions: db.prepare('SELECT * FROM dataset_versions ORDER BY name, first_seen_at, rowid'),
    datasetVersionsOf: db.prepare('SELECT * FROM dataset_versions WHERE name = ? ORDER BY first_seen_at, rowid'),
    datasetUses: db.prepare('SELECT * FROM dataset_uses ORDER BY seq'),
    datasetUsesOf: db.prepare('SELECT * FROM dataset_uses WHERE name = ? ORDER BY seq'),
    retirements: db.prepare('SELECT * FROM dataset_retirements'),
    retire: db.prepare('INSERT INTO dataset_retirements (name, major, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING'),
  };
  return {
    async putDatasetVersions(artifact, datasets) {
      const now = Date.now();
      db.transaction(() => {
        for (const d of datasets) {
          const major = Number(/^(\d+)\./.exec(d.version)?.[1] ?? 0);
          q.putDatasetVersion.run(
            d.name,
            d.version,
            d.schemaDigest,
            major,
            d.topic,
            JSON.stringify(d.schema),
            d.compatibility,
            now,
            JSON.stringify(artifact),
          );
          q.putDatasetUse.run(d.name, d.version, d.schemaDigest, JSON.stringify(artifact), artifact.digest, d.role);
        }
      })();
    },
    async datasetVersions(filter = {}) {
      const rows = (
        filter.name === undefined ? q.datasetVersions.all() : q.datasetVersionsOf.all(filter.name)
      ) as Array<Record<string, unknown>>;
      const uses = (filter.name === undefined ? q.datasetUses.all() : q.datasetUsesOf.all(filter.name)) as Array<
        Record<string, unknown>
      >;
      const retired = new Map(
        (q.retirements.all() as Array<{ name: string; major: number; at: number }>).map((r) => [
          `${r.name}@${r.major}`,
          r.at,
        ]),
      );
      const records = rows.map(
        (r): DatasetVersionRecord => ({
          name: r.name as string,
          version: r.version as string,
          major: r.major as number,
          topic: r.topic as string,
          schema: JSON.parse(r.schema as string),
          schemaDigest: r.schema_digest as string,
          compatibility: r.compatibility as string,
          firstSeenAt: r.first_seen_at as number,
          firstSeenBy: JSON.parse(r.first_seen_by as string),
          usedBy: uses
            .filter((u) => u.name === r.name && u.version === r.version && u.schema_digest === r.schema_digest)
            .map((u) => ({ ...JSON.parse(u.artifact as string), role: u.role as 'input' | 'output' })),
          retiredAt: retired.get(`${r.name as string}@${r.major as number}`) ?? null,
        }),
      );
      return records.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
    },
    async retireDataset(name, major) {
      q.retire.run(name, major, Date.now());
    },
  };
}

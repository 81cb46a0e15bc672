import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SlipwayError } from '../errors.js';
import type {
  ControlStore,
  DeploymentEvent,
  DeploymentRecord,
  EventKind,
  Heartbeat,
  Release,
  TestReport,
} from './control-store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, environment TEXT NOT NULL, artifact TEXT NOT NULL, previous TEXT,
  options TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, summary TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deployments_by_pipeline ON deployments (pipeline, environment, created_at);
CREATE TABLE IF NOT EXISTS deployment_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, deployment_id TEXT NOT NULL, at INTEGER NOT NULL,
  step TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_deployment ON deployment_events (deployment_id, seq);
CREATE TABLE IF NOT EXISTS releases (
  pipeline TEXT NOT NULL, environment TEXT NOT NULL, artifact TEXT NOT NULL, config TEXT,
  deployment_id TEXT, updated_at INTEGER NOT NULL, PRIMARY KEY (pipeline, environment));
CREATE TABLE IF NOT EXISTS heartbeats (
  runner_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, role TEXT NOT NULL, pid INTEGER, state TEXT NOT NULL,
  at INTEGER NOT NULL, stats TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS test_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT NULL, passed INTEGER NOT NULL,
  started_at INTEGER NOT NULL, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS test_reports_by_digest ON test_reports (digest, id);
`;

interface DeploymentRow {
  id: string;
  pipeline: string;
  environment: string;
  artifact: string;
  previous: string | null;
  options: string;
  status: string;
  step: string;
  summary: string;
  created_at: number;
  updated_at: number;
}

function toRecord(row: DeploymentRow): DeploymentRecord {
  return {
    id: row.id,
    pipeline: row.pipeline,
    environment: row.environment,
    artifact: JSON.parse(row.artifact),
    previous: row.previous === null ? null : JSON.parse(row.previous),
    options: JSON.parse(row.options),
    status: row.status as DeploymentRecord['status'],
    step: row.step,
    summary: JSON.parse(row.summary),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * The default control store: one SQLite file (WAL), written synchronously and durably
 * (`synchronous=FULL`), so a step recorded before it is acted on survives any crash.
 *
 * @example
 * const store = await openSqliteControlStore({ path: '.slipway/control.db' })
 */
export async function openSqliteControlStore(options: { path: string }): Promise<ControlStore> {
  const path = resolve(options.path);
  mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    // Added after the first release of the store: runner processes per release.
    const columns = db.prepare('PRAGMA table_info(releases)').all() as Array<{ name: string }>;
    if (!columns.some((c) => c.name === 'runners'))
      db.exec('ALTER TABLE releases ADD COLUMN runners INTEGER NOT NULL DEFAULT 1');
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_CONTROL_STORE',
      `Cannot open the control store ${path}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const q = {
    insert: db.prepare(
      'INSERT INTO deployments (id, pipeline, environment, artifact, previous, options, status, step, summary, created_at, updated_at) VALUES (@id, @pipeline, @environment, @artifact, @previous, @options, @status, @step, @summary, @now, @now)',
    ),
    get: db.prepare('SELECT * FROM deployments WHERE id = ?'),
    active: db.prepare("SELECT * FROM deployments WHERE status = 'running' ORDER BY created_at"),
    event: db.prepare('INSERT INTO deployment_events (deployment_id, at, step, kind, data) VALUES (?, ?, ?, ?, ?)'),
    events: db.prepare('SELECT * FROM deployment_events WHERE deployment_id = ? ORDER BY seq'),
    release: db.prepare('SELECT * FROM releases WHERE pipeline = ? AND environment = ?'),
    releases: db.prepare('SELECT * FROM releases ORDER BY pipeline'),
    releasesIn: db.prepare('SELECT * FROM releases WHERE environment = ? ORDER BY pipeline'),
    setRelease: db.prepare(
      'INSERT INTO releases (pipeline, environment, artifact, config, deployment_id, runners, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pipeline, environment) DO UPDATE SET artifact = excluded.artifact, config = excluded.config, deployment_id = excluded.deployment_id, runners = excluded.runners, updated_at = excluded.updated_at',
    ),
    beat: db.prepare(
      'INSERT INTO heartbeats (runner_id, pipeline, role, pid, state, at, stats) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (runner_id) DO UPDATE SET pipeline = excluded.pipeline, role = excluded.role, pid = excluded.pid, state = excluded.state, at = excluded.at, stats = excluded.stats',
    ),
    beats: db.prepare('SELECT * FROM heartbeats ORDER BY runner_id'),
    putReport: db.prepare('INSERT INTO test_reports (digest, passed, started_at, report) VALUES (?, ?, ?, ?)'),
    latestReport: db.prepare('SELECT report FROM test_reports WHERE digest = ? ORDER BY id DESC LIMIT 1'),
  };
  const toRelease = (r: Record<string, unknown>): Release => ({
    pipeline: r.pipeline as string,
    environment: r.environment as string,
    artifact: JSON.parse(r.artifact as string),
    config: r.config === null ? undefined : JSON.parse(r.config as string),
    deploymentId: (r.deployment_id as string | null) ?? null,
    runners: (r.runners as number | undefined) ?? 1,
    updatedAt: r.updated_at as number,
  });
  const getOrThrow = (id: string): DeploymentRecord => {
    const row = q.get.get(id) as DeploymentRow | undefined;
    if (row === undefined) {
      throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `No deployment '${id}'. \`slipway history\` lists them.`);
    }
    return toRecord(row);
  };
  let closed = false;
  const store: ControlStore = {
    async createDeployment(record) {
      q.insert.run({
        ...record,
        artifact: JSON.stringify(record.artifact),
        previous: record.previous === null ? null : JSON.stringify(record.previous),
        options: JSON.stringify(record.options),
        summary: JSON.stringify(record.summary),
        now: Date.now(),
      });
      return getOrThrow(record.id);
    },
    async updateDeployment(id, patch) {
      const current = getOrThrow(id);
      const next = { ...current, ...patch };
      db.prepare('UPDATE deployments SET status = ?, step = ?, summary = ?, updated_at = ? WHERE id = ?').run(
        next.status,
        next.step,
        JSON.stringify(next.summary),
        Date.now(),
        id,
      );
      return getOrThrow(id);
    },
    async getDeployment(id) {
      const row = q.get.get(id) as DeploymentRow | undefined;
      return row === undefined ? undefined : toRecord(row);
    },
    async listDeployments(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.pipeline !== undefined) {
        where.push('pipeline = ?');
        args.push(filter.pipeline);
      }
      if (filter.environment !== undefined) {
        where.push('environment = ?');
        args.push(filter.environment);
      }
      const sql = `SELECT * FROM deployments ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, rowid DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, filter.limit ?? 50) as DeploymentRow[]).map(toRecord);
    },
    async activeDeployments() {
      return (q.active.all() as DeploymentRow[]).map(toRecord);
    },
    async appendEvent(deploymentId: string, step: string, kind: EventKind, data: Record<string, unknown> = {}) {
      const at = Date.now();
      const seq = Number(q.event.run(deploymentId, at, step, kind, JSON.stringify(data)).lastInsertRowid);
      return { seq, deploymentId, at, step, kind, data };
    },
    async events(deploymentId) {
      return (q.events.all(deploymentId) as Array<Record<string, unknown>>).map(
        (r): DeploymentEvent => ({
          seq: r.seq as number,
          deploymentId: r.deployment_id as string,
          at: r.at as number,
          step: r.step as string,
          kind: r.kind as EventKind,
          data: JSON.parse(r.data as string),
        }),
      );
    },
    async getRelease(pipeline, environment) {
      const row = q.release.get(pipeline, environment) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : toRelease(row);
    },
    async listReleases(environment) {
      const rows = (environment === undefined ? q.releases.all() : q.releasesIn.all(environment)) as Array<
        Record<string, unknown>
      >;
      return rows.map(toRelease);
    },
    async setRelease(release) {
      q.setRelease.run(
        release.pipeline,
        release.environment,
        JSON.stringify(release.artifact),
        release.config === undefined ? null : JSON.stringify(release.config),
        release.deploymentId,
        release.runners ?? 1,
        Date.now(),
      );
    },
    async heartbeat(beat: Omit<Heartbeat, 'at'>) {
      q.beat.run(beat.runnerId, beat.pipeline, beat.role, beat.pid, beat.state, Date.now(), JSON.stringify(beat.stats));
    },
    async heartbeats() {
      return (q.beats.all() as Array<Record<string, unknown>>).map((r) => ({
        runnerId: r.runner_id as string,
        pipeline: r.pipeline as string,
        role: r.role as string,
        pid: (r.pid as number | null) ?? null,
        state: r.state as string,
        at: r.at as number,
        stats: JSON.parse(r.stats as string),
      }));
    },
    async putTestReport(report: TestReport) {
      q.putReport.run(report.digest, report.passed ? 1 : 0, report.startedAt, JSON.stringify(report));
    },
    async latestTestReport(digest) {
      const row = q.latestReport.get(digest) as { report: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.report) as TestReport);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
  return store;
}

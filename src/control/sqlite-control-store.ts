import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type {
  ArtifactRecord,
  ControlStore,
  NewDeployment,
  PipelineEvent,
  RunnerRecord,
} from '../deploy/control-store.js';
import type {
  DeploymentEvent,
  DeploymentEventBody,
  DeploymentRecord,
  DeploymentStatus,
  InfoData,
  Release,
  StepName,
} from '../deploy/deployment.js';
import type { TestReport } from '../deploy/test-report.js';
import { SlipwayError } from '../errors.js';
import { DATASET_REGISTRY_SCHEMA, sqliteDatasetRegistry } from './sqlite-dataset-registry.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployments (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, environment TEXT NOT NULL, artifact TEXT NOT NULL, previous TEXT,
  options TEXT NOT NULL, status TEXT NOT NULL, step TEXT NOT NULL, summary TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS deployments_by_pipeline ON deployments (pipeline, environment, created_at);
CREATE UNIQUE INDEX IF NOT EXISTS one_running_deployment ON deployments (pipeline, environment) WHERE status = 'running';
CREATE TABLE IF NOT EXISTS deployment_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, deployment_id TEXT NOT NULL, at INTEGER NOT NULL,
  step TEXT NOT NULL, kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_deployment ON deployment_events (deployment_id, seq);
CREATE TABLE IF NOT EXISTS releases (
  pipeline TEXT NOT NULL, environment TEXT NOT NULL, artifact TEXT NOT NULL, config TEXT,
  deployment_id TEXT, updated_at INTEGER NOT NULL, runners INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (pipeline, environment));
CREATE TABLE IF NOT EXISTS release_history (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, environment TEXT NOT NULL, artifact TEXT NOT NULL,
  config TEXT, deployment_id TEXT, runners INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS release_history_by_pipeline ON release_history (pipeline, environment, seq);
CREATE TABLE IF NOT EXISTS approvals (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, environment TEXT NOT NULL, digest TEXT NOT NULL,
  by_whom TEXT NOT NULL, at INTEGER NOT NULL, note TEXT);
CREATE INDEX IF NOT EXISTS approvals_by_pipeline ON approvals (pipeline, environment, digest, seq);
CREATE TABLE IF NOT EXISTS artifacts (
  digest TEXT PRIMARY KEY, pipeline TEXT NOT NULL, version TEXT NOT NULL, inputs TEXT NOT NULL,
  outputs TEXT NOT NULL, built_at INTEGER, registered_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS runners (
  id TEXT PRIMARY KEY, pipeline TEXT NOT NULL, environment TEXT NOT NULL, role TEXT NOT NULL, digest TEXT NOT NULL,
  pid INTEGER, state TEXT NOT NULL, at INTEGER NOT NULL, stats TEXT);
CREATE TABLE IF NOT EXISTS pipeline_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, pipeline TEXT NOT NULL, environment TEXT NOT NULL, at INTEGER NOT NULL,
  kind TEXT NOT NULL, runner TEXT, message TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pipeline_events_by_pipeline ON pipeline_events (pipeline, environment, seq);
CREATE TABLE IF NOT EXISTS test_reports (
  id INTEGER PRIMARY KEY AUTOINCREMENT, digest TEXT NOT NULL, passed INTEGER NOT NULL,
  started_at INTEGER NOT NULL, report TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS test_reports_by_digest ON test_reports (digest, id);
DROP TABLE IF EXISTS heartbeats;
${DATASET_REGISTRY_SCHEMA}`;

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
    status: row.status as DeploymentStatus,
    step: row.step as StepName,
    summary: JSON.parse(row.summary),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function toEvent(r: Record<string, unknown>): DeploymentEvent {
  return {
    seq: r.seq as number,
    deploymentId: r.deployment_id as string,
    at: r.at as number,
    step: r.step,
    kind: r.kind,
    data: JSON.parse(r.data as string),
  } as DeploymentEvent;
}

/** Adds what later versions of the store added to a file an earlier one made. */
function migrate(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(releases)').all() as Array<{ name: string }>;
  if (!columns.some((c) => c.name === 'runners'))
    db.exec('ALTER TABLE releases ADD COLUMN runners INTEGER NOT NULL DEFAULT 1');
}

/**
 * The default control store: one SQLite file (WAL), written synchronously and durably
 * (`synchronous=FULL`), so a step recorded before it is acted on survives any crash. Several
 * processes may open the same file; "one running deployment per pipeline and environment" is a
 * unique index, so it holds across them.
 *
 * @example
 * const store = await openSqliteControlStore({ path: '.slipway/control.db' })
 */
export async function openSqliteControlStore(options: { path: string }): Promise<ControlStore> {
  const path = resolve(options.path);
  let db: Database.Database;
  try {
    mkdirSync(dirname(path), { recursive: true });
    db = new Database(path, { timeout: 10_000 });
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(SCHEMA);
    migrate(db);
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
    running: db.prepare(
      "SELECT id, step FROM deployments WHERE status = 'running' AND pipeline = ? AND environment = ?",
    ),
    update: db.prepare('UPDATE deployments SET status = ?, step = ?, summary = ?, updated_at = ? WHERE id = ?'),
    active: db.prepare("SELECT * FROM deployments WHERE status = 'running' ORDER BY created_at, rowid"),
    activeIn: db.prepare(
      "SELECT * FROM deployments WHERE status = 'running' AND environment = ? ORDER BY created_at, rowid",
    ),
    event: db.prepare('INSERT INTO deployment_events (deployment_id, at, step, kind, data) VALUES (?, ?, ?, ?, ?)'),
    events: db.prepare('SELECT * FROM deployment_events WHERE deployment_id = ? AND seq > ? ORDER BY seq'),
    release: db.prepare('SELECT * FROM releases WHERE pipeline = ? AND environment = ?'),
    removeRelease: db.prepare('DELETE FROM releases WHERE pipeline = ? AND environment = ?'),
    releases: db.prepare('SELECT * FROM releases ORDER BY pipeline, environment'),
    releasesIn: db.prepare('SELECT * FROM releases WHERE environment = ? ORDER BY pipeline'),
    setRelease: db.prepare(
      'INSERT INTO releases (pipeline, environment, artifact, config, deployment_id, runners, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (pipeline, environment) DO UPDATE SET artifact = excluded.artifact, config = excluded.config, deployment_id = excluded.deployment_id, runners = excluded.runners, updated_at = excluded.updated_at',
    ),
    history: db.prepare(
      'INSERT INTO release_history (pipeline, environment, artifact, config, deployment_id, runners, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    historyOf: db.prepare(
      'SELECT * FROM release_history WHERE pipeline = ? AND environment = ? ORDER BY seq DESC LIMIT ?',
    ),
    approve: db.prepare(
      'INSERT INTO approvals (pipeline, environment, digest, by_whom, at, note) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    approvals: db.prepare('SELECT * FROM approvals WHERE pipeline = ? AND environment = ? ORDER BY seq DESC'),
    approvalsOf: db.prepare(
      'SELECT * FROM approvals WHERE pipeline = ? AND environment = ? AND digest = ? ORDER BY seq DESC',
    ),
    putArtifact: db.prepare(
      'INSERT INTO artifacts (digest, pipeline, version, inputs, outputs, built_at, registered_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING',
    ),
    getArtifact: db.prepare('SELECT * FROM artifacts WHERE digest = ?'),
    artifacts: db.prepare('SELECT * FROM artifacts ORDER BY registered_at DESC, rowid DESC'),
    artifactsOf: db.prepare('SELECT * FROM artifacts WHERE pipeline = ? ORDER BY registered_at DESC, rowid DESC'),
    runner: db.prepare(
      'INSERT INTO runners (id, pipeline, environment, role, digest, pid, state, at, stats) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET pipeline = excluded.pipeline, environment = excluded.environment, role = excluded.role, digest = excluded.digest, pid = excluded.pid, state = excluded.state, at = excluded.at, stats = excluded.stats',
    ),
    removeRunner: db.prepare('DELETE FROM runners WHERE id = ?'),
    pipelineEvent: db.prepare(
      'INSERT INTO pipeline_events (pipeline, environment, at, kind, runner, message, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
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
  const toArtifact = (r: Record<string, unknown>): ArtifactRecord => ({
    digest: r.digest as string,
    pipeline: r.pipeline as string,
    version: r.version as string,
    inputs: JSON.parse(r.inputs as string),
    outputs: JSON.parse(r.outputs as string),
    builtAt: (r.built_at as number | null) ?? null,
    registeredAt: r.registered_at as number,
  });
  const getOrThrow = (id: string): DeploymentRecord => {
    const row = q.get.get(id) as DeploymentRow | undefined;
    if (row === undefined) {
      throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `No deployment '${id}'. \`slipway history\` lists them.`);
    }
    return toRecord(row);
  };
  const appendEvent = (deploymentId: string, body: DeploymentEventBody): DeploymentEvent => {
    const at = Date.now();
    const seq = Number(q.event.run(deploymentId, at, body.step, body.kind, JSON.stringify(body.data)).lastInsertRowid);
    return { ...body, seq, deploymentId, at } as DeploymentEvent;
  };
  // One transaction: a deployment is never seen without its first event, and the unique index
  // refuses a second running deployment of the pipeline even from another process.
  const create = db.transaction(
    (record: NewDeployment, planned: InfoData<'planned'>): { record: DeploymentRecord; event: DeploymentEvent } => {
      const running = q.running.get(record.pipeline, record.environment) as { id: string; step: string } | undefined;
      if (running !== undefined) throw refuseSecond(record, running);
      try {
        q.insert.run({
          id: record.id,
          pipeline: record.pipeline,
          environment: record.environment,
          artifact: JSON.stringify(record.artifact),
          previous: record.previous === null ? null : JSON.stringify(record.previous),
          options: JSON.stringify(record.options),
          status: 'running',
          step: 'planned',
          summary: JSON.stringify(record.summary),
          now: Date.now(),
        });
      } catch (err) {
        const again = q.running.get(record.pipeline, record.environment) as { id: string; step: string } | undefined;
        if (again !== undefined) throw refuseSecond(record, again);
        throw err;
      }
      const event = appendEvent(record.id, { step: 'planned', kind: 'info', data: planned });
      return { record: getOrThrow(record.id), event };
    },
  );
  let closed = false;
  const store: ControlStore = {
    async putArtifact(a) {
      q.putArtifact.run(
        a.digest,
        a.pipeline,
        a.version,
        JSON.stringify(a.inputs),
        JSON.stringify(a.outputs),
        a.builtAt,
        a.registeredAt,
      );
    },
    async getArtifact(digest) {
      const row = q.getArtifact.get(digest) as Record<string, unknown> | undefined;
      return row === undefined ? undefined : toArtifact(row);
    },
    async listArtifacts(filter = {}) {
      const rows = (filter.pipeline === undefined ? q.artifacts.all() : q.artifactsOf.all(filter.pipeline)) as Array<
        Record<string, unknown>
      >;
      return rows.map(toArtifact);
    },
    async createDeployment(record, planned) {
      return create(record, planned);
    },
    async updateDeployment(id, patch) {
      const current = getOrThrow(id);
      const next = { ...current, ...patch };
      q.update.run(next.status, next.step, JSON.stringify(next.summary), Date.now(), id);
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
    async activeDeployments(environment) {
      const rows = environment === undefined ? q.active.all() : q.activeIn.all(environment);
      return (rows as DeploymentRow[]).map(toRecord);
    },
    async appendEvent(deploymentId, body) {
      return appendEvent(deploymentId, body);
    },
    async events(deploymentId, after = 0) {
      return (q.events.all(deploymentId, after) as Array<Record<string, unknown>>).map(toEvent);
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
      const row = [
        release.pipeline,
        release.environment,
        JSON.stringify(release.artifact),
        release.config === undefined ? null : JSON.stringify(release.config),
        release.deploymentId,
        release.runners,
        Date.now(),
      ] as const;
      db.transaction(() => {
        q.setRelease.run(...row);
        q.history.run(...row);
      })();
    },
    async removeRelease(pipeline, environment) {
      q.removeRelease.run(pipeline, environment);
    },
    async releaseHistory(pipeline, environment, limit = 20) {
      return (q.historyOf.all(pipeline, environment, limit) as Array<Record<string, unknown>>).map(toRelease);
    },
    async putApproval(a) {
      const at = Date.now();
      q.approve.run(a.pipeline, a.environment, a.digest, a.by, at, a.note ?? null);
      return { ...a, at };
    },
    async approvals(pipeline, environment, digest) {
      const rows = (
        digest === undefined ? q.approvals.all(pipeline, environment) : q.approvalsOf.all(pipeline, environment, digest)
      ) as Array<Record<string, unknown>>;
      return rows.map((r) => ({
        pipeline: r.pipeline as string,
        environment: r.environment as string,
        digest: r.digest as string,
        by: r.by_whom as string,
        at: r.at as number,
        ...(r.note === null ? {} : { note: r.note as string }),
      }));
    },
    async recordRunner(r) {
      q.runner.run(
        r.id,
        r.pipeline,
        r.environment,
        r.role,
        r.digest,
        r.pid,
        r.state,
        Date.now(),
        r.stats === null ? null : JSON.stringify(r.stats),
      );
    },
    async runners(filter = {}) {
      const where: string[] = [];
      const args: unknown[] = [];
      if (filter.environment !== undefined) {
        where.push('environment = ?');
        args.push(filter.environment);
      }
      if (filter.pipeline !== undefined) {
        where.push('pipeline = ?');
        args.push(filter.pipeline);
      }
      const sql = `SELECT * FROM runners ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
      return (db.prepare(sql).all(...args) as Array<Record<string, unknown>>).map(
        (r): RunnerRecord => ({
          id: r.id as string,
          pipeline: r.pipeline as string,
          environment: r.environment as string,
          role: r.role as string,
          digest: r.digest as string,
          pid: (r.pid as number | null) ?? null,
          state: r.state as string,
          at: r.at as number,
          stats: r.stats === null ? null : JSON.parse(r.stats as string),
        }),
      );
    },
    async removeRunner(id) {
      q.removeRunner.run(id);
    },
    async appendPipelineEvent(e) {
      const at = Date.now();
      const seq = Number(
        q.pipelineEvent.run(e.pipeline, e.environment, at, e.kind, e.runner, e.message, JSON.stringify(e.data))
          .lastInsertRowid,
      );
      return { ...e, seq, at };
    },
    async pipelineEvents(filter = {}) {
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
      const sql = `SELECT * FROM (SELECT * FROM pipeline_events ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?) ORDER BY seq`;
      return (db.prepare(sql).all(...args, filter.limit ?? 100) as Array<Record<string, unknown>>).map(
        (r): PipelineEvent => ({
          seq: r.seq as number,
          pipeline: r.pipeline as string,
          environment: r.environment as string,
          at: r.at as number,
          kind: r.kind as PipelineEvent['kind'],
          runner: (r.runner as string | null) ?? null,
          message: r.message as string,
          data: JSON.parse(r.data as string),
        }),
      );
    },
    ...sqliteDatasetRegistry(db),
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

function refuseSecond(record: NewDeployment, running: { id: string; step: string }): SlipwayError {
  return new SlipwayError(
    'SLIPWAY_DEPLOY_REFUSED',
    `Deployment ${running.id} of ${record.pipeline} in ${record.environment} is still running (step ${running.step}); wait for it or roll it back first.`,
    { details: { running: running.id, pipeline: record.pipeline, environment: record.environment } },
  );
}

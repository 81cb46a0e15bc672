import { createHash } from 'node:crypto';
import type pg from 'pg';
import { connectDatastore, type DatastoreConnection, describeDatastore } from '../datastore/connection.js';
import { createTableStatement, quoteIdent, SOURCE_COLUMN } from '../datastore/table.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
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
} from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { TableSink } from '../pipeline/table-sink.js';
import type { SinkBatch } from './sink-rows.js';
import {
  bookkeepingStatements,
  commitStatement,
  OFFSETS,
  OWNERS,
  STATE,
  shadowTableStatement,
  sourceColumnStatement,
} from './sink-sql.js';

/** A commit of a sink pipeline: the log's commit batch and the batch's rows. */
export interface SinkCommitBatch extends CommitBatch {
  rows?: SinkBatch;
}

export interface SinkLogOptions {
  /** The datastore with its password resolved. */
  datastore: DatastoreConnection;
  sink: TableSink;
  /** Write the rows to this table of the datastore's schema instead of the sink's (a shadow's copy). */
  tableName?: string;
  /** What the connection says it is for (its `application_name` is `slipway sink <schema> <purpose>`). */
  purpose?: string;
}

/** How many times an operation is tried again on a new connection when the old one dropped. */
const RECONNECTS = 8;

/**
 * The log of a sink pipeline: records are read from `base` (the environment's log) and everything a
 * runner commits goes to PostgreSQL instead — the owner's epoch (`slipway_sink_owners`), the input offsets
 * (`slipway_sink_offsets`), the keyed state (`slipway_sink_state`) and the rows, in ONE statement per batch
 * whose every part is conditioned on the epoch row. The runner, the controller's handoff (pause → fence →
 * activate at the committed offsets), rollbacks and the supervisor work through it unchanged: it is the
 * same seam as the log's own commit, with the database as the place of record.
 *
 * A dropped connection (`SLIPWAY_DATASTORE_UNAVAILABLE`, retryable) is retried on a new one; a commit whose
 * answer was lost is looked up by its offsets before it is tried again, so it is applied once. Dead letters
 * are appended to the base log's dead-letter topics before the rows commit: at least once (a crash between
 * the two repeats them, with the same `slipway-source`).
 *
 * @example
 * const log = new SinkLog(await openLog(config), { datastore: { ...prod, password }, sink: totals.sink })
 * const runner = new Runner({ pipeline: totals, log })
 */
export class SinkLog implements Log {
  readonly base: Log;
  readonly sink: TableSink;
  readonly datastore: DatastoreConnection;
  readonly tableName: string;
  readonly #purpose: string;
  readonly #schema: string;
  #client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #prepared = false;
  #statement: string;
  /** The statement's name: prepared once per connection, then only bound and executed (no parse, no planning). */
  #statementName: string;
  /** A commit whose outcome the dropped connection hid: looked up before it is tried again. */
  #unknown: SinkCommitBatch | undefined;
  #closed = false;

  constructor(base: Log, options: SinkLogOptions) {
    this.base = base;
    this.sink = options.sink;
    this.datastore = options.datastore;
    this.tableName = options.tableName ?? options.sink.table.name;
    this.#schema = options.datastore.schema;
    this.#purpose = `sink ${this.#schema} ${options.purpose ?? this.tableName}`;
    this.#statement = commitStatement(this.#schema, this.sink, this.tableName);
    this.#statementName = `slipway_sink_${createHash('sha256').update(this.#statement).digest('hex').slice(0, 16)}`;
  }

  get engine(): string {
    return this.base.engine;
  }

  /**
   * Creates the bookkeeping tables when missing, and the sink's table when it declares no migrations (a
   * shadow's: `<table>__shadow_<id>`, shaped like the live table).
   */
  async prepare(): Promise<void> {
    if (this.#prepared) return;
    await this.#tx(async (c) => {
      for (const sql of bookkeepingStatements(this.#schema)) await c.query(sql);
      if (this.sink.table.migrations.length === 0 && this.tableName === this.sink.table.name)
        await c.query(createTableStatement(this.sink.table, this.#schema));
      // A shadow writes a copy of the live table, as the live table's migrations left it.
      if (this.tableName !== this.sink.table.name)
        await c.query(shadowTableStatement(this.#schema, this.sink.table.name, this.tableName));
      // Every row records its source (the shadow diff matches rows by it): a table its migrations made gets the column.
      const { rows } = await c.query(
        `SELECT to_regclass($1) IS NOT NULL AS table, EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped) AS column`,
        [`${quoteIdent(this.#schema)}.${quoteIdent(this.tableName)}`, SOURCE_COLUMN],
      );
      if (rows[0].table && !rows[0].column) await c.query(sourceColumnStatement(this.#schema, this.tableName));
    });
    this.#prepared = true;
  }

  async #connect(): Promise<pg.Client> {
    if (this.#closed) throw new SlipwayError('SLIPWAY_LOG_CLOSED', `The sink of table ${this.tableName} is closed.`);
    if (this.#client !== undefined) return this.#client;
    this.#connecting ??= (async () => {
      const client = await connectDatastore(this.datastore, this.#purpose);
      client.on('error', () => {
        // The server ended the connection (pg_terminate_backend, a restart): the next call opens a new one.
        if (this.#client === client) this.#client = undefined;
        client.end().catch(() => {});
      });
      this.#client = client;
      return client;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  #drop(client: pg.Client | undefined): void {
    if (client !== undefined && this.#client === client) this.#client = undefined;
    client?.end().catch(() => {});
  }

  /** Runs `fn` on a connection; a dropped connection is retried on a new one (`fn` must be safe to repeat). */
  async #run<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let client: pg.Client | undefined;
      try {
        client = await this.#connect();
        return await fn(client);
      } catch (err) {
        const lost = isConnectionLoss(err);
        if (lost) this.#drop(client);
        if (!lost || attempt >= RECONNECTS || this.#closed) throw this.#wrap(err);
        await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      }
    }
  }

  async #tx(fn: (client: pg.Client) => Promise<void>): Promise<void> {
    await this.#run(async (c) => {
      await c.query('BEGIN');
      try {
        await fn(c);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  #wrap(err: unknown): unknown {
    if (isSlipwayError(err)) return err;
    if (isConnectionLoss(err))
      return new SlipwayError(
        'SLIPWAY_DATASTORE_UNAVAILABLE',
        `Lost the connection to ${describeDatastore(this.datastore)} (${(err as Error).message}); it is tried again.`,
        { cause: err, retryable: true },
      );
    const code = (err as { code?: string }).code;
    return new SlipwayError(
      'SLIPWAY_SINK_REJECTED',
      `PostgreSQL refused a write to ${this.#schema}.${this.tableName}: ${(err as Error).message}${code === undefined ? '' : ` (SQLSTATE ${code})`}. Check the table against its declaration (slipway datastores plan) and what the pipeline emits.`,
      { cause: err, details: { table: this.tableName, sqlstate: code } },
    );
  }

  async fence(owner: string): Promise<number> {
    await this.prepare();
    return this.#run(async (c) => {
      const { rows } = await c.query(
        `INSERT INTO ${quoteIdent(this.#schema)}.${OWNERS} (owner, epoch) VALUES ($1, 1) ON CONFLICT (owner) DO UPDATE SET epoch = ${OWNERS}.epoch + 1 RETURNING epoch`,
        [owner],
      );
      return Number(rows[0].epoch);
    });
  }

  async currentEpoch(owner: string): Promise<number> {
    await this.prepare();
    return this.#run(async (c) => {
      const { rows } = await c.query(`SELECT epoch FROM ${quoteIdent(this.#schema)}.${OWNERS} WHERE owner = $1`, [
        owner,
      ]);
      return rows.length === 0 ? 0 : Number(rows[0].epoch);
    });
  }

  async committedOffsets(group: string): Promise<PartitionOffset[]> {
    await this.prepare();
    return this.#run((c) => this.#offsets(c, group));
  }

  async #offsets(c: pg.Client, group: string): Promise<PartitionOffset[]> {
    const { rows } = await c.query(
      `SELECT topic, "partition", next_offset FROM ${quoteIdent(this.#schema)}.${OFFSETS} WHERE pipeline_group = $1 ORDER BY topic, "partition"`,
      [group],
    );
    return rows.map((r) => ({ topic: r.topic, partition: r.partition, offset: Number(r.next_offset) }));
  }

  async commitOffsets(group: string, offsets: ReadonlyArray<PartitionOffset>): Promise<void> {
    await this.prepare();
    await this.#run((c) =>
      c.query(
        `INSERT INTO ${quoteIdent(this.#schema)}.${OFFSETS} (pipeline_group, topic, "partition", next_offset, owner, owner_epoch)
         SELECT $1, x.t, x.p, x.o, '', 0 FROM unnest($2::text[], $3::integer[], $4::bigint[]) AS x(t, p, o)
         ON CONFLICT (pipeline_group, topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset, committed_at = now()`,
        [group, offsets.map((o) => o.topic), offsets.map((o) => o.partition), offsets.map((o) => o.offset)],
      ),
    );
  }

  async readState(namespace: string, partition: number): Promise<Array<[key: string, value: string]>> {
    await this.prepare();
    return this.#run(async (c) => {
      const { rows } = await c.query(
        `SELECT key, value FROM ${quoteIdent(this.#schema)}.${STATE} WHERE namespace = $1 AND "partition" = $2`,
        [namespace, partition],
      );
      return rows.map((r) => [r.key, r.value] as [string, string]);
    });
  }

  /**
   * One statement, one transaction: the rows, the keyed state and the input offsets, written only when
   * `batch.epoch` is the owner's epoch (else `SLIPWAY_FENCED`, nothing written). Dead letters go to the base log first.
   */
  async commit(batch: SinkCommitBatch): Promise<CommitResult> {
    await this.prepare();
    const result: CommitResult = { offsets: {} };
    for (const out of batch.outputs ?? []) {
      if (out.records.length === 0) continue;
      result.offsets[out.topic] = await this.base.append(out.topic, out.records);
    }
    const offsets = batch.offsets?.offsets ?? [];
    const writes = batch.state?.writes ?? [];
    const rows = batch.rows;
    const params: unknown[] = [
      batch.owner,
      batch.epoch,
      batch.offsets?.group ?? '',
      offsets.map((o) => o.topic),
      offsets.map((o) => o.partition),
      offsets.map((o) => o.offset),
      batch.state?.namespace ?? '',
      writes.map((w) => w.partition),
      writes.map((w) => w.key),
      writes.map((w) => w.value),
      ...(rows?.upserts ?? [...this.sink.table.columns.map(() => []), []]),
      ...(this.sink.deleteOnTombstone ? (rows?.deletes ?? this.sink.table.primaryKey.map(() => [])) : []),
    ];
    let ok: number | undefined;
    await this.#run(async (c) => {
      if (this.#unknown === batch && (await this.#applied(c, batch))) {
        ok = 1;
        return;
      }
      this.#unknown = batch;
      const res = await c.query({ name: this.#statementName, text: this.#statement, values: params });
      this.#unknown = undefined;
      ok = res.rows[0].ok;
    });
    if (ok !== 1) {
      throw new SlipwayError(
        'SLIPWAY_FENCED',
        `${batch.owner} was fenced in ${describeDatastore(this.datastore)} (its epoch ${batch.epoch} is not the current one): a newer owner writes table ${this.tableName} now; this commit wrote nothing.`,
        { details: { owner: batch.owner, epoch: batch.epoch } },
      );
    }
    return result;
  }

  /** Whether a commit whose answer was lost was applied: its offsets are the group's, under its owner and epoch. */
  async #applied(c: pg.Client, batch: SinkCommitBatch): Promise<boolean> {
    const offsets = batch.offsets?.offsets ?? [];
    if (offsets.length === 0 || batch.offsets === undefined) return false;
    const { rows } = await c.query(
      `SELECT topic, "partition", next_offset, owner, owner_epoch FROM ${quoteIdent(this.#schema)}.${OFFSETS} WHERE pipeline_group = $1`,
      [batch.offsets.group],
    );
    const at = new Map(rows.map((r) => [`${r.topic}/${r.partition}`, r]));
    return offsets.every((o) => {
      const r = at.get(`${o.topic}/${o.partition}`);
      return (
        r !== undefined &&
        Number(r.next_offset) === o.offset &&
        r.owner === batch.owner &&
        Number(r.owner_epoch) === batch.epoch
      );
    });
  }

  async snapshot(request: SnapshotRequest): Promise<Snapshot> {
    await this.prepare();
    const snap: Snapshot = { offsets: [], state: {}, endOffsets: [] };
    await this.#tx(async (c) => {
      await c.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      snap.offsets = await this.#offsets(c, request.group);
      for (const p of request.partitions) {
        const { rows } = await c.query(
          `SELECT key, value FROM ${quoteIdent(this.#schema)}.${STATE} WHERE namespace = $1 AND "partition" = $2`,
          [request.namespace, p],
        );
        snap.state[p] = rows.map((r) => [r.key, r.value]);
      }
    });
    for (const topic of request.topics) {
      const info = await this.base.describeTopic(topic);
      for (let p = 0; p < (info?.partitions ?? 0); p++)
        snap.endOffsets.push({ topic, partition: p, offset: await this.base.endOffset(topic, p) });
    }
    return snap;
  }

  async deleteGroups(groups: ReadonlyArray<string>): Promise<void> {
    await this.prepare();
    await this.#run((c) =>
      c.query(`DELETE FROM ${quoteIdent(this.#schema)}.${OFFSETS} WHERE pipeline_group = ANY($1::text[])`, [groups]),
    );
  }

  /** Every epoch the owners had becomes invalid (the rows are kept, one epoch on, so no old epoch comes back). */
  async forgetOwners(owners: ReadonlyArray<string>): Promise<void> {
    await this.prepare();
    await this.#run((c) =>
      c.query(`UPDATE ${quoteIdent(this.#schema)}.${OWNERS} SET epoch = epoch + 1 WHERE owner = ANY($1::text[])`, [
        owners,
      ]),
    );
  }

  async deleteStateNamespaces(namespaces: ReadonlyArray<string>): Promise<void> {
    await this.prepare();
    await this.#run((c) =>
      c.query(`DELETE FROM ${quoteIdent(this.#schema)}.${STATE} WHERE namespace = ANY($1::text[])`, [namespaces]),
    );
  }

  // Topics and records: the base log's.
  createTopic(name: string, options: CreateTopicOptions): Promise<void> {
    return this.base.createTopic(name, options);
  }
  describeTopic(name: string): Promise<TopicInfo | undefined> {
    return this.base.describeTopic(name);
  }
  listTopics(): Promise<TopicInfo[]> {
    return this.base.listTopics();
  }
  append(topic: string, records: ReadonlyArray<AppendRecord>): Promise<number[]> {
    return this.base.append(topic, records);
  }
  read(topic: string, partition: number, fromOffset: number, max: number): Promise<LogRecord[]> {
    return this.base.read(topic, partition, fromOffset, max);
  }
  endOffset(topic: string, partition: number): Promise<number> {
    return this.base.endOffset(topic, partition);
  }
  countRecords(topic: string, partition: number): Promise<number> {
    return this.base.countRecords(topic, partition);
  }
  deleteTopics(names: ReadonlyArray<string>): Promise<void> {
    return this.base.deleteTopics(names);
  }
  waitForChange(options: WaitOptions): Promise<boolean> {
    return this.base.waitForChange(options);
  }

  /** Closes its PostgreSQL connection. The base log is its opener's to close. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    await client?.end().catch(() => {});
  }
}

/** True for a dropped or refused connection (the server ended it, the socket broke), not for an SQL error. */
export function isConnectionLoss(err: unknown): boolean {
  if (isSlipwayError(err)) return err.code === 'SLIPWAY_DATASTORE_UNAVAILABLE';
  const code = (err as { code?: unknown })?.code;
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('57P');
  const message = String((err as Error)?.message ?? '');
  return (
    typeof code === 'string' ||
    /Connection terminated|connection error|ECONNRESET|EPIPE|ECONNREFUSED|Client was closed|not queryable/i.test(
      message,
    )
  );
}

/**
 * The log a runner commits to: a sink pipeline's commits go to its datastore (a {@link SinkLog} over the
 * given log, unless the caller passed one), a shadow's rows to `<table>__shadow_<id>`.
 */
export function sinkLogFor(
  pipeline: Pipeline,
  log: Log,
  datastore: DatastoreConnection | undefined,
  shadowId: string | undefined,
): Log {
  const sink = pipeline.sink;
  if (sink === undefined || log instanceof SinkLog) return log;
  if (datastore === undefined) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${pipeline.name} writes table ${sink.table.name}: give its runner the datastore (\`datastore\` of the runner options, from the environment's datastore '${sink.table.datastore}').`,
      { details: { table: sink.table.name, datastore: sink.table.datastore } },
    );
  }
  return new SinkLog(log, {
    datastore,
    sink,
    ...(shadowId === undefined ? {} : { tableName: shadowTableName(sink.table.name, shadowId) }),
    purpose: `${pipeline.name}${shadowId === undefined ? '' : ` shadow ${shadowId}`}`,
  });
}

/** The table a shadow run of a sink writes: `<table>__shadow_<id>` (lower case, at most 63 characters). */
export function shadowTableName(table: string, shadowId: string): string {
  return `${table}__shadow_${shadowId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63);
}

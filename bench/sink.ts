// npm run bench:sink — 500,000 records into a PostgreSQL upsert table through a sink pipeline (Runner +
// SinkLog: rows, input offsets and the owner's epoch check in one statement per batch), against a raw `pg`
// loop over the same log doing the same work by hand: read a batch, parse, batched upsert from arrays
// (`INSERT … SELECT * FROM unnest(…) ON CONFLICT DO UPDATE`) and the offset rows, in one transaction.
// Both run in the same process, alternating, 5 rounds, each run on an emptied table; `ratio` is the median of
// the rounds' ratios. Last line: one JSON object.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import {
  type DatastoreConnection,
  defineDataset,
  definePipeline,
  defineTable,
  type Log,
  openMemoryLog,
  type Pipeline,
  partitionFor,
  Runner,
  tableSink,
} from 'slipway';
import { argValue } from './common.js';

const RECORDS = argValue('records', 500_000);
const ROUNDS = argValue('rounds', 5);
const BATCH = 2000;
const PARTITIONS = 4;
// `--leg slipway` (or `raw`) runs one leg only: for profiling (`node --cpu-prof …`), no ratio.
const legArg = process.argv.indexOf('--leg');
const LEG = legArg > 0 ? process.argv[legArg + 1] : 'both';

// Statements sent per leg (every pg.Client's query, counted here only): round trips per batch, reported beside the rates.
let queries = 0;
const query = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  queries++;
  return (query as (...a: unknown[]) => unknown).apply(this, args);
} as typeof query;

const orders = defineDataset({
  name: 'bench-sink-orders',
  version: '1.0.0',
  key: 'orderId',
  partitions: PARTITIONS,
  schema: Type.Object({
    orderId: Type.String(),
    customerId: Type.String(),
    amount: Type.Number(),
    items: Type.Integer(),
    createdAt: Type.String(),
  }),
});
const table = defineTable({
  name: 'bench_orders',
  columns: {
    order_id: { type: 'text', field: 'orderId', nullable: false },
    customer_id: { type: 'text', field: 'customerId', nullable: false },
    amount: { type: 'double precision', nullable: false },
    items: { type: 'bigint', nullable: false },
    created_at: { type: 'text', field: 'createdAt', nullable: false },
  },
  primaryKey: 'order_id',
});
const pipeline = definePipeline({
  name: 'bench-sink',
  version: '1.0.0',
  inputs: [orders],
  sink: tableSink(table, { mode: 'upsert' }),
  process(o, ctx) {
    ctx.emit(table, o);
  },
}) as Pipeline;

const schema = `slipway_bench_sink_${randomBytes(4).toString('hex')}`;
const datastore: DatastoreConnection = {
  kind: 'postgres',
  host: process.env.PGHOST ?? '127.0.0.1',
  port: Number(process.env.PGPORT ?? 5432),
  database: process.env.PGDATABASE ?? 'test',
  user: process.env.PGUSER ?? 'postgres',
  schema,
};
const admin = new pg.Client({ ...datastore, application_name: 'slipway bench sink admin' });
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);

async function produce(log: Log): Promise<void> {
  await log.createTopic(orders.topic, { partitions: PARTITIONS });
  for (let start = 0; start < RECORDS; start += 10_000) {
    const records = [];
    for (let i = start; i < Math.min(RECORDS, start + 10_000); i++) {
      const o = {
        orderId: `o-${i}`,
        customerId: `c${i % 5000}`,
        amount: ((i * 7919) % 50000) / 100,
        items: 1 + (i % 5),
        createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
      };
      records.push({ partition: partitionFor(o.orderId, PARTITIONS), key: o.orderId, value: JSON.stringify(o) });
    }
    await log.append(orders.topic, records);
  }
}

async function reset(): Promise<void> {
  await admin.query(
    `DROP TABLE IF EXISTS ${schema}.bench_orders, ${schema}.slipway_sink_offsets, ${schema}.raw_offsets`,
  );
  await admin.query(`DELETE FROM ${schema}.slipway_sink_owners`).catch(() => {});
  await admin.query(
    `CREATE TABLE ${schema}.bench_orders (order_id text PRIMARY KEY, customer_id text NOT NULL, amount double precision NOT NULL, items bigint NOT NULL, created_at text NOT NULL)`,
  );
  await admin.query(
    `CREATE TABLE ${schema}.raw_offsets (pipeline_group text, topic text, "partition" integer, next_offset bigint, owner text, owner_epoch bigint, PRIMARY KEY (pipeline_group, topic, "partition"))`,
  );
}

async function checkRows(): Promise<void> {
  const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${schema}.bench_orders`);
  if (rows[0].n !== RECORDS) throw new Error(`expected ${RECORDS} rows, found ${rows[0].n}`);
}

/** Statements per batch of the last run. */
let perBatch = 0;
/** CPU time per batch of the last run (ms): this process's, and its PostgreSQL backend's (from /proc, when local). */
let cpu = { node: 0, backend: Number.NaN };

function backendCpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN; // PostgreSQL on another machine
  }
}

/** Measures CPU time from now until the returned function is called with the number of batches. */
function cpuMeter(backendPid: number | undefined): (batches: number) => void {
  const node = process.cpuUsage();
  const backend = backendCpuMs(backendPid);
  return (batches) => {
    const used = process.cpuUsage(node);
    cpu = { node: (used.user + used.system) / 1000 / batches, backend: (backendCpuMs(backendPid) - backend) / batches };
  };
}

async function slipway(log: Log): Promise<number> {
  await reset();
  const runner = new Runner({ pipeline, log, datastore, batchSize: BATCH });
  await runner.start();
  let batches = 0;
  runner.on('commit', () => batches++);
  const { rows } = await admin.query(
    `SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'slipway sink ${schema} %' AND datname = current_database()`,
  );
  const stop = cpuMeter(rows[0]?.pid);
  const q = queries;
  const t = performance.now();
  await runner.drain();
  const ms = performance.now() - t;
  perBatch = (queries - q) / batches;
  stop(batches);
  await runner.stop();
  await checkRows();
  return (RECORDS / ms) * 1000;
}

/** The same work by hand: read, parse, columns, one transaction of the upsert and the offset rows per batch. */
async function raw(log: Log): Promise<number> {
  await reset();
  const client = new pg.Client({ ...datastore, application_name: 'slipway bench sink raw' });
  await client.connect();
  const upsert = `INSERT INTO ${schema}.bench_orders (order_id, customer_id, amount, items, created_at)
    SELECT * FROM unnest($1::text[], $2::text[], $3::double precision[], $4::bigint[], $5::text[])
    ON CONFLICT (order_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, amount = EXCLUDED.amount, items = EXCLUDED.items, created_at = EXCLUDED.created_at`;
  const offsetsSql = `INSERT INTO ${schema}.raw_offsets (pipeline_group, topic, "partition", next_offset, owner, owner_epoch)
    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pipeline_group, topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset`;
  const positions = new Array(PARTITIONS).fill(0);
  const stop = cpuMeter((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
  const q = queries;
  let batches = 0;
  const t = performance.now();
  let done = 0;
  let p = 0;
  while (done < RECORDS) {
    const partition = p++ % PARTITIONS;
    const records = await log.read(orders.topic, partition, positions[partition], BATCH);
    if (records.length === 0) continue;
    const cols: unknown[][] = [[], [], [], [], []];
    for (const r of records) {
      const o = JSON.parse(r.value);
      cols[0]?.push(o.orderId);
      cols[1]?.push(o.customerId);
      cols[2]?.push(o.amount);
      cols[3]?.push(o.items);
      cols[4]?.push(o.createdAt);
    }
    positions[partition] = (records.at(-1)?.offset ?? 0) + 1;
    await client.query('BEGIN');
    await client.query(upsert, cols);
    await client.query(offsetsSql, ['raw', orders.topic, partition, positions[partition], 'raw', 1]);
    await client.query('COMMIT');
    done += records.length;
    batches++;
  }
  const ms = performance.now() - t;
  perBatch = (queries - q) / batches;
  stop(batches);
  await client.end();
  await checkRows();
  return (RECORDS / ms) * 1000;
}

const log = await openMemoryLog();
await produce(log);
console.log(
  `bench:sink — ${RECORDS} records into an upsert table (batch ${BATCH}), ${ROUNDS} rounds, schema ${schema}`,
);
const ours: number[] = [];
const theirs: number[] = [];
const ratios: number[] = [];
try {
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which goes first: the database's caches and the machine's noise fall on both alike.
    const pair = (round % 2 === 0 ? [raw, slipway] : [slipway, raw]).filter(
      (run) => LEG === 'both' || LEG === (run === raw ? 'raw' : 'slipway'),
    );
    for (const run of pair) {
      const rate = await run(log);
      (run === raw ? theirs : ours).push(rate);
      console.log(
        `  round ${round + 1} ${run === raw ? 'raw pg loop' : 'slipway sink'}: ${Math.round(rate)} rows/s; per batch ${perBatch.toFixed(2)} statements, CPU ${cpu.node.toFixed(1)} ms here, ${cpu.backend.toFixed(1)} ms in its PostgreSQL backend`,
      );
    }
    if (LEG === 'both') ratios.push((ours.at(-1) as number) / (theirs.at(-1) as number));
  }
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const rowsPerSec = Math.round(median(ours));
const rawRowsPerSec = Math.round(median(theirs));
// The ratio is the median of the rounds' own ratios: each pair runs back to back, so a burst of load from
// elsewhere on a shared machine falls on one round's pair rather than on one side of the medians.
const ratio = Math.round(median(ratios) * 100) / 100;
console.log(
  `slipway sink ${rowsPerSec} rows/s, raw pg loop ${rawRowsPerSec} rows/s (medians); rounds' ratios ${ratios.map((r) => r.toFixed(2)).join(', ')}`,
);
console.log(
  JSON.stringify({
    bench: 'sink',
    records: RECORDS,
    rowsPerSec,
    rawRowsPerSec,
    ratio,
  }),
);

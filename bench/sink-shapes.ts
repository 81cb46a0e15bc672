// Measurement aid for bench:sink (not a bench of its own; `node --conditions=slipway-source --import tsx
// bench/sink-shapes.ts --records 300000 --rounds 3`): the SQL of one batch's commit, shape against shape, with the
// rows prebuilt (no log, no processing), so only the statements and their round trips differ — the raw loop's,
// the sink's one CTE statement (unnamed, named, without its state parts), a transaction of named statements, and
// COPY into a temp staging table + INSERT … SELECT … ON CONFLICT. Prints rows/s and CPU ms per batch (backend, node).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { defineTable, tableSink } from 'slipway';
import { bookkeepingStatements, commitStatement } from '../src/runtime/sink-sql.js';
import { argValue } from './common.js';

const RECORDS = argValue('records', 200_000);
const ROUNDS = argValue('rounds', 3);
const BATCH = 2000;
const schema = `slipway_shapes_${randomBytes(4).toString('hex')}`;
const conn = { host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres' };
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
const sink = tableSink(table, { mode: 'upsert' });

const batches: unknown[][][] = [];
for (let start = 0; start < RECORDS; start += BATCH) {
  const cols: unknown[][] = [[], [], [], [], []];
  for (let i = start; i < Math.min(RECORDS, start + BATCH); i++) {
    cols[0]?.push(`o-${i}`);
    cols[1]?.push(`c${i % 5000}`);
    cols[2]?.push(((i * 7919) % 50000) / 100);
    cols[3]?.push(1 + (i % 5));
    cols[4]?.push(new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString());
  }
  batches.push(cols);
}

const admin = new pg.Client(conn);
await admin.connect();
await admin.query(`CREATE SCHEMA ${schema}`);
const s = schema;
const upsertTail = `ON CONFLICT (order_id) DO UPDATE SET customer_id = EXCLUDED.customer_id, amount = EXCLUDED.amount, items = EXCLUDED.items, created_at = EXCLUDED.created_at`;
const upsert = `INSERT INTO ${s}.bench_orders (order_id, customer_id, amount, items, created_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::double precision[], $4::bigint[], $5::text[]) ${upsertTail}`;
const offsetsSql = `INSERT INTO ${s}.slipway_sink_offsets (pipeline_group, topic, "partition", next_offset, owner, owner_epoch)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (pipeline_group, topic, "partition") DO UPDATE SET next_offset = EXCLUDED.next_offset, owner = EXCLUDED.owner, owner_epoch = EXCLUDED.owner_epoch, committed_at = now()`;
const cte = commitStatement(schema, sink);
// The same without the keyed state's two parts, parameters renumbered ($7… are the columns).
const cteNoState = cte
  .split(',\n')
  .filter((part) => !part.startsWith('state_'))
  .join(',\n')
  .replace(/\$(\d+)/g, (_, n) => `$${Number(n) > 10 ? Number(n) - 4 : n}`);

/** COPY … FROM STDIN of prebuilt text (node-postgres has no COPY of its own: its Query, answering CopyInResponse). */
class CopyIn extends pg.Query {
  readonly #data: string;
  constructor(text: string, data: string) {
    super(text);
    this.#data = data;
  }
  // biome-ignore lint/suspicious/noExplicitAny: pg's connection is untyped
  handleCopyInResponse(connection: any): void {
    connection.sendCopyFromChunk(Buffer.from(this.#data));
    connection.endCopyFrom();
  }
}
const esc = (v: unknown): string =>
  String(v).replace(/[\\\t\n\r]/g, (c) => `\\${c === '\t' ? 't' : c === '\n' ? 'n' : c === '\r' ? 'r' : '\\'}`);
function copyText(cols: unknown[][]): string {
  const n = (cols[0] as unknown[]).length;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `${esc(cols[0]?.[i])}\t${esc(cols[1]?.[i])}\t${cols[2]?.[i]}\t${cols[3]?.[i]}\t${esc(cols[4]?.[i])}\n`;
  }
  return out;
}

type Shape = (c: pg.Client, cols: unknown[][], i: number) => Promise<unknown>;
const fenceOnly = `SELECT epoch FROM ${s}.slipway_sink_owners WHERE owner = $1 AND epoch = $2 FOR SHARE`;
const shapes: Record<string, Shape> = {
  'raw: BEGIN, upsert, offset row, COMMIT': async (c, cols, i) => {
    await c.query('BEGIN');
    await c.query(upsert, cols);
    await c.query(offsetsSql, ['g', 't', i % 4, i, 'o', 1]);
    await c.query('COMMIT');
  },
  'one CTE statement, unnamed (today)': (c, cols, i) => c.query(cte, params(cols, i)),
  'one CTE statement, named (prepared once)': (c, cols, i) =>
    c.query({ name: 'sink_commit', text: cte, values: params(cols, i) }),
  'one CTE statement without the state parts, named': (c, cols, i) =>
    c.query({ name: 'sink_rows', text: cteNoState, values: params(cols, i).filter((_, j) => j < 6 || j > 9) }),
  'raw, its statements named': async (c, cols, i) => {
    await c.query('BEGIN');
    await c.query({ name: 'u', text: upsert, values: cols });
    await c.query({ name: 'x', text: offsetsSql, values: ['g', 't', i % 4, i, 'o', 1] });
    await c.query('COMMIT');
  },
  'tx: fence FOR SHARE, upsert, offsets (named)': async (c, cols, i) => {
    await c.query('BEGIN');
    await c.query({ name: 'f', text: fenceOnly, values: ['o', 1] });
    await c.query({ name: 'u', text: upsert, values: cols });
    await c.query({ name: 'x', text: offsetsSql, values: ['g', 't', i % 4, i, 'o', 1] });
    await c.query('COMMIT');
  },
  'tx: fence, COPY into temp staging, INSERT SELECT ON CONFLICT, offsets': async (c, cols, i) => {
    await c.query('BEGIN');
    await c.query({ name: 'f', text: fenceOnly, values: ['o', 1] });
    await c.query(new CopyIn('COPY pg_temp.staging FROM STDIN', copyText(cols)));
    await c.query(`INSERT INTO ${s}.bench_orders SELECT * FROM pg_temp.staging ${upsertTail}`);
    await c.query({ name: 'x', text: offsetsSql, values: ['g', 't', i % 4, i, 'o', 1] });
    await c.query('COMMIT');
  },
};
function params(cols: unknown[][], i: number): unknown[] {
  return ['o', 1, 'g', ['t'], [i % 4], [i], 'ns', [], [], [], ...cols];
}

const rates: Record<string, number[]> = {};
const cpu: Record<string, Array<[number, number]>> = {};
/** The backend's CPU time (user + system) so far, from /proc (PostgreSQL on this machine). */
function backendCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
try {
  for (let round = 0; round < ROUNDS; round++) {
    const names = Object.keys(shapes);
    if (round % 2 === 1) names.reverse();
    for (const name of names) {
      await admin.query(`DROP TABLE IF EXISTS ${s}.bench_orders, ${s}.slipway_sink_offsets, ${s}.slipway_sink_owners`);
      for (const sql of bookkeepingStatements(schema)) await admin.query(sql);
      await admin.query(`INSERT INTO ${s}.slipway_sink_owners VALUES ('o', 1)`);
      await admin.query(
        `CREATE TABLE ${s}.bench_orders (order_id text PRIMARY KEY, customer_id text NOT NULL, amount double precision NOT NULL, items bigint NOT NULL, created_at text NOT NULL)`,
      );
      await admin.query('CHECKPOINT');
      const c = new pg.Client(conn);
      await c.connect();
      await c.query(`CREATE TEMP TABLE staging (LIKE ${s}.bench_orders) ON COMMIT DELETE ROWS`);
      const pid = (await c.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
      const b0 = backendCpuMs(pid);
      const n0 = process.cpuUsage();
      const t = performance.now();
      for (let i = 0; i < batches.length; i++) await (shapes[name] as Shape)(c, batches[i] as unknown[][], i);
      const rate = (RECORDS / (performance.now() - t)) * 1000;
      const backend = (backendCpuMs(pid) - b0) / batches.length;
      const n1 = process.cpuUsage(n0);
      const node = (n1.user + n1.system) / 1000 / batches.length;
      cpu[name] = [...(cpu[name] ?? []), [backend, node]];
      await c.end();
      const { rows } = await admin.query(`SELECT count(*)::int AS n FROM ${s}.bench_orders`);
      if (rows[0].n !== RECORDS) throw new Error(`${name}: ${rows[0].n} rows`);
      rates[name] = [...(rates[name] ?? []), rate];
      console.log(
        `round ${round + 1} ${name}: ${Math.round(rate)} rows/s, CPU per batch: backend ${backend.toFixed(1)} ms, node ${node.toFixed(1)} ms`,
      );
    }
  }
} finally {
  await admin.query(`DROP SCHEMA ${schema} CASCADE`);
  await admin.end();
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
for (const [name, xs] of Object.entries(rates)) {
  const c = cpu[name] ?? [];
  console.log(
    `${Math.round(median(xs))} rows/s, backend ${median(c.map((x) => x[0])).toFixed(1)} ms/batch, node ${median(c.map((x) => x[1])).toFixed(1)} ms/batch  ${name}`,
  );
}

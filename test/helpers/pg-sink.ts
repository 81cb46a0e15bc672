import { randomBytes } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import pg from 'pg';
import {
  type DatastoreConnection,
  defineDataset,
  definePipeline,
  defineTable,
  type Log,
  type Pipeline,
  partitionFor,
  tableSink,
} from 'slipway';

/** A PostgreSQL schema of its own (random name) for one test, dropped by `drop()`. */
export async function tempSchema(prefix = 'slipway_sink'): Promise<{
  schema: string;
  datastore: DatastoreConnection;
  client: pg.Client;
  drop(): Promise<void>;
}> {
  const schema = `${prefix}_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  return {
    schema,
    datastore: { kind: 'postgres', host: '127.0.0.1', port: 5432, database: 'test', user: 'postgres', schema },
    client,
    async drop() {
      await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await client.end();
    },
  };
}

export interface Payment {
  id: string;
  account: string;
  amount: number;
  /** Ends the account: its row is deleted (a tombstone). */
  close?: boolean;
}

/**
 * A sink pipeline with keyed state: per account, the running total and count of payments into the
 * `account_totals` table (upsert), a `close` payment deletes the row (tombstone). Lost or repeated input
 * shows as a wrong total or count.
 */
export function accountTotals(id: string): {
  payments: ReturnType<typeof paymentsDataset>;
  table: ReturnType<typeof totalsTable>;
  pipeline: Pipeline;
} {
  const payments = paymentsDataset(id);
  const table = totalsTable();
  const pipeline = definePipeline({
    name: `account-totals-${id}`,
    version: '1.0.0',
    inputs: [payments],
    sink: tableSink(table, { mode: 'upsert', deleteOnTombstone: true }),
    process(p, ctx) {
      if (p.close === true) {
        ctx.state.delete(p.account);
        ctx.tombstone(table, { account: p.account });
        return;
      }
      const before = ctx.state.get<{ total: number; count: number }>(p.account) ?? { total: 0, count: 0 };
      const now = { total: before.total + p.amount, count: before.count + 1 };
      ctx.state.set(p.account, now);
      ctx.emit(table, { account: p.account, total: now.total, payments: now.count, lastPayment: p.id });
    },
  }) as Pipeline;
  return { payments, table, pipeline };
}

function paymentsDataset(id: string) {
  return defineDataset({
    name: `payments-${id}`,
    version: '1.0.0',
    key: 'account',
    partitions: 4,
    schema: Type.Object({
      id: Type.String(),
      account: Type.String(),
      amount: Type.Integer(),
      close: Type.Optional(Type.Boolean()),
    }),
  });
}

function totalsTable() {
  return defineTable({
    name: 'account_totals',
    columns: {
      account: { type: 'text', nullable: false },
      total: { type: 'bigint', nullable: false },
      payments: { type: 'bigint', nullable: false },
      last_payment: { type: 'text', nullable: false, field: 'lastPayment' },
    },
    primaryKey: 'account',
  });
}

/** Payment `i`: account `a<i % accounts>`, amount 1..1000; every `closeEvery`-th a close (0: never). */
export function makePayment(i: number, accounts: number, closeEvery = 0): Payment {
  const p: Payment = { id: `p-${i}`, account: `a${i % accounts}`, amount: 1 + ((i * 7919) % 1000) };
  if (closeEvery > 0 && i % closeEvery === closeEvery - 1) p.close = true;
  return p;
}

/** Appends payments `from..from+count` partitioned by key. */
export async function producePayments(
  log: Log,
  topic: string,
  from: number,
  count: number,
  accounts: number,
  closeEvery = 0,
): Promise<void> {
  await log.createTopic(topic, { partitions: 4 });
  for (let start = from; start < from + count; start += 5000) {
    const records = [];
    for (let i = start; i < Math.min(from + count, start + 5000); i++) {
      const p = makePayment(i, accounts, closeEvery);
      records.push({ partition: partitionFor(p.account, 4), key: p.account, value: JSON.stringify(p) });
    }
    await log.append(topic, records);
  }
}

/**
 * Appends payments in batches of `batch` every `pauseMs` until stopped: the load deployments run under.
 * `stop()` resolves with how many were produced.
 */
export function startPaymentLoad(
  log: Log,
  topic: string,
  load: { batch: number; pauseMs: number; accounts: number; closeEvery: number },
): { stop(): Promise<number> } {
  let produced = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await producePayments(log, topic, produced, load.batch, load.accounts, load.closeEvery);
      produced += load.batch;
      await new Promise((r) => setTimeout(r, load.pauseMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return produced;
    },
  };
}

/**
 * The table the payments should give, replayed independently of the runner: per account, from its
 * payments in order (a close deletes the row and starts again from zero).
 */
export function expectedTotals(
  count: number,
  accounts: number,
  closeEvery = 0,
): Map<string, { total: number; payments: number; lastPayment: string }> {
  const rows = new Map<string, { total: number; payments: number; lastPayment: string }>();
  for (let i = 0; i < count; i++) {
    const p = makePayment(i, accounts, closeEvery);
    if (p.close === true) {
      rows.delete(p.account);
      continue;
    }
    const before = rows.get(p.account) ?? { total: 0, payments: 0, lastPayment: '' };
    rows.set(p.account, { total: before.total + p.amount, payments: before.payments + 1, lastPayment: p.id });
  }
  return rows;
}

/** The table as a plain SQL query sees it. */
export async function tableRows(
  client: pg.Client,
  schema: string,
): Promise<Map<string, { total: number; payments: number; lastPayment: string }>> {
  const { rows } = await client.query(
    `SELECT account, total, payments, last_payment FROM ${schema}.account_totals ORDER BY account`,
  );
  return new Map(
    rows.map((r) => [r.account, { total: Number(r.total), payments: Number(r.payments), lastPayment: r.last_payment }]),
  );
}

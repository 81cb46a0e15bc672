import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset, definePipeline, defineTable, openMemoryLog, Runner, type SinkLog, tableSink } from 'slipway';
import { accountTotals, expectedTotals, producePayments, tableRows, tempSchema } from './helpers/pg-sink.js';

const id = () => randomBytes(3).toString('hex');

describe('table sinks: definition', () => {
  const events = defineDataset({
    name: 'events',
    version: '1.0.0',
    key: 'id',
    schema: Type.Object({ id: Type.String() }),
  });
  const table = defineTable({ name: 'events', columns: { id: 'text' }, primaryKey: 'id' });

  it('refuses a pipeline writing topics and a table with SLIPWAY_SINK_WITH_TOPICS, naming both', () => {
    const copy = defineDataset({ name: 'events-copy', version: '1.0.0', key: 'id', schema: events.schema });
    assert.throws(
      () =>
        definePipeline({
          name: 'both',
          version: '1.0.0',
          inputs: [events],
          outputs: [copy],
          sink: tableSink(table),
          process() {},
        }),
      (e: { code?: string; details?: { field?: string; table?: string } }) =>
        e.code === 'SLIPWAY_SINK_WITH_TOPICS' && e.details?.field === 'outputs' && e.details.table === 'events',
    );
  });

  it('refuses deleteOnTombstone on an append sink, and a sink that is not a table', () => {
    assert.throws(
      () => tableSink(table, { mode: 'append', deleteOnTombstone: true }),
      (e: { code?: string; details?: { field?: string } }) =>
        e.code === 'SLIPWAY_INVALID_DEFINITION' && e.details?.field === 'deleteOnTombstone',
    );
    assert.throws(
      () => tableSink({} as never),
      (e: { code?: string }) => e.code === 'SLIPWAY_INVALID_DEFINITION',
    );
  });

  it('a sink runner needs its datastore (SLIPWAY_USAGE)', async () => {
    const { pipeline } = accountTotals(id());
    assert.throws(
      () => new Runner({ pipeline, log: {} as never }),
      (e: { code?: string }) => e.code === 'SLIPWAY_USAGE',
    );
  });
});

describe('table sinks against PostgreSQL', () => {
  let pg: Awaited<ReturnType<typeof tempSchema>>;
  before(async () => {
    pg = await tempSchema();
  });
  after(async () => {
    await pg.drop();
  });

  it('upserts and deletes rows with the offsets and state in the database; a new runner resumes from them', async () => {
    const log = await openMemoryLog();
    const { payments, pipeline } = accountTotals(id());
    await producePayments(log, payments.topic, 0, 5000, 97, 41);
    const first = new Runner({ pipeline, log, datastore: pg.datastore, batchSize: 300 });
    await first.start();
    await first.drain();
    await first.stop();
    assert.deepEqual(await tableRows(pg.client, pg.schema), expectedTotals(5000, 97, 41));
    // The log's own group offsets are never written: the database holds them.
    assert.deepEqual(await log.committedOffsets(first.group), []);
    const { rows } = await pg.client.query(
      `SELECT sum(next_offset)::int AS n FROM ${pg.schema}.slipway_sink_offsets WHERE pipeline_group = $1`,
      [first.group],
    );
    assert.equal(rows[0].n, 5000);

    await producePayments(log, payments.topic, 5000, 3000, 97, 41);
    const second = new Runner({ pipeline, log, datastore: pg.datastore, batchSize: 300 });
    await second.start();
    await second.drain();
    await second.stop();
    assert.deepEqual(await tableRows(pg.client, pg.schema), expectedTotals(8000, 97, 41));
  });

  it('a zombie owner woken after a handoff cannot commit a row (SLIPWAY_FENCED, nothing written)', async () => {
    const schema = await tempSchema();
    try {
      const log = await openMemoryLog();
      const { payments, pipeline } = accountTotals(id());
      await producePayments(log, payments.topic, 0, 2000, 13);
      const blue = new Runner({ pipeline, log, datastore: schema.datastore, batchSize: 500 });
      await blue.start();
      await blue.runUntil([0, 1, 2, 3].map((p) => ({ topic: payments.topic, partition: p, offset: 100 })));
      // Blue is paused with its epoch (a process that stalled: a GC pause, a frozen VM).
      const green = new Runner({ pipeline, log, datastore: schema.datastore, batchSize: 500 });
      await green.start();
      const sink = green.log as SinkLog;
      const epoch = await sink.fence(green.owner);
      const offsets = await sink.committedOffsets(green.group);
      await green.activate({ offsets, epoch });
      await green.pause();
      const before = await tableRows(schema.client, schema.schema);
      // The zombie wakes and commits a batch under its old epoch: refused, nothing of it is written.
      await producePayments(log, payments.topic, 2000, 500, 13);
      const fenced = new Promise<unknown>((resolve) => blue.once('fenced', resolve));
      await blue.activate({ epoch: blue.epoch, offsets: blue.offsets() });
      const err = (await fenced) as { code?: string };
      assert.equal(err.code, 'SLIPWAY_FENCED');
      assert.equal(blue.state, 'fenced');
      assert.deepEqual(await tableRows(schema.client, schema.schema), before);
      assert.deepEqual(await sink.committedOffsets(green.group), await green.pause());
      // Green goes on from where it stands: every payment exactly once.
      await green.activate({ epoch, offsets: green.offsets() });
      await green.drain();
      await green.stop();
      await blue.stop();
      assert.deepEqual(await tableRows(schema.client, schema.schema), expectedTotals(2500, 13));
    } finally {
      await schema.drop();
    }
  });

  it('a row its table refuses sends the record to the dead-letter topic, the others commit', async () => {
    const schema = await tempSchema();
    try {
      const log = await openMemoryLog();
      const { payments, pipeline } = accountTotals(id());
      await producePayments(log, payments.topic, 0, 100, 7);
      await log.append(payments.topic, [{ partition: 0, key: 'x', value: '{"id":"bad"}' }]);
      const runner = new Runner({ pipeline, log, datastore: schema.datastore });
      await runner.start();
      await runner.drain();
      await runner.stop();
      assert.deepEqual(await tableRows(schema.client, schema.schema), expectedTotals(100, 7));
      const dlq = await log.read(`${payments.topic}.dlq`, 0, 0, 10);
      assert.equal(dlq.length, 1);
    } finally {
      await schema.drop();
    }
  });
});

describe('the source of each row', () => {
  it('records the input record that last wrote the row, also in a table its migrations made (column added)', async () => {
    const schema = await tempSchema();
    try {
      const log = await openMemoryLog();
      const { payments, table } = accountTotals(id());
      // The table made by a migration, without the source column: the runner adds it.
      await schema.client.query(
        `CREATE TABLE ${schema.schema}.account_totals (account text PRIMARY KEY, total bigint NOT NULL, payments bigint NOT NULL, last_payment text NOT NULL)`,
      );
      const migrated = defineTable({
        name: 'account_totals',
        columns: Object.fromEntries(table.columns.map((c) => [c.name, { ...c }])),
        primaryKey: 'account',
        migrations: [{ up: 'CREATE TABLE account_totals (account text PRIMARY KEY)' }],
      });
      const sinkPipeline = definePipeline({
        name: `last-payment-${id()}`,
        version: '1.0.0',
        inputs: [payments],
        sink: tableSink(migrated, { mode: 'upsert' }),
        process(p: { id: string; account: string; amount: number }, ctx) {
          ctx.emit(migrated, { account: p.account, total: p.amount, payments: 1, lastPayment: p.id });
        },
      });
      await producePayments(log, payments.topic, 0, 600, 23);
      const runner = new Runner({ pipeline: sinkPipeline, log, datastore: schema.datastore });
      await runner.start();
      await runner.drain();
      await runner.stop();
      const { rows } = await schema.client.query(
        `SELECT last_payment, _slipway_source FROM ${schema.schema}.account_totals`,
      );
      assert.ok(rows.length > 0);
      for (const r of rows) {
        const m = /^(.*)\/(\d+)\/(\d+)$/.exec(r._slipway_source) as RegExpExecArray;
        assert.equal(m?.[1], payments.topic, r._slipway_source);
        const [record] = await log.read(m[1] as string, Number(m[2]), Number(m[3]), 1);
        assert.equal(JSON.parse(record?.value ?? '{}').id, r.last_payment);
      }
    } finally {
      await schema.drop();
    }
  });
});

describe('a shadow run of a sink pipeline', () => {
  it('writes its rows to <table>__shadow_<id> under its own owner and offsets, never the live table', async () => {
    const schema = await tempSchema();
    try {
      const log = await openMemoryLog();
      const { payments, pipeline } = accountTotals(id());
      await producePayments(log, payments.topic, 0, 1000, 31, 17);
      const live = new Runner({ pipeline, log, datastore: schema.datastore });
      await live.start();
      await live.runUntil([0, 1, 2, 3].map((p) => ({ topic: payments.topic, partition: p, offset: 50 })));
      await live.stop();
      const liveRows = await tableRows(schema.client, schema.schema);
      const shadow = new Runner({ pipeline, log, datastore: schema.datastore, mode: 'shadow', shadowId: 'dep-1' });
      await shadow.start();
      await shadow.drain();
      await shadow.stop();
      assert.deepEqual(await tableRows(schema.client, schema.schema), liveRows);
      const { rows } = await schema.client.query(
        `SELECT account, total, payments, last_payment FROM ${schema.schema}.account_totals__shadow_dep_1`,
      );
      const shadowRows = new Map(
        rows.map((r) => [
          r.account,
          { total: Number(r.total), payments: Number(r.payments), lastPayment: r.last_payment },
        ]),
      );
      assert.deepEqual(shadowRows, expectedTotals(1000, 31, 17));
    } finally {
      await schema.drop();
    }
  });
});

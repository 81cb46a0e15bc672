import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { tempLog } from './helpers/orders.js';
import { expectedTotals, producePayments, tableRows, tempSchema } from './helpers/pg-sink.js';

const CHILD = fileURLToPath(new URL('./fixtures/pg-sink-child.ts', import.meta.url));
const RECORDS = 100_000;
const ACCOUNTS = 1000;
const CLOSE_EVERY = 997;
const KILLS = 10;
const TERMINATIONS = 5;
/**
 * Each killed run is cut after a seeded share of the input: at most this many records committed, so even a fast
 * machine needs more than KILLS runs (KILLS × MAX_SLICE < RECORDS) and every kill lands mid-run. Cutting by
 * time instead let a quiet machine finish the input in 9 runs.
 */
const MIN_SLICE = 1000;
const MAX_SLICE = 6000;
/** The longest a run is given to reach its slice before it is killed anyway (a slow machine). */
const SLICE_CAP_MS = 20_000;

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with PG_SINK_CRASH_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function startChild(
  logPath: string,
  schema: string,
  id: string,
): { child: ChildProcess; running: Promise<void>; exited: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(
    process.execPath,
    ['--conditions=slipway-source', '--import', 'tsx', CHILD, logPath, schema, id, '250'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const running = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('running')) resolve();
    });
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, running, exited };
}

describe('exactly once into PostgreSQL under crashes', () => {
  let pg: Awaited<ReturnType<typeof tempSchema>>;
  let log: Awaited<ReturnType<typeof tempLog>>;
  before(async () => {
    pg = await tempSchema('slipway_crash');
    log = await tempLog('slipway-pg-crash-');
  });
  after(async () => {
    await pg.drop();
    await log.cleanup();
  });

  it(`${RECORDS} records, the runner SIGKILLed ${KILLS}+ times and its connection terminated ${TERMINATIONS}+ times: every row exactly once`, async () => {
    const seed = Number(process.env.PG_SINK_CRASH_SEED ?? randomBytes(4).readUInt32LE(0));
    console.log(`pg-sink-crash seed ${seed} (replay: PG_SINK_CRASH_SEED=${seed})`);
    const random = prng(seed);
    const id = randomBytes(3).toString('hex');
    const topic = `payments-${id}.v1`;
    await producePayments(log.log, topic, 0, RECORDS, ACCOUNTS, CLOSE_EVERY);
    const committed = async (): Promise<number> => {
      const { rows } = await pg.client
        .query(`SELECT coalesce(sum(next_offset), 0)::int AS n FROM ${pg.schema}.slipway_sink_offsets`)
        .catch(() => ({ rows: [{ n: 0 }] }));
      return rows[0].n;
    };
    const terminate = async (): Promise<number> => {
      const { rows } = await pg.client.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE $1`,
        [`slipway sink ${pg.schema}%`],
      );
      return rows.filter((r) => r.ok === true).length;
    };

    /** Waits until `records` more are committed than `from`, the child has exited, or the cap has passed. */
    const progressed = async (child: ChildProcess, from: number, records: number): Promise<void> => {
      const deadline = Date.now() + SLICE_CAP_MS;
      while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
        if ((await committed()) - from >= records) return;
        await new Promise((r) => setTimeout(r, 5 + random() * 15));
      }
    };

    let kills = 0;
    let terminations = 0;
    let finished = false;
    for (let attempt = 0; attempt < 80 && !finished; attempt++) {
      const { child, running, exited } = startChild(log.path, pg.schema, id);
      if (kills >= KILLS && terminations >= TERMINATIONS) {
        assert.equal((await exited).code, 0, 'the last run completes');
        finished = true;
        break;
      }
      const outcome = await Promise.race([
        running.then(() => 'running' as const),
        exited.then(() => 'exited' as const),
      ]);
      if (outcome === 'running') {
        const from = await committed();
        const slice = MIN_SLICE + Math.floor(random() * (MAX_SLICE - MIN_SLICE));
        if (terminations < TERMINATIONS) {
          // Drop its connection from the server side, mid-run, before the kill.
          const before = Math.floor(random() * slice * 0.6);
          await progressed(child, from, before);
          if (child.exitCode === null) terminations += (await terminate()) > 0 ? 1 : 0;
        }
        await progressed(child, from, slice);
        child.kill('SIGKILL');
      }
      const { code, signal } = await exited;
      // A dropped connection is retried inside the runner: a run ends only by finishing or by the kill.
      assert.ok(code === 0 || signal === 'SIGKILL', `run ${attempt} failed by itself (code ${code})`);
      if (code === 0) finished = true;
      else if ((await committed()) < RECORDS) kills++;
    }
    console.log(`pg-sink-crash: ${kills} kills, ${terminations} terminated connections`);
    assert.ok(finished, 'a run finished');
    assert.ok(kills >= KILLS, `killed mid-run ${kills} times`);
    assert.ok(terminations >= TERMINATIONS, `terminated connections ${terminations} times`);
    assert.equal(await committed(), RECORDS);
    // A plain SQL query against an independent replay of the input: every account's row once, right values.
    const actual = await tableRows(pg.client, pg.schema);
    const expected = expectedTotals(RECORDS, ACCOUNTS, CLOSE_EVERY);
    assert.equal(actual.size, expected.size);
    assert.deepEqual(actual, expected);
    const { rows } = await pg.client.query(`SELECT sum(payments)::bigint AS n FROM ${pg.schema}.account_totals`);
    assert.equal(
      Number(rows[0].n),
      [...expected.values()].reduce((n, r) => n + r.payments, 0),
    );
  });
});

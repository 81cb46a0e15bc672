import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { definePipeline } from '../pipeline/pipeline.js';
import type { StateMigration } from '../pipeline/state-migration.js';
import { produceRecords } from '../testing/dataset-records.js';
import { withEmbeddedLog } from '../testing/with-embedded-log.js';
import { Runner } from './runner.js';
import { STATE_VERSION_KEY } from './state-migrate.js';

const events = defineDataset({
  name: 'smr-events',
  version: '1.0.0',
  key: 'k',
  partitions: 3,
  schema: Type.Object({ k: Type.String(), n: Type.Number() }),
});
type Event = { k: string; n: number };
const NAME = 'smr-count';

// v1 keeps a count per key; v2 keeps { count }. `up` is not idempotent ({ count: { count } } if run twice).
const v1 = definePipeline({
  name: NAME,
  version: '1.0.0',
  inputs: [events],
  outputs: [],
  process(e: Event, ctx) {
    ctx.state.set(e.k, (ctx.state.get<number>(e.k) ?? 0) + 1);
  },
});
const v2Of = (migrateState: StateMigration) =>
  definePipeline({
    name: NAME,
    version: '2.0.0',
    inputs: [events],
    outputs: [],
    stateVersion: 2,
    migrateState,
    process(e: Event, ctx) {
      const s = ctx.state.get<{ count: number }>(e.k) ?? { count: 0 };
      ctx.state.set(e.k, { count: s.count + 1 });
    },
  });
const up = (v: unknown) => ({ count: v as number });
const down = (v: unknown) => (v as { count: number }).count;
const v2 = v2Of({ from: 1, up, down });

const produce = (log: Log, from: number, to: number) =>
  produceRecords(
    log,
    events,
    Array.from({ length: to - from }, (_, i) => ({ k: `k${(from + i) % 10}`, n: from + i })),
  );

/** The committed state of every partition, as the log holds it (values parsed). */
async function logState(log: Log): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (let p = 0; p < events.partitions; p++)
    for (const [k, v] of await log.readState(NAME, p)) out[`${p}/${k}`] = JSON.parse(v);
  return out;
}

/** Runs `pipeline` over everything appended so far, then stops it. */
async function drain(log: Log, pipeline: typeof v1 | typeof v2): Promise<void> {
  const runner = new Runner({ pipeline, log });
  await runner.start();
  await runner.activate();
  await runner.drain();
  await runner.stop();
}

const counts = (n: number): Record<string, number> =>
  Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, Math.ceil((n - i) / 10)]));

function userState(state: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(state)
      .filter(([k]) => !k.includes('\u0000'))
      .map(([k, v]) => [k.split('/')[1] as string, v]),
  );
}

describe('state migrations in the runner (embedded log)', () => {
  it('migrates every key once at activation, atomically with the mark; a failure or crash mid-way leaves the old layout', async () => {
    await withEmbeddedLog(async (log) => {
      await produce(log, 0, 300);
      await drain(log, v1);
      const before = await logState(log);
      assert.deepEqual(userState(before), counts(300));

      // A migration that fails on its 7th key (as a crash in the middle would): nothing is committed.
      let calls = 0;
      const crashing = v2Of({
        from: 1,
        up: (v) => {
          if (++calls === 7) throw new Error('crash mid-migration');
          return up(v);
        },
        down,
      });
      const broken = new Runner({ pipeline: crashing, log });
      await broken.start();
      await assert.rejects(broken.activate(), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_FAILED'), String(err));
        assert.equal(typeof err.details?.key, 'string');
        assert.equal(typeof err.details?.partition, 'number');
        return true;
      });
      await broken.stop();
      assert.deepEqual(await logState(log), before, 'the old layout, whole: no key migrated, no mark');

      // Restarted: migrated exactly once (up is not idempotent), then processing goes on in the new layout.
      await produce(log, 300, 450);
      await drain(log, v2);
      const after = await logState(log);
      const expected = Object.fromEntries(Object.entries(counts(450)).map(([k, c]) => [k, { count: c }]));
      assert.deepEqual(userState(after), expected);
      for (let p = 0; p < events.partitions; p++) assert.equal(after[`${p}/${STATE_VERSION_KEY}`], 2);

      // Activating the new version again migrates nothing.
      await drain(log, v2);
      assert.deepEqual(await logState(log), after);
    });
  });

  it('takes state back with down (once, safe to repeat), refuses without down or a migration from the layout', async () => {
    await withEmbeddedLog(async (log) => {
      await produce(log, 0, 200);
      await drain(log, v1);
      await produce(log, 200, 260);
      const green = new Runner({ pipeline: v2, log });
      await green.start();
      await green.activate();
      await green.drain();
      const oneWay = new Runner({ pipeline: v2Of({ from: 1, up }), log });
      await oneWay.start();
      await assert.rejects(oneWay.migrateState(1), (err) => isSlipwayError(err, 'SLIPWAY_STATE_IRREVERSIBLE'));
      await assert.rejects(green.migrateState(3), (err) => isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_MISSING'));

      // oneWay fenced the paused v2 (in standby, migrateState fences the owner): a new v2 in standby takes state back.
      const back = new Runner({ pipeline: v2, log });
      await back.start();
      const result = await back.migrateState(1);
      assert.deepEqual(result, { from: 2, to: 1, partitions: 3, keys: 10 });
      assert.deepEqual((await back.migrateState(1)).partitions, 0, 'running it again changes nothing');
      await green.stop();
      await oneWay.stop();
      await back.stop();

      // The version before goes on from the state it understands: exactly the counts of a clean v1 run.
      await produce(log, 260, 300);
      await drain(log, v1);
      assert.deepEqual(userState(await logState(log)), counts(300));

      // A version two layouts on, without a migration from 1, is refused at activation.
      const v3 = definePipeline({ ...v1, name: NAME, version: '3.0.0', stateVersion: 3 });
      const r3 = new Runner({ pipeline: v3, log });
      await r3.start();
      await assert.rejects(r3.activate(), (err) => isSlipwayError(err, 'SLIPWAY_STATE_MIGRATION_MISSING'));
      await r3.stop();
    });
  });
});

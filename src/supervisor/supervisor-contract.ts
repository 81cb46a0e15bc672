/**
 * The RunnerSupervisor contract suite: what every supervisor and its handles must do, as tests that
 * take a factory. Each implementation runs it in one call, e.g. `runSupervisorContract('child-process',
 * (artifactsDir) => new ChildProcessSupervisor({ artifactsDir }))`; runners on other machines plug in
 * when it passes. The suite builds its own small pipeline (a keyed counter with a poison value) into
 * a temporary artifact store, and gives every test an embedded log of its own.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { buildArtifact } from '../artifact/build-artifact.js';
import { isSlipwayError } from '../errors.js';
import { openEmbeddedLog } from '../log/embedded/embedded-log.js';
import type { Log, PartitionOffset } from '../log/log.js';
import { partitionFor } from '../log/partitioner.js';
import { checkExactlyOnce } from '../runtime/exactly-once-check.js';
import { RunnerGroup } from './runner-group.js';
import type { RunnerExit, RunnerHandle, RunnerSpec, RunnerSupervisor } from './supervisor.js';

const PIPELINE = `
import { defineDataset, definePipeline } from 'slipway';
export const input = defineDataset({
  name: 'sup-in', version: '1.0.0', key: 'k', partitions: 2,
  schema: { type: 'object', properties: { k: { type: 'string' }, v: { type: 'number' } }, required: ['k', 'v'] },
});
export const output = defineDataset({
  name: 'sup-out', version: '1.0.0', key: 'k', partitions: 2,
  schema: { type: 'object', properties: { k: { type: 'string' }, n: { type: 'integer' }, v: { type: 'number' } }, required: ['k', 'n', 'v'] },
});
export const counter = definePipeline({
  name: 'sup-counter', version: '1.0.0', inputs: [input], outputs: [output],
  config: { type: 'object', properties: { factor: { type: 'number', default: 1 }, acceptNegative: { type: 'boolean', default: false } } },
  process(r, ctx) {
    if (r.v < 0 && !ctx.config.acceptNegative) throw new Error('negative value ' + r.v);
    const n = (ctx.state.get(r.k) ?? 0) + 1;
    ctx.state.set(r.k, n);
    ctx.emit(output, { k: r.k, n, v: r.v * ctx.config.factor });
  },
});
`;

const IN = 'sup-in.v1';
const OUT = 'sup-out.v1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Appends `count` records (values `from`…), keys spread over both partitions; `poison` values are negative. */
async function produce(log: Log, from: number, count: number, poison: (i: number) => boolean = () => false) {
  await log.createTopic(IN, { partitions: 2 });
  const records = [];
  for (let i = from; i < from + count; i++) {
    const k = `k${i % 7}`;
    records.push({ partition: partitionFor(k, 2), key: k, value: JSON.stringify({ k, v: poison(i) ? -(i + 1) : i }) });
  }
  await log.append(IN, records);
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const committed = async (log: Log, group: string): Promise<number> =>
  (await log.committedOffsets(group)).reduce((n, o) => n + o.offset, 0);

/**
 * Resolves when the runner reports commits of `inputs` input records in all (its `commit` events; listen
 * before it activates). Its stats are read after this, not after the log shows the offsets: the log has a
 * commit before the runner hears back from it (the embedded log commits on its own thread, a runner process
 * reports over IPC), and the runner counts a commit — its stats, then its `commit` event — when it hears back.
 */
function reported(runner: RunnerHandle, inputs: number): Promise<void> {
  let seen = 0;
  return new Promise((resolve, reject) => {
    const onCommit = (c: { inputs: number }): void => {
      seen += c.inputs;
      if (seen < inputs) return;
      done();
      resolve();
    };
    const onEnd = (e: { message?: string; code?: number | null }): void => {
      done();
      reject(
        new Error(`the runner ended after ${seen} of ${inputs} inputs committed: ${e.message ?? `exit ${e.code}`}`),
      );
    };
    const done = (): void => {
      runner.off('commit', onCommit);
      runner.off('failed', onEnd);
      runner.off('exit', onEnd);
    };
    runner.on('commit', onCommit);
    runner.on('failed', onEnd);
    runner.on('exit', onEnd);
  });
}

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });

/** Registers the contract tests for one supervisor, made by `create` for an artifact store folder. */
export function runSupervisorContract(name: string, create: (artifactsDir: string) => RunnerSupervisor): void {
  describe(`RunnerSupervisor contract: ${name}`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-supervisor-'));
    const artifactsDir = join(dir, 'artifacts');
    let digest = '';
    let supervisor: RunnerSupervisor;
    let n = 0;
    const logs: Log[] = [];

    before(async () => {
      writeFileSync(join(dir, 'pipeline.ts'), PIPELINE);
      digest = (
        await buildArtifact({ entry: 'pipeline.ts', cwd: dir, store: new ArtifactStore({ dir: artifactsDir }) })
      ).digest;
      supervisor = create(artifactsDir);
    });
    after(async () => {
      await supervisor.close();
      for (const log of logs) await log.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh embedded log, and a spec of the counter on it. */
    const setup = async (extra: Partial<RunnerSpec> = {}): Promise<{ log: Log; spec: RunnerSpec }> => {
      const path = join(dir, `log-${++n}.db`);
      const log = await openEmbeddedLog({ path });
      logs.push(log);
      const spec: RunnerSpec = {
        id: `sup-counter:test:${n}`,
        digest,
        pipeline: 'sup-counter',
        log: { engine: 'embedded', path },
        batchSize: 50,
        ...extra,
      };
      return { log, spec };
    };

    it('starts a runner in standby from an artifact digest, and it processes exactly once when activated', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 300);
      const runner = await supervisor.start(spec);
      assert.equal(runner.state, 'standby');
      assert.equal(runner.size, 1);
      const commits: unknown[] = [];
      runner.on('commit', (c) => commits.push(c));
      const all = reported(runner, 300);
      await runner.activate();
      await all;
      assert.equal(await committed(log, 'slipway.sup-counter'), 300);
      const stats = await runner.stats();
      assert.equal(stats.state, 'running');
      assert.equal(stats.inputs, 300);
      assert.equal(stats.outputs, 300);
      assert.ok(stats.commits >= 1 && commits.length >= 1);
      assert.ok(runner.lastCommitAt > 0);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT] });
      assert.deepEqual([report.lost, report.duplicated, report.inputs], [0, 0, 300]);
      await runner.stop();
    });

    it('pauses at its committed offsets, runs to an exact barrier, and resumes', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 200);
      const runner = await supervisor.start(spec);
      await runner.activate();
      await until('200 committed', async () => (await committed(log, 'slipway.sup-counter')) === 200);
      const paused = await runner.pause();
      assert.equal(
        paused.reduce((s, o) => s + o.offset, 0),
        200,
      );
      await produce(log, 200, 100);
      await sleep(100);
      assert.equal(await committed(log, 'slipway.sup-counter'), 200, 'a paused runner commits nothing');
      const target: PartitionOffset[] = paused.map((o) => ({ ...o, offset: o.offset + 10 }));
      const reached = await runner.runUntil(target);
      assert.deepEqual(reached.map((o) => o.offset).sort(), target.map((o) => o.offset).sort());
      await rejectsWith(runner.runUntil(paused), 'SLIPWAY_INVALID_STATE');
      await runner.activate();
      await until('300 committed', async () => (await committed(log, 'slipway.sup-counter')) === 300);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT] });
      assert.deepEqual([report.lost, report.duplicated], [0, 0]);
      await runner.stop();
    });

    it('reports its stats without changing them by reading', async () => {
      const { log, spec } = await setup();
      const runner = await supervisor.start(spec);
      await runner.activate();
      assert.equal((await runner.stats()).p99LatencyMs, null, 'no latency before any record');
      const all = reported(runner, 100);
      await produce(log, 0, 100);
      await all;
      const a = await runner.stats();
      const b = await runner.stats();
      assert.ok(a.p99LatencyMs !== null);
      assert.equal(a.p99LatencyMs, b.p99LatencyMs);
      assert.deepEqual({ ...a, lag: 0 }, { ...b, lag: 0 });
      await runner.stop();
    });

    it('stops: the exit is expected, and commands after it reject with SLIPWAY_RUNNER_EXITED (retryable)', async () => {
      const { spec } = await setup();
      const runner = await supervisor.start(spec);
      const exit = new Promise<RunnerExit>((r) => runner.once('exit', r));
      await runner.stop();
      await runner.stop();
      assert.equal((await exit).expected, true);
      assert.equal(runner.state, 'exited');
      await assert.rejects(runner.stats(), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_RUNNER_EXITED'));
        assert.equal(err.retryable, true);
        return true;
      });
    });

    it('a killed runner exits unexpectedly; a new one from the same spec resumes from the committed offsets', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 2000);
      const runner = await supervisor.start({ ...spec, batchSize: 20 });
      await runner.activate();
      await until('some committed', async () => (await committed(log, 'slipway.sup-counter')) > 100);
      const exit = new Promise<RunnerExit>((r) => runner.once('exit', r));
      runner.kill('SIGKILL');
      const e = await exit;
      assert.equal(e.expected, false);
      await rejectsWith(runner.pause(), 'SLIPWAY_RUNNER_EXITED');
      const next = await supervisor.start({ ...spec, id: `${spec.id}:again` });
      await next.activate();
      await until('2000 committed', async () => (await committed(log, 'slipway.sup-counter')) === 2000);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT] });
      assert.deepEqual([report.lost, report.duplicated, report.inputs], [0, 0, 2000]);
      await next.stop();
    });

    it('reports being fenced when another owner takes over, and writes nothing after', async () => {
      const { log, spec } = await setup();
      const runner = await supervisor.start(spec);
      const fenced = new Promise<void>((resolve) =>
        runner.on('state', (s: string) => {
          if (s === 'fenced') resolve();
        }),
      );
      await runner.activate();
      await log.fence('slipway.sup-counter');
      await produce(log, 0, 50);
      await fenced;
      assert.equal(runner.state, 'fenced');
      assert.equal(await committed(log, 'slipway.sup-counter'), 0);
      await runner.stop();
    });

    it('sends dead letters and keeps going; an error keeps its code across the seam', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 100, (i) => i % 10 === 0);
      const runner = await supervisor.start(spec);
      const letters: Array<{ reason: string }> = [];
      runner.on('dlq', (d) => letters.push(d));
      const all = reported(runner, 100);
      await runner.activate();
      await all;
      assert.equal(await committed(log, 'slipway.sup-counter'), 100);
      const stats = await runner.stats();
      assert.equal(stats.dlq, 10);
      assert.equal(letters.length, 10);
      assert.ok(letters.every((d) => d.reason === 'process-error'));
      await rejectsWith(runner.activate(), 'SLIPWAY_INVALID_STATE');
      await runner.stop();
    });

    it('takes state to a layout through the handle (migrateState): done, or refused with its code across the seam', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 30);
      const runner = await supervisor.start(spec);
      await runner.activate();
      await until('30 committed', async () => (await committed(log, 'slipway.sup-counter')) === 30);
      await runner.pause();
      // Its own layout: nothing to do. Another one it declares no migration to: refused, code kept.
      assert.deepEqual(await runner.migrateState(1), { from: 1, to: 1, partitions: 0, keys: 0 });
      await rejectsWith(runner.migrateState(2), 'SLIPWAY_STATE_MIGRATION_MISSING');
      await runner.activate();
      await rejectsWith(runner.migrateState(1), 'SLIPWAY_INVALID_STATE');
      await runner.stop();
    });

    it('replays dead letters through its batch core while paused or in standby, exactly once by source', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 100, (i) => i % 10 === 0);
      const runner = await supervisor.start(spec);
      await runner.activate();
      await until('100 committed', async () => (await committed(log, 'slipway.sup-counter')) === 100);
      const at = await runner.pause();
      // The same version fails on them again: new dead letters, marked, and not retried by default.
      const again = await runner.replayDeadLetters({ replay: 'replay-1', selection: {} });
      assert.deepEqual([again.selected, again.replayed, again.failedAgain], [10, 0, 10]);
      const twice = await runner.replayDeadLetters({ replay: 'replay-2', selection: {} });
      assert.deepEqual([twice.selected, twice.skippedFailed, twice.failedAgain], [10, 10, 0]);
      await runner.activate();
      await rejectsWith(runner.replayDeadLetters({ replay: 'replay-x', selection: {} }), 'SLIPWAY_INVALID_STATE');
      await runner.stop();
      // A version that accepts them, in standby: it fences the owner and replays them, outputs under their sources.
      const fixed = await supervisor.start({ ...spec, id: `${spec.id}:fixed`, config: { acceptNegative: true } });
      const done = await fixed.replayDeadLetters({ replay: 'replay-3', selection: {}, retryFailed: true });
      assert.deepEqual([done.selected, done.replayed, done.failedAgain, done.outputs], [10, 10, 0, 10]);
      const none = await fixed.replayDeadLetters({ replay: 'replay-4', selection: {}, retryFailed: true });
      assert.deepEqual([none.alreadyReplayed, none.replayed], [10, 0]);
      assert.equal(
        await committed(log, 'slipway.sup-counter'),
        at.reduce((n, o) => n + o.offset, 0),
        'no input offsets',
      );
      await fixed.activate();
      await produce(log, 100, 20);
      await until('120 committed', async () => (await committed(log, 'slipway.sup-counter')) === 120);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT], dlq: `${IN}.dlq` });
      assert.deepEqual(
        [report.inputs, report.lost, report.duplicated, report.deadLettered, report.replayed],
        [120, 0, 0, 10, 10],
        JSON.stringify(report.examples),
      );
      await fixed.stop();
    });

    it('runs sample values through its batch core in standby, with its config', async () => {
      const { spec } = await setup({ config: { factor: 10 } });
      const runner = await supervisor.start(spec);
      const outputs = await runner.sample([
        {
          topic: IN,
          values: [
            { k: 'a', v: 1 },
            { k: 'a', v: 2 },
            { k: 'b', v: -1 },
          ],
        },
      ]);
      assert.deepEqual(
        outputs.map((o) => JSON.parse(o.value)),
        [
          { k: 'a', n: 1, v: 10 },
          { k: 'a', n: 2, v: 20 },
        ],
      );
      assert.ok(outputs.every((o) => o.topic === OUT && /^sup-in\.v1\/\d\/\d+$/.test(o.source)));
      await runner.stop();
    });

    it('refuses what cannot start, with a coded error, leaving nothing running', async () => {
      const { spec } = await setup();
      await rejectsWith(
        supervisor.start({ ...spec, digest: `sha256:${'0'.repeat(64)}` }),
        'SLIPWAY_ARTIFACT_NOT_FOUND',
      );
      await rejectsWith(supervisor.start({ ...spec, pipeline: 'another' }), 'SLIPWAY_ARTIFACT_MISMATCH');
      await rejectsWith(supervisor.start({ ...spec, config: { factor: 'ten' } }), 'SLIPWAY_INVALID_CONFIG');
      await rejectsWith(supervisor.start({ ...spec, config: { factr: 2 } }), 'SLIPWAY_INVALID_CONFIG');
    });

    it('keeps an error retryable across the seam: a log that cannot be reached now may be later', async () => {
      const { spec } = await setup();
      const unreachable = {
        engine: 'kafka' as const,
        brokers: ['127.0.0.1:1'],
        requestTimeoutMs: 800,
        connectTimeoutMs: 300,
      };
      await assert.rejects(supervisor.start({ ...spec, log: unreachable }), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_KAFKA_UNAVAILABLE'), String(err));
        assert.equal(err.retryable, true, 'retryable survives the seam');
        return true;
      });
    });

    it('restarts a group member that dies, from its committed offsets, exactly once', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 3000);
      const group = new RunnerGroup(supervisor, { ...spec, owner: 'slipway.sup-counter', batchSize: 20 }, [
        [{ topic: IN, partition: 0 }],
        [{ topic: IN, partition: 1 }],
      ]);
      await group.start();
      const restarted = new Promise<string>((r) => group.once('member-restarted', r));
      await group.activate();
      await until('some committed', async () => (await committed(log, 'slipway.sup-counter')) > 200);
      (group.members[0] as RunnerHandle).kill('SIGKILL');
      assert.match(await restarted, /#1$/);
      await until('3000 committed', async () => (await committed(log, 'slipway.sup-counter')) === 3000);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT] });
      assert.deepEqual([report.lost, report.duplicated, report.inputs], [0, 0, 3000]);
      await group.stop();
    });

    it('replays dead letters through a group: each member those of its own partitions, under its own owner', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 100, (i) => i % 10 === 0);
      const owner = 'slipway.sup-counter';
      const shares = [[{ topic: IN, partition: 0 }], [{ topic: IN, partition: 1 }]];
      const group = new RunnerGroup(supervisor, { ...spec, owner }, shares);
      await group.start();
      await group.activate();
      await until('100 committed', async () => (await committed(log, 'slipway.sup-counter')) === 100);
      await group.stop();
      const fixed = new RunnerGroup(
        supervisor,
        { ...spec, id: `${spec.id}:fixed`, owner, config: { acceptNegative: true } },
        shares,
      );
      await fixed.start();
      await fixed.activate();
      await fixed.pause();
      const done = await fixed.replayDeadLetters({ replay: 'replay-g', selection: {} });
      assert.deepEqual([done.selected, done.replayed, done.outputs], [10, 10, 10]);
      assert.ok(done.commits >= 1 && done.commits <= 2);
      const report = await checkExactlyOnce(log, { input: IN, outputs: [OUT], dlq: `${IN}.dlq` });
      assert.deepEqual([report.lost, report.duplicated, report.replayed], [0, 0, 10], JSON.stringify(report.examples));
      await fixed.stop();
    });

    it('gives up on a group member that keeps dying, with its last error', async () => {
      const { log, spec } = await setup();
      await produce(log, 0, 50);
      const group = new RunnerGroup(
        supervisor,
        { ...spec, owner: 'slipway.sup-counter' },
        [[{ topic: IN, partition: 0 }], [{ topic: IN, partition: 1 }]],
        { maxRestarts: 2 },
      );
      await group.start();
      const gaveUp = new Promise<unknown>((r) => group.once('gave-up', r));
      await group.activate();
      const killer = setInterval(() => {
        const m = group.members[1];
        if (m !== undefined && m.state === 'running') m.kill('SIGKILL');
      }, 30);
      try {
        const why = (await gaveUp) as { member: string; restarts: number; exit: RunnerExit };
        assert.equal(why.restarts, 2);
        assert.equal(why.exit.expected, false);
        assert.equal(group.state, 'exited');
      } finally {
        clearInterval(killer);
        await group.stop();
      }
      void log;
    });
  });
}

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isSlipwayError, type Log, openEmbeddedLog } from 'slipway';
import type { DeploymentEvent, DeploymentRecord } from '../src/deploy/deployment.js';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { startTestController, type TestController } from './helpers/controller.js';
import { OrderLoad } from './helpers/load.js';
import { waitForCaughtUp } from './helpers/versions.js';

// Issue 10, item 7: "Records dead-lettered by a version that was rolled back are never processed again."
// A rolled-back deployment now says how many records its version dead-lettered and the command that replays them;
// the replay runs them through the live version, exactly once by source, as a recorded deployment.

const CHECK = { input: 'orders.v1', outputs: ['enriched-orders.v1'], dlq: 'orders.v1.dlq' };
const BROKEN = { strategy: 'blue-green' as const, bakeMs: 3000, gates: { maxDlqRatio: 0.01 } };

/** Distinct sources in the DLQ written by one deployment's version (its id and its artifact). */
async function deadLetteredBy(log: Log, record: DeploymentRecord): Promise<number> {
  const sources = new Set<string>();
  for (let p = 0; p < 4; p++) {
    for (const r of await log.read('orders.v1.dlq', p, 0, 100_000)) {
      if (r.headers['slipway-deployment'] === record.id && r.headers['slipway-artifact'] === record.artifact.digest)
        sources.add(r.headers['slipway-source'] as string);
    }
  }
  return sources.size;
}

/** The input's end offset in each partition now. */
async function endOffsets(log: Log): Promise<Map<number, number>> {
  return new Map(await Promise.all([0, 1, 2, 3].map(async (p) => [p, await log.endOffset('orders.v1', p)] as const)));
}

const rejectsWith = (promise: Promise<unknown>, code: string) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });

describe('dead letters of a rolled-back version, replayed through the live version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-dlq-replay-'));
  const logPath = join(dir, 'log.db');
  let t: TestController;
  let load: OrderLoad;
  let log: Log;
  before(async () => {
    t = await startTestController(dir);
    load = new OrderLoad(logPath, 1000);
    await load.start();
    log = await openEmbeddedLog({ path: logPath });
    const { controller } = t;
    for (const v of [t.versions.v1, t.versions.v2]) {
      const d = await controller.wait((await controller.deploy(v, { strategy: 'blue-green', bakeMs: 300 })).id);
      assert.equal(d.status, 'completed', JSON.stringify(d.summary));
    }
  });
  after(async () => {
    await load.stop();
    await t.close();
    await log.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('after a rollback, the rolled-back version’s dead letters are processed by the live version, exactly once (reproduction)', async () => {
    const { controller, store } = t;
    const third = await controller.wait((await controller.deploy(t.versions.v3, BROKEN)).id);
    assert.equal(third.status, 'rolled_back', JSON.stringify(third.summary));
    const dead = await deadLetteredBy(log, third);
    assert.ok(dead > 0, 'the broken version dead-lettered records before its rollback');
    // The rollback says how many, and how to replay them.
    assert.equal(third.summary.deadLettered, dead);

    const { plan, deployment } = await controller.replayDeadLetters('enrich-orders', { deployment: third.id });
    assert.deepEqual([plan.toReplay, plan.version], [dead, '1.1.0']);
    assert.ok(deployment !== null);
    const replay = await controller.wait(deployment.id);
    assert.equal(replay.status, 'completed', JSON.stringify(replay.summary));
    assert.deepEqual(
      [replay.summary.replay?.replayed, replay.summary.replay?.failedAgain, replay.summary.replay?.version],
      [dead, 0, '1.1.0'],
    );
    // Recorded step by step, like a deployment, and shown by history.
    const events = await store.events(replay.id);
    assert.deepEqual(
      [...new Set(events.map((e) => e.step))],
      ['planned', 'pause-live', 'replay', 'resume-live', 'completed'],
    );
    const listed = await store.listDeployments({ pipeline: 'enrich-orders', limit: 1 });
    assert.equal(listed[0]?.options.strategy, 'replay');

    // The load goes on: what is checked is the input up to here, once the live version has caught up with it
    // (records appended while the check reads are not yet processed, and are not lost).
    const upTo = await endOffsets(log);
    await waitForCaughtUp(log, 'slipway.enrich-orders', 'orders.v1', 4);
    const report = await checkExactlyOnce(log, { ...CHECK, upTo });
    assert.equal(report.lost, 0, JSON.stringify(report.examples));
    assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
    assert.equal(report.replayed, dead);
    assert.equal(report.deadLettered, dead);
  });

  it('replaying twice replays nothing the second time: refused as nothing to replay; a dry run says why', async () => {
    const { controller } = t;
    const last = (await t.store.listDeployments({ pipeline: 'enrich-orders', limit: 10 })).find(
      (d) => d.status === 'rolled_back',
    ) as DeploymentRecord;
    await rejectsWith(
      controller.replayDeadLetters('enrich-orders', { deployment: last.id }),
      'SLIPWAY_NOTHING_TO_REPLAY',
    );
    const { plan, deployment } = await controller.replayDeadLetters('enrich-orders', {
      deployment: last.id,
      dryRun: true,
    });
    assert.equal(deployment, null);
    assert.equal(plan.toReplay, 0);
    assert.equal(plan.alreadyReplayed, last.summary.deadLettered);
    await rejectsWith(
      controller.replayDeadLetters('enrich-orders', { deployment: 'dep-nope' }),
      'SLIPWAY_DEPLOYMENT_NOT_FOUND',
    );
    await rejectsWith(controller.replayDeadLetters('not-deployed'), 'SLIPWAY_DEPLOYMENT_NOT_FOUND');
  });

  it('is refused while a deployment of the pipeline runs', async () => {
    const { controller } = t;
    const third = await controller.wait((await controller.deploy(t.versions.v3, BROKEN)).id);
    assert.equal(third.status, 'rolled_back');
    const running = await controller.deploy(t.versions.v2, { strategy: 'blue-green', bakeMs: 1500 });
    await rejectsWith(
      controller.replayDeadLetters('enrich-orders', { deployment: third.id }),
      'SLIPWAY_DEPLOY_REFUSED',
    );
    assert.equal((await controller.wait(running.id)).status, 'completed');
    const { deployment } = await controller.replayDeadLetters('enrich-orders', { deployment: third.id });
    assert.equal((await controller.wait((deployment as DeploymentRecord).id)).status, 'completed');
  });

  it('a live runner that dies in the replay is replaced, and the replay stays exactly once', async () => {
    const { controller } = t;
    const third = await controller.wait((await controller.deploy(t.versions.v3, BROKEN)).id);
    assert.equal(third.status, 'rolled_back');
    const dead = third.summary.deadLettered ?? 0;
    assert.ok(dead > 0);
    let killed = '';
    const kill = (e: DeploymentEvent): void => {
      // The live runner is paused at N: it dies before the replay reaches it.
      if (e.step === 'pause-live' && e.kind === 'end') {
        const live = controller.liveRunners().find((l) => l.pipeline === 'enrich-orders');
        killed = live?.runner.spec.id ?? '';
        live?.runner.kill('SIGKILL');
      }
    };
    controller.on('event', kill);
    try {
      const { deployment } = await controller.replayDeadLetters('enrich-orders', { deployment: third.id });
      const replay = await controller.wait((deployment as DeploymentRecord).id);
      assert.equal(replay.status, 'completed', JSON.stringify(replay.summary));
      assert.equal(replay.summary.replay?.replayed, dead);
    } finally {
      controller.off('event', kill);
    }
    assert.ok(killed !== '');
    const live = controller.liveRunners().find((l) => l.pipeline === 'enrich-orders');
    assert.notEqual(live?.runner.spec.id, killed);
    assert.equal(live?.runner.state, 'running');
    // The load goes on: what is checked is the input up to here, once the live version has caught up with it
    // (records appended while the check reads are not yet processed, and are not lost).
    const upTo = await endOffsets(log);
    await waitForCaughtUp(log, 'slipway.enrich-orders', 'orders.v1', 4);
    const report = await checkExactlyOnce(log, { ...CHECK, upTo });
    assert.deepEqual([report.lost, report.duplicated], [0, 0], JSON.stringify(report.examples));
    assert.equal(report.replayed, report.deadLettered);
  });
});

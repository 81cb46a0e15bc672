import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ArtifactStore,
  Controller,
  InProcessSupervisor,
  openSqliteControlStore,
  type RunnerHandle,
  type RunnerSpec,
} from 'slipway';
import { describeEvent, describeOutcome } from '../src/cli/render-event.js';
import { OrderLoad } from './helpers/load.js';
import { buildVersions } from './helpers/versions.js';

// Issue 10, item 14: "a canary failing at 50 % says `gates failed at 0 %`, and `green exited during
// bake` during a canary step".
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A real in-process supervisor that also keeps the runners it started, so a test can kill green. */
class WatchedSupervisor extends InProcessSupervisor {
  readonly started: RunnerHandle[] = [];
  override async start(spec: RunnerSpec) {
    const runner = await super.start(spec);
    this.started.push(runner);
    return runner;
  }
}

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-canary-msg-'));
  made.push(dir);
  const artifactsDir = join(dir, 'artifacts');
  const versions = await buildVersions(artifactsDir);
  const store = await openSqliteControlStore({ path: join(dir, 'control.db') });
  const supervisor = new WatchedSupervisor({ artifactsDir });
  const logPath = join(dir, 'log.db');
  const controller = new Controller({
    store,
    supervisor,
    artifacts: new ArtifactStore({ dir: artifactsDir }),
    log: { engine: 'embedded', path: logPath },
  });
  await controller.start();
  const load = new OrderLoad(logPath, 1500);
  await load.start();
  const first = await controller.wait((await controller.deploy(versions.v1, { bakeMs: 200 })).id);
  assert.equal(first.status, 'completed');
  return {
    controller,
    store,
    supervisor,
    versions,
    close: async () => {
      await load.stop();
      await controller.close();
      await store.close();
    },
  };
}

describe('what a canary says when it fails', () => {
  it('names the share at which the gates failed, not the 0 % it rolled back to', async () => {
    const t = await setup();
    try {
      // Too few of green's records to judge at 10 % (pending, then inconclusive); enough at 50 %.
      const broken = await t.controller.wait(
        (
          await t.controller.deploy(t.versions.v3, {
            strategy: 'canary',
            canary: { steps: [10, 50], stepMs: 3000 },
            gates: { minRecords: 1000 },
          })
        ).id,
      );
      assert.equal(broken.status, 'rolled_back', JSON.stringify(broken.summary));
      const events = await t.store.events(broken.id);
      const ends = events.flatMap((e) =>
        e.kind === 'end' && e.step.startsWith('canary-') && e.step !== 'canary-cutover'
          ? [[e.step, (e.data as { ok: boolean }).ok]]
          : [],
      );
      assert.deepEqual(ends, [
        ['canary-10', true],
        ['canary-50', false],
      ]);
      assert.equal(broken.summary.reason, 'gates failed at 50 % of keys');
      assert.match(describeOutcome(broken), /rolled_back: gates failed at 50 % of keys; dlq-ratio/);
      assert.doesNotMatch(describeOutcome(broken), /at 0 %/);
    } finally {
      await t.close();
    }
  });

  it('says green exited during the canary step, not during bake', async () => {
    const t = await setup();
    try {
      const started = await t.controller.deploy(t.versions.v2, {
        strategy: 'canary',
        canary: { steps: [20], stepMs: 20_000 },
      });
      // Kill green as soon as it runs in its canary step.
      let green: RunnerHandle | undefined;
      for (let i = 0; i < 400 && green === undefined; i++) {
        green = t.supervisor.started.find((r) => r.spec.id.includes(':canary:') && r.state === 'running');
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.ok(green !== undefined, 'green ran');
      green.kill();
      const record = await t.controller.wait(started.id);
      assert.equal(record.status, 'rolled_back', JSON.stringify(record.summary));
      const step = (await t.store.events(record.id)).find((e) => e.step === 'canary-20' && e.kind === 'end');
      assert.ok(step !== undefined);
      const line = describeEvent(step);
      assert.match(line, /canary {6}20 %: gate failed: runner: green exited during the canary step at 20 %/);
      assert.doesNotMatch(line, /during bake/);
    } finally {
      await t.close();
    }
  });
});

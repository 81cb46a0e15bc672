import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Log, setToggle, type ToggleSetting } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { seededRandom } from '../src/dataset/generate.js';
import { produceOrders, tempLog } from './helpers/orders.js';
import { checkToggledOutputs } from './helpers/toggle-check.js';

const CHILD = fileURLToPath(new URL('./fixtures/toggle-crash-child.ts', import.meta.url));
const FLIPS = 20;
const GROUPS = ['0,1', '2,3'];
// The toggle changes, which runner is killed and when come from one seed: SLIPWAY_TEST_SEED=<seed> replays a run.
const SEED = process.env.SLIPWAY_TEST_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.SLIPWAY_TEST_SEED);
const random = seededRandom(SEED);

interface Child {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Resolves when its runner is running (or the process ended). */
  running: Promise<void>;
}

function start(logPath: string, partitions: string): Child {
  const child = spawn(
    process.execPath,
    ['--conditions=slipway-source', '--import', 'tsx', CHILD, logPath, partitions, '150'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const running = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('running')) resolve();
    });
    void exited.then(() => resolve());
  });
  return { child, exited, running };
}

/** A random change of one of the three toggles: feature and data, shares, rules, fixed variants, cleared. */
function randomChange(i: number): { toggle: string; setting: ToggleSetting | null } {
  const toggle = ['new-pricing', 'eu-output', 'fast-lane'][i % 3] as string;
  const pick = Math.floor(random() * 4);
  if (pick === 0) return { toggle, setting: null };
  if (pick === 1) return { toggle, setting: { percent: Math.floor(random() * 101) } };
  if (pick === 2)
    return { toggle, setting: { percent: 60, where: [{ field: 'currency', op: 'in', value: ['EUR', 'GBP'] }] } };
  return { toggle, setting: toggle === 'new-pricing' ? { fixed: 'new' } : { fixed: 'on' } };
}

async function committed(log: Log): Promise<number> {
  let n = 0;
  for (const g of GROUPS) {
    for (const o of await log.committedOffsets(`slipway.price-orders.${g.replace(',', '-')}`)) n += o.offset;
  }
  return n;
}

describe('toggles are exactly once under crashes', () => {
  it(`flips feature and data toggles ${FLIPS} times under load while SIGKILLing child runners: every output is what the committed version produces`, async () => {
    console.log(`toggles-crash seed ${SEED} (replay: SLIPWAY_TEST_SEED=${SEED})`);
    const t = await tempLog('slipway-toggle-crash-');
    const children = new Map<string, Child>();
    try {
      let produced = 20_000;
      await produceOrders(t.log, 0, produced, 500);
      for (const g of GROUPS) children.set(g, start(t.path, g));
      await Promise.all([...children.values()].map((c) => c.running));
      let kills = 0;
      for (let i = 0; i < FLIPS; i++) {
        // Under load: each version gets records to process before the next change.
        const before = await committed(t.log);
        while ((await committed(t.log)) < Math.min(produced, before + 1000))
          await new Promise((r) => setTimeout(r, 20));
        const change = randomChange(i);
        await setToggle(t.log, { ...change, by: 'crash-test' });
        await produceOrders(t.log, produced, 1500, 500);
        produced += 1500;
        if (random() < 0.6) {
          const g = GROUPS[Math.floor(random() * GROUPS.length)] as string;
          const c = children.get(g) as Child;
          await new Promise((r) => setTimeout(r, random() * 150));
          c.child.kill('SIGKILL');
          const code = await c.exited;
          assert.notEqual(code, 3, 'a runner failed');
          kills++;
          const restarted = start(t.path, g);
          children.set(g, restarted);
          await restarted.running;
        }
      }
      // Let both catch up, then stop them.
      const deadline = Date.now() + 120_000;
      while ((await committed(t.log)) < produced) {
        assert.ok(Date.now() < deadline, 'runners catch up');
        for (const c of children.values()) assert.equal(c.child.exitCode, null, 'runners keep running');
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const c of children.values()) {
        c.child.kill('SIGKILL');
        await c.exited;
      }
      children.clear();
      assert.ok(kills >= 5, `killed ${kills} times`);

      const check = await checkToggledOutputs(t.log);
      assert.equal(check.inputs, produced);
      assert.ok(check.versions.length >= 5, `outputs from ${check.versions.length} toggle versions`);
      assert.equal((await t.log.endOffset(`${orders.topic}.dlq`, 0)) === 0, true, 'nothing dead-lettered');
    } finally {
      for (const c of children.values()) c.child.kill('SIGKILL');
      await t.cleanup();
    }
  });
});

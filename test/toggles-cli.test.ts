import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Log, openLog, Runner, readToggleHistory } from 'slipway';
import { riskyPricing } from './fixtures/risky-pricing.js';
import { priceOrders } from './fixtures/toggled-orders.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { produceOrders } from './helpers/orders.js';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
let project: ReturnType<typeof copyExampleProject>;

before(() => {
  project = copyExampleProject({ prefix: 'slipway-toggles-cli-', tsx: true });
  writeFileSync(
    join(project.dir, 'slipway.config.ts'),
    `import { defineProject } from 'slipway';
export { priceOrders } from ${JSON.stringify(fixture('toggled-orders.ts'))};
export { riskyPricing } from ${JSON.stringify(fixture('risky-pricing.ts'))};
export const project = defineProject({
  slos: { 'risky-pricing': { maxDlqRatio: 0.05 } },
  environments: {
    dev: { log: { engine: 'embedded' }, allowUntested: true },
    prod: { log: { engine: 'embedded' }, topicPrefix: 'prod.' },
  },
});
`,
  );
  mkdirSync(join(project.dir, '.slipway'), { recursive: true });
});
after(() => project.remove());

const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { SLIPWAY_USER: 'ana' } });
const envLog = (env: string) =>
  openLog({
    engine: 'embedded',
    path: join(project.dir, '.slipway', env, 'log.db'),
    ...(env === 'prod' ? { namespace: 'prod.' } : {}),
  });

function nextToggles(runner: Runner, version: number): Promise<void> {
  return new Promise((resolve) => {
    const on = (v: number) => {
      if (v >= version) {
        runner.off('toggles', on);
        resolve();
      }
    };
    runner.on('toggles', on);
  });
}

describe('slipway toggle', () => {
  it('set, list and history per environment: a running pipeline picks a change up without a restart; who and when recorded; bad input refused', async () => {
    const set = await cli([
      '--env',
      'prod',
      'toggle',
      'set',
      'new-pricing',
      '--percent',
      '10',
      '--where',
      'currency=EUR',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /toggle new-pricing: 10% new where currency eq EUR \(version 1, prod, by ana\)/);

    const log: Log = await envLog('prod');
    await produceOrders(log, 0, 500);
    const runner = new Runner({ pipeline: priceOrders, log, idleWaitMs: 50 });
    await runner.start();
    await runner.activate();
    while (runner.toggleVersion < 1) await new Promise((r) => setTimeout(r, 20));
    const picked = nextToggles(runner, 2);
    const fixed = await cli(['--env', 'prod', 'toggle', 'set', 'eu-output', '--fixed', 'on', '--by', 'bo']);
    assert.equal(fixed.code, 0, fixed.stderr);
    await picked;
    assert.equal(runner.toggleVersion, 2, 'picked up by the running runner, no restart');
    await runner.stop();
    await log.close();

    const list = await cli(['--env', 'prod', 'toggle', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /eu-output\s+data\s+fixed on\s+2\s+bo/);
    assert.match(list.stdout, /new-pricing\s+feature\s+10% new where currency eq EUR\s+1\s+ana/);
    assert.match(list.stdout, /fast-lane\s+data\s+default\s+-/, 'declared but never set');
    const history = await cli(['--env', 'prod', 'toggle', 'history', '--json']);
    const changes = history.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      changes.map((c) => [c.version, c.toggle, c.by]),
      [
        [1, 'new-pricing', 'ana'],
        [2, 'eu-output', 'bo'],
      ],
    );
    assert.ok(changes.every((c) => !Number.isNaN(Date.parse(c.at))));

    // Another environment has its own toggles (its log exists, with none set).
    await (await envLog('dev')).close();
    const dev = await cli(['--env', 'dev', 'toggle', 'history']);
    assert.match(dev.stdout, /no toggle changes in this environment/);

    for (const [args, code] of [
      [['toggle', 'set', 'new-pricing', '--percent', '120'], 'SLIPWAY_INVALID_TOGGLE'],
      [['toggle', 'set', 'new-pricing', '--fixed', 'purple'], 'SLIPWAY_INVALID_TOGGLE'],
      [['toggle', 'set', 'new-pricing', '--where', 'amount>lots'], 'SLIPWAY_INVALID_TOGGLE'],
      [['toggle', 'set', 'no-such-toggle', '--percent', '5'], 'SLIPWAY_UNKNOWN_TOGGLE'],
    ] as const) {
      const r = await cli(['--env', 'prod', ...args]);
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, new RegExp(code), args.join(' '));
    }
    const prod = await envLog('prod');
    assert.equal((await readToggleHistory(prod)).length, 2, 'nothing recorded for refused changes');
    await prod.close();
  });

  it('a progressive rollout whose new branch dead-letters is set back automatically; the history shows the gate that failed', async () => {
    const log = await envLog('dev');
    await produceOrders(log, 0, 200, 500);
    const runner = new Runner({ pipeline: riskyPricing, log, idleWaitMs: 50 });
    await runner.start();
    await runner.activate();
    let produced = 200;
    let producing = true;
    const load = (async () => {
      while (producing) {
        await produceOrders(log, produced, 200, 500);
        produced += 200;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    try {
      const r = await cli([
        '--env',
        'dev',
        'toggle',
        'rollout',
        'risky-branch',
        '--steps',
        '1,10,50,100',
        '--bake',
        '1000',
      ]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /SLIPWAY_TOGGLE_ROLLED_BACK/);
      assert.match(r.stdout, /gate dlq-ratio FAILED: toggled keys dead-lettered/);
      assert.match(r.stdout, /allowed: 5\.0 % more/, "the pipeline's SLO maxDlqRatio");
      const history = await readToggleHistory(log);
      const last = history.at(-1);
      assert.equal(last?.setting, null, 'set back to its setting before the rollout');
      assert.match(last?.reason ?? '', /rollout set back at step \d\/4 .*gate dlq-ratio failed/);
      const h = await cli(['--env', 'dev', 'toggle', 'history', 'risky-branch']);
      assert.match(h.stdout, /gate dlq-ratio failed/);
    } finally {
      producing = false;
      await load;
      await runner.stop();
      await log.close();
    }
  });
});

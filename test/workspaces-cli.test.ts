import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';

// Issue 12, point 6, on an embedded base: a workspace gets an embedded file of its own, `--env` resolves it,
// a prefix someone else uses is refused (unless adopted), and `down` removes the file and says what it removed.
const project = copyExampleProject({ prefix: 'slipway-ws-cli-', tsx: true });
after(() => project.remove());
writeFileSync(
  join(project.dir, 'slipway.config.ts'),
  `import { defineProject } from 'slipway';
export { enrichedOrders, orders } from './datasets.js';
export { enrichOrders } from './pipeline.js';
export const project = defineProject({
  environments: {
    dev: { log: { engine: 'embedded' } },
    prod: { log: { engine: 'kafka', brokers: ['127.0.0.1:1'] }, topicPrefix: 'prod.', promotion: { from: 'dev' } },
  },
});
`,
);
const cli = (args: string[]) => runCli(args, { cwd: project.dir, env: { SLIPWAY_ENV: '', SLIPWAY_PROJECT: '' } });

describe('a workspace on an embedded base', () => {
  it('has a file of its own, resolves with --env, refuses a prefix in use, and goes with everything it made', async () => {
    const file = join(project.dir, '.slipway/workspaces/ana/log.db');
    const up = await cli(['workspace', 'up', 'ana']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(
      up.stdout,
      /workspace ana made: from dev, on the embedded log .*\.slipway\/workspaces\/ana\/log\.db, namespace ws-ana\./,
    );
    assert.match(up.stdout, /created 2 topics: enriched-orders\.v1, orders\.v1/);
    assert.ok(existsSync(file));

    assert.equal((await cli(['--env', 'ana', 'produce', 'orders', '--file', 'data/orders.jsonl'])).code, 0);
    const run = await cli(['--env', 'ana', 'run', 'pipeline.ts', '--until-caught-up']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /200 in, 200 out, 0 to the DLQ/);
    assert.equal(existsSync(join(project.dir, '.slipway/dev/log.db')), false, "dev's log was never touched");
    const plan = await cli(['env', 'plan', 'ana']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /^ana \(workspace from dev, embedded log .*namespace ws-ana\.\):$/m);
    assert.match(plan.stdout, /^No changes: ana is as declared \(2 checked\)\.$/m);

    // Another clone (no record of ana here) finds the prefix in use: refused, unless it is adopted.
    writeFileSync(join(project.dir, '.slipway/workspaces.json'), '{"version":1,"workspaces":{}}\n');
    const taken = await cli(['workspace', 'up', 'ana']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /error SLIPWAY_WORKSPACE_TAKEN: The prefix 'ws-ana\.' is already in use .*--adopt/);
    const adopted = await cli(['workspace', 'up', 'ana', '--adopt']);
    assert.equal(adopted.code, 0, adopted.stderr);
    assert.match(adopted.stdout, /topics: all 2 already there/);

    const notMine = await cli(['workspace', 'up', 'dev']);
    assert.equal(notMine.code, 2);
    assert.match(notMine.stderr, /'dev' is a declared environment/);

    const down = await cli(['workspace', 'down', 'ana']);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /removed 3 topics: enriched-orders\.v1, orders\.v1, orders\.v1\.dlq/);
    assert.match(down.stdout, /removed 1 consumer group: slipway\.enrich-orders/);
    assert.match(down.stdout, /removed 1 owner: slipway\.enrich-orders/);
    assert.match(down.stdout, /removed 1 state namespace: enrich-orders/);
    assert.match(down.stdout, /deleted .*\.slipway\/workspaces\/ana\/log\.db/);
    assert.equal(existsSync(file), false);
    const gone = await cli(['--env', 'ana', 'topics']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /SLIPWAY_UNKNOWN_ENVIRONMENT.*no such workspace/);
  });
});

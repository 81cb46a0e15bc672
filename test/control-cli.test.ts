import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, startCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-daemon-'));
const cli = (args: string[]) => runCli(['--log', join(dir, 'log.db'), ...args], { cwd: example });

after(async () => {
  await cli(['down']);
  rmSync(dir, { recursive: true, force: true });
});

describe('slipway up / deploy / status / history / rollback / down', () => {
  it('runs a control plane that deploys built artifacts, refuses unknown ones, and rolls back a broken version', async () => {
    const up = await cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /control plane running at http:\/\/127\.0\.0\.1:\d+/);
    assert.match((await cli(['up', '--detach'])).stdout, /already running/);

    const built = await cli(['build', 'pipeline.ts', '--store', join(dir, 'artifacts'), '--json']);
    assert.equal(built.code, 0, built.stderr);
    const digest = JSON.parse(built.stdout).digest as string;
    assert.equal((await cli(['produce', 'orders', '--generate', '--count', '500'])).code, 0);

    const first = await cli(['deploy', digest.slice(7, 19), '--bake', '300', '--allow-untested']);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /completed/);
    assert.match(first.stderr, /cutover {5}at offset 0 \(epoch 1\)/);
    assert.match(first.stderr, /planned {5}enrich-orders@1\.0\.0 \(untested\)/);

    const unknown = await cli(['deploy', 'abcdef0123456']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /error SLIPWAY_ARTIFACT_NOT_FOUND/);

    const status = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.equal(status.releases[0].artifact.digest, digest);
    assert.equal(status.runners[0].stats.state, 'running');

    // Scale out: two runner processes, each with half of the input partitions; deployments keep it.
    const scaled = await cli(['scale', 'enrich-orders', '2']);
    assert.equal(scaled.code, 0, scaled.stderr);
    assert.match(scaled.stdout, /completed/);
    assert.match(scaled.stderr, /handoff {5}2 runners live at offset \d+/);
    assert.equal(JSON.parse((await cli(['status', '--json'])).stdout).runners[0].runners, 2);
    const tooMany = await cli(['scale', 'enrich-orders', '9']);
    assert.equal(tooMany.code, 2, 'a usage error');
    assert.match(tooMany.stderr, /SLIPWAY_USAGE: Cannot scale enrich-orders to 9 runners/);

    // A broken version under load: the DLQ gate fails during bake and the deployment rolls back.
    // The load runs until the deployment ends, however long building and starting green takes.
    const load = startCli(['--log', join(dir, 'log.db'), 'produce', 'orders', '--generate', '--rate', '400'], {
      cwd: example,
    });
    await load.waitForStderr(/produced \d+ records/);
    const broken = await cli(['deploy', 'versions/v3-broken.ts', '--bake', '4000', '--max-dlq-ratio', '0.01']);
    const loaded = await load.stop();
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.equal(broken.code, 1, broken.stderr);
    assert.match(broken.stdout, /rolled_back/);
    assert.match(broken.stderr, /gate failed: dlq-ratio/);
    assert.match(broken.stderr, /rollback {4}done in \d+ ms/);
    const after = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.equal(after.releases[0].artifact.version, '1.0.0');
    assert.equal(after.releases[0].runners, 2, 'the rollback kept two runners');

    const history = await cli(['history']);
    assert.match(history.stdout, /enrich-orders@1\.2\.0\s+blue-green\s+rolled_back/);
    assert.match(history.stdout, /enrich-orders@1\.0\.0\s+blue-green\s+completed/);
    const id = history.stdout.split('\n')[1]?.split(' ')[0] as string;
    const steps = await cli(['history', id]);
    assert.match(steps.stdout, /planned[\s\S]*cutover[\s\S]*bake[\s\S]*rollback[\s\S]*rolled_back/);

    const rollbackNothing = await cli(['rollback', 'enrich-orders']);
    assert.equal(rollbackNothing.code, 1);
    assert.match(rollbackNothing.stderr, /SLIPWAY_DEPLOYMENT_NOT_FOUND: No deployment of enrich-orders is in progress/);

    const down = await cli(['down']);
    assert.equal(down.code, 0, down.stderr);
    const gone = await cli(['status']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /SLIPWAY_DAEMON_UNAVAILABLE: No control plane is running/);
  });
});

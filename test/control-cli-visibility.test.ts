import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';

// Issue 10, items 9, 10 and 14: what went wrong, and what changes, is shown where the user looks.
const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-visibility-'));
const cli = (args: string[]) => runCli(['--log', join(dir, 'log.db'), ...args], { cwd: example });
after(async () => {
  await cli(['down']);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('failures, config changes and runner events are shown', () => {
  it('up on a busy or invalid port gives a coded error, not a stack trace', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    try {
      const other = mkdtempSync(join(tmpdir(), 'slipway-port-'));
      const busy = await runCli(['--log', join(other, 'log.db'), 'up', '--port', String(port)], { cwd: example });
      rmSync(other, { recursive: true, force: true });
      assert.equal(busy.code, 2, busy.stderr);
      assert.match(
        busy.stderr,
        new RegExp(
          `error SLIPWAY_USAGE: The control plane cannot listen on 127\\.0\\.0\\.1:${port}: port ${port} is already in use`,
        ),
      );
      assert.doesNotMatch(busy.stderr, /\n\s+at /, 'no stack trace');
    } finally {
      server.close();
    }
    const invalid = await cli(['up', '--port', '70000']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /--port must be a port from 0 to 65535, got '70000'/);
  });

  it('shows where a first release starts, the config it carries forward, refuses bad config by name, and why a deployment failed', async () => {
    const up = await cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, /its log is .*daemon\.log/);
    const daemonLog = join(dir, 'daemon.log');
    assert.ok(existsSync(daemonLog), 'a detached daemon writes its output to a file');
    assert.match(readFileSync(daemonLog, 'utf8'), /control plane at http:\/\/127\.0\.0\.1:\d+/);
    assert.match((await cli(['up', '--detach'])).stdout, /already running/);

    // build and the daemon share one artifact store by default (beside the log): no upload needed.
    const built = await cli(['build', 'pipeline.ts', '--json']);
    assert.equal(built.code, 0, built.stderr);
    assert.ok(existsSync(join(dir, 'artifacts')), 'built into the store beside the log');
    const unknown = await cli(['deploy', 'abcdef0123456']);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.stderr,
      /SLIPWAY_ARTIFACT_NOT_FOUND: No artifact abcdef0123456 in .*artifacts\. It holds 1 artifact/,
    );
    assert.doesNotMatch(unknown.stderr, /--store/, 'deploy has no --store to suggest');

    // An earlier plain run committed offsets: the first release says it takes them over.
    assert.equal((await cli(['produce', 'orders', '--generate', '--count', '300'])).code, 0);
    assert.equal((await cli(['run', 'pipeline.ts', '--until-caught-up'])).code, 0);
    const digest = JSON.parse(built.stdout).digest as string;
    const first = await cli([
      'deploy',
      digest.slice(7, 19),
      '--bake',
      '200',
      '--allow-untested',
      '-c',
      '{"vipThresholdEur": 500}',
    ]);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr, /uploaded/, 'the daemon had the artifact already');
    assert.match(
      first.stderr,
      /cutover {5}first release: nothing live to pause; green takes the pipeline from the offsets an earlier runner committed \(300 records already processed/,
    );
    assert.doesNotMatch(first.stderr, /pausing blue/);

    // No -c: the live config is carried forward, and what the runners will see change is listed.
    const second = await cli(['deploy', 'versions/v2.ts', '--bake', '200']);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /config {6}carried forward from the live release \(\/eurPer\/USD 0\.92 → 0\.93\)/);
    const status = JSON.parse((await cli(['status', '--json'])).stdout);
    assert.deepEqual(status.releases[0].config, { vipThresholdEur: 500 });

    // Bad config is refused before anything starts, naming the field.
    const typo = await cli(['deploy', 'versions/v2.ts', '-c', '{"vipThresholdEr": 5}']);
    assert.equal(typo.code, 1, typo.stderr);
    assert.match(
      typo.stderr,
      /error SLIPWAY_INVALID_CONFIG: Config of pipeline 'enrich-orders' has a key its config schema does not declare: \/vipThresholdEr/,
    );
    const wrongType = await cli(['deploy', 'versions/v2.ts', '-c', '{"vipThresholdEur": "high"}']);
    assert.equal(wrongType.code, 1);
    assert.match(
      wrongType.stderr,
      /SLIPWAY_INVALID_CONFIG: Config of pipeline 'enrich-orders' is invalid: \/vipThresholdEur must be number/,
    );
    // -c @file.json works for deploy as for run.
    writeFileSync(join(dir, 'config.json'), '{"vipThresholdEur": 800}');
    const fromFile = await cli(['deploy', 'pipeline.ts', '--bake', '200', '-c', `@${join(dir, 'config.json')}`]);
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stderr, /config {6}as given: \/eurPer\/USD 0\.93 → 0\.92, \/vipThresholdEur 500 → 800/);

    // A deployment that fails after it started says why: the step, the code and the message.
    const failing = await cli(['deploy', '../../test/fixtures/fails-in-runner.ts', '--bake', '200']);
    assert.equal(failing.code, 1);
    assert.match(failing.stderr, /cannot read \/etc\/pricing\.json/);
    assert.match(
      failing.stdout,
      /dep-\S+ failed: starting the new version failed; SLIPWAY_INVALID_DEFINITION: Loading artifact [0-9a-f]{12} \(enrich-orders@1\.3\.0\) failed where it runs: .*cannot read \/etc\/pricing\.json/,
    );
    const id = /(dep-\S+) failed/.exec(failing.stdout)?.[1] as string;
    const history = await cli(['history', id]);
    assert.match(history.stdout, /failed .*SLIPWAY_[A-Z_]+: .*cannot read \/etc\/pricing\.json/);
    const list = await cli(['history']);
    assert.match(list.stdout, /enrich-orders@1\.3\.0\s+blue-green\s+failed .*cannot read \/etc\/pricing\.json/);

    // A live runner that dies is restarted, and both are recorded where status shows them.
    const live = JSON.parse((await cli(['status', '--json'])).stdout).runners[0];
    process.kill(live.pid, 'SIGKILL');
    let text = '';
    for (let i = 0; i < 200 && !/restarted as/.test(text); i++) {
      await sleep(100);
      text = (await cli(['status'])).stdout;
    }
    assert.match(text, /live runner \S+ exited \(SIGKILL\)/);
    assert.match(text, /live runner restarted as \S+ from the committed offsets/);

    // Scaled, status shows every runner; down twice is as harmless as up twice.
    assert.equal((await cli(['scale', 'enrich-orders', '2'])).code, 0);
    const scaled = (await cli(['status'])).stdout;
    assert.equal(scaled.match(/^ {2}runner \S+#\d+ {2}pid \d+ {2}running$/gm)?.length, 2, scaled);
    assert.equal((await cli(['down'])).code, 0);
    const again = await cli(['down']);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /no control plane is running/);
  });
});

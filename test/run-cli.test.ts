import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkExactlyOnce, openEmbeddedLog } from 'slipway';
import { runCli, startCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});
const tempDir = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  made.push(d);
  return d;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The runner processes a process started (a `run --runners` group's; not esbuild's service). */
const runnersOf = (pid: number): number[] =>
  execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('runner-host'))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => n > 0);

async function committed(logPath: string, group = 'slipway.enrich-orders'): Promise<number> {
  const log = await openEmbeddedLog({ path: logPath });
  try {
    return (await log.committedOffsets(group)).reduce((n, o) => n + o.offset, 0);
  } finally {
    await log.close();
  }
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`stuck waiting for ${what}`);
    await sleep(100);
  }
}

describe('slipway run (issue 10, items 3 and 8)', () => {
  it('run --runners 2 restarts a SIGKILLed runner from its committed offsets, and the run goes on: every input once', async () => {
    const dir = tempDir('slipway-run-restart-');
    const logPath = join(dir, 'log.db');
    const cli = (args: string[]) => runCli(['--log', logPath, ...args], { cwd: example });
    assert.equal((await cli(['produce', 'orders', '--generate', '--count', '30000'])).code, 0);
    const run = startCli(['--log', logPath, 'run', 'pipeline.ts', '--runners', '2', '--batch-size', '200'], {
      cwd: example,
    });
    await run.waitForStderr(/as 2 runner processes/);
    await until('some progress', async () => (await committed(logPath)) > 2000);
    const runners = runnersOf(run.pid as number);
    assert.equal(runners.length, 2, 'two runner processes');
    process.kill(runners[0] as number, 'SIGKILL');
    await run.waitForStderr(
      /runner run:enrich-orders#\d was killed \(SIGKILL\); restarting it from its committed offsets/,
    );
    await run.waitForStderr(
      /runner run:enrich-orders#\d(#\d)? restarted from its committed offsets|restarted from its committed offsets/,
    );
    await until('every input committed', async () => (await committed(logPath)) === 30_000);
    const stopped = await run.stop();
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stderr, /stopped enrich-orders \(2 runners\)/);
    const log = await openEmbeddedLog({ path: logPath });
    try {
      const report = await checkExactlyOnce(log, {
        input: 'orders.v1',
        outputs: ['enriched-orders.v1'],
        dlq: 'orders.v1.dlq',
      });
      assert.deepEqual([report.inputs, report.lost, report.duplicated], [30_000, 0, 0]);
    } finally {
      await log.close();
    }
  });

  it('refuses to run a pipeline a control plane runs on the same log, naming it; --force takes over and the control plane takes it back', async () => {
    const dir = tempDir('slipway-run-guard-');
    const logPath = join(dir, 'log.db');
    const cli = (args: string[]) => runCli(['--log', logPath, ...args], { cwd: example });
    const up = await cli(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    try {
      const url = /running at (http:\/\/\S+)/.exec(up.stdout)?.[1] as string;
      assert.equal((await cli(['produce', 'orders', '--generate', '--count', '500'])).code, 0);
      const deployed = await cli(['deploy', 'pipeline.ts', '--bake', '200']);
      assert.equal(deployed.code, 0, deployed.stderr);

      const refused = await cli(['run', 'pipeline.ts', '--until-caught-up']);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(
        refused.stderr,
        /error SLIPWAY_MANAGED: enrich-orders is run by the control plane at http:\/\/127\.0\.0\.1:\d+/,
      );
      assert.ok(refused.stderr.includes(url), refused.stderr);
      assert.match(refused.stderr, /enrich-orders@1\.0\.0 \(sha256:[0-9a-f]{12}…, deployment dep-/);
      assert.match(refused.stderr, /pass --force to take it over/);

      assert.equal((await cli(['produce', 'orders', '--generate', '--count', '500'])).code, 0);
      const forced = await cli(['run', 'pipeline.ts', '--until-caught-up', '--force']);
      assert.match(forced.stderr, /warning: enrich-orders is run by the control plane/);
      // The control plane sees its live runner fenced, says so, and takes the pipeline back.
      let events = '';
      await until('the takeover recorded and undone', async () => {
        const status = await cli(['status']);
        events = status.stdout;
        return /was fenced by another writer/.test(events) && /live runner \S+ runs again/.test(events);
      });
      assert.equal((await cli(['produce', 'orders', '--generate', '--count', '500'])).code, 0);
      await until('the live runner caught up again', async () => (await committed(logPath)) === 1500);
      const status = JSON.parse((await cli(['status', '--json'])).stdout);
      assert.equal(status.runners[0].state, 'running');
      assert.equal(status.runners[0].fencedSince, null);
      assert.ok(status.events.some((e: { kind: string }) => e.kind === 'runner-fenced'));
      const log = await openEmbeddedLog({ path: logPath });
      try {
        const report = await checkExactlyOnce(log, {
          input: 'orders.v1',
          outputs: ['enriched-orders.v1'],
          dlq: 'orders.v1.dlq',
        });
        assert.deepEqual([report.inputs, report.lost, report.duplicated], [1500, 0, 0]);
      } finally {
        await log.close();
      }
    } finally {
      await cli(['down']);
    }
  });
});

import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSlipwayError, openSqliteControlStore } from 'slipway';
import { startLocalControlPlane } from 'slipway/testing';
import { runCli } from './helpers/cli.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const example = resolve(ROOT, 'examples/orders');
const made: string[] = [];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  for (const close of closers) await close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

async function latestReport(dir: string, digest: string) {
  const store = await openSqliteControlStore({ path: join(dir, 'control.db') });
  try {
    return await store.latestTestReport(digest);
  } finally {
    await store.close();
  }
}

/** A copy of examples/orders with a deliberately failing unit test, its dependencies linked. */
function brokenProject(): string {
  const dir = tempDir('slipway-test-project-');
  cpSync(example, dir, { recursive: true, filter: (src) => !/[/\\](\.slipway|node_modules|test)$/.test(src) });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/slipway'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/@sinclair'), join(dir, 'node_modules/@sinclair'), 'dir');
  // Its own build of the pipeline (bundled from another folder, so other bytes) is a new version: the control
  // plane refuses a second build named 1.0.0 (SLIPWAY_VERSION_NOT_BUMPED) before its gate is asked.
  const pipeline = join(dir, 'pipeline.ts');
  writeFileSync(pipeline, readFileSync(pipeline, 'utf8').replace("version: '1.0.0'", "version: '1.0.1'"));
  writeFileSync(
    join(dir, 'tiers.test.ts'),
    `import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createHarness } from 'slipway/testing';
import { enrichedOrders, orders } from './datasets.js';
import { enrichOrders } from './pipeline.js';

it('makes every customer vip from the first order', async () => {
  const h = await createHarness(enrichOrders);
  await h.send(orders, [{ orderId: 'o-1', customerId: 'c1', amount: 5, currency: 'EUR', items: 1, createdAt: '2026-01-01T00:00:00.000Z' }]);
  assert.equal(h.outputs(enrichedOrders)[0]?.tier, 'vip');
  await h.close();
});
`,
  );
  return dir;
}

describe('slipway test and the release gate', () => {
  it('runs the three layers of the example, records a passing report for its digest, and gates other digests', async () => {
    const dir = tempDir('slipway-test-cli-');
    const cli = (args: string[]) => runCli(['--log', join(dir, 'log.db'), ...args], { cwd: example });
    const run = await cli(['test', '--build', 'pipeline.ts', '--store', join(dir, 'artifacts')]);
    assert.equal(run.code, 0, run.stderr);
    for (const layer of ['unit', 'integration', 'e2e'])
      assert.match(run.stderr, new RegExp(`${layer} +pass: [1-9]\\d* passed, 0 failed`));
    const digest = /report for (sha256:[0-9a-f]{64}) recorded/.exec(run.stdout)?.[1] as string;
    assert.ok(digest, run.stdout);

    const report = await latestReport(dir, digest);
    assert.equal(report?.passed, true);
    assert.equal(report?.digest, digest);
    assert.deepEqual(report?.failures, []);
    assert.deepEqual(
      Object.fromEntries(Object.entries(report?.layers ?? {}).map(([l, r]) => [l, [r.passed, r.failed, r.files]])),
      { unit: [6, 0, 1], integration: [1, 0, 1], e2e: [1, 0, 1] },
    );

    const cp = await startLocalControlPlane({ dir });
    closers.push(() => cp.close());
    const untested = await cp.build('versions/v2.ts', { cwd: example });
    const refused = await cli(['deploy', untested, '--control-plane', cp.url]);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /error SLIPWAY_RELEASE_GATE: no test report for sha256:[0-9a-f]{64} — run `slipway test --artifact sha256:[0-9a-f]{12}`/,
    );

    const deployed = await cli(['deploy', digest.slice(7, 19), '--bake', '0', '--control-plane', cp.url]);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /completed/);
    assert.doesNotMatch(deployed.stderr, /untested/);
  });

  it('records a failing report that names the failing test, and the gate refuses that digest', async () => {
    const project = brokenProject();
    const dir = tempDir('slipway-test-fail-');
    const run = await runCli(
      ['--log', join(dir, 'log.db'), 'test', '--build', 'pipeline.ts', '--store', join(dir, 'artifacts')],
      { cwd: project },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /unit +✗ makes every customer vip from the first order \(tiers\.test\.ts\)/);
    assert.match(run.stdout, /FAILED: 1 of 7 tests; report for sha256:/);
    const digest = /report for (sha256:[0-9a-f]{64})/.exec(run.stdout)?.[1] as string;
    const report = await latestReport(dir, digest);
    assert.equal(report?.passed, false);
    assert.deepEqual(
      report?.failures.map((f) => [f.layer, f.name, f.file]),
      [['unit', 'makes every customer vip from the first order', 'tiers.test.ts']],
    );

    const cp = await startLocalControlPlane({ dir });
    closers.push(() => cp.close());
    await assert.rejects(cp.deploy(digest), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_RELEASE_GATE'), String(err));
      assert.match(
        err.message,
        /latest test report for sha256:[0-9a-f]{64} failed: makes every customer vip from the first order \(tiers\.test\.ts\)/,
      );
      return true;
    });
  });

  it('records reports through the control plane when one runs, and its release gate honours the latest', async () => {
    const dir = tempDir('slipway-test-daemon-');
    const elsewhere = tempDir('slipway-test-nodaemon-');
    const daemon = (args: string[], cwd = example) => runCli(['--log', join(dir, 'log.db'), ...args], { cwd });
    const up = await daemon(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    closers.push(async () => void (await daemon(['down'])));
    const url = /control plane running at (http:\/\/127\.0\.0\.1:\d+)/.exec(up.stdout)?.[1] as string;
    assert.ok(url, up.stdout);

    // The endpoint checks the body at the boundary and names the bad field.
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/api/test-reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return {
        status: res.status,
        body: (await res.json()) as { error?: { code: string; details: { field: string } } },
      };
    };
    const layer = { passed: 1, failed: 0, skipped: 0, files: 1 };
    const valid = {
      digest: `sha256:${'0'.repeat(64)}`,
      passed: true,
      layers: { unit: layer, integration: layer, e2e: layer },
      failures: [],
      startedAt: Date.now(),
      durationMs: 5,
    };
    for (const [body, field] of [
      [[], '(body)'],
      [{ ...valid, digest: 'sha256:abc' }, '/digest'],
      [{ ...valid, layers: { unit: layer, integration: layer } }, '/layers/e2e'],
      [{ ...valid, layers: { ...valid.layers, unit: { ...layer, failed: -1 } } }, '/layers/unit/failed'],
      [{ ...valid, failures: [{ layer: 'unit', name: 'x', file: null }] }, '/passed'],
      [{ ...valid, passed: false, failures: [{ layer: 'smoke', name: 'x', file: null }] }, '/failures/0/layer'],
    ] as const) {
      const res = await post(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error?.code, 'SLIPWAY_USAGE');
      assert.equal(res.body.error?.details.field, field);
    }

    // --control-plane, with the log (and so the local control store) elsewhere: only the API reaches the gate.
    const run = await runCli(
      ['--log', join(elsewhere, 'log.db'), 'test', '--build', 'pipeline.ts', '--store', join(dir, 'artifacts')].concat([
        '--layer',
        'unit',
        '--control-plane',
        url,
      ]),
      { cwd: example },
    );
    assert.equal(run.code, 0, run.stderr);
    const recorded = /report for (sha256:[0-9a-f]{64}) recorded in the control plane at (\S+)/.exec(run.stdout);
    assert.equal(recorded?.[2], url, run.stdout);
    const digest = recorded?.[1] as string;
    assert.equal(existsSync(join(elsewhere, 'control.db')), false, 'nothing written to the local control store');

    const deployed = await daemon(['deploy', digest.slice(7, 19), '--bake', '0']);
    assert.equal(deployed.code, 0, deployed.stderr);
    assert.match(deployed.stdout, /completed/);
    assert.doesNotMatch(deployed.stderr, /untested/);

    // Without --control-plane, the project's daemon is found beside the log: a failing report goes there too,
    // and the gate refuses that digest.
    const broken = await daemon(
      ['test', '--build', 'pipeline.ts', '--store', join(dir, 'artifacts'), '--layer', 'unit'],
      brokenProject(),
    );
    assert.equal(broken.code, 1, broken.stderr);
    const failed = /FAILED: 1 of 7 tests; report for (sha256:[0-9a-f]{64}) recorded in the control plane at (\S+)/.exec(
      broken.stdout,
    );
    assert.equal(failed?.[2], url, broken.stdout);
    const refused = await daemon(['deploy', (failed?.[1] ?? '').slice(7, 19), '--bake', '0']);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stderr,
      /error SLIPWAY_RELEASE_GATE: the latest test report for sha256:[0-9a-f]{64} failed: makes every customer vip from the first order \(tiers\.test\.ts\)/,
    );
  });
});

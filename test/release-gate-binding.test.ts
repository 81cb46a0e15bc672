import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openSqliteControlStore } from 'slipway';
import { runCli } from './helpers/cli.js';

// Issue 10, item 1 — the newcomer's case: a folder holding v1's sources, and the artifact of a broken
// v3 built elsewhere. `slipway test --artifact <v3>` there used to run v1's tests and certify v3.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const example = resolve(ROOT, 'examples/orders');
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
const tempDir = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};

/** A copy of examples/orders whose pipeline.ts is `version`'s code, its dependencies linked. */
function project(version: 'v1' | 'v3'): string {
  const dir = tempDir(`slipway-binding-${version}-`);
  cpSync(example, dir, { recursive: true, filter: (src) => !/[/\\](\.slipway|node_modules|test)$/.test(src) });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/slipway'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/@sinclair'), join(dir, 'node_modules/@sinclair'), 'dir');
  if (version === 'v3')
    writeFileSync(
      join(dir, 'pipeline.ts'),
      "export { enrichOrdersBroken as enrichOrders } from './versions/v3-broken.js';\n",
    );
  return dir;
}

describe('the release gate tests the artifact it approves', () => {
  it("refuses to certify v3 from v1's sources; v3's own sources fail its tests, and deploy names the failing test", async () => {
    const v1 = project('v1');
    const v3 = project('v3');
    const state = tempDir('slipway-binding-state-');
    const store = join(state, 'artifacts');
    const cli = (args: string[], cwd: string) => runCli(['--log', join(state, 'log.db'), ...args], { cwd });

    const built = await cli(['build', 'pipeline.ts', '--store', store, '--json'], v3);
    assert.equal(built.code, 0, built.stderr);
    const digest = JSON.parse(built.stdout).digest as string;

    // In v1's folder: refused before any test runs, and nothing is recorded for v3.
    const wrong = await cli(['test', '--artifact', digest.slice(0, 19), '--store', store], v1);
    assert.equal(wrong.code, 1, wrong.stderr);
    assert.match(wrong.stderr, /error SLIPWAY_TEST_BINDING: The sources here build to [0-9a-f]{12}, not [0-9a-f]{12}/);
    assert.match(wrong.stderr, /slipway test --build pipeline\.ts/);
    assert.doesNotMatch(wrong.stderr, /unit +\d+ files?/, 'no test ran');
    const control = await openSqliteControlStore({ path: join(state, 'control.db') });
    try {
      assert.equal(await control.latestTestReport(digest), undefined, 'no report for v3 was recorded');
    } finally {
      await control.close();
    }
    // Naming an entry that is not the artifact's sources does not help either.
    const entry = await cli(['test', '--artifact', digest, '--store', store, '--entry', 'versions/v2.ts'], v1);
    assert.equal(entry.code, 1);
    assert.match(entry.stderr, /SLIPWAY_TEST_BINDING/);

    // In v3's own folder the sources are the artifact's: its tests run, and fail.
    const own = await cli(['test', '--artifact', digest, '--store', store, '--layer', 'unit'], v3);
    assert.equal(own.code, 1, own.stderr);
    assert.match(own.stderr, /the sources here \(pipeline\.ts\) build to sha256:/);
    assert.match(own.stdout, /FAILED: \d+ of \d+ tests; report for sha256:[0-9a-f]{64} recorded/);
    assert.match(
      own.stderr,
      /✗ enrich-orders > processes the masked sample of real orders: every record enriched, none dead-lettered/,
    );

    // And the deploy of v3 names the failing test.
    const up = await cli(['up', '--detach'], v3);
    assert.equal(up.code, 0, up.stderr);
    try {
      const deploy = await cli(['deploy', digest.slice(0, 19)], v3);
      assert.equal(deploy.code, 1);
      assert.match(
        deploy.stderr,
        /error SLIPWAY_RELEASE_GATE: the latest test report for sha256:[0-9a-f]{64} failed: .*processes the masked sample of real orders: every record enriched, none dead-lettered \(pipeline\.test\.ts\)/,
      );
    } finally {
      await cli(['down'], v3);
    }
  });
});

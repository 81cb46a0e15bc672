import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { ArtifactRef } from '../deploy/deployment.js';
import type { TestReport } from '../deploy/test-report.js';
import { isSlipwayError } from '../errors.js';
import { checkReleaseGate } from './release-gate.js';
import { openSqliteControlStore } from './sqlite-control-store.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-gate-'));
const store = await openSqliteControlStore({ path: join(dir, 'control.db') });
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const digest = `sha256:${'ab'.repeat(32)}`;
const built: ArtifactRef = { digest, pipeline: 'p', version: '1.0.0' };
const layer = { passed: 1, failed: 0, skipped: 0, files: 1 };
const report = (passed: boolean, name?: string): TestReport => ({
  digest,
  passed,
  layers: { unit: layer, integration: layer, e2e: layer },
  failures: name === undefined ? [] : [{ layer: 'unit', name, file: 'pipeline.test.ts' }],
  startedAt: Date.now(),
  durationMs: 5,
});
const refused = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err, 'SLIPWAY_RELEASE_GATE'), String(err));
    assert.match(err.message, pattern);
    return true;
  });

describe('checkReleaseGate', () => {
  it('follows the latest report of exactly the digest: missing, failed, then passed', async () => {
    const gate = (environment = 'staging') => checkReleaseGate({ store, environment, artifact: built });
    await refused(gate(), /no test report for sha256:abab.* run `slipway test --artifact sha256:ababab/);
    await store.putTestReport(report(false, 'tiers > vip at 1000'));
    await refused(gate(), /failed: tiers > vip at 1000 \(pipeline\.test\.ts\)/);
    await store.putTestReport(report(true));
    const passed = await gate();
    assert.equal(passed.untested, false);
    assert.equal(passed.report?.passed, true);
    await store.putTestReport(report(false, 'flaky'));
    await refused(gate(), /failed: flaky/);
    assert.equal(await store.latestTestReport(`sha256:${'cd'.repeat(32)}`), undefined);
  });

  it('lets untested deploys through only in local, or where the environment allows them', async () => {
    const other: ArtifactRef = { ...built, digest: `sha256:${'ef'.repeat(32)}` };
    assert.deepEqual(await checkReleaseGate({ store, environment: 'local', artifact: other, allowUntested: true }), {
      untested: true,
    });
    await refused(
      checkReleaseGate({ store, environment: 'prod', artifact: other, allowUntested: true }),
      /accepted only by a 'local' control plane; this one is 'prod'/,
    );
    await refused(checkReleaseGate({ store, environment: 'local', artifact: other }), /no test report/);
    // A project's environment decides by its own allowUntested, whatever its name.
    assert.equal(
      (
        await checkReleaseGate({
          store,
          environment: 'dev',
          artifact: other,
          allowUntested: true,
          allowsUntested: true,
        })
      ).untested,
      true,
    );
    await refused(
      checkReleaseGate({ store, environment: 'local', artifact: other, allowUntested: true, allowsUntested: false }),
      /is not accepted in local: its declaration in slipway\.config\.ts does not say allowUntested: true/,
    );
  });
});

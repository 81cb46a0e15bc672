import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ArtifactStore, buildArtifact, InProcessSupervisor, isSlipwayError } from 'slipway';
import { BUNDLE_FILE } from '../src/artifact/manifest.js';
import { ControlPlaneClient } from '../src/control/client.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';

// Issue 13 items 3 and 6 at deploy time: an artifact built elsewhere (another machine's store, uploaded)
// is re-checked by the control plane against its registry, not only by `slipway build`.

const dir = mkdtempSync(join(tmpdir(), 'slipway-version-recheck-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the control plane re-checks versions of artifacts built elsewhere', () => {
  it('refuses a missing bump, a wrong bump and a pipeline version naming other code, with their codes; accepts the right bump', async () => {
    const paths = daemonPaths(join(dir, '.slipway'));
    // "Elsewhere": a CI machine's artifact store, whose builds the control plane never saw.
    const elsewhere = new ArtifactStore({ dir: join(dir, 'ci-artifacts') });
    const cwd = resolve('test/fixtures');
    const build = async (entry: string, pipeline?: string) =>
      buildArtifact({ entry, cwd, store: elsewhere, ...(pipeline === undefined ? {} : { pipeline }) });
    const daemon = await startDaemon({
      paths,
      supervisor: new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    const client = new ControlPlaneClient(daemon.url);
    const upload = async (entry: string, pipeline?: string) => {
      const built = await build(entry, pipeline);
      await client.uploadArtifact(built.manifest, await readFile(join(built.dir, BUNDLE_FILE)));
      return built.digest;
    };
    const refusal = async (artifact: string, code: string, check: (details: Record<string, unknown>) => void) =>
      assert.rejects(client.deploy({ artifact, allowUntested: true, bakeMs: 0 }), (err: unknown) => {
        assert.ok(isSlipwayError(err, code as never), String(err));
        check(err.details);
        return true;
      });
    const problems = (details: Record<string, unknown>) =>
      (details.problems as Array<{ code: string; subject: string; reason: string; name: string; suggest: string }>).map(
        (p) => [p.code, p.subject, p.reason, p.name, p.suggest],
      );
    try {
      const first = await client.deploy({
        artifact: await upload('orders-majors.ts', 'shop'),
        allowUntested: true,
        bakeMs: 0,
      });
      assert.equal((await daemon.plane.controller().wait(first.id)).status, 'completed');

      await refusal(await upload('version-recheck/same-version-new-schema.ts'), 'SLIPWAY_VERSION_NOT_BUMPED', (d) =>
        assert.deepEqual(problems(d), [['SLIPWAY_VERSION_NOT_BUMPED', 'dataset', 'not-bumped', 'orders', '1.1.0']]),
      );
      await refusal(await upload('version-recheck/incompatible-minor.ts'), 'SLIPWAY_WRONG_BUMP', (d) => {
        assert.deepEqual(problems(d), [['SLIPWAY_WRONG_BUMP', 'dataset', 'incompatible', 'orders', '2.0.0']]);
        const [problem] = d.problems as Array<{ incompatibilities: Array<{ path: string; rule: string }> }>;
        assert.deepEqual(
          problem?.incompatibilities.map((i) => [i.path, i.rule]),
          [['$.amount', 'type-narrowed']],
        );
      });
      await refusal(await upload('version-recheck/same-pipeline-version.ts'), 'SLIPWAY_VERSION_NOT_BUMPED', (d) =>
        assert.deepEqual(problems(d), [['SLIPWAY_VERSION_NOT_BUMPED', 'pipeline', 'not-bumped', 'shop', '1.0.1']]),
      );
      // Nothing refused was recorded: the registry still has orders 1.0.0 only.
      assert.deepEqual(
        (await daemon.plane.store.datasetVersions({ name: 'orders' })).map((v) => v.version),
        ['1.0.0'],
      );

      const right = await client.deploy({
        artifact: await upload('version-recheck/right-minor.ts'),
        allowUntested: true,
        bakeMs: 0,
      });
      assert.equal((await daemon.plane.controller().wait(right.id)).status, 'completed');
      // A redeploy of what the control plane already accepted is not re-checked (a rollback must work).
      const again = await client.deploy({ artifact: first.artifact.digest, allowUntested: true, bakeMs: 0 });
      assert.equal((await daemon.plane.controller().wait(again.id)).status, 'completed');
    } finally {
      await daemon.close();
    }
  });
});

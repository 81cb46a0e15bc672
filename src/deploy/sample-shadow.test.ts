import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { buildArtifact } from '../artifact/build-artifact.js';
import type { PipelineDescription } from '../artifact/manifest.js';
import { InProcessSupervisor } from '../supervisor/in-process-supervisor.js';
import type { RunnerHandle } from '../supervisor/supervisor.js';
import { sampleShadowDiff, samplesFor } from './sample-shadow.js';

const samplesRoot = resolve('examples/orders/samples');
const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-sample-shadow-'));
const store = new ArtifactStore({ dir: join(dir, 'artifacts') });
const supervisor = new InProcessSupervisor({ artifactsDir: store.dir });
const built: Record<'v1' | 'v2' | 'v3', { digest: string; manifest: PipelineDescription }> = {} as never;
let n = 0;

before(async () => {
  for (const [v, entry] of [
    ['v1', 'pipeline.ts'],
    ['v2', 'versions/v2.ts'],
    ['v3', 'versions/v3-broken.ts'],
  ] as const) {
    const b = await buildArtifact({ entry, cwd: example, store });
    built[v] = { digest: b.digest, manifest: b.manifest };
  }
});
after(async () => {
  await supervisor.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A runner of a version in standby, on a log of its own, that never activates. */
const runner = (v: 'v1' | 'v2' | 'v3'): Promise<RunnerHandle> =>
  supervisor.start({
    id: `sample-${v}-${++n}`,
    digest: built[v].digest,
    pipeline: 'enrich-orders',
    log: { engine: 'embedded', path: join(dir, `log-${n}.db`) },
    owner: `sample-${n}`,
    group: `sample-${n}`,
  });

describe('the shadow diff on a representative sample', () => {
  it('finds the default sample of each input, and none where there is none', () => {
    assert.deepEqual(samplesFor(built.v1.manifest, samplesRoot), ['orders.v1/default']);
    assert.deepEqual(samplesFor(built.v1.manifest, resolve('examples/orders/data')), []);
  });

  it("runs both versions' batch cores over the sample and diffs their outputs by source", async () => {
    const diff = async (blue: 'v1', green: 'v1' | 'v2' | 'v3', allowChangedFields?: string[]) =>
      sampleShadowDiff({
        blue: await runner(blue),
        green: await runner(green),
        manifest: built[green].manifest,
        samplesRoot,
        ...(allowChangedFields === undefined ? {} : { allowChangedFields }),
      });
    const same = await diff('v1', 'v1');
    assert.ok(same !== undefined);
    assert.equal(same.records, 200);
    assert.equal(same.compared, 200);
    assert.equal(same.identical, 200);
    assert.equal(same.ratio, 0);

    // v2 changes the USD rate: amountEur and the running totals differ, nothing else.
    const v2 = await diff('v1', 'v2');
    assert.ok(v2 !== undefined);
    assert.ok(v2.changed > 0, 'USD orders changed');
    assert.ok('amountEur' in v2.changedFields);
    for (const field of Object.keys(v2.changedFields))
      assert.ok(['amountEur', 'customerTotalEur', 'tier'].includes(field), `${field} changed`);
    const allowed = await diff('v1', 'v2', ['amountEur', 'customerTotalEur', 'tier']);
    assert.equal(allowed?.ratio, 0);

    // v3 throws on some records: their outputs are missing on green's side.
    const v3 = await diff('v1', 'v3');
    assert.ok(v3 !== undefined && v3.missing > 0 && v3.extra === 0, JSON.stringify(v3?.examples));
  });
});

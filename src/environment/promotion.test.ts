import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteControlStore } from '../control/sqlite-control-store.js';
import type { ControlStore } from '../deploy/control-store.js';
import type { ArtifactRef } from '../deploy/deployment.js';
import { isSlipwayError } from '../errors.js';
import { environmentMatrix } from './matrix.js';
import { checkProject } from './project.js';
import { environmentDeployOptions, planPromotion, verification } from './promotion.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-promotion-'));
let store: ControlStore;
before(async () => {
  store = await openSqliteControlStore({ path: join(dir, 'control.db') });
});
after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const project = checkProject({
  environments: {
    dev: { log: { engine: 'embedded' } },
    staging: { log: { engine: 'embedded' }, promotion: { from: 'dev' } },
    prod: { log: { engine: 'embedded' }, promotion: { from: 'staging', soak: '1h', approval: true } },
  },
});
const art = (n: number, pipeline = 'p'): ArtifactRef => ({
  digest: `sha256:${String(n).repeat(64).slice(0, 64)}`,
  pipeline,
  version: `1.${n}.0`,
});
let seq = 0;
/** A deployment of `artifact` in `environment` that ended with `status`; a completed one makes a release. */
async function deployed(artifact: ArtifactRef, environment: string, status: 'completed' | 'rolled_back' | 'running') {
  const id = `dep-${++seq}`;
  const options = { strategy: 'blue-green' as const };
  await store.createDeployment(
    {
      id,
      pipeline: artifact.pipeline,
      environment,
      artifact,
      previous: null,
      options,
      summary: { strategy: 'blue-green', startedAt: Date.now() },
    },
    { artifact, previous: null, options },
  );
  if (status === 'running') return id;
  if (status === 'completed')
    await store.setRelease({
      pipeline: artifact.pipeline,
      environment,
      artifact,
      config: {},
      deploymentId: id,
      runners: 1,
    });
  await store.updateDeployment(id, { status, step: status === 'completed' ? 'completed' : 'rolled_back' });
  return id;
}
const refusedWith = async (p: Promise<unknown>, reason: string) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(isSlipwayError(err, 'SLIPWAY_PROMOTION_REFUSED'), String(err));
    assert.equal(err.details.reason, reason, err.message);
    return true;
  });

describe('promotion', () => {
  it('verifies a digest by a completed deployment, and soaks from its end or its last runner failure', async () => {
    const a = art(1, 'v');
    assert.equal(await verification(store, 'v', 'dev', a.digest), undefined);
    await deployed(a, 'dev', 'rolled_back');
    assert.equal(
      await verification(store, 'v', 'dev', a.digest),
      undefined,
      'a rolled-back deployment verifies nothing',
    );
    await deployed(a, 'dev', 'completed');
    const v = await verification(store, 'v', 'dev', a.digest);
    assert.ok(v !== undefined);
    const later = v.liveSince + 60_000;
    assert.equal((await verification(store, 'v', 'dev', a.digest, later))?.healthyMs, 60_000);
    await store.appendPipelineEvent({
      pipeline: 'v',
      environment: 'dev',
      kind: 'runner-exited',
      runner: 'r',
      message: 'exited',
      data: {},
    });
    const failedAt = (await store.pipelineEvents({ pipeline: 'v', environment: 'dev' })).at(-1)?.at as number;
    assert.equal((await verification(store, 'v', 'dev', a.digest, failedAt + 5000))?.healthyMs, 5000);
    // Replaced by another release: its time there ended then.
    await new Promise((r) => setTimeout(r, 5));
    await deployed(art(2, 'v'), 'dev', 'completed');
    const ended = await verification(store, 'v', 'dev', a.digest, Date.now() + 3_600_000);
    assert.ok(ended?.replacedAt !== null && (ended?.healthyMs ?? 0) < 3_600_000);
  });

  it('refuses with each reason, and lets an approved, soaked digest through', async () => {
    const a = art(3);
    await refusedWith(planPromotion({ store, project, pipeline: 'p', to: 'dev' }), 'no-upstream');
    await refusedWith(planPromotion({ store, project, pipeline: 'p', to: 'staging' }), 'not-verified');
    await deployed(a, 'dev', 'completed');
    const toStaging = await planPromotion({ store, project, pipeline: 'p', to: 'staging' });
    assert.equal(toStaging.digest, a.digest);
    assert.equal(toStaging.from, 'dev');
    // A unique prefix of a digest deployed upstream.
    assert.equal(
      (await planPromotion({ store, project, pipeline: 'p', to: 'staging', digest: '3333333' })).digest,
      a.digest,
    );
    await refusedWith(
      planPromotion({ store, project, pipeline: 'p', to: 'staging', digest: art(4).digest }),
      'not-verified',
    );
    await deployed(a, 'staging', 'completed');
    await refusedWith(planPromotion({ store, project, pipeline: 'p', to: 'prod' }), 'soaking');
    const soaked = Date.now() + 3_600_000 + 1000;
    await refusedWith(planPromotion({ store, project, pipeline: 'p', to: 'prod', now: soaked }), 'approval-missing');
    await store.putApproval({ pipeline: 'p', environment: 'prod', digest: art(4).digest, by: 'eve' });
    await refusedWith(planPromotion({ store, project, pipeline: 'p', to: 'prod', now: soaked }), 'approval-missing');
    await store.putApproval({ pipeline: 'p', environment: 'prod', digest: a.digest, by: 'alice' });
    const plan = await planPromotion({ store, project, pipeline: 'p', to: 'prod', now: soaked });
    assert.equal(plan.approvedBy, 'alice');
  });

  it('shows the matrix: verified, soaking, deploying, failed', async () => {
    const m = art(5, 'm');
    await deployed(m, 'dev', 'completed');
    await deployed(m, 'staging', 'completed');
    await deployed(art(6, 'm'), 'dev', 'rolled_back');
    await deployed(art(6, 'm'), 'prod', 'running');
    const matrix = await environmentMatrix(store, project, ['dev', 'staging', 'prod']);
    const cell = (e: string) => matrix.cells.find((c) => c.pipeline === 'm' && c.environment === e);
    assert.equal(cell('dev')?.state, 'failed');
    assert.equal(cell('dev')?.digest, m.digest, 'what is live stays');
    assert.equal(cell('dev')?.deployment?.version, '1.6.0');
    assert.equal(cell('staging')?.state, 'soaking');
    assert.equal(cell('staging')?.soakMs, 3_600_000);
    assert.equal(cell('prod')?.state, 'deploying');
    const later = await environmentMatrix(store, project, ['dev', 'staging', 'prod'], Date.now() + 3_700_000);
    assert.equal(later.cells.find((c) => c.pipeline === 'm' && c.environment === 'staging')?.state, 'verified');
  });

  it("fills what a request leaves out from the environment's config and policy", () => {
    const env = checkProject({
      environments: {
        staging: {
          log: { engine: 'embedded' },
          policy: { strategy: 'canary', bake: '2m', gates: { maxDlqRatio: 0.01 } },
          pipelines: { p: { config: { a: 1 } } },
        },
      },
    }).environments.staging;
    assert.ok(env !== undefined);
    assert.deepEqual(environmentDeployOptions(env, 'p', {}), {
      strategy: 'canary',
      bakeMs: 120_000,
      gates: { maxDlqRatio: 0.01 },
      config: { a: 1 },
    });
    assert.deepEqual(environmentDeployOptions(env, 'p', { strategy: 'blue-green', config: { a: 2 } }).config, { a: 2 });
    assert.equal(environmentDeployOptions(env, 'other', {}).config, undefined);
  });
});

/**
 * The ControlStore contract suite: every behaviour of the `ControlStore` interface as tests that take
 * a factory. Each store runs it in one call, e.g. `runControlStoreContract('sqlite', factory)`; a new
 * store (PostgreSQL) is done when it passes. Every test uses its own pipeline and environment names,
 * so stores that share a database can run it in parallel with other suites.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import { RunnerStatsRecorder } from '../runtime/runner-stats.js';
import type { ControlStore, NewDeployment } from './control-store.js';
import type { ArtifactRef, DeploymentEventBody } from './deployment.js';
import type { TestReport } from './test-report.js';

export interface ControlStoreContractFactory {
  /** Opens a new handle on one shared underlying store (same file, same database). */
  open(): Promise<ControlStore>;
  /** Called once after the suite. */
  cleanup?(): Promise<void>;
}

const unique = (prefix: string): string => `${prefix}-${randomUUID().slice(0, 8)}`;
const digest = (): string => `sha256:${randomUUID().replaceAll('-', '').padEnd(64, '0')}`;
const artifact = (pipeline: string, version = '1.0.0'): ArtifactRef => ({ digest: digest(), pipeline, version });

function newDeployment(pipeline: string, environment: string, a = artifact(pipeline)): NewDeployment {
  return {
    id: unique('dep'),
    pipeline,
    environment,
    artifact: a,
    previous: null,
    options: { strategy: 'blue-green', bakeMs: 100 },
    summary: { strategy: 'blue-green', startedAt: Date.now() },
  };
}

const planned = (d: NewDeployment) => ({ artifact: d.artifact, previous: d.previous, options: d.options });

function report(d: string, passed: boolean): TestReport {
  const layer = { passed: passed ? 2 : 1, failed: passed ? 0 : 1, skipped: 0, files: 1 };
  return {
    digest: d,
    passed,
    layers: { unit: layer, integration: { passed: 0, failed: 0, skipped: 0, files: 0 }, e2e: layer },
    failures: passed ? [] : [{ layer: 'unit', name: 'prices > rounds', file: 'pipeline.test.ts' }],
    startedAt: 1_700_000_000_000,
    durationMs: 12,
  };
}

/** Registers the contract tests for one store. */
export function runControlStoreContract(name: string, factory: ControlStoreContractFactory): void {
  describe(`ControlStore contract: ${name}`, () => {
    const handles: ControlStore[] = [];
    const open = async (): Promise<ControlStore> => {
      const store = await factory.open();
      handles.push(store);
      return store;
    };
    after(async () => {
      for (const h of handles) await h.close();
      await factory.cleanup?.();
    });

    it('records artifacts once by digest, newest first, by pipeline', async () => {
      const store = await open();
      const p = unique('pipe');
      const a = artifact(p, '1.0.0');
      const b = artifact(p, '1.1.0');
      const rec = { inputs: ['orders.v1'], outputs: ['enriched.v1'], builtAt: 1000 };
      await store.putArtifact({ ...a, ...rec, registeredAt: 1 });
      await store.putArtifact({ ...b, ...rec, builtAt: null, registeredAt: 2 });
      await store.putArtifact({ ...a, ...rec, version: 'changed', registeredAt: 3 });
      assert.deepEqual(await store.getArtifact(a.digest), { ...a, ...rec, registeredAt: 1 });
      assert.deepEqual(
        (await store.listArtifacts({ pipeline: p })).map((x) => x.version),
        ['1.1.0', '1.0.0'],
      );
      assert.equal(await store.getArtifact(digest()), undefined);
    });

    it('creates a deployment and its planned event together, and reads both back', async () => {
      const store = await open();
      const d = newDeployment(unique('pipe'), unique('env'));
      const { record, event } = await store.createDeployment(d, planned(d));
      assert.equal(record.status, 'running');
      assert.equal(record.step, 'planned');
      assert.deepEqual(record.options, d.options);
      assert.equal(event.step, 'planned');
      assert.equal(event.kind, 'info');
      const events = await store.events(d.id);
      assert.equal(events.length, 1);
      assert.deepEqual(events[0]?.data, planned(d));
      assert.deepEqual(await store.getDeployment(d.id), record);
      // Another handle on the same store sees it.
      const other = await open();
      assert.equal((await other.getDeployment(d.id))?.id, d.id);
    });

    it('refuses a second running deployment of the same pipeline in the same environment, writing nothing', async () => {
      const store = await open();
      const other = await open();
      const p = unique('pipe');
      const env = unique('env');
      const first = newDeployment(p, env);
      await store.createDeployment(first, planned(first));
      const second = newDeployment(p, env);
      await assert.rejects(other.createDeployment(second, planned(second)), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_DEPLOY_REFUSED'), String(err));
        assert.match(err.message, new RegExp(first.id));
        return true;
      });
      assert.equal(await store.getDeployment(second.id), undefined);
      assert.deepEqual(await store.events(second.id), []);
      // Another environment, or another pipeline, is not blocked.
      const elsewhere = newDeployment(p, unique('env'));
      await store.createDeployment(elsewhere, planned(elsewhere));
      const another = newDeployment(unique('pipe'), env);
      await store.createDeployment(another, planned(another));
      // Once the first ends, the next may start.
      await store.updateDeployment(first.id, { status: 'completed', step: 'completed' });
      await other.createDeployment(second, planned(second));
      assert.equal((await store.getDeployment(second.id))?.status, 'running');
    });

    it('lets only one of many concurrent creations of a pipeline through', async () => {
      const stores = [await open(), await open(), await open()];
      const p = unique('pipe');
      const env = unique('env');
      const attempts = stores.flatMap((s) =>
        [0, 1, 2].map(() => {
          const d = newDeployment(p, env);
          return s.createDeployment(d, planned(d));
        }),
      );
      const results = await Promise.allSettled(attempts);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      for (const r of results) {
        if (r.status === 'rejected') assert.ok(isSlipwayError(r.reason, 'SLIPWAY_DEPLOY_REFUSED'), String(r.reason));
      }
      assert.equal((await stores[0]?.activeDeployments(env))?.length, 1);
    });

    it('updates status, step and summary; lists newest first; active ones oldest first', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const d = newDeployment(p, env);
        await store.createDeployment(d, planned(d));
        ids.push(d.id);
        if (i < 2) {
          const updated = await store.updateDeployment(d.id, {
            status: 'completed',
            step: 'completed',
            summary: { strategy: 'blue-green', startedAt: 1, cutoverPauseMs: 12.5 },
          });
          assert.equal(updated.status, 'completed');
          assert.equal(updated.summary.cutoverPauseMs, 12.5);
          assert.ok(updated.updatedAt >= updated.createdAt);
        }
      }
      assert.deepEqual(
        (await store.listDeployments({ pipeline: p })).map((d) => d.id),
        [...ids].reverse(),
      );
      assert.deepEqual(
        (await store.listDeployments({ pipeline: p, limit: 1 })).map((d) => d.id),
        [ids[2]],
      );
      assert.deepEqual(
        (await store.activeDeployments(env)).map((d) => d.id),
        [ids[2]],
      );
      assert.ok((await store.activeDeployments()).some((d) => d.id === ids[2]));
      await assert.rejects(store.updateDeployment(unique('dep'), { step: 'bake' }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_DEPLOYMENT_NOT_FOUND'),
      );
    });

    it('appends typed events in order and reads those after a seq', async () => {
      const store = await open();
      const d = newDeployment(unique('pipe'), unique('env'));
      const { event: first } = await store.createDeployment(d, planned(d));
      const bodies: DeploymentEventBody[] = [
        { step: 'cutover', kind: 'begin', data: {} },
        {
          step: 'cutover',
          kind: 'end',
          data: { offsets: [{ topic: 't', partition: 0, offset: 5 }], epoch: 2, pauseMs: 3.5, records: 5 },
        },
        { step: 'bake', kind: 'error', data: { code: 'SLIPWAY_RUNNER_EXITED', message: 'gone', retryable: true } },
      ];
      const appended = [];
      for (const b of bodies) appended.push(await store.appendEvent(d.id, b));
      const seqs = appended.map((e) => e.seq);
      assert.ok(seqs.every((s, i) => s > (i === 0 ? first.seq : (seqs[i - 1] as number))));
      const all = await store.events(d.id);
      assert.deepEqual(
        all.map(({ step, kind, data }) => ({ step, kind, data })),
        [{ step: 'planned', kind: 'info', data: planned(d) }, ...bodies],
      );
      assert.deepEqual(await store.events(d.id, seqs[0]), all.slice(2));
    });

    it('keeps one release per pipeline and environment', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      const a = artifact(p, '1.0.0');
      const b = artifact(p, '1.1.0');
      await store.setRelease({
        pipeline: p,
        environment: env,
        artifact: a,
        config: { x: 1 },
        deploymentId: 'd1',
        runners: 1,
      });
      await store.setRelease({
        pipeline: p,
        environment: `${env}-2`,
        artifact: a,
        config: undefined,
        deploymentId: null,
        runners: 2,
      });
      await store.setRelease({
        pipeline: p,
        environment: env,
        artifact: b,
        config: { x: 2 },
        deploymentId: 'd2',
        runners: 3,
      });
      const r = await store.getRelease(p, env);
      assert.deepEqual(
        { ...r, updatedAt: 0 },
        {
          pipeline: p,
          environment: env,
          artifact: b,
          config: { x: 2 },
          deploymentId: 'd2',
          runners: 3,
          updatedAt: 0,
        },
      );
      assert.equal((await store.getRelease(p, `${env}-2`))?.config, undefined);
      assert.deepEqual(
        (await store.listReleases(env)).map((x) => x.artifact.version),
        ['1.1.0'],
      );
      assert.equal(await store.getRelease(p, unique('env')), undefined);
      // Undeployed: no longer live there (its history stays); the other environment keeps its release.
      await store.removeRelease(p, env);
      assert.equal(await store.getRelease(p, env), undefined);
      assert.deepEqual(await store.listReleases(env), []);
      assert.equal((await store.getRelease(p, `${env}-2`))?.runners, 2);
      assert.equal((await store.releaseHistory(p, env)).length, 2);
    });

    it('keeps the history of releases, newest first', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      const versions = ['1.0.0', '1.1.0', '1.2.0'].map((v) => artifact(p, v));
      for (const [i, a] of versions.entries())
        await store.setRelease({
          pipeline: p,
          environment: env,
          artifact: a,
          config: { i },
          deploymentId: `d${i}`,
          runners: 1,
        });
      const history = await store.releaseHistory(p, env);
      assert.deepEqual(
        history.map((r) => [r.artifact.version, r.config, r.deploymentId]),
        [
          ['1.2.0', { i: 2 }, 'd2'],
          ['1.1.0', { i: 1 }, 'd1'],
          ['1.0.0', { i: 0 }, 'd0'],
        ],
      );
      assert.equal((await store.releaseHistory(p, env, 1)).length, 1);
      assert.deepEqual(await store.releaseHistory(p, unique('env')), []);
    });

    it('records approvals by pipeline, environment and digest, newest first', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      const [a, b] = [digest(), digest()];
      const first = await store.putApproval({
        pipeline: p,
        environment: env,
        digest: a as string,
        by: 'ada',
        note: 'looks good',
      });
      assert.ok(first.at > 0);
      await store.putApproval({ pipeline: p, environment: env, digest: b as string, by: 'grace' });
      assert.deepEqual(
        (await store.approvals(p, env)).map((x) => [x.digest, x.by]),
        [
          [b, 'grace'],
          [a, 'ada'],
        ],
      );
      assert.deepEqual(
        (await store.approvals(p, env, a)).map((x) => [x.by, x.note]),
        [['ada', 'looks good']],
      );
      assert.deepEqual(await store.approvals(p, unique('env')), []);
    });

    it('keeps the latest heartbeat of each runner, by environment and pipeline, and forgets removed ones', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      const base = { pipeline: p, environment: env, role: 'live', digest: digest(), pid: 42 };
      await store.recordRunner({ ...base, id: `${p}:a`, state: 'standby', stats: null });
      await store.recordRunner({ ...base, id: `${p}:b`, state: 'running', stats: null });
      const recorder = new RunnerStatsRecorder();
      recorder.activated(1000);
      recorder.recordCommit(1010, { inputs: 10, processed: 10, outputs: 10, dlq: 0 }, [{ timestamp: 1005 }]);
      const stats = recorder.snapshot({ state: 'running', epoch: 3, lag: 0, offsets: [] }, 1010);
      await store.recordRunner({ ...base, id: `${p}:a`, state: 'running', stats });
      const runners = await store.runners({ environment: env });
      assert.deepEqual(
        runners.map((r) => [r.id, r.state]),
        [
          [`${p}:a`, 'running'],
          [`${p}:b`, 'running'],
        ],
      );
      assert.deepEqual(runners[0]?.stats, stats);
      assert.ok((runners[0]?.at ?? 0) > 0);
      await store.removeRunner(`${p}:b`);
      assert.deepEqual(
        (await store.runners({ pipeline: p })).map((r) => r.id),
        [`${p}:a`],
      );
    });

    it('records pipeline events in order, newest last, filtered', async () => {
      const store = await open();
      const p = unique('pipe');
      const env = unique('env');
      for (const kind of ['runner-exited', 'runner-restarted'] as const)
        await store.appendPipelineEvent({
          pipeline: p,
          environment: env,
          kind,
          runner: 'r1',
          message: kind,
          data: { n: 1 },
        });
      await store.appendPipelineEvent({
        pipeline: unique('pipe'),
        environment: env,
        kind: 'runner-fenced',
        runner: null,
        message: 'other',
        data: {},
      });
      const events = await store.pipelineEvents({ pipeline: p, environment: env });
      assert.deepEqual(
        events.map((e) => e.kind),
        ['runner-exited', 'runner-restarted'],
      );
      assert.deepEqual(events[0]?.data, { n: 1 });
      assert.ok((events[1]?.seq ?? 0) > (events[0]?.seq ?? 0));
      assert.deepEqual(
        (await store.pipelineEvents({ pipeline: p, limit: 1 })).map((e) => e.kind),
        ['runner-restarted'],
      );
    });

    it('registers dataset versions once, with their first sighting, every use, and retirements', async () => {
      const store = await open();
      const other = await open();
      const name = unique('ds');
      const schemaV1 = { type: 'object', properties: { id: { type: 'string' } } };
      const use = (version: string, role: 'input' | 'output', schemaDigest = `sha256:${version}`) => ({
        name,
        version,
        topic: `${name}.v${version.split('.')[0]}`,
        schema: schemaV1,
        schemaDigest,
        compatibility: 'backward',
        role,
      });
      const producer = artifact(unique('pipe'), '1.0.0');
      const reader = artifact(unique('pipe'), '2.0.0');
      assert.deepEqual(await store.datasetVersions({ name }), []);
      await store.putDatasetVersions(producer, [use('1.10.0', 'output'), use('1.2.0', 'output')]);
      await other.putDatasetVersions(reader, [use('1.2.0', 'input')]);
      await store.putDatasetVersions(producer, [use('1.2.0', 'output')]);
      // The same version with another schema is kept beside the first: the clash stays visible.
      await store.putDatasetVersions(reader, [use('1.2.0', 'input', 'sha256:other')]);
      const versions = await other.datasetVersions({ name });
      assert.deepEqual(
        versions.map((v) => [v.version, v.schemaDigest, v.major, v.topic]),
        [
          ['1.2.0', 'sha256:1.2.0', 1, `${name}.v1`],
          ['1.2.0', 'sha256:other', 1, `${name}.v1`],
          ['1.10.0', 'sha256:1.10.0', 1, `${name}.v1`],
        ],
      );
      const v12 = versions[0];
      assert.deepEqual(v12?.schema, schemaV1);
      assert.equal(v12?.compatibility, 'backward');
      assert.deepEqual(v12?.firstSeenBy, producer);
      assert.ok((v12?.firstSeenAt ?? 0) > 0);
      assert.deepEqual(v12?.usedBy, [
        { ...producer, role: 'output' },
        { ...reader, role: 'input' },
      ]);
      assert.equal(v12?.retiredAt, null);
      assert.ok((await store.datasetVersions()).some((v) => v.name === name));
      await store.retireDataset(name, 1);
      const at = (await store.datasetVersions({ name }))[0]?.retiredAt ?? 0;
      assert.ok(at > 0);
      await store.retireDataset(name, 1);
      assert.equal((await other.datasetVersions({ name }))[2]?.retiredAt, at, 'the first retirement stays');
      assert.deepEqual(await store.datasetVersions({ name: unique('ds') }), []);
    });

    it('keeps test reports by digest; the newest counts', async () => {
      const store = await open();
      const d = digest();
      assert.equal(await store.latestTestReport(d), undefined);
      await store.putTestReport(report(d, false));
      assert.equal((await store.latestTestReport(d))?.passed, false);
      await store.putTestReport(report(d, true));
      assert.deepEqual(await store.latestTestReport(d), report(d, true));
      assert.equal(await store.latestTestReport(digest()), undefined);
    });

    it('closes idempotently', async () => {
      const store = await factory.open();
      await store.close();
      await store.close();
    });
  });
}

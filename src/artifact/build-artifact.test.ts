import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isSlipwayError } from 'slipway';
import { enrichedOrders, orders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { copyExampleProject } from '../../test/helpers/example-project.js';
import { ArtifactStore } from './artifact-store.js';
import { buildArtifact } from './build-artifact.js';
import { computeDigest, sha256 } from './manifest.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A copy of examples/orders in a temp folder (see test/helpers/example-project.ts). */
function makeProject(): string {
  const project = copyExampleProject({ prefix: 'slipway-artifact-', typebox: 'copy' });
  made.push(project.dir);
  return project.dir;
}

const storeOf = (project: string) => new ArtifactStore({ dir: join(project, '.slipway/artifacts') });
const build = (project: string, entry = 'pipeline.ts', pipeline?: string) =>
  buildArtifact({ entry, cwd: project, store: storeOf(project), ...(pipeline === undefined ? {} : { pipeline }) });
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=Slipway Test', '-c', 'user.email=test@example.com', ...args], {
    cwd,
    stdio: 'pipe',
    encoding: 'utf8',
  }).trim();
const rejects = (promise: Promise<unknown>, code: string, pattern: RegExp) =>
  assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, pattern);
    return true;
  });

describe('buildArtifact', () => {
  it('is reproducible: the same sources give the same digest and bytes, in any copy of the project', async () => {
    const a = makeProject();
    const b = makeProject();
    const first = await build(a);
    const again = await build(a);
    const elsewhere = await build(b);
    assert.match(first.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(first.created, true);
    assert.equal(again.created, false, 'the store already holds it');
    assert.equal(again.digest, first.digest);
    assert.equal(elsewhere.digest, first.digest);
    const bytesA = readFileSync(join(first.dir, 'bundle.mjs'));
    assert.deepEqual(readFileSync(join(elsewhere.dir, 'bundle.mjs')), bytesA);
    const text = bytesA.toString('utf8');
    assert.ok(!text.includes(a) && !text.includes(tmpdir()), 'no absolute path in the bundle');
    assert.match(text, /from "slipway"/, 'Slipway is left to the runtime');
    assert.match(text, /\/\/ node_modules\/@sinclair\/typebox\//, 'other dependencies are bundled');
    assert.deepEqual(
      first.manifest.provenance,
      { gitCommit: null, gitDirty: null, entry: 'pipeline.ts' },
      'not a git repository',
    );
  });

  it('gives another digest when one line of pipeline code changes', async () => {
    const project = makeProject();
    const before = await build(project);
    const file = join(project, 'pipeline.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace('order.amount > 1_000_000', 'order.amount > 2_000_000'));
    const changed = await build(project);
    assert.notEqual(changed.digest, before.digest);
    assert.notEqual(changed.manifest.bundle.sha256, before.manifest.bundle.sha256);
    assert.equal(changed.manifest.name, before.manifest.name);
    assert.equal(changed.manifest.version, before.manifest.version);
    assert.equal((await storeOf(project).list()).length, 2);
  });

  it('records git commit and dirty tree as provenance, outside the digest', async () => {
    const project = makeProject();
    git(project, 'init', '-q', '-b', 'main');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'first');
    const first = await build(project);
    const commit1 = git(project, 'rev-parse', 'HEAD');
    assert.deepEqual(first.manifest.provenance, { gitCommit: commit1, gitDirty: false, entry: 'pipeline.ts' });

    git(project, 'commit', '-q', '--allow-empty', '-m', 'second');
    const commit2 = git(project, 'rev-parse', 'HEAD');
    const second = await build(project);
    assert.equal(second.digest, first.digest);
    assert.deepEqual(
      second.manifest.provenance,
      { gitCommit: commit2, gitDirty: false, entry: 'pipeline.ts' },
      'the store is not a change',
    );

    writeFileSync(join(project, 'NOTES.md'), 'work in progress\n');
    const dirty = await build(project);
    assert.equal(dirty.digest, first.digest);
    assert.deepEqual(dirty.manifest.provenance, { gitCommit: commit2, gitDirty: true, entry: 'pipeline.ts' });

    const stored = await storeOf(project).verify(first.digest);
    assert.deepEqual(stored.manifest.provenance, first.manifest.provenance, 'the first build of these bytes');
  });

  it('writes a manifest of datasets, schema digests, config schema, state and Slipway versions — no config or secrets', async () => {
    const project = makeProject();
    const secret = 'sk-live-5e1f0a77c0ffee';
    const file = join(project, 'pipeline.ts');
    writeFileSync(
      file,
      `${readFileSync(file, 'utf8')}\nexport const auditToken = (): string | undefined => process.env.ORDERS_AUDIT_TOKEN;\n`,
    );
    process.env.ORDERS_AUDIT_TOKEN = secret;
    let result: Awaited<ReturnType<typeof build>>;
    try {
      result = await build(project);
    } finally {
      delete process.env.ORDERS_AUDIT_TOKEN;
    }
    const { manifest } = result;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(manifest.format, 'slipway.artifact/v1');
    assert.equal(manifest.name, 'enrich-orders');
    assert.equal(manifest.version, '1.0.0');
    assert.equal(manifest.stateVersion, 1);
    assert.equal(manifest.slipwayVersion, pkg.version);
    assert.deepEqual(manifest.configSchema, enrichOrders.configSchema);
    assert.deepEqual(
      manifest.inputs.map((d) => [d.topic, d.key, d.partitions, d.schemaDigest]),
      [[orders.topic, orders.key, orders.partitions, orders.schemaDigest]],
    );
    assert.deepEqual(manifest.inputs[0]?.schema, orders.schema);
    assert.deepEqual(
      manifest.outputs.map((d) => [d.topic, d.schemaDigest]),
      [[enrichedOrders.topic, enrichedOrders.schemaDigest]],
    );
    assert.equal(computeDigest(manifest), manifest.digest);

    const files = readdirSync(result.dir).sort();
    assert.deepEqual(files, ['bundle.mjs', 'manifest.json']);
    const bundle = readFileSync(join(result.dir, 'bundle.mjs'));
    const manifestText = readFileSync(join(result.dir, 'manifest.json'), 'utf8');
    assert.deepEqual(JSON.parse(manifestText), manifest);
    assert.equal(manifest.bundle.sha256, sha256(bundle));
    assert.equal(manifest.bundle.bytes, bundle.length);
    assert.equal(result.bytes, bundle.length);
    assert.match(bundle.toString('utf8'), /process\.env\.ORDERS_AUDIT_TOKEN/, 'read at run time');
    for (const text of [bundle.toString('utf8'), manifestText]) {
      assert.ok(!text.includes(secret), 'the secret in the environment is not baked in');
      assert.ok(!text.includes('vipThresholdEur":5'), 'no config values');
    }
  });

  it('refuses a missing entry, code that does not bundle, and modules without exactly one pipeline', async () => {
    const project = makeProject();
    await rejects(build(project, 'nope.ts'), 'SLIPWAY_FILE_NOT_FOUND', /nope\.ts does not exist/);

    writeFileSync(join(project, 'broken.ts'), "import { orders } from './datasets.js';\nexport const x = (;\n");
    await assert.rejects(build(project, 'broken.ts'), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_BUILD_FAILED'), String(err));
      assert.match(err.message, /broken\.ts:2:\d+: /);
      assert.equal((err.details.errors as Array<{ line: number }>)[0]?.line, 2);
      return true;
    });
    writeFileSync(join(project, 'missing-dep.ts'), "import pad from 'left-pad-nowhere';\nexport const p = pad;\n");
    await rejects(build(project, 'missing-dep.ts'), 'SLIPWAY_BUILD_FAILED', /missing-dep\.ts:1:.*left-pad-nowhere/);

    await rejects(build(project, 'datasets.ts'), 'SLIPWAY_NOT_EXPORTED', /exports no pipeline/);
    writeFileSync(
      join(project, 'two.ts'),
      [
        "import { Type } from '@sinclair/typebox';",
        "import { defineDataset, definePipeline } from 'slipway';",
        "import { orders } from './datasets.js';",
        "export { enrichOrders } from './pipeline.js';",
        "const copies = defineDataset({ name: 'order-copies', version: '1.0.0', key: 'id', schema: Type.Object({ id: Type.String() }) });",
        "export const copyOrders = definePipeline({ name: 'copy-orders', version: '2.1.0', inputs: [orders], outputs: [copies], stateVersion: 3, process(o, ctx) { ctx.emit(copies, { id: o.orderId }); } });",
      ].join('\n'),
    );
    await rejects(build(project, 'two.ts'), 'SLIPWAY_USAGE', /exports 2 pipelines .*--pipeline <name>/);
    await rejects(build(project, 'two.ts', 'nope'), 'SLIPWAY_NOT_EXPORTED', /'nope' is not exported/);
    assert.equal((await storeOf(project).list()).length, 0, 'nothing stored by a failed build');

    const picked = await build(project, 'two.ts', 'copy-orders');
    assert.equal(picked.manifest.name, 'copy-orders');
    assert.equal(picked.manifest.stateVersion, 3);
    assert.equal(picked.manifest.configSchema, null);
  });
});

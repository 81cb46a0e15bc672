import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { isPipeline, isSlipwayError, type Log, type Pipeline, Runner, SOURCE_HEADER } from 'slipway';
import { enrichedOrders } from '../../examples/orders/datasets.js';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import { copyExampleProject } from '../../test/helpers/example-project.js';
import { produceOrders, readAll, type TempLog, tempLog } from '../../test/helpers/orders.js';
import { ArtifactStore } from './artifact-store.js';
import { type BuildArtifactResult, buildArtifact } from './build-artifact.js';
import { sha256 } from './manifest.js';

const _ROOT = fileURLToPath(new URL('../..', import.meta.url));
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A copy of examples/orders in a temp folder (see test/helpers/example-project.ts). */
function makeProject(): string {
  const project = copyExampleProject({ prefix: 'slipway-store-', typebox: 'copy' });
  made.push(project.dir);
  return project.dir;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-store-'));
  made.push(dir);
  return dir;
}

const code = (expected: string, pattern: RegExp) => (err: unknown) => {
  assert.ok(isSlipwayError(err), String(err));
  assert.equal(err.code, expected, err.message);
  assert.match(err.message, pattern);
  return true;
};

/** Flips one byte of a file the store made read-only. */
function flipByte(path: string, at: number): void {
  chmodSync(path, 0o644);
  const bytes = readFileSync(path);
  bytes[at] = (bytes[at] as number) ^ 0x01;
  writeFileSync(path, bytes);
}

describe('ArtifactStore', () => {
  let project: string;
  let store: ArtifactStore;
  let built: BuildArtifactResult;
  const hex = () => built.digest.slice('sha256:'.length);

  before(async () => {
    project = makeProject();
    store = new ArtifactStore({ dir: join(project, '.slipway/artifacts') });
    built = await buildArtifact({ entry: 'pipeline.ts', cwd: project, store });
  });

  it('stores read-only files, idempotently, and finds them by digest, sha256: prefix or a short prefix', async () => {
    for (const file of ['bundle.mjs', 'manifest.json'])
      assert.equal(statSync(join(built.dir, file)).mode & 0o777, 0o444, file);
    assert.equal(built.dir, join(store.dir, hex()));
    const again = await store.put({ bundle: readFileSync(join(built.dir, 'bundle.mjs')), manifest: built.manifest });
    assert.equal(again.created, false);
    assert.equal(again.dir, built.dir);
    for (const ref of [built.digest, hex(), hex().slice(0, 7), `sha256:${hex().slice(0, 10)}`, hex().toUpperCase()])
      assert.equal((await store.get(ref)).digest, built.digest, ref);
    assert.equal((await store.verify(hex().slice(0, 7))).manifest.name, 'enrich-orders');
  });

  it('refuses unknown, malformed and ambiguous references', async () => {
    const unknown = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(
      store.verify(unknown),
      code('SLIPWAY_ARTIFACT_NOT_FOUND', new RegExp(`holds 1 artifact: ${hex().slice(0, 12)} enrich-orders@1\\.0\\.0`)),
    );
    await assert.rejects(store.load('0000000'), code('SLIPWAY_ARTIFACT_NOT_FOUND', /slipway build <pipeline-file>/));
    await assert.rejects(store.get('abc'), code('SLIPWAY_ARTIFACT_NOT_FOUND', /at least 7 hex digits/));
    const empty = new ArtifactStore({ dir: join(tempDir(), 'none') });
    assert.deepEqual(await empty.list(), []);
    await assert.rejects(empty.get(built.digest), code('SLIPWAY_ARTIFACT_NOT_FOUND', /The store is empty/));

    // A second folder sharing the first 7 digits (a fake: get() finds folders, verify() checks them).
    const twin = join(store.dir, `${hex().slice(0, 7)}${'f'.repeat(57)}`);
    cpSync(built.dir, twin, { recursive: true });
    try {
      await assert.rejects(store.get(hex().slice(0, 7)), code('SLIPWAY_ARTIFACT_AMBIGUOUS', /matches 2 artifacts/));
      assert.equal((await store.get(hex().slice(0, 12))).digest, built.digest, 'more digits settle it');
      await assert.rejects(store.verify(twin.slice(-64)), code('SLIPWAY_ARTIFACT_TAMPERED', /manifest\.json/));
    } finally {
      rmSync(twin, { recursive: true, force: true });
    }
  });

  it('refuses a bundle with one byte changed, names the file, and a rebuild replaces it', async () => {
    const project2 = makeProject();
    const store2 = new ArtifactStore({ dir: join(project2, '.slipway/artifacts') });
    const first = await buildArtifact({ entry: 'pipeline.ts', cwd: project2, store: store2 });
    const bundle = join(first.dir, 'bundle.mjs');
    const text = readFileSync(bundle, 'utf8');
    flipByte(bundle, text.indexOf('fraud limit'));
    const tampered = code('SLIPWAY_ARTIFACT_TAMPERED', /bundle\.mjs does not match .*Rebuild it/);
    await assert.rejects(store2.verify(first.digest), tampered);
    await assert.rejects(store2.load(first.digest), tampered);
    await assert.rejects(store2.verify(first.digest), (err: unknown) => {
      assert.deepEqual((err as { details: { files: string[] } }).details.files, ['bundle.mjs']);
      return true;
    });

    const rebuilt = await buildArtifact({ entry: 'pipeline.ts', cwd: project2, store: store2 });
    assert.equal(rebuilt.digest, first.digest);
    assert.equal(rebuilt.created, true, 'the damaged copy was replaced');
    await store2.verify(first.digest);
    assert.equal(readFileSync(bundle, 'utf8'), text);
  });

  it('refuses an edited manifest, even when the edit keeps the bundle hash consistent', async () => {
    const project3 = makeProject();
    const store3 = new ArtifactStore({ dir: join(project3, '.slipway/artifacts') });
    const { dir, digest } = await buildArtifact({ entry: 'pipeline.ts', cwd: project3, store: store3 });
    const path = join(dir, 'manifest.json');
    const original = readFileSync(path, 'utf8');
    chmodSync(path, 0o644);
    const edit = (change: (m: Record<string, unknown>) => void) => {
      const m = JSON.parse(original) as Record<string, unknown>;
      change(m);
      writeFileSync(path, JSON.stringify(m, null, 2));
    };
    const tampered = code('SLIPWAY_ARTIFACT_TAMPERED', /manifest\.json does not hash to the digest/);

    edit((m) => {
      m.stateVersion = 2;
    });
    await assert.rejects(store3.verify(digest), tampered);
    await assert.rejects(store3.load(digest), tampered);
    edit((m) => {
      (m.inputs as Array<{ partitions: number }>)[0]!.partitions = 8;
    });
    await assert.rejects(store3.verify(digest), tampered);
    edit((m) => {
      m.config = { vipThresholdEur: 1 };
    });
    await assert.rejects(store3.verify(digest), tampered);
    edit((m) => {
      m.provenance = { gitCommit: null, gitDirty: null, note: 'smuggled' };
    });
    await assert.rejects(store3.verify(digest), code('SLIPWAY_ARTIFACT_TAMPERED', /provenance must be exactly/));

    // Code and manifest changed together, the manifest carrying the new code's hash: the digest gives it away.
    const bundlePath = join(dir, 'bundle.mjs');
    const code0 = readFileSync(bundlePath);
    flipByte(bundlePath, code0.indexOf('fraud limit'));
    const changedCode = readFileSync(bundlePath);
    edit((m) => {
      m.bundle = { file: 'bundle.mjs', sha256: sha256(changedCode), bytes: changedCode.length };
    });
    await assert.rejects(store3.verify(digest), tampered);
    await assert.rejects(store3.verify(digest), (err: unknown) => {
      assert.deepEqual((err as { details: { files: string[] } }).details.files, ['manifest.json']);
      return true;
    });

    writeFileSync(path, original);
    writeFileSync(bundlePath, code0);
    await store3.verify(digest);
  });

  it('lists artifacts newest first with their build time', async () => {
    const project4 = makeProject();
    const store4 = new ArtifactStore({ dir: join(project4, '.slipway/artifacts') });
    const older = await buildArtifact({ entry: 'pipeline.ts', cwd: project4, store: store4 });
    const file = join(project4, 'pipeline.ts');
    writeFileSync(file, readFileSync(file, 'utf8').replace("version: '1.0.0'", "version: '1.1.0'"));
    const newer = await buildArtifact({ entry: 'pipeline.ts', cwd: project4, store: store4 });
    const list = await store4.list();
    assert.deepEqual(
      list.map((e) => [e.digest, e.manifest.version]),
      [
        [newer.digest, '1.1.0'],
        [older.digest, '1.0.0'],
      ],
    );
    assert.ok(list[0]!.builtAt instanceof Date);
    assert.ok(list[0]!.builtAt.getTime() >= list[1]!.builtAt.getTime());
    assert.equal(list[1]!.builtAt.getTime(), older.builtAt.getTime());
  });

  describe('load', () => {
    let a: TempLog;
    let b: TempLog;
    before(async () => {
      a = await tempLog('slipway-artifact-a-');
      b = await tempLog('slipway-artifact-b-');
    });
    after(async () => {
      await a.cleanup();
      await b.cleanup();
    });

    async function runAll(pipeline: Pipeline, log: Log) {
      await produceOrders(log, 0, 500, 20);
      const runner = new Runner({ pipeline, log, config: { vipThresholdEur: 300 }, batchSize: 64 });
      await runner.start();
      await runner.drain();
      await runner.stop();
      return (await readAll(log, enrichedOrders.topic))
        .map((r) => ({ key: r.key, value: r.value, source: r.headers[SOURCE_HEADER] }))
        .sort((x, y) => String(x.source).localeCompare(String(y.source)));
    }

    it('verifies, imports the bundle and runs the pipeline exactly as the sources do', async () => {
      const loaded = await store.load(hex().slice(0, 9));
      assert.ok(isPipeline(loaded.pipeline));
      assert.notEqual(loaded.pipeline, enrichOrders, 'the artifact’s own code, not the source module');
      assert.equal(loaded.pipeline.name, loaded.manifest.name);
      assert.equal(loaded.pipeline.inputs[0]?.schemaDigest, loaded.manifest.inputs[0]?.schemaDigest);
      const fromSource = await runAll(enrichOrders, a.log);
      const fromArtifact = await runAll(loaded.pipeline, b.log);
      assert.equal(fromArtifact.length, 500);
      assert.deepEqual(fromArtifact, fromSource);
      assert.ok(
        fromArtifact.some((r) => JSON.parse(String(r.value)).tier === 'vip'),
        'config reached the code',
      );
    });

    it('loads from a store outside any project: the runtime provides Slipway', async () => {
      const elsewhere = new ArtifactStore({ dir: tempDir() });
      cpSync(built.dir, join(elsewhere.dir, hex()), { recursive: true });
      const loaded = await elsewhere.load(built.digest);
      assert.equal(loaded.pipeline.name, 'enrich-orders');
      assert.equal(loaded.dir, join(elsewhere.dir, hex()));
    });

    it('refuses code whose definition depends on the environment', async () => {
      const envy = makeProject();
      writeFileSync(
        join(envy, 'envy.ts'),
        [
          "import { Type } from '@sinclair/typebox';",
          "import { defineDataset, definePipeline } from 'slipway';",
          "import { orders } from './datasets.js';",
          "const out = defineDataset({ name: 'envy', version: '1.0.0', key: 'id', partitions: Number(process.env.ENVY_PARTITIONS ?? 4), schema: Type.Object({ id: Type.String() }) });",
          "export const envyPipeline = definePipeline({ name: 'envy', version: '1.0.0', inputs: [orders], outputs: [out], process(o, ctx) { ctx.emit(out, { id: o.orderId }); } });",
        ].join('\n'),
      );
      const envyStore = new ArtifactStore({ dir: join(envy, '.slipway/artifacts') });
      const { digest } = await buildArtifact({ entry: 'envy.ts', cwd: envy, store: envyStore });
      process.env.ENVY_PARTITIONS = '8';
      try {
        await assert.rejects(envyStore.load(digest), code('SLIPWAY_ARTIFACT_MISMATCH', /outputs differs/));
      } finally {
        delete process.env.ENVY_PARTITIONS;
      }
    });

    it('loads a pipeline with toggles, and refuses one whose toggles depend on the environment', async () => {
      const toggled = makeProject();
      writeFileSync(
        join(toggled, 'toggled.ts'),
        [
          "import { Type } from '@sinclair/typebox';",
          "import { defineDataset, definePipeline, defineToggle } from 'slipway';",
          "import { orders } from './datasets.js';",
          "const out = defineDataset({ name: 'toggled', version: '1.0.0', key: 'id', partitions: 4, schema: Type.Object({ id: Type.String(), fast: Type.Boolean() }) });",
          "const fastLane = defineToggle({ name: process.env.TOGGLE_NAME ?? 'fast-lane', kind: 'data' });",
          "export const toggledPipeline = definePipeline({ name: 'toggled', version: '1.0.0', inputs: [orders], outputs: [out], toggles: [fastLane], process(o, ctx) { ctx.emit(out, { id: o.orderId, fast: ctx.toggle(fastLane.name) === 'on' }); } });",
        ].join('\n'),
      );
      const toggledStore = new ArtifactStore({ dir: join(toggled, '.slipway/artifacts') });
      const { digest, manifest } = await buildArtifact({ entry: 'toggled.ts', cwd: toggled, store: toggledStore });
      assert.deepEqual(
        manifest.toggles?.map((t) => t.name),
        ['fast-lane'],
      );
      const loaded = await toggledStore.load(digest);
      assert.deepEqual(
        loaded.pipeline.toggles.map((t) => t.name),
        ['fast-lane'],
      );
      // A copy elsewhere (a module is imported once per file), loaded where the toggle is named otherwise.
      const elsewhere = new ArtifactStore({ dir: tempDir() });
      cpSync(
        join(toggledStore.dir, digest.slice('sha256:'.length)),
        join(elsewhere.dir, digest.slice('sha256:'.length)),
        {
          recursive: true,
        },
      );
      process.env.TOGGLE_NAME = 'slow-lane';
      try {
        await assert.rejects(elsewhere.load(digest), code('SLIPWAY_ARTIFACT_MISMATCH', /toggles differs/));
      } finally {
        delete process.env.TOGGLE_NAME;
      }
    });
  });

  it('keeps a store usable when a folder is renamed to a wrong digest', async () => {
    const project5 = makeProject();
    const store5 = new ArtifactStore({ dir: join(project5, '.slipway/artifacts') });
    const { dir, digest } = await buildArtifact({ entry: 'pipeline.ts', cwd: project5, store: store5 });
    const wrong = join(store5.dir, 'a'.repeat(64));
    renameSync(dir, wrong);
    await assert.rejects(store5.verify(digest), code('SLIPWAY_ARTIFACT_NOT_FOUND', /holds 1 artifact/));
    await assert.rejects(store5.verify('a'.repeat(64)), code('SLIPWAY_ARTIFACT_TAMPERED', /manifest\.json/));
  });
});

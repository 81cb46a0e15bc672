import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { describePipeline, type PipelineDescription } from '../artifact/manifest.js';
import { openSqliteControlStore } from '../control/sqlite-control-store.js';
import { defineDataset } from '../dataset/dataset.js';
import { isSlipwayError } from '../errors.js';
import { definePipeline } from '../pipeline/pipeline.js';
import type { ControlStore } from './control-store.js';
import { checkReadersForDeployment, datasetLineage, datasetUses, retireDatasetMajor } from './dataset-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-dataset-registry-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base = { orderId: Type.String(), customerId: Type.String(), amount: Type.Number() };
const orders = (version: string, extra: Record<string, ReturnType<typeof Type.String>> = {}) =>
  defineDataset({
    name: 'orders',
    version,
    key: 'customerId',
    schema: Type.Object({ ...base, ...extra }, { additionalProperties: false }),
  });
const totals = defineDataset({
  name: 'totals',
  version: '1.0.0',
  key: 'customerId',
  schema: Type.Object({ customerId: Type.String(), total: Type.Number() }),
});
const seed = defineDataset({ name: 'seed', version: '1.0.0', key: 'id', schema: Type.Object({ id: Type.String() }) });

const producer = (version: string, ordersVersion: string, extra = {}) =>
  definePipeline({ name: 'shop', version, inputs: [seed], outputs: [orders(ordersVersion, extra)], process() {} });
const reader = (version: string, ordersVersion: string, reads?: string, extra = {}) =>
  definePipeline({
    name: 'billing',
    version,
    inputs: [orders(ordersVersion, extra)],
    outputs: [totals],
    ...(reads === undefined ? {} : { reads: { orders: reads } }),
    process() {},
  });

let n = 0;
/** Registers a pipeline's artifact (a digest of its own) and makes it the release in `environment`. */
async function release(
  store: ControlStore,
  manifests: Map<string, PipelineDescription>,
  p: ReturnType<typeof producer>,
  environment: string,
) {
  const description = describePipeline(p);
  const artifact = { digest: `sha256:${String(++n).padStart(64, '0')}`, pipeline: p.name, version: p.version };
  manifests.set(artifact.digest, description);
  await store.putDatasetVersions(artifact, datasetUses(description));
  await store.setRelease({
    pipeline: p.name,
    environment,
    artifact,
    config: undefined,
    deploymentId: null,
    runners: 1,
  });
}

describe('dataset versions at deploy: reader ranges, producers, lineage and retirement', () => {
  it('refuses a reader that cannot read what the producers write, and a producer its readers cannot read', async () => {
    const store = await openSqliteControlStore({ path: join(dir, 'control.db') });
    const manifests = new Map<string, PipelineDescription>();
    const check = (p: ReturnType<typeof producer>, environment = 'prod') =>
      checkReadersForDeployment({
        store,
        environment,
        manifest: describePipeline(p),
        manifestOf: async (a) => manifests.get(a.digest) as PipelineDescription,
      });
    // The shop writes orders 1.3.0, with a note (a minor: orders is closed, the note is optional).
    await release(store, manifests, producer('2.0.0', '1.3.0', { note: Type.Optional(Type.String()) }), 'prod');

    // A reader built with 1.2.0 (no note, closed): it refuses the note.
    await assert.rejects(check(reader('1.0.0', '1.2.0', '^1.2')), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_READER_INCOMPATIBLE'), String(err));
      assert.match(
        err.message,
        /billing@1\.0\.0 reads orders@\^1\.2 \(built with 1\.2\.0\); shop@2\.0\.0 writes orders@1\.3\.0, which the reader's schema refuses/,
      );
      assert.match(
        err.message,
        /\$\.note: closed content model without it \(1\.2\.0\) → declares 'note' \(1\.3\.0\) {2}\[property-not-accepted\]/,
      );
      assert.match(err.message, /breaks: readers still on 1\.2\.0 reading records written by 1\.3\.0/);
      return true;
    });
    // A reader that needs 1.4 or later, while the producer writes 1.3.0: outside its range.
    await assert.rejects(
      check(reader('1.1.0', '1.4.0', '^1.4', { note: Type.Optional(Type.String()) })),
      (err: unknown) => isSlipwayError(err, 'SLIPWAY_READER_INCOMPATIBLE') && /outside that range/.test(err.message),
    );
    // A reader built with 1.3.0 reads it; in another environment nobody produces orders yet.
    await check(reader('1.2.0', '1.3.0', undefined, { note: Type.Optional(Type.String()) }));
    await check(reader('1.0.0', '1.2.0', '^1.2'), 'staging');

    // With that reader released, a producer going back to 1.2.0 writes what the reader reads (it lacks only an optional note);
    // one writing a required field the reader does not know is refused.
    await release(
      store,
      manifests,
      reader('1.2.0', '1.3.0', undefined, { note: Type.Optional(Type.String()) }),
      'prod',
    );
    await check(producer('2.1.0', '1.2.0'));
    await assert.rejects(check(producer('2.2.0', '1.4.0', { coupon: Type.String() })), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_READER_INCOMPATIBLE'), String(err));
      assert.match(
        err.message,
        /\$\.coupon: closed content model without it \(1\.3\.0\) → declares 'coupon' \(1\.4\.0\)/,
      );
      return true;
    });

    const lineage = datasetLineage(await store.datasetVersions(), await store.listReleases(), 'orders');
    assert.deepEqual(
      lineage.map((l) => [l.topic, l.environment, l.role, `${l.pipeline}@${l.pipelineVersion}`, l.version]),
      [
        ['orders.v1', 'prod', 'output', 'shop@2.0.0', '1.3.0'],
        ['orders.v1', 'prod', 'input', 'billing@1.2.0', '1.3.0'],
      ],
    );

    // Retiring orders.v1 is refused while anyone reads or writes it.
    await assert.rejects(retireDatasetMajor(store, 'orders', 1), (err: unknown) => {
      assert.ok(isSlipwayError(err, 'SLIPWAY_DATASET_IN_USE'), String(err));
      assert.match(
        err.message,
        /prod: shop@2\.0\.0 writes it \(as orders@1\.3\.0\)\n {2}prod: billing@1\.2\.0 reads it/,
      );
      return true;
    });
    await assert.rejects(retireDatasetMajor(store, 'orders', 7), (err: unknown) =>
      isSlipwayError(err, 'SLIPWAY_DATASET_NOT_FOUND'),
    );
    // Both move to orders.v2; then v1 retires, and nothing may be deployed against it any more.
    const v2 = { note: Type.Optional(Type.String()) };
    await release(store, manifests, producer('3.0.0', '2.0.0', v2), 'prod');
    await release(store, manifests, reader('2.0.0', '2.0.0', undefined, v2), 'prod');
    await retireDatasetMajor(store, 'orders', 1);
    assert.ok(
      (await store.datasetVersions({ name: 'orders' })).filter((v) => v.major === 1).every((v) => v.retiredAt !== null),
    );
    await assert.rejects(
      check(reader('1.3.0', '1.3.0', undefined, v2)),
      (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_READER_INCOMPATIBLE') && /reads orders\.v1, which is retired/.test(err.message),
    );
    await store.close();
  });
});

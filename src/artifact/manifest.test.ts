import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSlipwayError } from 'slipway';
import { enrichOrders } from '../../examples/orders/pipeline.js';
import {
  type ArtifactManifest,
  computeDigest,
  createManifest,
  describePipeline,
  parseManifest,
  renderManifest,
  sha256,
  shortDigest,
} from './manifest.js';

const bundle = new TextEncoder().encode('export const x = 1;\n');
const manifest = (): ArtifactManifest =>
  createManifest({
    pipeline: describePipeline(enrichOrders),
    bundle,
    slipwayVersion: '0.1.0',
    provenance: { gitCommit: 'a'.repeat(40), gitDirty: false },
  });

describe('artifact manifest', () => {
  it('names the manifest by sha256:<64 hex> of everything but digest and provenance', () => {
    const m = manifest();
    assert.match(m.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(computeDigest(m), m.digest);
    assert.equal(m.bundle.sha256, sha256(bundle));
    assert.equal(shortDigest(m.digest), m.digest.slice(7, 19));
    assert.equal(computeDigest({ ...m, provenance: { gitCommit: null, gitDirty: true } }), m.digest);
    assert.equal(computeDigest({ ...m, digest: `sha256:${'0'.repeat(64)}` }), m.digest);
    const reordered = Object.fromEntries(Object.entries(m).reverse()) as unknown as ArtifactManifest;
    assert.equal(computeDigest(reordered), m.digest, 'key order does not matter');
  });

  it('changes with anything that changes behaviour, including fields it does not know', () => {
    const m = manifest();
    const variants: Array<Partial<ArtifactManifest> & Record<string, unknown>> = [
      { version: '1.0.1' },
      { stateVersion: 2 },
      { slipwayVersion: '0.2.0' },
      { configSchema: null },
      { bundle: { ...m.bundle, sha256: sha256('other code') } },
      { inputs: [{ ...(m.inputs[0] as ArtifactManifest['inputs'][0]), partitions: 8 }] },
      { outputs: [] },
      { config: { vipThresholdEur: 1 } },
    ];
    const digests = new Set(variants.map((v) => computeDigest({ ...m, ...v })));
    assert.equal(digests.size, variants.length);
    assert.ok(!digests.has(m.digest));
  });

  it('parses what it renders and refuses manifests that are not one', () => {
    const m = manifest();
    assert.deepEqual(parseManifest(renderManifest(m), 'manifest.json'), m);
    const refused = (text: string, pattern: RegExp) =>
      assert.throws(
        () => parseManifest(text, 'x/manifest.json'),
        (err: unknown) => isSlipwayError(err, 'SLIPWAY_ARTIFACT_TAMPERED') && pattern.test(err.message),
      );
    refused('{not json', /not JSON/);
    refused(JSON.stringify({ ...m, format: 'slipway.artifact/v9' }), /format is "slipway.artifact\/v9"/);
    refused(JSON.stringify({ ...m, digest: 'md5:abc' }), /digest is not sha256/);
    refused(JSON.stringify({ ...m, provenance: { ...m.provenance, secret: 'hunter2' } }), /provenance must be exactly/);
    refused(JSON.stringify({ ...m, provenance: { ...m.provenance, entry: '/etc/pipeline.ts' } }), /provenance/);
    refused(JSON.stringify({ ...m, provenance: { ...m.provenance, entry: '' } }), /provenance/);
    assert.equal(
      parseManifest(JSON.stringify({ ...m, provenance: { ...m.provenance, entry: 'src/p.ts' } }), 'x').provenance.entry,
      'src/p.ts',
    );
    refused(JSON.stringify({ ...m, provenance: { gitCommit: 'main', gitDirty: false } }), /provenance/);
  });
});

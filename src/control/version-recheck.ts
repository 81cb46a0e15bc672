import { type ArtifactManifest, shortDigest } from '../artifact/manifest.js';
import {
  assertVersions,
  checkVersions,
  type KnownDatasetVersion,
  type KnownPipelineVersion,
} from '../artifact/version-check.js';
import type { CompatibilityMode } from '../dataset/compatibility.js';
import type { ControlStore } from '../deploy/control-store.js';

/**
 * Re-checks, at deploy time, the versions of an artifact the control plane has not deployed before
 * (built elsewhere, uploaded, never checked by this registry): each dataset version against the registry
 * (a schema change needs the right bump: `SLIPWAY_VERSION_NOT_BUMPED`, `SLIPWAY_WRONG_BUMP`), and its
 * pipeline name and version against the artifacts the control plane recorded (another digest under the same
 * version: `SLIPWAY_VERSION_NOT_BUMPED`, "bump the version"). An artifact the control plane already recorded
 * (a redeploy, a rollback, a promotion) was checked when it first came. Only what was deployed counts: an
 * upload refused here leaves no trace that would refuse the next one.
 *
 * @example
 * await recheckVersions({ store, manifest })   // throws with the report, or returns
 */
export async function recheckVersions(input: { store: ControlStore; manifest: ArtifactManifest }): Promise<void> {
  const { manifest } = input;
  const recorded = await input.store.listArtifacts();
  if (recorded.some((a) => a.digest === manifest.digest)) return;
  const datasets: KnownDatasetVersion[] = (await input.store.datasetVersions()).map((v) => ({
    name: v.name,
    version: v.version,
    schema: v.schema,
    schemaDigest: v.schemaDigest,
    compatibility: v.compatibility as CompatibilityMode,
    source: `the registry (first seen in ${v.firstSeenBy.pipeline}@${v.firstSeenBy.version} ${shortDigest(v.firstSeenBy.digest)})`,
  }));
  const pipelines: KnownPipelineVersion[] = recorded.map((a) => ({
    name: a.pipeline,
    version: a.version,
    digest: a.digest,
    source: 'the control plane',
  }));
  assertVersions(
    checkVersions(manifest, { datasets, pipelines }),
    `Deploying ${manifest.name}@${manifest.version} (${shortDigest(manifest.digest)})`,
  );
}

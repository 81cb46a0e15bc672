/** Build-once artifacts: bundle a pipeline, name it by its content digest, store, verify and load it. */
export type { ArtifactEntry, LoadedArtifact, PutResult } from './artifact-store.js';
export { ArtifactStore, DEFAULT_ARTIFACT_STORE_DIR } from './artifact-store.js';
export type { BuildArtifactOptions, BuildArtifactResult } from './build-artifact.js';
export { buildArtifact } from './build-artifact.js';
export type { ArtifactManifest, ArtifactProvenance, DatasetManifest, PipelineDescription } from './manifest.js';
export { computeDigest, MANIFEST_FORMAT, shortDigest } from './manifest.js';
export { readProvenance } from './provenance.js';
export type {
  KnownDatasetVersion,
  KnownPipelineVersion,
  VersionProblem,
  VersionProblemReason,
} from './version-check.js';
export { assertVersions, checkVersions, datasetVersionsOf, formatVersionProblems } from './version-check.js';

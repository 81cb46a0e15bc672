import type { ArtifactManifest } from '../artifact/manifest.js';
import { DEFAULT_COMPATIBILITY } from '../dataset/compatibility.js';
import type { DatasetVersionUse } from './control-store.js';

/** The dataset versions an artifact declares, as the registry records them (inputs, then outputs). */
export function datasetUses(manifest: Pick<ArtifactManifest, 'inputs' | 'outputs'>): DatasetVersionUse[] {
  const use = (role: 'input' | 'output') => (d: ArtifactManifest['inputs'][number]) => ({
    name: d.name,
    version: d.version,
    topic: d.topic,
    schema: d.schema,
    schemaDigest: d.schemaDigest,
    compatibility: d.compatibility ?? DEFAULT_COMPATIBILITY,
    role,
  });
  return [...manifest.inputs.map(use('input')), ...manifest.outputs.map(use('output'))];
}

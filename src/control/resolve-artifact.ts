import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { loadModule, pickPipeline } from '../cli/project.js';
import { SlipwayError } from '../errors.js';
import type { ArtifactRef } from './control-store.js';

/**
 * Turns what the user named into an artifact reference: a digest (or a unique prefix of at least 7
 * hex digits) in the artifact store, verified against its content — or, in development, a pipeline
 * source file. A tampered or unknown artifact is refused here, before anything starts.
 */
export async function resolveArtifact(
  ref: string,
  options: { storeDir: string; pipeline?: string },
): Promise<ArtifactRef> {
  const looksLikeFile = /\.(m?[jt]s|tsx?)$/.test(ref) || ref.includes('/');
  if (looksLikeFile && existsSync(resolve(ref)) && !/^sha256:/.test(ref)) {
    const module = resolve(ref);
    const pipeline = pickPipeline(await loadModule(module), options.pipeline);
    return { module, pipeline: pipeline.name, version: pipeline.version };
  }
  if (!/^(sha256:)?[0-9a-f]{7,64}$/.test(ref)) {
    throw new SlipwayError(
      'SLIPWAY_ARTIFACT_NOT_FOUND',
      `'${ref}' is neither an artifact digest nor a pipeline file. Build one with \`slipway build <pipeline-file>\` and deploy its digest (\`slipway artifacts\` lists them).`,
    );
  }
  const store = new ArtifactStore({ dir: options.storeDir });
  const entry = await store.verify(ref);
  return {
    digest: entry.digest,
    module: join(entry.dir, 'bundle.mjs'),
    pipeline: entry.manifest.name,
    version: entry.manifest.version,
  };
}

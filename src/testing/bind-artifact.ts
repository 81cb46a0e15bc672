import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ArtifactStore } from '../artifact/artifact-store.js';
import { buildArtifact } from '../artifact/build-artifact.js';
import { shortDigest } from '../artifact/manifest.js';
import { isSlipwayError, SlipwayError } from '../errors.js';

/** How a test run is bound to the artifact its report is for. */
export interface ArtifactBinding {
  digest: string;
  /** The pipeline module rebuilt, relative to the project folder. */
  entry: string;
  /** The pipeline's name, as the manifest records it. */
  pipeline: string;
}

/**
 * Shows that the sources in `cwd` — the ones the tests import — are exactly the artifact `digest`'s
 * code: they are rebuilt (reproducible builds give the same bytes for the same sources, nothing is
 * stored) and must give the same digest. Otherwise the tests would exercise other code than the one
 * a report for `digest` would let through the release gate, so it is refused with
 * `SLIPWAY_TEST_BINDING`, saying what to do. `entry` defaults to the module the artifact was built from.
 *
 * @example
 * const binding = await bindSourcesToArtifact({ store, digest, cwd: process.cwd() })
 */
export async function bindSourcesToArtifact(options: {
  store: ArtifactStore;
  digest: string;
  cwd: string;
  entry?: string;
}): Promise<ArtifactBinding> {
  const artifact = await options.store.verify(options.digest);
  const { manifest } = artifact;
  const short = shortDigest(artifact.digest);
  const built =
    manifest.provenance.gitCommit === null
      ? ''
      : ` (built from commit ${manifest.provenance.gitCommit.slice(0, 12)}${manifest.provenance.gitDirty ? ' with uncommitted changes' : ''})`;
  const entry = options.entry ?? manifest.provenance.entry;
  if (entry === undefined) {
    throw new SlipwayError(
      'SLIPWAY_TEST_BINDING',
      `Artifact ${short} does not record which module it was built from (an older Slipway built it), so the tests here cannot be shown to exercise its code. Pass --entry <pipeline-file> (the file it was built from), or test the sources here with --build <pipeline-file>.`,
      { details: { digest: artifact.digest } },
    );
  }
  if (!existsSync(resolve(options.cwd, entry))) {
    throw new SlipwayError(
      'SLIPWAY_TEST_BINDING',
      `Artifact ${short} was built from ${entry}${built}, which is not in ${options.cwd}: run \`slipway test --artifact\` in the project folder it was built in, at the same sources.`,
      { details: { digest: artifact.digest, entry, cwd: options.cwd } },
    );
  }
  let rebuilt: string;
  try {
    rebuilt = (
      await buildArtifact({ entry, cwd: options.cwd, store: options.store, pipeline: manifest.name, dryRun: true })
    ).digest;
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_TEST_BINDING',
      `The sources here (${entry}) do not build${isSlipwayError(err) ? ` (${err.code}: ${err.message})` : ''}, so they cannot be artifact ${short}'s: no tests were run against it. Check out the sources it was built from${built}, or fix the build and use --build.`,
      { cause: err, details: { digest: artifact.digest, entry } },
    );
  }
  if (rebuilt !== artifact.digest) {
    throw new SlipwayError(
      'SLIPWAY_TEST_BINDING',
      `The sources here build to ${shortDigest(rebuilt)}, not ${short}: the tests would exercise other code than artifact ${short}${built}, so no report can be recorded for it. Check out the sources it was built from and run \`slipway test --artifact ${short}\` there, or test what is here with \`slipway test --build ${entry}\` (and deploy that digest).`,
      { details: { digest: artifact.digest, sources: rebuilt, entry } },
    );
  }
  return { digest: artifact.digest, entry, pipeline: manifest.name };
}

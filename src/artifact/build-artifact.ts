import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { BuildFailure, Message } from 'esbuild';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { isPipeline, type Pipeline } from '../pipeline/pipeline.js';
import type { ArtifactStore } from './artifact-store.js';
import { importBundle, STAGING_PREFIX } from './import-bundle.js';
import { type ArtifactManifest, BUNDLE_FILE, createManifest, describePipeline } from './manifest.js';
import { readProvenance } from './provenance.js';

export interface BuildArtifactOptions {
  /** The module that exports the pipeline (TypeScript or JavaScript), relative to `cwd`. */
  entry: string;
  /** Which pipeline, when the module exports several. */
  pipeline?: string;
  /** The project folder (default: the working directory). Paths in the bundle are relative to it. */
  cwd?: string;
  store: ArtifactStore;
  /**
   * Compute the artifact (bundle, manifest, digest) without storing it: what the sources here build to,
   * to compare with an artifact (`slipway test --artifact`). `dir` is then empty and `created` false.
   */
  dryRun?: boolean;
  /**
   * Called with the manifest before the artifact is stored (`slipway build` checks versions here): what
   * it throws refuses the build, and nothing is stored.
   */
  check?: (manifest: ArtifactManifest) => Promise<void>;
  /**
   * Checks the bundle before anything runs or is stored (the CLI scans it for secrets, since an artifact
   * is promoted to every environment); throwing refuses the build.
   */
  verify?: (bundle: Uint8Array) => Promise<void> | void;
}

export interface BuildArtifactResult {
  digest: string;
  /** The artifact's folder in the store. */
  dir: string;
  /**
   * The manifest of this build, with this build's provenance. When the store already held the digest
   * (`created: false`), the stored manifest keeps the provenance of the build that first stored it.
   */
  manifest: ArtifactManifest;
  /** False when the store already held the same artifact (the same sources were built before). */
  created: boolean;
  /** When the stored artifact was built (now, or when it was first stored). */
  builtAt: Date;
  /** Size of the bundle in bytes. */
  bytes: number;
  /** esbuild's warnings, as `file:line:column: text`. */
  warnings: string[];
}

/** The runtime provides Slipway and Node's own modules; everything else the pipeline imports is bundled. */
const EXTERNAL = ['slipway', 'slipway/*', 'node:*', ...builtinModules];

/**
 * Lets CommonJS dependencies inside the ESM bundle `require()` Node's modules (esbuild's shim throws
 * "Dynamic require … is not supported" without it). Fixed text, so the output stays deterministic.
 */
const BANNER =
  "import { createRequire as __slipwayCreateRequire } from 'node:module';\nconst require = __slipwayCreateRequire(import.meta.url);";

/**
 * Bundles a pipeline into an immutable artifact named by its content digest and puts it in the store.
 *
 * The build is reproducible: no timestamps, no absolute paths (paths are relative to `cwd`), and the
 * digest leaves provenance out (see `computeDigest`), so the same sources give the same digest on any
 * commit or machine. Config and secrets are never in an artifact: `process.env` is not inlined, and the
 * manifest records only the config's schema.
 *
 * @example
 * const store = new ArtifactStore({ dir: '.slipway/artifacts' })
 * const { digest, manifest } = await buildArtifact({ entry: 'pipeline.ts', store })
 * // digest: 'sha256:3f2a…', manifest.inputs[0].schemaDigest: 'sha256:…'
 */
export async function buildArtifact(options: BuildArtifactOptions): Promise<BuildArtifactResult> {
  const cwd = resolve(options.cwd ?? process.cwd());
  const entry = resolve(cwd, options.entry);
  if (!existsSync(entry)) {
    throw new SlipwayError('SLIPWAY_FILE_NOT_FOUND', `${options.entry} does not exist (looked at ${entry}).`, {
      details: { path: entry },
    });
  }
  const { bundle, warnings } = await bundlePipeline(entry, cwd, options.entry);
  await options.verify?.(bundle);

  const staging = await mkdtemp(join(tmpdir(), STAGING_PREFIX));
  let pipeline: Pipeline;
  try {
    const path = join(staging, BUNDLE_FILE);
    await writeFile(path, bundle);
    let exported: Record<string, unknown>;
    try {
      exported = await importBundle(path);
    } catch (err) {
      if (isSlipwayError(err)) throw err;
      throw new SlipwayError(
        'SLIPWAY_BUILD_FAILED',
        `${options.entry} was bundled, but loading the bundle failed: ${(err as Error).message}. Its top-level code runs from a temporary folder, without the project's files, config or secrets: read those in process() instead.`,
        { cause: err, details: { entry: options.entry } },
      );
    }
    pipeline = pickExportedPipeline(exported, options.pipeline, options.entry);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }

  const provenance = await readProvenance({ cwd, exclude: [options.store.dir] });
  const manifest = createManifest({
    pipeline: describePipeline(pipeline),
    bundle,
    slipwayVersion: slipwayVersion(),
    provenance: { ...provenance, entry: relative(cwd, entry).split(sep).join('/') },
  });
  if (options.dryRun === true) {
    return {
      digest: manifest.digest,
      dir: '',
      manifest,
      created: false,
      builtAt: new Date(),
      bytes: bundle.byteLength,
      warnings,
    };
  }
  await options.check?.(manifest);
  const stored = await options.store.put({ bundle, manifest });
  return {
    digest: manifest.digest,
    dir: stored.dir,
    manifest,
    created: stored.created,
    builtAt: stored.builtAt,
    bytes: bundle.byteLength,
    warnings,
  };
}

async function bundlePipeline(
  entry: string,
  cwd: string,
  named: string,
): Promise<{ bundle: Uint8Array; warnings: string[] }> {
  try {
    // esbuild is loaded when a build runs, not when the CLI starts.
    const { build } = await import('esbuild');
    const result = await build({
      entryPoints: [relative(cwd, entry)],
      absWorkingDir: cwd,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: EXTERNAL,
      banner: { js: BANNER },
      legalComments: 'eof',
      charset: 'utf8',
      sourcemap: false,
      write: false,
      logLevel: 'silent',
    });
    const output = result.outputFiles[0];
    if (output === undefined || result.outputFiles.length !== 1) {
      throw new SlipwayError('SLIPWAY_BUILD_FAILED', `Bundling ${named} gave no single output file.`);
    }
    return { bundle: output.contents, warnings: result.warnings.map(formatMessage) };
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    const errors = (err as Partial<BuildFailure>).errors;
    if (!Array.isArray(errors)) throw err;
    const lines = errors.map(formatMessage);
    throw new SlipwayError(
      'SLIPWAY_BUILD_FAILED',
      `Bundling ${named} failed with ${errors.length} error${errors.length === 1 ? '' : 's'}:\n  ${lines.join('\n  ')}\nFix ${errors.length === 1 ? 'it' : 'them'} and build again; for an import that does not resolve, install the package in the project.`,
      {
        cause: err,
        details: {
          entry: named,
          errors: errors.map((e) => ({
            file: e.location?.file ?? null,
            line: e.location?.line ?? null,
            column: e.location?.column ?? null,
            text: e.text,
          })),
        },
      },
    );
  }
}

/** `file:line:column: text` (esbuild's columns count from 0; editors count from 1). */
function formatMessage(message: Message): string {
  const at = message.location;
  return at === null ? message.text : `${at.file}:${at.line}:${at.column + 1}: ${message.text}`;
}

/** The only pipeline exported, or the one named: the same rules (and errors) as `slipway run`. */
function pickExportedPipeline(exported: Record<string, unknown>, name: string | undefined, file: string): Pipeline {
  const pipelines = [...new Set(Object.values(exported).filter(isPipeline))];
  if (pipelines.length === 0) {
    throw new SlipwayError(
      'SLIPWAY_NOT_EXPORTED',
      `${file} exports no pipeline. Export one made with definePipeline(), e.g. \`export const myPipeline = definePipeline({...})\`.`,
    );
  }
  if (name === undefined) {
    if (pipelines.length === 1) return pipelines[0] as Pipeline;
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${file} exports ${pipelines.length} pipelines (${pipelines.map((p) => p.name).join(', ')}); choose one with --pipeline <name>.`,
    );
  }
  const found = pipelines.find((p) => p.name === name);
  if (found === undefined) {
    throw new SlipwayError(
      'SLIPWAY_NOT_EXPORTED',
      `Pipeline '${name}' is not exported by ${file} (it exports: ${pipelines.map((p) => p.name).join(', ')}).`,
    );
  }
  return found;
}

let version: string | undefined;

/** The version of the Slipway doing the build (its package.json, two folders up from src/ or dist/). */
function slipwayVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
  return version;
}

import type { Command } from 'commander';
import type { ArtifactStore } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build-artifact.js';
import type { ArtifactManifest } from '../../artifact/manifest.js';
import { checkVersions, formatVersionProblems, type VersionProblem } from '../../artifact/version-check.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext } from '../context.js';
import {
  buildAtGitRef,
  type Known,
  knownFromManifest,
  knownFromRegistry,
  knownFromStore,
  lastReleaseTag,
  mergeKnown,
  readRegistry,
} from '../known-versions.js';
import { storeFromOption } from './artifacts.js';
import { STORE_OPTION } from './datasets-catalog.js';

/**
 * The version problems of a manifest against everything known: the artifact store, the control plane's
 * registry, and the last release in git (`against`, or without a control plane the newest tag).
 */
export async function checkAgainstKnown(
  ctx: CliContext,
  options: {
    manifest: ArtifactManifest;
    store: ArtifactStore;
    entry: string;
    pipeline?: string;
    against?: string;
    controlPlane?: string;
    extra?: Known;
  },
): Promise<{ problems: VersionProblem[]; sources: string[] }> {
  const sources = [`the artifact store (${options.store.dir})`];
  const parts = [await knownFromStore(options.store)];
  const registry = await readRegistry(ctx, options.controlPlane);
  if (registry !== undefined) {
    sources.push(`the registry (${registry.from})`);
    parts.push(knownFromRegistry(registry));
  }
  const cwd = process.cwd();
  const ref = options.against ?? (registry === undefined ? lastReleaseTag(cwd) : undefined);
  if (ref !== undefined) {
    const released = await buildAtGitRef({
      cwd,
      entry: options.entry,
      ref,
      store: options.store,
      ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
    });
    sources.push(released === undefined ? `git ${ref} (no ${options.entry} there)` : `git ${ref}`);
    if (released !== undefined) {
      const known = knownFromManifest(released, `git ${ref}`);
      // A bundle names its modules by path: the release was built in another folder, so the work tree is
      // built in one like it to tell whether the code is the same.
      if (released.name === options.manifest.name && released.version === options.manifest.version) {
        const here = await buildAtGitRef({
          cwd,
          entry: options.entry,
          ref: null,
          store: options.store,
          ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
        });
        if (here?.digest === released.digest) known.pipelines = [];
      }
      parts.push(known);
    }
  }
  if (options.extra !== undefined) parts.push(options.extra);
  return { problems: checkVersions(options.manifest, mergeKnown(...parts)), sources };
}

/** `slipway datasets check <files…>`: the versioning strategy enforced in CI. */
export function registerDatasetsCheck(datasets: Command, ctx: CliContext): void {
  datasets
    .command('check')
    .description(
      'Enforce the versioning strategy in CI: build each pipeline (without storing it) and refuse a missing or wrong version bump against the artifact store, the control plane’s registry, and the last release in git',
    )
    .argument('<pipeline-files...>', 'modules exporting the pipelines to check')
    .option('--pipeline <name>', 'which pipeline, when a file exports several')
    .option('--against <git-ref>', 'the last release in git (default without a control plane: the newest tag)')
    .option(...STORE_OPTION)
    .option('--control-plane <url>', 'the control plane whose registry to check against')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      "\nA patch may not change a schema; a minor must be compatible with the earlier versions of its major under the\ndataset's mode (backward by default); a major may change anything (it is a new topic). A pipeline version names one code.\nExit 1 with SLIPWAY_VERSION_NOT_BUMPED or SLIPWAY_WRONG_BUMP, each incompatibility with its path, change, whom it breaks and a fix.",
    )
    .action(async (files: string[], _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as {
        pipeline?: string;
        against?: string;
        store?: string;
        controlPlane?: string;
        json?: boolean;
      };
      const store = storeFromOption(ctx, opts.store);
      const results: Array<{
        file: string;
        pipeline: string;
        version: string;
        problems: VersionProblem[];
        sources: string[];
        datasets: string[];
      }> = [];
      let extra: Known = { datasets: [], pipelines: [] };
      for (const file of files) {
        const built = await buildArtifact({
          entry: file,
          store,
          dryRun: true,
          ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
        });
        const { problems, sources } = await checkAgainstKnown(ctx, {
          manifest: built.manifest,
          store,
          entry: file,
          extra,
          ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
          ...(opts.against === undefined ? {} : { against: opts.against }),
          ...(opts.controlPlane === undefined ? {} : { controlPlane: opts.controlPlane }),
        });
        // Files checked together must agree with each other too.
        extra = mergeKnown(extra, knownFromManifest(built.manifest, file));
        results.push({
          file,
          pipeline: built.manifest.name,
          version: built.manifest.version,
          problems,
          sources,
          datasets: [
            ...new Set([...built.manifest.inputs, ...built.manifest.outputs].map((d) => `${d.name}@${d.version}`)),
          ],
        });
      }
      if (opts.json) ctx.io.out(JSON.stringify(results, null, 2));
      else
        for (const r of results) {
          ctx.io.out(
            `${r.problems.length === 0 ? '✓' : '✗'} ${r.file}: ${r.pipeline}@${r.version} (${r.datasets.join(', ')})`,
          );
          ctx.io.out(`  checked against ${r.sources.join(', ')}`);
          if (r.problems.length > 0) ctx.io.out(formatVersionProblems(r.problems).replace(/^/gm, '  '));
        }
      const all = results.flatMap((r) => r.problems);
      const first = all[0];
      if (first !== undefined)
        throw new SlipwayError(
          first.code,
          `${all.length} version problem${all.length === 1 ? '' : 's'}: ${all.map((p) => `${p.subject} ${p.name}@${p.version} (${p.reason}, use ${p.suggest})`).join('; ')}.`,
          { details: { problems: all.map(({ message: _m, ...p }) => p) } },
        );
    });
}

import type { Command } from 'commander';
import { DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import type { DatasetManifest } from '../../artifact/manifest.js';
import { shortDigest } from '../../artifact/manifest.js';
import { assertVersions } from '../../artifact/version-check.js';
import { checkRegistryCompatibility, checkRegistryInputs } from '../../dataset/registry/registry-check.js';
import { resolveSchemaRegistry } from '../../runtime/registry-options.js';
import { checkedBuild } from '../checked-build.js';
import type { CliContext } from '../context.js';
import { describeCommit, storeFromOption } from './artifacts.js';
import { checkAgainstKnown } from './datasets-check.js';

interface BuildOptions {
  pipeline?: string;
  store?: string;
  json?: boolean;
  against?: string;
  controlPlane?: string;
  schemaRegistry?: string;
}

export function registerBuild(program: Command, ctx: CliContext): void {
  program
    .command('build')
    .description('Bundle a pipeline into an immutable artifact named by its content digest; prints the digest')
    .argument('<pipeline-file>', 'TypeScript or JavaScript module exporting the pipeline')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option(
      '--store <dir>',
      `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
    )
    .option('--json', 'print the result and the manifest as JSON')
    .option(
      '--against <git-ref>',
      'also check versions against what the pipeline was at this git ref (default without a control plane: the newest tag)',
    )
    .option('--control-plane <url>', 'the control plane whose dataset registry to check against')
    .option(
      '--schema-registry <url>',
      'the schema registry (Confluent-compatible API) that checks avro()/jsonSchema() inputs and outputs (default: $SCHEMA_REGISTRY_URL; basic authentication from $SCHEMA_REGISTRY_USERNAME / $SCHEMA_REGISTRY_PASSWORD)',
    )
    .addHelpText(
      'after',
      "\nVersions are enforced: a pipeline version names one code, a dataset version one schema; a patch may not change a\nschema, a minor must be compatible under the dataset's mode, a major may change anything. Checked against the\nartifact store, the control plane's registry, and without one the last release in git (see `slipway datasets check`).",
    )
    .action(async (file: string, opts: BuildOptions) => {
      const store = storeFromOption(ctx, opts.store);
      const result = await checkedBuild({
        entry: file,
        store,
        ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
        check: async (manifest) => {
          const problems = await checkAgainstKnown(ctx, {
            manifest,
            store,
            entry: file,
            ...(opts.pipeline === undefined ? {} : { pipeline: opts.pipeline }),
            ...(opts.against === undefined ? {} : { against: opts.against }),
            ...(opts.controlPlane === undefined ? {} : { controlPlane: opts.controlPlane }),
          });
          assertVersions(problems.problems, `Building ${manifest.name}@${manifest.version}`);
          // Outputs in a registry format: the registry must accept the new value schema of <topic>-value.
          // The registry: --schema-registry, else SCHEMA_REGISTRY_URL; basic authentication from
          // SCHEMA_REGISTRY_USERNAME / SCHEMA_REGISTRY_PASSWORD.
          const fromEnv = await resolveSchemaRegistry(undefined);
          const registry = { ...fromEnv, url: opts.schemaRegistry ?? fromEnv?.url };
          await checkRegistryCompatibility(manifest.outputs, registry);
          // Inputs in a registry format: the reader's schema must read the subject's latest writer schema.
          await checkRegistryInputs(manifest.inputs, registry);
        },
      });
      for (const w of result.warnings) ctx.io.err(`warning: ${w}`);
      const { manifest } = result;
      const { gitCommit, gitDirty } = manifest.provenance;
      if (gitDirty === true) {
        ctx.io.err(
          `warning: the work tree has uncommitted changes, so commit ${gitCommit?.slice(0, 12) ?? '(none)'} does not describe this artifact's sources. Commit, then build again.`,
        );
      }
      if (opts.json) {
        ctx.io.out(
          JSON.stringify(
            {
              digest: result.digest,
              dir: result.dir,
              created: result.created,
              builtAt: result.builtAt.toISOString(),
              bytes: result.bytes,
              warnings: result.warnings,
              manifest,
            },
            null,
            2,
          ),
        );
        return;
      }
      const datasets = (list: DatasetManifest[]) =>
        list.map((d) => `${d.topic} (schema ${shortDigest(d.schemaDigest)})`).join(', ') || '-';
      ctx.io.err(
        `built ${manifest.name}@${manifest.version} ${shortDigest(result.digest)} ${
          result.created ? `into ${store.dir}` : `(already in ${store.dir}, since ${result.builtAt.toISOString()})`
        }`,
      );
      ctx.io.err(`  inputs   ${datasets(manifest.inputs)}`);
      ctx.io.err(`  outputs  ${datasets(manifest.outputs)}`);
      ctx.io.err(`  bundle   ${formatBytes(result.bytes)}, state version ${manifest.stateVersion}`);
      ctx.io.err(
        `  git      ${gitCommit === null && gitDirty === null ? 'not a git work tree' : describeCommit(gitCommit, gitDirty)}`,
      );
      ctx.io.out(result.digest);
    });
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ArtifactStore, DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import { shortDigest } from '../../artifact/manifest.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';

/**
 * The store named by `--store`, else the project's (`$SLIPWAY_ARTIFACTS`, else `artifacts` in the state
 * folder, `.slipway/artifacts` by default): the one the daemon runs artifacts from.
 */
export function storeFromOption(ctx: CliContext, dir: string | undefined): ArtifactStore {
  return new ArtifactStore({ dir: dir === undefined ? ctx.artifactsDir() : resolve(dir) });
}

/** `a1b2c3d4e5f6`, `a1b2c3d4e5f6 dirty`, or `-` outside git. */
export function describeCommit(commit: string | null, dirty: boolean | null): string {
  if (commit === null) return dirty === true ? '(no commit) dirty' : '-';
  return `${commit.slice(0, 12)}${dirty ? ' dirty' : ''}`;
}

export function registerArtifacts(program: Command, ctx: CliContext): void {
  program
    .command('artifacts')
    .description('List the built artifacts in the artifact store, newest first')
    .option(
      '--store <dir>',
      `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
    )
    .option('--json', 'print JSON')
    .action(async (opts: { store?: string; json?: boolean }) => {
      const store = storeFromOption(ctx, opts.store);
      const entries = await store.list();
      if (opts.json) {
        const rows = entries.map((e) => ({
          digest: e.digest,
          name: e.manifest.name,
          version: e.manifest.version,
          gitCommit: e.manifest.provenance.gitCommit,
          gitDirty: e.manifest.provenance.gitDirty,
          builtAt: e.builtAt.toISOString(),
          bytes: e.manifest.bundle.bytes,
          slipwayVersion: e.manifest.slipwayVersion,
          dir: e.dir,
        }));
        ctx.io.out(JSON.stringify(rows, null, 2));
        return;
      }
      if (entries.length === 0) {
        ctx.io.out(`no artifacts in ${store.dir}; build one with \`slipway build <pipeline-file>\``);
        return;
      }
      const rows = entries.map((e) => [
        shortDigest(e.digest),
        e.manifest.name,
        e.manifest.version,
        describeCommit(e.manifest.provenance.gitCommit, e.manifest.provenance.gitDirty),
        e.builtAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      ]);
      printTable(ctx.io, ['DIGEST', 'NAME', 'VERSION', 'COMMIT', 'BUILT AT'], rows);
    });
}

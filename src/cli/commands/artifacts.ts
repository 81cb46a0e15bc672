import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type ArtifactEntry, ArtifactStore, DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import { shortDigest } from '../../artifact/manifest.js';
import { isSlipwayError, SlipwayError } from '../../errors.js';
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

/** What verifying a listed artifact found. */
interface VerifiedStatus {
  /** `ok`, or `TAMPERED: <file> changed` when the artifact's files no longer match its digest. */
  status: string;
  /** The files that changed, when tampered. */
  files?: string[];
}

async function verifyStatus(store: ArtifactStore, entry: ArtifactEntry): Promise<VerifiedStatus> {
  try {
    await store.verify(entry.digest);
    return { status: 'ok' };
  } catch (err) {
    if (!isSlipwayError(err, 'SLIPWAY_ARTIFACT_TAMPERED')) throw err;
    const files = Array.isArray(err.details.files) ? err.details.files.map(String) : [];
    return { status: `TAMPERED: ${files.length > 0 ? files.join(', ') : 'its files'} changed`, files };
  }
}

export function registerArtifacts(program: Command, ctx: CliContext): void {
  program
    .command('artifacts')
    .description('List the built artifacts in the artifact store, newest first, each verified against its digest')
    .option(
      '--store <dir>',
      `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nEvery artifact is verified: STATUS is ok, or TAMPERED naming the file that changed since the build.\nExit code 1 (SLIPWAY_ARTIFACT_TAMPERED) when any is tampered.',
    )
    .action(async (opts: { store?: string; json?: boolean }) => {
      const store = storeFromOption(ctx, opts.store);
      const entries = await store.list();
      // Verified one by one, like `load` does before running one: a listed artifact is one that would load.
      const statuses: VerifiedStatus[] = [];
      for (const e of entries) statuses.push(await verifyStatus(store, e));
      if (opts.json) {
        const rows = entries.map((e, i) => ({
          digest: e.digest,
          name: e.manifest.name,
          version: e.manifest.version,
          gitCommit: e.manifest.provenance.gitCommit,
          gitDirty: e.manifest.provenance.gitDirty,
          builtAt: e.builtAt.toISOString(),
          bytes: e.manifest.bundle.bytes,
          slipwayVersion: e.manifest.slipwayVersion,
          dir: e.dir,
          status: statuses[i]?.status,
        }));
        ctx.io.out(JSON.stringify(rows, null, 2));
      } else if (entries.length === 0) {
        ctx.io.out(`no artifacts in ${store.dir}; build one with \`slipway build <pipeline-file>\``);
        return;
      } else {
        const rows = entries.map((e, i) => [
          shortDigest(e.digest),
          e.manifest.name,
          e.manifest.version,
          describeCommit(e.manifest.provenance.gitCommit, e.manifest.provenance.gitDirty),
          e.builtAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
          statuses[i]?.status ?? '',
        ]);
        printTable(ctx.io, ['DIGEST', 'NAME', 'VERSION', 'COMMIT', 'BUILT AT', 'STATUS'], rows);
      }
      const tampered = entries.flatMap((e, i) => {
        const s = statuses[i];
        return s?.files === undefined
          ? []
          : [`${e.digest} (${e.manifest.name}@${e.manifest.version}: ${s.files.join(', ')})`];
      });
      if (tampered.length > 0) {
        throw new SlipwayError(
          'SLIPWAY_ARTIFACT_TAMPERED',
          `${tampered.length} of ${entries.length} artifacts in ${store.dir} were changed after they were built: ${tampered.join('; ')}. ` +
            'They will not be loaded or deployed. Rebuild each from its sources with `slipway build <pipeline-file>` (the same sources give the same digest and replace the damaged copy).',
          {
            details: {
              store: store.dir,
              tampered: entries.filter((_, i) => statuses[i]?.files !== undefined).map((e) => e.digest),
            },
          },
        );
      }
    });
}

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { ArtifactStore } from '../artifact/artifact-store.js';
import { buildArtifact } from '../artifact/build-artifact.js';
import { type ArtifactManifest, shortDigest } from '../artifact/manifest.js';
import { datasetVersionsOf, type KnownDatasetVersion, type KnownPipelineVersion } from '../artifact/version-check.js';
import { ControlPlaneClient } from '../control/client.js';
import { openSqliteControlStore } from '../control/sqlite-control-store.js';
import type { CompatibilityMode } from '../dataset/compatibility.js';
import type { ArtifactRecord, DatasetVersionRecord } from '../deploy/control-store.js';
import type { Release } from '../deploy/deployment.js';
import { isSlipwayError } from '../errors.js';
import type { CliContext } from './context.js';

/** What a control plane's registry holds: dataset versions, releases, artifacts. */
export interface RegistrySnapshot {
  versions: DatasetVersionRecord[];
  releases: Release[];
  artifacts: ArtifactRecord[];
  /** Where it was read: the daemon's URL, or the control store file. */
  from: string;
}

export interface Known {
  datasets: KnownDatasetVersion[];
  pipelines: KnownPipelineVersion[];
}

/**
 * The registry of the project's control plane: through its running daemon (or `--control-plane`), else
 * straight from its control store file when one exists; undefined when there is no control plane.
 */
export async function readRegistry(ctx: CliContext, controlPlane?: string): Promise<RegistrySnapshot | undefined> {
  let client: ControlPlaneClient | undefined;
  try {
    client = ControlPlaneClient.find(ctx.stateDir(), controlPlane);
  } catch (err) {
    if (!isSlipwayError(err, 'SLIPWAY_DAEMON_UNAVAILABLE')) throw err;
  }
  if (client !== undefined) {
    const got = await client.datasets();
    return { ...(got as unknown as Omit<RegistrySnapshot, 'from'>), from: client.url };
  }
  const path = join(ctx.stateDir(), 'control.db');
  if (!existsSync(path)) return undefined;
  const store = await openSqliteControlStore({ path });
  try {
    return {
      versions: await store.datasetVersions(),
      releases: await store.listReleases(),
      artifacts: await store.listArtifacts(),
      from: path,
    };
  } finally {
    await store.close();
  }
}

export function knownFromRegistry(registry: RegistrySnapshot): Known {
  return {
    datasets: registry.versions.map((v) => ({
      name: v.name,
      version: v.version,
      schema: v.schema,
      schemaDigest: v.schemaDigest,
      compatibility: v.compatibility as CompatibilityMode,
      source: `the registry (first seen in ${v.firstSeenBy.pipeline}@${v.firstSeenBy.version} ${shortDigest(v.firstSeenBy.digest)})`,
    })),
    pipelines: registry.artifacts.map((a) => ({
      name: a.pipeline,
      version: a.version,
      digest: a.digest,
      source: `the control plane (${registry.from})`,
    })),
  };
}

export async function knownFromStore(store: ArtifactStore): Promise<Known> {
  const entries = await store.list();
  return {
    datasets: entries.flatMap((e) => datasetVersionsOf(e.manifest)),
    pipelines: entries.map((e) => ({
      name: e.manifest.name,
      version: e.manifest.version,
      digest: e.digest,
      source: `the artifact store (${store.dir})`,
    })),
  };
}

export function knownFromManifest(manifest: ArtifactManifest, source: string): Known {
  return {
    datasets: datasetVersionsOf(manifest, source),
    pipelines: [{ name: manifest.name, version: manifest.version, digest: manifest.digest, source }],
  };
}

export const mergeKnown = (...all: Known[]): Known => ({
  datasets: all.flatMap((k) => k.datasets),
  pipelines: all.flatMap((k) => k.pipelines),
});

const git = (cwd: string, args: string[]): string =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    maxBuffer: 256 * 1024 * 1024,
  });

/** The newest tag reachable from HEAD (the last release), or undefined outside git or without tags. */
export function lastReleaseTag(cwd: string): string | undefined {
  try {
    return git(cwd, ['describe', '--tags', '--abbrev=0']).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * What `entry` built to at a git ref (the last release): its files at that ref are extracted into a
 * folder inside the project (so its imports resolve against the project's node_modules), built without
 * storing, and removed. Undefined when the entry did not exist at that ref.
 */
export async function buildAtGitRef(options: {
  cwd: string;
  entry: string;
  /** A git ref, or `null` for the work tree as it is (tracked and untracked files, ignored ones left out). */
  ref: string | null;
  pipeline?: string;
  store: ArtifactStore;
}): Promise<ArtifactManifest | undefined> {
  const cwd = resolve(options.cwd);
  const prefix = git(cwd, ['rev-parse', '--show-prefix']).trim();
  const entry = relative(cwd, resolve(cwd, options.entry)).split('\\').join('/');
  if (options.ref !== null) {
    try {
      git(cwd, ['cat-file', '-e', `${options.ref}:${prefix}${entry}`]);
    } catch {
      return undefined;
    }
  }
  // Both sides are built in a folder like this one, so the paths esbuild writes into a bundle are alike.
  const dir = await mkdtemp(join(cwd, '.slipway-release-'));
  try {
    if (options.ref === null) {
      const files = git(cwd, ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
        .split('\0')
        .filter((f) => f !== '' && !f.startsWith('.slipway-release-'));
      for (const f of files) {
        if (!existsSync(join(cwd, f))) continue;
        await mkdir(dirname(join(dir, f)), { recursive: true });
        await copyFile(join(cwd, f), join(dir, f));
      }
    } else {
      const tar = execFileSync('git', ['archive', '--format=tar', `${options.ref}:${prefix}`], {
        cwd,
        maxBuffer: 1024 * 1024 * 1024,
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      execFileSync('tar', ['-x', '-C', dir], { input: tar, stdio: ['pipe', 'ignore', 'ignore'] });
    }
    const built = await buildArtifact({
      entry,
      cwd: dir,
      store: options.store,
      dryRun: true,
      ...(options.pipeline === undefined ? {} : { pipeline: options.pipeline }),
    });
    return built.manifest;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

import { type ArtifactStore, DEFAULT_ARTIFACT_STORE_DIR } from '../../artifact/artifact-store.js';
import { compareVersions, DEFAULT_COMPATIBILITY, parseVersion } from '../../dataset/compatibility.js';
import type { DatasetVersionRecord } from '../../deploy/control-store.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { type RegistrySnapshot, readRegistry } from '../known-versions.js';

/** The `--store` option every `datasets` subcommand takes. */
export const STORE_OPTION = [
  '--store <dir>',
  `artifact store (default: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log: ${DEFAULT_ARTIFACT_STORE_DIR})`,
] as const;

/** A dataset version as the commands show it: from the registry, or built from the artifact store. */
export type Catalog = DatasetVersionRecord[];

/** The registry merged with what the artifact store's manifests declare (versions only the store knows are added). */
export async function catalog(
  ctx: CliContext,
  store: ArtifactStore,
  controlPlane?: string,
): Promise<{ versions: Catalog; registry?: RegistrySnapshot }> {
  const registry = await readRegistry(ctx, controlPlane);
  const versions: Catalog = [...(registry?.versions ?? [])];
  const key = (v: { name: string; version: string; schemaDigest: string }) =>
    `${v.name}@${v.version}|${v.schemaDigest}`;
  const byKey = new Map(versions.map((v) => [key(v), v]));
  const entries = (await store.list()).sort((a, b) => a.builtAt.getTime() - b.builtAt.getTime());
  for (const e of entries) {
    const ref = { digest: e.digest, pipeline: e.manifest.name, version: e.manifest.version };
    for (const [role, list] of [
      ['input', e.manifest.inputs],
      ['output', e.manifest.outputs],
    ] as const) {
      for (const d of list) {
        let v = byKey.get(key(d));
        if (v === undefined) {
          v = {
            name: d.name,
            version: d.version,
            major: parseVersion(d.version)?.[0] ?? 0,
            topic: d.topic,
            schema: d.schema,
            schemaDigest: d.schemaDigest,
            compatibility: d.compatibility ?? DEFAULT_COMPATIBILITY,
            firstSeenAt: e.builtAt.getTime(),
            firstSeenBy: ref,
            usedBy: [],
            retiredAt: null,
          };
          byKey.set(key(d), v);
          versions.push(v);
        }
        if (!v.usedBy.some((u) => u.digest === e.digest && u.role === role)) v.usedBy.push({ ...ref, role });
      }
    }
  }
  versions.sort((a, b) => a.name.localeCompare(b.name) || compareVersions(a.version, b.version));
  return { versions, ...(registry === undefined ? {} : { registry }) };
}

/** `orders@1.2.0` → name and version (version optional when `versionOptional`). */
function parseRef(ref: string, what: string): { name: string; version?: string } {
  const m = /^([a-z][a-z0-9_-]*)(?:@(.+))?$/.exec(ref.trim());
  if (m === null)
    throw new SlipwayError('SLIPWAY_USAGE', `${what} '${ref}' is not a dataset version like orders@1.2.0.`, {
      details: { ref },
    });
  return { name: m[1] as string, ...(m[2] === undefined ? {} : { version: m[2] }) };
}

export function find(versions: Catalog, ref: string, what: string): DatasetVersionRecord {
  const { name, version } = parseRef(ref, what);
  const all = versions.filter((v) => v.name === name);
  const found = version === undefined ? all.at(-1) : all.filter((v) => v.version === version).at(-1);
  if (found === undefined) {
    throw new SlipwayError(
      'SLIPWAY_DATASET_NOT_FOUND',
      all.length === 0
        ? `No dataset '${name}' is known (the registry and the artifact store hold ${[...new Set(versions.map((v) => v.name))].join(', ') || 'none'}). Build a pipeline that declares it first.`
        : `No version ${version} of ${name} is known; known: ${all.map((v) => v.version).join(', ')}.`,
      { details: { dataset: name, version: version ?? null } },
    );
  }
  return found;
}

export const day = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { canonicalJson } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import { isPipeline, type Pipeline } from '../pipeline/pipeline.js';
import { importBundle } from './import-bundle.js';
import {
  type ArtifactManifest,
  BUNDLE_FILE,
  computeDigest,
  describePipeline,
  MANIFEST_FILE,
  type PipelineDescription,
  parseManifest,
  renderManifest,
  sha256,
  shortDigest,
} from './manifest.js';

/** The default store, relative to the project folder. */
export const DEFAULT_ARTIFACT_STORE_DIR = '.slipway/artifacts';

/** The store's build log: one JSON line `{ digest, builtAt }` each time an artifact is stored. */
const INDEX_FILE = 'index.jsonl';
const DIGEST_DIR = /^[0-9a-f]{64}$/;

/** An artifact in the store. */
export interface ArtifactEntry {
  /** `sha256:<hex>`; the folder is named by the hex. */
  digest: string;
  /** The artifact's folder: `bundle.mjs` and `manifest.json`. */
  dir: string;
  manifest: ArtifactManifest;
  /** When this artifact was stored (from the store's index; the manifest file's time if the index lacks it). */
  builtAt: Date;
}

export interface PutResult extends ArtifactEntry {
  /** False when the store already held these bytes (put is idempotent). */
  created: boolean;
}

/** An artifact that passed verification, with its pipeline imported. */
export interface LoadedArtifact extends ArtifactEntry {
  pipeline: Pipeline;
}

/**
 * A local artifact store: a folder with one read-only subfolder per artifact, named by its digest.
 *
 * ```
 * <dir>/<hex>/bundle.mjs      the bundled pipeline code
 * <dir>/<hex>/manifest.json   what it is (see ArtifactManifest); the digest covers it and the bundle
 * <dir>/index.jsonl           when each artifact was stored (not part of any artifact)
 * ```
 *
 * Refer to an artifact by its digest (`sha256:` optional) or a unique prefix of at least 7 hex digits.
 *
 * @example
 * const store = new ArtifactStore({ dir: '.slipway/artifacts' })
 * const { pipeline, manifest } = await store.load('sha256:3f2a9c1')  // verified, then imported
 */
export class ArtifactStore {
  readonly dir: string;

  constructor(options: { dir: string }) {
    this.dir = resolve(options.dir);
  }

  /**
   * Stores an artifact atomically (written in a temporary folder, files made read-only, then renamed into
   * place). Idempotent: the same digest lands in the same folder; a damaged copy already there is replaced.
   */
  async put(artifact: { bundle: Uint8Array; manifest: ArtifactManifest }): Promise<PutResult> {
    const { bundle, manifest } = artifact;
    if (computeDigest(manifest) !== manifest.digest || sha256(bundle) !== manifest.bundle.sha256) {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_TAMPERED',
        `The manifest of ${manifest.name}@${manifest.version} does not match its digest or its bundle; nothing was stored. Make artifacts with buildArtifact().`,
        { details: { digest: manifest.digest } },
      );
    }
    const hex = manifest.digest.slice('sha256:'.length);
    const target = join(this.dir, hex);
    await mkdir(this.dir, { recursive: true });
    let damaged = false;
    if (await exists(target)) {
      try {
        return { ...(await this.verify(manifest.digest)), created: false };
      } catch (err) {
        if ((err as SlipwayError).code !== 'SLIPWAY_ARTIFACT_TAMPERED') throw err;
        damaged = true;
      }
    }
    const staging = await mkdtemp(join(this.dir, '.tmp-'));
    try {
      await writeReadOnly(join(staging, BUNDLE_FILE), bundle);
      await writeReadOnly(join(staging, MANIFEST_FILE), renderManifest(manifest));
      // mkdtemp makes the folder private (0700); runners under other users must be able to read artifacts.
      await chmod(staging, 0o755);
      if (damaged) {
        const aside = join(this.dir, `.damaged-${hex}-${randomBytes(4).toString('hex')}`);
        await rename(target, aside);
        await rm(aside, { recursive: true, force: true });
      }
      try {
        await rename(staging, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Another build stored the same digest at the same moment: theirs is as good as ours.
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        return { ...(await this.verify(manifest.digest)), created: false };
      }
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
    const builtAt = new Date();
    const line = `${JSON.stringify({ digest: manifest.digest, builtAt: builtAt.toISOString() })}\n`;
    const index = await open(join(this.dir, INDEX_FILE), 'a');
    try {
      await index.write(line);
    } finally {
      await index.close();
    }
    return { digest: manifest.digest, dir: target, manifest, builtAt, created: true };
  }

  /** Every artifact in the store, newest first. Does not verify them (see {@link verify}); unreadable ones are left out. */
  async list(): Promise<ArtifactEntry[]> {
    const builtAt = await this.#readIndex();
    const entries: ArtifactEntry[] = [];
    for (const hex of await this.#digestDirs()) {
      try {
        entries.push(await this.#entry(hex, builtAt));
      } catch {
        // A damaged manifest: verify() names the problem when the artifact is asked for.
      }
    }
    return entries.sort((a, b) => b.builtAt.getTime() - a.builtAt.getTime() || a.digest.localeCompare(b.digest));
  }

  /** Finds an artifact by digest or unique prefix (≥ 7 hex digits) and reads its manifest, without verifying. */
  async get(ref: string): Promise<ArtifactEntry> {
    const prefix = parseRef(ref, this.dir);
    const dirs = await this.#digestDirs();
    const matches = dirs.filter((hex) => hex.startsWith(prefix));
    if (matches.length === 1) return this.#entry(matches[0] as string, await this.#readIndex());
    if (matches.length > 1) {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_AMBIGUOUS',
        `'${ref}' matches ${matches.length} artifacts in ${this.dir} (${matches.map((m) => m.slice(0, 16)).join(', ')}). Give more digits of the digest.`,
        { details: { ref, matches: matches.map((m) => `sha256:${m}`), store: this.dir } },
      );
    }
    const known = (await this.list()).slice(0, 5);
    const holds =
      dirs.length === 0
        ? `The store is empty.`
        : `It holds ${dirs.length} artifact${dirs.length === 1 ? '' : 's'}: ${known
            .map((e) => `${shortDigest(e.digest)} ${e.manifest.name}@${e.manifest.version}`)
            .join(', ')}${dirs.length > known.length ? ', …' : ''} (see \`slipway artifacts\`).`;
    throw new SlipwayError(
      'SLIPWAY_ARTIFACT_NOT_FOUND',
      `No artifact ${ref} in ${this.dir}. ${holds} Build it with \`slipway build <pipeline-file>\` (into the project's store: $SLIPWAY_ARTIFACTS, else artifacts/ beside the log, which \`slipway up\` runs from too), or point $SLIPWAY_ARTIFACTS at the store that holds it.`,
      { details: { ref, store: this.dir } },
    );
  }

  /**
   * Recomputes the digest from the files on disk. Throws `SLIPWAY_ARTIFACT_TAMPERED` naming the file that
   * changed, `SLIPWAY_ARTIFACT_NOT_FOUND` when there is no such artifact.
   */
  async verify(ref: string): Promise<ArtifactEntry> {
    const entry = await this.get(ref);
    const { manifest, digest, dir } = entry;
    const changed: string[] = [];
    if (manifest.digest !== digest || computeDigest(manifest) !== digest)
      changed.push(`${MANIFEST_FILE} does not hash to the digest`);
    let bundle: Buffer | undefined;
    try {
      bundle = await readFile(join(dir, BUNDLE_FILE));
    } catch {
      changed.push(`${BUNDLE_FILE} is missing`);
    }
    if (bundle !== undefined && (sha256(bundle) !== manifest.bundle.sha256 || bundle.length !== manifest.bundle.bytes))
      changed.push(`${BUNDLE_FILE} does not match the sha256 in its manifest`);
    if (changed.length > 0) {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_TAMPERED',
        `Artifact ${digest} (${manifest.name}@${manifest.version}) in ${dir} was changed after it was built: ${changed.join('; ')}. It will not be loaded or deployed. Rebuild it from its sources with \`slipway build <pipeline-file>\`: the same sources give the same digest and replace this copy.`,
        { details: { digest, dir, files: changed.map((c) => c.split(' ')[0]) } },
      );
    }
    return entry;
  }

  /**
   * Verifies an artifact, imports its bundle and returns its pipeline. The bundle's `import 'slipway'` gets
   * the Slipway running this code. Throws `SLIPWAY_ARTIFACT_MISMATCH` when the loaded code defines another
   * pipeline than the manifest records (a definition that depends on the environment, say).
   */
  async load(ref: string): Promise<LoadedArtifact> {
    const entry = await this.verify(ref);
    const { manifest, digest } = entry;
    let exported: Record<string, unknown>;
    try {
      exported = await importBundle(join(entry.dir, BUNDLE_FILE));
    } catch (err) {
      if (err instanceof SlipwayError) throw err;
      throw new SlipwayError(
        'SLIPWAY_INVALID_DEFINITION',
        `Loading artifact ${shortDigest(digest)} (${manifest.name}@${manifest.version}) failed where it runs: ${(err as Error).message}. Its top-level code runs in every runner, without the build machine's files: read what it needs in process(), through ctx.config.`,
        { cause: err, details: { digest, pipeline: manifest.name } },
      );
    }
    const pipeline = Object.values(exported)
      .filter(isPipeline)
      .find((p) => p.name === manifest.name);
    const mismatch = (why: string): never => {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_MISMATCH',
        `Artifact ${digest} does not define the pipeline its manifest records: ${why}. Its definition must not depend on the environment (read config and secrets in process(), through ctx.config); fix the code and rebuild.`,
        { details: { digest, pipeline: manifest.name } },
      );
    };
    if (pipeline === undefined) return mismatch(`it exports no pipeline named '${manifest.name}'`);
    const loaded = describePipeline(pipeline);
    const recorded = recordedDescription(manifest);
    const differs = (Object.keys({ ...loaded, ...recorded }) as Array<keyof PipelineDescription>).filter(
      (k) => canonicalJson(loaded[k] ?? null) !== canonicalJson(recorded[k] ?? null),
    );
    if (differs.length > 0) mismatch(`${differs.join(', ')} differ${differs.length === 1 ? 's' : ''}`);
    return { ...entry, pipeline };
  }

  async #digestDirs(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((name) => DIGEST_DIR.test(name)).sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async #entry(hex: string, builtAt: Map<string, Date>): Promise<ArtifactEntry> {
    const dir = join(this.dir, hex);
    const path = join(dir, MANIFEST_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch {
      throw new SlipwayError(
        'SLIPWAY_ARTIFACT_TAMPERED',
        `Artifact sha256:${hex} in ${dir} has no readable ${MANIFEST_FILE}. Rebuild it with \`slipway build <pipeline-file>\`.`,
        { details: { digest: `sha256:${hex}`, dir, files: [MANIFEST_FILE] } },
      );
    }
    const manifest = parseManifest(text, path);
    const digest = `sha256:${hex}`;
    return { digest, dir, manifest, builtAt: builtAt.get(digest) ?? (await stat(path)).mtime };
  }

  async #readIndex(): Promise<Map<string, Date>> {
    const times = new Map<string, Date>();
    let text = '';
    try {
      text = await readFile(join(this.dir, INDEX_FILE), 'utf8');
    } catch {
      return times;
    }
    for (const line of text.split('\n')) {
      try {
        const { digest, builtAt } = JSON.parse(line) as { digest?: unknown; builtAt?: unknown };
        const at = new Date(String(builtAt));
        // The last line wins: a damaged artifact that was replaced counts from its replacement.
        if (typeof digest === 'string' && !Number.isNaN(at.getTime())) times.set(digest, at);
      } catch {
        // A torn or blank line: the manifest file's time stands in.
      }
    }
    return times;
  }
}

/** A digest or prefix → lower-case hex; throws a clear error for anything else. */
function parseRef(ref: string, store: string): string {
  const hex = String(ref)
    .trim()
    .replace(/^sha256:/i, '')
    .toLowerCase();
  if (!/^[0-9a-f]{7,64}$/.test(hex)) {
    throw new SlipwayError(
      'SLIPWAY_ARTIFACT_NOT_FOUND',
      `'${ref}' is not an artifact digest: give sha256:<64 hex digits>, or a prefix of at least 7 hex digits. See \`slipway artifacts\` for what ${store} holds.`,
      { details: { ref, store } },
    );
  }
  return hex;
}

/**
 * Every field of a pipeline's description, which `load` compares between the manifest and the loaded code.
 * The type checker keeps it whole: a field added to PipelineDescription must be listed here (toggles once
 * was not, and every artifact with a toggle was refused at load as "toggles differs").
 */
const DESCRIPTION_FIELDS = {
  name: true,
  version: true,
  description: true,
  inputs: true,
  outputs: true,
  configSchema: true,
  stateVersion: true,
  stateMigration: true,
  toggles: true,
  sink: true,
} as const satisfies Record<keyof PipelineDescription, true>;

/** The pipeline's description as the manifest records it (the manifest's own fields left out). */
function recordedDescription(manifest: ArtifactManifest): PipelineDescription {
  const recorded: Record<string, unknown> = {};
  for (const field of Object.keys(DESCRIPTION_FIELDS) as Array<keyof PipelineDescription>)
    if (manifest[field] !== undefined) recorded[field] = manifest[field];
  return recorded as unknown as PipelineDescription;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Writes, flushes to disk, and makes the file read-only. */
async function writeReadOnly(path: string, data: string | Uint8Array): Promise<void> {
  const file = await open(path, 'wx', 0o644);
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
  await chmod(path, 0o444);
}

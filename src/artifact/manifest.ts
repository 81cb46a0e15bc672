import { createHash } from 'node:crypto';
import { type CompatibilityMode, DEFAULT_COMPATIBILITY } from '../dataset/compatibility.js';
import type { Dataset } from '../dataset/dataset.js';
import { canonicalJson, type JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { describeStateMigration, type StateMigrationDescription } from '../pipeline/state-migration.js';
import { describeToggle, type ToggleDescription } from '../toggles/toggle.js';

/** The manifest format this Slipway writes and reads. Part of the digest, so a format change is a new digest. */
export const MANIFEST_FORMAT = 'slipway.artifact/v1';

/** File names inside an artifact's folder. */
export const BUNDLE_FILE = 'bundle.mjs';
export const MANIFEST_FILE = 'manifest.json';

/** A dataset as an artifact records it: enough to create its topic and to check schema compatibility. */
export interface DatasetManifest {
  name: string;
  version: string;
  /** Physical topic, `<name>.v<major>`. */
  topic: string;
  key: string;
  partitions: number;
  /** The canonical JSON Schema. */
  schema: JsonSchema;
  /** `sha256:<hex>` of the canonical schema; equal to the Dataset's `schemaDigest`. */
  schemaDigest: string;
  /** The dataset's compatibility mode, when it is not the default (`backward`): older manifests keep their digests. */
  compatibility?: CompatibilityMode;
  /** The registry value format (`avro`, `jsonSchema`) and its schema text, when the dataset declares one. */
  valueFormat?: { kind: 'avro' | 'jsonSchema'; schemaType: 'AVRO' | 'JSON'; schema: string };
  /** For an input: the versions the pipeline reads (`^1.2`), when it declares a range (default: the major). */
  range?: string;
}

/** What a pipeline's code defines: read from the bundle at build time, checked again at load time. */
export interface PipelineDescription {
  name: string;
  version: string;
  description?: string;
  inputs: DatasetManifest[];
  outputs: DatasetManifest[];
  /** JSON Schema of the config, or null when the pipeline takes none. Config values are never in an artifact. */
  configSchema: JsonSchema | null;
  stateVersion: number;
  /**
   * The state migration it declares (`migrateState`): from which stateVersion, and whether it can go
   * back. Absent when it declares none (manifests of pipelines without one read, and digest, the same).
   */
  stateMigration?: StateMigrationDescription;
  /** Its feature and data toggles; absent when it declares none (manifests from before toggles read the same). */
  toggles?: ToggleDescription[];
  /** The table it writes, when it is a sink pipeline: what the control plane needs to fence and hand it off. */
  sink?: SinkDescription;
}

/** A sink pipeline's table in a manifest. */
export interface SinkDescription {
  table: string;
  /** The environment's datastore that holds it (`main` by default). */
  datastore: string;
  mode: 'upsert' | 'append';
  deleteOnTombstone: boolean;
  columns: Array<{ name: string; type: string; nullable: boolean; field: string }>;
  primaryKey: string[];
}

/** Where a build came from. Informational: not covered by the digest (see {@link computeDigest}). */
export interface ArtifactProvenance {
  /** `git rev-parse HEAD` in the project, or null when it is not a git work tree (or has no commit yet). */
  gitCommit: string | null;
  /** True when the work tree had uncommitted changes (Slipway's own `.slipway/` folder aside); null outside git. */
  gitDirty: boolean | null;
  /**
   * The module the build started from, relative to the project folder (`pipeline.ts`): what `slipway test
   * --artifact` rebuilds to show the sources under test are the artifact's. Absent in older manifests.
   */
  entry?: string;
}

/** `manifest.json` of an artifact. */
export interface ArtifactManifest extends PipelineDescription {
  format: typeof MANIFEST_FORMAT;
  /** `sha256:<hex>` — see {@link computeDigest}. Also the name of the artifact's folder in the store. */
  digest: string;
  /** The bundled code: its file name, sha256 and size in bytes. */
  bundle: { file: typeof BUNDLE_FILE; sha256: string; bytes: number };
  /** Version of Slipway that built the artifact (the runtime provides Slipway; the bundle imports it). */
  slipwayVersion: string;
  provenance: ArtifactProvenance;
}

/**
 * The digest that names an artifact: `sha256:<hex>` of the canonical JSON (sorted keys) of the manifest
 * **without** its `digest` and `provenance` fields.
 *
 * So it covers everything that changes behaviour: the bundle's bytes (through `bundle.sha256`), the
 * pipeline's name, version and description, its input and output datasets (topic, key, partitions, schema
 * and schema digest), its config schema, its state version, the Slipway version that built it and the
 * manifest format — and any field a later format adds, since only `digest` and `provenance` are left out.
 *
 * It does **not** cover provenance (git commit, dirty flag) or the build time (which only the store's index
 * records): the same sources give the same digest on any commit, machine or day. Formatting of the
 * manifest file does not matter either; its content does.
 *
 * @example
 * computeDigest(manifest) === manifest.digest // the manifest is intact
 */
export function computeDigest(manifest: Omit<ArtifactManifest, 'digest' | 'provenance'> | ArtifactManifest): string {
  const { digest: _digest, provenance: _provenance, ...digested } = manifest as ArtifactManifest;
  return sha256(canonicalJson(digested));
}

/** `sha256:<hex>` of bytes or text. */
export function sha256(data: string | Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The first 12 hex digits of a digest, for tables and messages. */
export function shortDigest(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** What a pipeline defines, in the manifest's shape (datasets as plain JSON). */
export function describePipeline(pipeline: Pipeline): PipelineDescription {
  return {
    name: pipeline.name,
    version: pipeline.version,
    ...(pipeline.description === undefined ? {} : { description: pipeline.description }),
    inputs: pipeline.inputs.map((d) => {
      const range = pipeline.reads?.[d.name];
      return range === undefined ? describeDataset(d) : { ...describeDataset(d), range };
    }),
    outputs: pipeline.outputs.map(describeDataset),
    configSchema: pipeline.configSchema ?? null,
    stateVersion: pipeline.stateVersion,
    ...(pipeline.migrateState === undefined ? {} : { stateMigration: describeStateMigration(pipeline.migrateState) }),
    ...(pipeline.toggles.length === 0 ? {} : { toggles: pipeline.toggles.map(describeToggle) }),
    ...(pipeline.sink === undefined
      ? {}
      : {
          sink: {
            table: pipeline.sink.table.name,
            datastore: pipeline.sink.table.datastore,
            mode: pipeline.sink.mode,
            deleteOnTombstone: pipeline.sink.deleteOnTombstone,
            columns: pipeline.sink.table.columns.map((c) => ({ ...c })),
            primaryKey: [...pipeline.sink.table.primaryKey],
          },
        }),
  };
}

function describeDataset(dataset: Dataset): DatasetManifest {
  return {
    name: dataset.name,
    version: dataset.version,
    topic: dataset.topic,
    key: dataset.key,
    partitions: dataset.partitions,
    schema: dataset.schema,
    schemaDigest: dataset.schemaDigest,
    ...(dataset.compatibility === DEFAULT_COMPATIBILITY ? {} : { compatibility: dataset.compatibility }),
    ...(dataset.format === undefined
      ? {}
      : {
          valueFormat: {
            kind: dataset.format.kind,
            schemaType: dataset.format.schemaType,
            schema: dataset.format.schemaText,
          },
        }),
  };
}

/** Assembles a manifest (in a stable key order) and names it by its digest. */
export function createManifest(options: {
  pipeline: PipelineDescription;
  bundle: Uint8Array;
  slipwayVersion: string;
  provenance: ArtifactProvenance;
}): ArtifactManifest {
  const { pipeline } = options;
  const digested: Omit<ArtifactManifest, 'digest' | 'provenance'> = {
    format: MANIFEST_FORMAT,
    name: pipeline.name,
    version: pipeline.version,
    ...(pipeline.description === undefined ? {} : { description: pipeline.description }),
    inputs: pipeline.inputs,
    outputs: pipeline.outputs,
    configSchema: pipeline.configSchema,
    stateVersion: pipeline.stateVersion,
    ...(pipeline.stateMigration === undefined ? {} : { stateMigration: pipeline.stateMigration }),
    ...(pipeline.toggles === undefined ? {} : { toggles: pipeline.toggles }),
    ...(pipeline.sink === undefined ? {} : { sink: pipeline.sink }),
    bundle: { file: BUNDLE_FILE, sha256: sha256(options.bundle), bytes: options.bundle.byteLength },
    slipwayVersion: options.slipwayVersion,
  };
  const digest = computeDigest(digested);
  const { format, ...rest } = digested;
  return { format, digest, ...rest, provenance: options.provenance };
}

/** The text of `manifest.json`. */
export function renderManifest(manifest: ArtifactManifest): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * Parses `manifest.json` and checks its shape. Throws `SLIPWAY_ARTIFACT_TAMPERED` naming what is wrong;
 * whether the content matches the digest is the store's check (`ArtifactStore.verify`).
 */
export function parseManifest(text: string, where: string): ArtifactManifest {
  const bad = (why: string): never => {
    throw new SlipwayError(
      'SLIPWAY_ARTIFACT_TAMPERED',
      `${where} is not a valid artifact manifest: ${why}. Do not edit artifacts; rebuild with \`slipway build <pipeline-file>\`.`,
      { details: { file: MANIFEST_FILE, where } },
    );
  };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return bad(`it is not JSON (${(err as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return bad('it is not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== MANIFEST_FORMAT)
    bad(
      `format is ${JSON.stringify(m.format)}, this Slipway reads ${MANIFEST_FORMAT} (a newer Slipway may have built it)`,
    );
  const isDigest = (v: unknown): boolean => typeof v === 'string' && /^sha256:[0-9a-f]{64}$/.test(v);
  if (!isDigest(m.digest)) bad('digest is not sha256:<64 hex>');
  if (typeof m.name !== 'string' || typeof m.version !== 'string') bad('name and version must be strings');
  if (!Array.isArray(m.inputs) || !Array.isArray(m.outputs)) bad('inputs and outputs must be lists');
  if (!Number.isInteger(m.stateVersion)) bad('stateVersion must be a whole number');
  const sm = m.stateMigration as Record<string, unknown> | undefined;
  if (
    sm !== undefined &&
    (typeof sm !== 'object' || !Number.isInteger(sm?.from) || typeof sm?.reversible !== 'boolean')
  )
    bad('stateMigration must be { from: whole number, reversible: boolean }');
  if (typeof m.slipwayVersion !== 'string') bad('slipwayVersion must be a string');
  const bundle = m.bundle as Record<string, unknown> | undefined;
  if (typeof bundle !== 'object' || bundle === null || bundle.file !== BUNDLE_FILE || !isDigest(bundle.sha256))
    bad(`bundle must name ${BUNDLE_FILE} and its sha256`);
  // Provenance is outside the digest, so nothing else may hide in it.
  const p = m.provenance as Record<string, unknown> | undefined;
  const keys = typeof p === 'object' && p !== null ? Object.keys(p).sort().join(',') : '';
  const entryOk =
    p?.entry === undefined ||
    (typeof p.entry === 'string' && p.entry.length > 0 && p.entry.length <= 1024 && !/[\0\\]|^\//.test(p.entry));
  if (
    (keys !== 'gitCommit,gitDirty' && keys !== 'entry,gitCommit,gitDirty') ||
    !entryOk ||
    !(p?.gitCommit === null || (typeof p?.gitCommit === 'string' && /^[0-9a-f]{40,64}$/.test(p.gitCommit))) ||
    !(p?.gitDirty === null || typeof p?.gitDirty === 'boolean')
  )
    bad('provenance must be exactly { gitCommit: <sha> | null, gitDirty: boolean | null, entry?: <relative path> }');
  return m as unknown as ArtifactManifest;
}

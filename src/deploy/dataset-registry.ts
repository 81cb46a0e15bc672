import type { ArtifactManifest, DatasetManifest } from '../artifact/manifest.js';
import {
  DEFAULT_COMPATIBILITY,
  formatIncompatibility,
  type Incompatibility,
  parseVersion,
  readerViolations,
  satisfies,
} from '../dataset/compatibility.js';
import { SlipwayError } from '../errors.js';
import type { ControlStore, DatasetVersionRecord, DatasetVersionUse } from './control-store.js';
import type { Release } from './deployment.js';

/** The dataset versions an artifact declares, as the registry records them (inputs, then outputs). */
export function datasetUses(manifest: Pick<ArtifactManifest, 'inputs' | 'outputs'>): DatasetVersionUse[] {
  const use = (role: 'input' | 'output') => (d: DatasetManifest) => ({
    name: d.name,
    version: d.version,
    topic: d.topic,
    schema: d.schema,
    schemaDigest: d.schemaDigest,
    compatibility: d.compatibility ?? DEFAULT_COMPATIBILITY,
    role,
  });
  return [...manifest.inputs.map(use('input')), ...manifest.outputs.map(use('output'))];
}

/** Who produces or consumes a dataset version in an environment: one released pipeline. */
export interface LineageEntry {
  name: string;
  major: number;
  topic: string;
  environment: string;
  role: 'input' | 'output';
  pipeline: string;
  pipelineVersion: string;
  digest: string;
  /** The dataset version that pipeline is built with. */
  version: string;
}

/**
 * Who produces and consumes each major of datasets in each environment: the released pipelines
 * (`releases`) joined with the dataset versions their artifacts declare (`versions`). Sorted by
 * dataset, major, environment, role (producers first) and pipeline.
 */
export function datasetLineage(
  versions: readonly DatasetVersionRecord[],
  releases: readonly Release[],
  name?: string,
): LineageEntry[] {
  const out: LineageEntry[] = [];
  for (const v of versions) {
    if (name !== undefined && v.name !== name) continue;
    for (const use of v.usedBy) {
      for (const r of releases) {
        if (r.artifact.digest !== use.digest) continue;
        out.push({
          name: v.name,
          major: v.major,
          topic: v.topic,
          environment: r.environment,
          role: use.role,
          pipeline: r.pipeline,
          pipelineVersion: r.artifact.version,
          digest: r.artifact.digest,
          version: v.version,
        });
      }
    }
  }
  const seen = new Set<string>();
  return out
    .filter((e) => {
      const k = `${e.topic}|${e.environment}|${e.role}|${e.pipeline}|${e.digest}|${e.version}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .sort(
      (a, b) =>
        a.name.localeCompare(b.name) ||
        a.major - b.major ||
        a.environment.localeCompare(b.environment) ||
        (a.role === b.role ? 0 : a.role === 'output' ? -1 : 1) ||
        a.pipeline.localeCompare(b.pipeline),
    );
}

/** One reason a deployment would leave a reader unable to read what is written. */
export interface ReaderProblem {
  dataset: string;
  topic: string;
  reader: { pipeline: string; version: string; datasetVersion: string; range: string };
  writer: { pipeline: string; version: string; datasetVersion: string };
  reason: 'outside-range' | 'incompatible' | 'retired';
  incompatibilities: Incompatibility[];
  message: string;
}

interface Side {
  pipeline: string;
  version: string;
  dataset: DatasetManifest;
}

/**
 * Checks a pipeline about to be deployed in an environment against what is released there: each of
 * its inputs against the producers of that topic (their version must be in its range, default the
 * major, and their schema one its schema reads), and each of its outputs against the readers of that
 * topic (the same, the other way). A retired major may be neither read nor written.
 * `manifests` gives the manifest of a released artifact (by digest). The pipeline's own release is
 * left out: it is the one being replaced.
 */
export async function readerProblems(input: {
  manifest: Pick<ArtifactManifest, 'name' | 'version' | 'inputs' | 'outputs'>;
  releases: readonly Release[];
  manifests: (digest: string) => Promise<Pick<ArtifactManifest, 'inputs' | 'outputs'> | undefined>;
  retired?: ReadonlySet<string>;
}): Promise<ReaderProblem[]> {
  const { manifest } = input;
  const others: Array<{ release: Release; m: Pick<ArtifactManifest, 'inputs' | 'outputs'> }> = [];
  for (const r of input.releases) {
    if (r.pipeline === manifest.name) continue;
    const m = await input.manifests(r.artifact.digest);
    if (m !== undefined) others.push({ release: r, m });
  }
  const problems: ReaderProblem[] = [];
  const self = (d: DatasetManifest): Side => ({ pipeline: manifest.name, version: manifest.version, dataset: d });
  for (const d of [...manifest.inputs, ...manifest.outputs]) {
    const major = parseVersion(d.version)?.[0];
    if (input.retired?.has(`${d.name}@${major}`)) {
      const reading = manifest.inputs.includes(d);
      problems.push({
        dataset: d.name,
        topic: d.topic,
        reader: { pipeline: manifest.name, version: manifest.version, datasetVersion: d.version, range: d.range ?? '' },
        writer: { pipeline: manifest.name, version: manifest.version, datasetVersion: d.version },
        reason: 'retired',
        incompatibilities: [],
        message: `${manifest.name}@${manifest.version} ${reading ? 'reads' : 'writes'} ${d.topic}, which is retired: build it against a later major of ${d.name}.`,
      });
    }
  }
  for (const d of manifest.inputs) {
    for (const o of others)
      for (const w of o.m.outputs)
        if (w.topic === d.topic)
          problems.push(
            ...pair({ pipeline: o.release.pipeline, version: o.release.artifact.version, dataset: w }, self(d)),
          );
  }
  for (const d of manifest.outputs) {
    for (const o of others)
      for (const r of o.m.inputs)
        if (r.topic === d.topic)
          problems.push(
            ...pair(self(d), { pipeline: o.release.pipeline, version: o.release.artifact.version, dataset: r }),
          );
  }
  return problems;
}

function pair(writer: Side, reader: Side): ReaderProblem[] {
  const range = reader.dataset.range ?? `^${parseVersion(reader.dataset.version)?.[0] ?? 0}`;
  const base = {
    dataset: reader.dataset.name,
    topic: reader.dataset.topic,
    reader: { pipeline: reader.pipeline, version: reader.version, datasetVersion: reader.dataset.version, range },
    writer: { pipeline: writer.pipeline, version: writer.version, datasetVersion: writer.dataset.version },
  };
  const who = `${reader.pipeline}@${reader.version} reads ${reader.dataset.name}@${range} (built with ${reader.dataset.version}); ${writer.pipeline}@${writer.version} writes ${writer.dataset.name}@${writer.dataset.version}`;
  if (satisfies(writer.dataset.version, range) === false)
    return [
      {
        ...base,
        reason: 'outside-range',
        incompatibilities: [],
        message: `${who}, outside that range: deploy a producer in the range first, or a reader whose range includes ${writer.dataset.version}.`,
      },
    ];
  if (writer.dataset.schemaDigest === reader.dataset.schemaDigest) return [];
  const incompatibilities = readerViolations(
    { version: writer.dataset.version, schema: writer.dataset.schema },
    { version: reader.dataset.version, schema: reader.dataset.schema },
  );
  if (incompatibilities.length === 0) return [];
  return [
    {
      ...base,
      reason: 'incompatible',
      incompatibilities,
      message: `${who}, which the reader's schema refuses (${incompatibilities.length} incompatibilit${incompatibilities.length === 1 ? 'y' : 'ies'}): upgrade the reader first, or keep the producer on a version its readers read.`,
    },
  ];
}

/** Throws `SLIPWAY_READER_INCOMPATIBLE` listing every problem; nothing when there are none. */
export function assertReaders(problems: readonly ReaderProblem[], what: string, environment: string): void {
  if (problems.length === 0) return;
  const text = problems
    .map((p) => [`✗ ${p.message}`, ...p.incompatibilities.map(formatIncompatibility)].join('\n'))
    .join('\n');
  throw new SlipwayError(
    'SLIPWAY_READER_INCOMPATIBLE',
    `Deploying ${what} to ${environment} is refused: it would leave a reader unable to read what is written.\n${text}`,
    { details: { environment, problems: problems.map(({ message: _m, ...p }) => p) } },
  );
}

/**
 * Retires a major of a dataset in the registry: refused with `SLIPWAY_DATASET_IN_USE` while any
 * released pipeline (in any environment the store knows) reads or writes it, with
 * `SLIPWAY_DATASET_NOT_FOUND` when the registry has no version of that major.
 */
export async function retireDatasetMajor(store: ControlStore, name: string, major: number): Promise<LineageEntry[]> {
  const versions = (await store.datasetVersions({ name })).filter((v) => v.major === major);
  if (versions.length === 0) {
    const known = [...new Set((await store.datasetVersions({ name })).map((v) => v.major))];
    throw new SlipwayError(
      'SLIPWAY_DATASET_NOT_FOUND',
      `The registry has no version of ${name}.v${major}${known.length > 0 ? ` (it has majors ${known.join(', ')})` : ''}. \`slipway datasets\` lists what it holds.`,
      { details: { dataset: name, major } },
    );
  }
  const users = datasetLineage(versions, await store.listReleases(), name);
  if (users.length > 0) {
    throw new SlipwayError(
      'SLIPWAY_DATASET_IN_USE',
      `${name}.v${major} is still in use, so it cannot be retired:\n${users
        .map(
          (u) =>
            `  ${u.environment}: ${u.pipeline}@${u.pipelineVersion} ${u.role === 'output' ? 'writes' : 'reads'} it (as ${name}@${u.version})`,
        )
        .join(
          '\n',
        )}\nMove them to a later major first (\`slipway datasets migrate\` bridges the records), then retire it.`,
      { details: { dataset: name, major, users } },
    );
  }
  await store.retireDataset(name, major);
  return [];
}

/**
 * The reader check of a deployment (see {@link readerProblems}) against what is released in its
 * environment; throws `SLIPWAY_READER_INCOMPATIBLE` naming each problem.
 *
 * @example
 * await checkReadersForDeployment({ store, environment: 'prod', manifest, manifestOf: (a) => controller.manifestOf(a) })
 */
export async function checkReadersForDeployment(input: {
  store: ControlStore;
  environment: string;
  manifest: Pick<ArtifactManifest, 'name' | 'version' | 'inputs' | 'outputs'>;
  manifestOf: (artifact: Release['artifact']) => Promise<Pick<ArtifactManifest, 'inputs' | 'outputs'>>;
}): Promise<void> {
  const releases = await input.store.listReleases(input.environment);
  const retired = new Set(
    (await input.store.datasetVersions()).filter((v) => v.retiredAt !== null).map((v) => `${v.name}@${v.major}`),
  );
  const byDigest = new Map(releases.map((r) => [r.artifact.digest, r.artifact]));
  const problems = await readerProblems({
    manifest: input.manifest,
    releases,
    retired,
    manifests: async (digest) => {
      const artifact = byDigest.get(digest);
      if (artifact === undefined) return undefined;
      try {
        return await input.manifestOf(artifact);
      } catch {
        return undefined; // A released artifact no longer in the store: its runners say so elsewhere.
      }
    },
  });
  assertReaders(problems, `${input.manifest.name}@${input.manifest.version}`, input.environment);
}

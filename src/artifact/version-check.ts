import {
  type CompatibilityMode,
  checkCompatibility,
  compareVersions,
  DEFAULT_COMPATIBILITY,
  formatIncompatibility,
  type Incompatibility,
  parseVersion,
} from '../dataset/compatibility.js';
import { canonicalJson, type JsonSchema } from '../dataset/schema.js';
import { SlipwayError } from '../errors.js';
import { type ArtifactManifest, type DatasetManifest, shortDigest } from './manifest.js';

/** A dataset version something already declared: an artifact in the store, the registry, a release in git. */
export interface KnownDatasetVersion {
  name: string;
  version: string;
  schema: JsonSchema;
  schemaDigest: string;
  compatibility?: CompatibilityMode;
  /** Where it was seen: `artifact 3f2a9c1d7e0b (enrich-orders@1.0.0)`, `registry`, `git v1.2.0`. */
  source: string;
}

/** A pipeline version something already named: which code (digest) it is. */
export interface KnownPipelineVersion {
  name: string;
  version: string;
  digest: string;
  source: string;
}

export type VersionProblemReason =
  /** The same version names another schema (dataset) or other code (pipeline). */
  | 'not-bumped'
  /** A patch (or prerelease) changed the schema. */
  | 'schema-changed-in-patch'
  /** A minor is not compatible under the dataset's mode: it needs a new major. */
  | 'incompatible';

export interface VersionProblem {
  code: 'SLIPWAY_VERSION_NOT_BUMPED' | 'SLIPWAY_WRONG_BUMP';
  reason: VersionProblemReason;
  subject: 'dataset' | 'pipeline';
  name: string;
  version: string;
  /** The known version it clashes with, and where that was seen. */
  against: { version: string; source: string };
  /** The suggested version. */
  suggest: string;
  mode?: CompatibilityMode;
  incompatibilities: Incompatibility[];
  message: string;
}

/** The dataset versions an artifact declares (inputs and outputs, each once). */
export function datasetVersionsOf(manifest: ArtifactManifest, source?: string): KnownDatasetVersion[] {
  const from = source ?? `artifact ${shortDigest(manifest.digest)} (${manifest.name}@${manifest.version})`;
  const seen = new Map<string, KnownDatasetVersion>();
  for (const d of [...manifest.outputs, ...manifest.inputs]) {
    const key = `${d.name}@${d.version}|${d.schemaDigest}`;
    if (!seen.has(key)) seen.set(key, toKnown(d, from));
  }
  return [...seen.values()];
}

function toKnown(d: DatasetManifest, source: string): KnownDatasetVersion {
  return {
    name: d.name,
    version: d.version,
    schema: d.schema,
    schemaDigest: d.schemaDigest,
    ...(d.compatibility === undefined ? {} : { compatibility: d.compatibility }),
    source,
  };
}

const ANNOTATIONS = new Set(['title', 'description', '$comment', 'examples', 'deprecated', 'readOnly', 'writeOnly']);
const DATA = new Set(['const', 'enum', 'default', 'examples']);

/** The schema without annotations (titles, descriptions, comments, examples): what a patch may change. */
export function structuralSchema(node: unknown, parentKey = ''): unknown {
  if (Array.isArray(node)) return node.map((n) => structuralSchema(n));
  if (typeof node !== 'object' || node === null || DATA.has(parentKey)) return node;
  const inProperties = parentKey === 'properties' || parentKey === '$defs' || parentKey === 'definitions';
  return Object.fromEntries(
    Object.entries(node as Record<string, unknown>)
      .filter(([k]) => inProperties || !ANNOTATIONS.has(k))
      .map(([k, v]) => [k, DATA.has(k) ? v : structuralSchema(v, inProperties ? '' : k)]),
  );
}

const sameStructure = (a: JsonSchema, b: JsonSchema): boolean =>
  canonicalJson(structuralSchema(a)) === canonicalJson(structuralSchema(b));

/**
 * Checks the versions an artifact declares against those already known. A dataset:
 *
 * - the same version with another schema: `SLIPWAY_VERSION_NOT_BUMPED`;
 * - a patch (same major and minor as the latest earlier version) that changes the schema beyond its
 *   annotations: `SLIPWAY_WRONG_BUMP` (`schema-changed-in-patch`);
 * - a minor that is not compatible with earlier versions of its major under its mode: `SLIPWAY_WRONG_BUMP`
 *   (`incompatible`), with each incompatibility;
 * - a new major: anything goes (it is a new topic).
 *
 * The pipeline: the same name and version as a known artifact with another digest is `SLIPWAY_VERSION_NOT_BUMPED`,
 * so a version names one code.
 *
 * @example
 * const problems = checkVersions(manifest, { datasets: known, pipelines: [] })
 */
export function checkVersions(
  manifest: ArtifactManifest,
  known: { datasets: readonly KnownDatasetVersion[]; pipelines: readonly KnownPipelineVersion[] },
): VersionProblem[] {
  const problems: VersionProblem[] = [];
  const clash = known.pipelines.find(
    (p) => p.name === manifest.name && p.version === manifest.version && p.digest !== manifest.digest,
  );
  if (clash !== undefined) {
    const suggest = bump(
      manifest.version,
      'patch',
      known.pipelines.filter((p) => p.name === manifest.name).map((p) => p.version),
    );
    problems.push({
      code: 'SLIPWAY_VERSION_NOT_BUMPED',
      reason: 'not-bumped',
      subject: 'pipeline',
      name: manifest.name,
      version: manifest.version,
      against: { version: clash.version, source: clash.source },
      suggest,
      incompatibilities: [],
      message: `pipeline ${manifest.name}@${manifest.version} is already ${shortDigest(clash.digest)} (${clash.source}), and this build is other code (${shortDigest(manifest.digest)}): a version names one code. Bump the pipeline's version (to ${suggest}) and build again.`,
    });
  }
  const candidates = datasetVersionsOf(manifest, 'this build');
  for (const c of candidates) problems.push(...checkDatasetVersion(c, known.datasets));
  return problems;
}

/** The problems of one dataset version against those known (see {@link checkVersions}). */
export function checkDatasetVersion(c: KnownDatasetVersion, known: readonly KnownDatasetVersion[]): VersionProblem[] {
  const parsed = parseVersion(c.version);
  if (parsed === undefined) return [];
  const same = known.filter((k) => k.name === c.name);
  const versions = same.map((k) => k.version);
  const at = `dataset ${c.name}@${c.version}`;
  const mode = c.compatibility ?? DEFAULT_COMPATIBILITY;
  const base = { subject: 'dataset' as const, name: c.name, version: c.version, mode };
  const sameVersion = same.find((k) => k.version === c.version && k.schemaDigest !== c.schemaDigest);
  if (sameVersion !== undefined) {
    const patch = sameStructure(sameVersion.schema, c.schema);
    const previous = same.filter(
      (k) => parseVersion(k.version)?.[0] === parsed[0] && compareVersions(k.version, c.version) < 0,
    );
    const report = checkCompatibility(mode, [...previous, sameVersion], {
      version: `${c.version} (this build)`,
      schema: c.schema,
    });
    const suggest = patch
      ? bump(c.version, 'patch', versions)
      : report.compatible
        ? bump(c.version, 'minor', versions)
        : bump(c.version, 'major', versions);
    return [
      {
        ...base,
        code: 'SLIPWAY_VERSION_NOT_BUMPED',
        reason: 'not-bumped',
        against: { version: sameVersion.version, source: sameVersion.source },
        suggest,
        incompatibilities: report.incompatibilities,
        message: `${at} has another schema than ${c.name}@${c.version} in ${sameVersion.source} (${shortDigest(sameVersion.schemaDigest)} there, ${shortDigest(c.schemaDigest)} here): a version names one schema. ${
          patch
            ? `Only annotations changed: bump the patch (${suggest}).`
            : report.compatible
              ? `The change is ${mode}-compatible: bump the minor (${suggest}).`
              : `The change is not ${mode}-compatible: bump the major (${suggest}, a new topic ${c.name}.v${(parseVersion(suggest) as number[])[0]}).`
        }`,
      },
    ];
  }
  const previous = same
    .filter((k) => parseVersion(k.version)?.[0] === parsed[0] && compareVersions(k.version, c.version) < 0)
    .sort((a, b) => compareVersions(a.version, b.version));
  const latest = previous.at(-1);
  if (latest === undefined) return [];
  const lp = parseVersion(latest.version) as [number, number, number, string];
  if (lp[1] === parsed[1]) {
    if (sameStructure(latest.schema, c.schema)) return [];
    const report = checkCompatibility(mode, previous, c);
    const suggest = report.compatible
      ? bump(latest.version, 'minor', versions)
      : bump(latest.version, 'major', versions);
    return [
      {
        ...base,
        code: 'SLIPWAY_WRONG_BUMP',
        reason: 'schema-changed-in-patch',
        against: { version: latest.version, source: latest.source },
        suggest,
        incompatibilities: report.incompatibilities,
        message: `${at} is a patch of ${latest.version} (${latest.source}) but changes the schema: a patch may change annotations only. ${
          report.compatible
            ? `The change is ${mode}-compatible: make it a minor (${suggest}).`
            : `The change is not ${mode}-compatible: make it a major (${suggest}, a new topic ${c.name}.v${(parseVersion(suggest) as number[])[0]}).`
        }`,
      },
    ];
  }
  const report = checkCompatibility(mode, previous, c);
  if (report.compatible) return [];
  const suggest = bump(latest.version, 'major', versions);
  const against =
    report.incompatibilities[0]?.direction === 'backward' ? report.incompatibilities[0].writer : latest.version;
  return [
    {
      ...base,
      code: 'SLIPWAY_WRONG_BUMP',
      reason: 'incompatible',
      against: { version: against, source: previous.find((p) => p.version === against)?.source ?? latest.source },
      suggest,
      incompatibilities: report.incompatibilities,
      message: `${at} is a minor of ${latest.version} (${latest.source}) but is not ${mode}-compatible (${report.incompatibilities.length} incompatibilit${report.incompatibilities.length === 1 ? 'y' : 'ies'}): fix them, or make it a major (${suggest}, a new topic ${c.name}.v${(parseVersion(suggest) as number[])[0]}, with an upcast from v${parsed[0]}).`,
    },
  ];
}

/** The next free version after `from` at a level, above every version already used in that major. */
function bump(from: string, level: 'major' | 'minor' | 'patch', used: string[]): string {
  const [major, minor, patch] = parseVersion(from) ?? [0, 0, 0];
  const all = used.map(parseVersion).filter((v) => v !== undefined);
  if (level === 'major') {
    const top = Math.max(major, ...all.map((v) => v[0]));
    return `${top + 1}.0.0`;
  }
  const sameMajor = all.filter((v) => v[0] === major);
  if (level === 'minor') return `${major}.${Math.max(minor, ...sameMajor.map((v) => v[1])) + 1}.0`;
  const sameMinor = sameMajor.filter((v) => v[1] === minor);
  return `${major}.${minor}.${Math.max(patch, ...sameMinor.map((v) => v[2])) + 1}`;
}

/** The problems as one text: each problem, then its incompatibilities with path, change, whom it breaks and a fix. */
export function formatVersionProblems(problems: readonly VersionProblem[]): string {
  return problems
    .map((p) => [`✗ ${p.message}`, ...p.incompatibilities.map(formatIncompatibility)].join('\n'))
    .join('\n');
}

/**
 * Throws the first problem's code with every problem in the message and in `details.problems`; does
 * nothing when there are none.
 */
export function assertVersions(problems: readonly VersionProblem[], what: string): void {
  const first = problems[0];
  if (first === undefined) return;
  throw new SlipwayError(
    first.code,
    `${what} is refused: ${problems.length === 1 ? 'a version is wrong' : `${problems.length} versions are wrong`}.\n${formatVersionProblems(problems)}`,
    {
      details: {
        problems: problems.map((p) => ({
          code: p.code,
          reason: p.reason,
          subject: p.subject,
          name: p.name,
          version: p.version,
          against: p.against,
          suggest: p.suggest,
          incompatibilities: p.incompatibilities,
        })),
      },
    },
  );
}

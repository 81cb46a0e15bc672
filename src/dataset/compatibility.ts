import type { JsonSchema } from './schema.js';
import { type SubsetRule, type SubsetViolation, schemaViolations } from './schema-subset.js';

/**
 * How the versions of a dataset within one major must relate (Confluent Schema Registry's modes):
 *
 * - `backward` (default): readers on the new version can read what the previous version wrote. Upgrade
 *   readers first — and a reader always meets old records: those already in the topic.
 * - `forward`: readers still on the previous version can read what the new version writes. Upgrade
 *   writers first.
 * - `full`: both.
 * - `…-transitive`: against every earlier version of the major, not only the previous one.
 * - `none`: no check (every change is the author's word).
 */
export const COMPATIBILITY_MODES = [
  'backward',
  'backward-transitive',
  'forward',
  'forward-transitive',
  'full',
  'full-transitive',
  'none',
] as const;

export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

/** The mode of a dataset that declares none. */
export const DEFAULT_COMPATIBILITY: CompatibilityMode = 'backward';

export function isCompatibilityMode(value: unknown): value is CompatibilityMode {
  return typeof value === 'string' && (COMPATIBILITY_MODES as readonly string[]).includes(value);
}

/** One version of a dataset's schema, as compared. */
export interface SchemaVersion {
  /** `1.2.0` */
  version: string;
  schema: JsonSchema;
}

/** Which way records flow in a failed check: `backward` = new readers, old records; `forward` = old readers, new records. */
export type Direction = 'backward' | 'forward';

/** One incompatibility, reported for people and machines. */
export interface Incompatibility {
  rule: SubsetRule;
  /** Where in the record (JSONPath): `$.items[*].sku`. */
  path: string;
  direction: Direction;
  /** The version whose records are read. */
  writer: string;
  /** The version that reads them. */
  reader: string;
  /** What changed, old → new: "`$.amount`: type number (1.0.0) → integer (1.1.0)". */
  change: string;
  /** Who it breaks: "readers on 1.1.0 reading records written by 1.0.0". */
  breaks: string;
  /** How to fix it. */
  fix: string;
}

export interface CompatibilityReport {
  mode: CompatibilityMode;
  compatible: boolean;
  /** The versions the new one was compared with, and which way. */
  checked: Array<{ version: string; direction: Direction }>;
  incompatibilities: Incompatibility[];
}

/**
 * Checks a new version of a dataset against earlier versions of the same major, under a mode.
 * `previous` may be in any order; the latest (by semver) is "the previous version".
 *
 * @example
 * const report = checkCompatibility('backward', [{ version: '1.0.0', schema: v1 }], { version: '1.1.0', schema: v11 })
 * if (!report.compatible) console.log(report.incompatibilities.map(formatIncompatibility).join('\n'))
 */
export function checkCompatibility(
  mode: CompatibilityMode,
  previous: readonly SchemaVersion[],
  next: SchemaVersion,
): CompatibilityReport {
  const sorted = [...previous].sort((a, b) => compareVersions(a.version, b.version));
  const against = mode.endsWith('-transitive') ? sorted : sorted.slice(-1);
  const directions: Direction[] =
    mode === 'none'
      ? []
      : mode.startsWith('backward')
        ? ['backward']
        : mode.startsWith('forward')
          ? ['forward']
          : ['backward', 'forward'];
  const checked: CompatibilityReport['checked'] = [];
  const incompatibilities: Incompatibility[] = [];
  for (const old of against) {
    for (const direction of directions) {
      checked.push({ version: old.version, direction });
      incompatibilities.push(...compareVersionsOf(old, next, direction));
    }
  }
  return { mode, compatible: incompatibilities.length === 0, checked, incompatibilities };
}

/**
 * The incompatibilities between two versions in one direction: `backward` checks that readers on `next`
 * can read records of `old`, `forward` that readers on `old` can read records of `next`.
 */
export function compareVersionsOf(old: SchemaVersion, next: SchemaVersion, direction: Direction): Incompatibility[] {
  const [writer, reader] = direction === 'backward' ? [old, next] : [next, old];
  return schemaViolations(writer.schema, reader.schema).map((v) => describe(v, direction, old.version, next.version));
}

/** Incompatibilities of a reader (`reader` reads what `writer` writes), for a live reader and a live producer. */
export function readerViolations(writer: SchemaVersion, reader: SchemaVersion): Incompatibility[] {
  const readerIsNew = compareVersions(reader.version, writer.version) >= 0;
  return schemaViolations(writer.schema, reader.schema).map((v) =>
    readerIsNew
      ? describe(v, 'backward', writer.version, reader.version)
      : describe(v, 'forward', reader.version, writer.version),
  );
}

function describe(v: SubsetViolation, direction: Direction, oldVersion: string, newVersion: string): Incompatibility {
  const backward = direction === 'backward';
  const writer = backward ? oldVersion : newVersion;
  const reader = backward ? newVersion : oldVersion;
  const [oldSide, newSide] = backward ? [v.writer, v.reader] : [v.reader, v.writer];
  return {
    rule: v.rule,
    path: v.path,
    direction,
    writer,
    reader,
    change: `${v.path}: ${oldSide} (${oldVersion}) → ${newSide} (${newVersion})`,
    breaks: backward
      ? `readers on ${reader} reading records written by ${writer} (already in the topic, or from producers not yet upgraded)`
      : `readers still on ${reader} reading records written by ${writer}`,
    fix: fixFor(v, backward ? 'reader' : 'writer'),
  };
}

/** How to fix a violation, given which side is the new version (the one the author can still change). */
function fixFor(v: SubsetViolation, newIs: 'reader' | 'writer'): string {
  const major = 'or make it a new major version (a new topic) with an upcast from the previous one';
  const p = v.path;
  if (newIs === 'reader') {
    switch (v.rule) {
      case 'required-added':
        return `make ${p} optional (records written before do not have it), ${major}`;
      case 'property-added-to-open-model':
        return `the previous version's content model is open, so old records may hold ${p} with any value: declare ${p} without constraints ({}), close the content model from the first version of a major (additionalProperties: false), ${major}`;
      case 'property-not-accepted':
        return `declare ${p} again (optional), or keep the content model open, ${major}`;
      case 'content-model-closed':
        return `keep the content model as open as before (records written before may carry undeclared properties), ${major}`;
      case 'unverifiable':
      case 'pattern-changed':
        return `keep ${p} as it was (Slipway cannot prove the new constraint accepts every old value), ${major}`;
      default:
        return `accept at ${p} everything the previous version allowed (${v.writer}), ${major}`;
    }
  }
  switch (v.rule) {
    case 'required-added':
      return `keep ${p} required and always written (readers on the previous version need it), ${major}`;
    case 'property-not-accepted':
      return `do not add ${p}: the previous version's content model is closed, so its readers refuse it; ${major}`;
    case 'property-added-to-open-model':
      return `declare ${p} as the previous version did, ${major}`;
    case 'content-model-closed':
      return `close the content model again (additionalProperties as before), ${major}`;
    case 'unverifiable':
    case 'pattern-changed':
      return `keep ${p} as it was (Slipway cannot prove old readers accept every new value), ${major}`;
    default:
      return `write at ${p} only what the previous version allowed (${v.reader}); to widen it, use mode backward (readers upgrade first) or ${major.slice(3)}`;
  }
}

/** One incompatibility as a few lines of text. */
export function formatIncompatibility(i: Incompatibility): string {
  return `  ✗ ${i.change}  [${i.rule}]\n      breaks: ${i.breaks}\n      fix:    ${i.fix}`;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

/** `[major, minor, patch, prerelease]`, or undefined for a version that is not semver. */
export function parseVersion(version: string): [number, number, number, string] | undefined {
  const m = SEMVER.exec(version);
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ''];
}

/** Orders semantic versions (a prerelease before its release). */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (x === undefined || y === undefined) return a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  if (x[3] === y[3]) return 0;
  if (x[3] === '') return 1;
  if (y[3] === '') return -1;
  return x[3].localeCompare(y[3]);
}

/**
 * Whether `version` is in a range: `^1.2` / `^1.2.3` (same major, at least that), `~1.2` (same minor),
 * `>=1.2.0`, `1.x` / `1` (the major), or an exact version. Undefined for a range it does not read.
 *
 * @example
 * satisfies('1.4.0', '^1.2') // true
 */
export function satisfies(version: string, range: string): boolean | undefined {
  const v = parseVersion(version);
  const r = parseRange(range);
  if (v === undefined || r === undefined) return undefined;
  const atLeast = compareVersions(version, `${r.min[0]}.${r.min[1]}.${r.min[2]}`) >= 0;
  if (r.kind === 'exact') return compareVersions(version, range.trim()) === 0;
  if (r.kind === 'gte') return atLeast;
  if (r.kind === 'tilde') return atLeast && v[0] === r.min[0] && v[1] === r.min[1];
  return atLeast && v[0] === r.min[0];
}

/** Parses a range as {@link satisfies} reads it; undefined when it is not one. */
export function parseRange(range: string): { kind: 'caret' | 'tilde' | 'gte' | 'exact'; min: number[] } | undefined {
  const text = range.trim();
  const m = /^(\^|~|>=)?\s*(\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(text);
  if (m === null)
    return parseVersion(text) === undefined
      ? undefined
      : { kind: 'exact', min: parseVersion(text)?.slice(0, 3) as number[] };
  const num = (s: string | undefined): number => (s === undefined || s === 'x' || s === '*' ? 0 : Number(s));
  const min = [Number(m[2]), num(m[3]), num(m[4])];
  if (m[1] === '>=') return { kind: 'gte', min };
  if (m[1] === '~') return { kind: 'tilde', min };
  if (m[1] === '^' || m[3] === undefined || m[3] === 'x' || m[3] === '*') return { kind: 'caret', min };
  if (m[4] === undefined || m[4] === 'x' || m[4] === '*') return { kind: 'tilde', min };
  return { kind: 'exact', min };
}

import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Dataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { StratumCount } from './reservoir.js';
import { isSampleStats, type SampleStats } from './stats.js';

/**
 * Samples live in the project, versioned with the dataset's major:
 *
 *   samples/<topic>/<name>.jsonl        one masked record per line, oldest first
 *   samples/<topic>/<name>.stats.json   the manifest (`sample`) and per-field stats, see stats.ts
 *
 * e.g. `samples/orders.v1/default.jsonl`. One folder per dataset major holds several named samples (`default`,
 * `black-friday`), each with its stats beside it, so a sample is referred to as `orders.v1/default`.
 * Both files are meant for git: records keep their field order, stats are sorted and pretty-printed.
 */

/** Where samples are kept unless told otherwise: `$SLIPWAY_SAMPLES`, else `samples` in the working directory. */
export function defaultSamplesRoot(): string {
  return resolve(process.env.SLIPWAY_SAMPLES ?? 'samples');
}

export const DEFAULT_SAMPLE_NAME = 'default';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const TOPIC = /^[a-z][a-z0-9_-]{0,99}\.v\d+$/;

/** How a sample was made: written beside its stats, read by `check`, tests and tools. */
export interface SampleManifest {
  format: 'slipway.sample';
  version: 1;
  name: string;
  dataset: { name: string; version: string; topic: string; key: string; schemaDigest: string };
  /** Records in the sample. */
  records: number;
  /** Records asked for (more than `records` when the log held fewer valid ones). */
  requestedSize: number;
  capturedAt: string;
  /** Seed of the record priorities: the same seed over the same log picks the same records. */
  seed: number;
  source: {
    engine: string;
    /** Offsets read per partition, `from` inclusive, `to` exclusive. */
    partitions: Array<{ partition: number; from: number; to: number }>;
    /** Records in the range (after the time window). */
    scanned: number;
    since?: string;
    until?: string;
  };
  /** Candidate records checked against the schema; invalid ones are skipped (only candidates are parsed). */
  validation: { examined: number; invalid: number; estimatedInvalidTotal: number; firstError?: string };
  stratification:
    | { by: 'none' }
    | { by: 'field'; field: string; minPerStratum: number; strata: StratumCount[] }
    | { by: 'keyHash'; buckets: number; minPerStratum: number; strata: StratumCount[] };
  masking: null | {
    digest: string;
    rules: Record<string, string>;
    allowUnmasked: string[];
    /** Fingerprint of the secret key (not the key): samples masked with different keys do not join. */
    keyId?: string;
  };
}

/** A sample as captured or read back. */
export interface Sample<T = unknown> {
  records: T[];
  stats: SampleStats;
  manifest: SampleManifest;
}

/** The stats file: stats with the manifest on top. */
export type SampleStatsFile = SampleStats & { sample: SampleManifest };

export interface SampleRef {
  topic: string;
  name: string;
}

/** Parses `orders.v1/default` (or `orders.v1`, meaning `default`). */
export function parseSampleRef(ref: string): SampleRef {
  const [topic, name = DEFAULT_SAMPLE_NAME, ...rest] = String(ref).split('/');
  if (topic === undefined || !TOPIC.test(topic) || !NAME.test(name) || rest.length > 0) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `'${ref}' is not a sample reference; write <topic>/<name>, e.g. orders.v1/default (the topic carries the dataset's major version).`,
      { details: { ref } },
    );
  }
  return { topic, name };
}

/** Checks a sample name (letters, digits, `.`, `_`, `-`). */
export function checkSampleName(name: string): string {
  if (!NAME.test(name)) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `Sample name '${name}' is invalid: use up to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.`,
      { details: { name } },
    );
  }
  return name;
}

/** The two files of a sample. */
export function samplePaths(root: string, ref: SampleRef): { dir: string; records: string; stats: string } {
  const dir = join(resolve(root), ref.topic);
  return { dir, records: join(dir, `${ref.name}.jsonl`), stats: join(dir, `${ref.name}.stats.json`) };
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

/**
 * Writes a sample's records and stats (replacing an earlier sample of that name; git keeps the history).
 * Each file is written to a temporary name and renamed, so a reader never sees half a sample.
 * Returns the paths written.
 *
 * @example
 * await writeSample(await captureSample({ log, dataset: orders, size: 10_000, masking: ordersMasking }))
 */
export async function writeSample(
  sample: Sample,
  options: { root?: string } = {},
): Promise<{ records: string; stats: string }> {
  const ref = { topic: sample.manifest.dataset.topic, name: checkSampleName(sample.manifest.name) };
  const paths = samplePaths(options.root ?? defaultSamplesRoot(), ref);
  await mkdir(paths.dir, { recursive: true });
  const lines = new Array<string>(sample.records.length);
  for (let i = 0; i < sample.records.length; i++) lines[i] = JSON.stringify(sample.records[i]);
  const file: SampleStatsFile = {
    format: sample.stats.format,
    version: sample.stats.version,
    sample: sample.manifest,
    records: sample.stats.records,
    fields: sample.stats.fields,
  };
  await writeAtomic(paths.records, lines.length === 0 ? '' : `${lines.join('\n')}\n`);
  await writeAtomic(paths.stats, `${JSON.stringify(file, null, 2)}\n`);
  return { records: paths.records, stats: paths.stats };
}

async function available(root: string): Promise<string> {
  const refs = await listSamples({ root });
  return refs.length === 0 ? `there are no samples under ${root}` : `samples under ${root}: ${refs.join(', ')}`;
}

/**
 * Reads a sample's manifest and stats without its records.
 *
 * @example
 * const { stats, manifest } = await readSampleStats('orders.v1/default')
 */
export async function readSampleStats(
  ref: string,
  options: { root?: string } = {},
): Promise<{ stats: SampleStats; manifest: SampleManifest }> {
  const root = resolve(options.root ?? defaultSamplesRoot());
  const parsed = parseSampleRef(ref);
  const paths = samplePaths(root, parsed);
  if (!existsSync(paths.stats)) {
    throw new SlipwayError(
      'SLIPWAY_SAMPLE_NOT_FOUND',
      `Sample ${parsed.topic}/${parsed.name} does not exist (no ${paths.stats}); ${await available(root)}. Capture one with \`slipway sample capture <dataset> --name ${parsed.name}\`.`,
      { details: { ref, path: paths.stats } },
    );
  }
  let file: SampleStatsFile;
  try {
    file = JSON.parse(await readFile(paths.stats, 'utf8')) as SampleStatsFile;
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_PARSE',
      `${paths.stats} is not valid JSON: ${(err as Error).message}. Capture the sample again.`,
      {
        cause: err,
        details: { path: paths.stats },
      },
    );
  }
  if (!isSampleStats(file) || typeof file.sample !== 'object' || file.sample === null) {
    throw new SlipwayError(
      'SLIPWAY_PARSE',
      `${paths.stats} is not a Slipway sample stats file (format slipway.sample-stats). Capture the sample again.`,
      {
        details: { path: paths.stats },
      },
    );
  }
  const { sample: manifest, ...stats } = file;
  return { stats: stats as SampleStats, manifest };
}

/**
 * Reads a whole sample: records, stats and manifest.
 *
 * @example
 * const { records, stats, manifest } = await readSample('orders.v1/default')
 */
export async function readSample<T = unknown>(ref: string, options: { root?: string } = {}): Promise<Sample<T>> {
  const { stats, manifest } = await readSampleStats(ref, options);
  const root = resolve(options.root ?? defaultSamplesRoot());
  const paths = samplePaths(root, parseSampleRef(ref));
  const records = await readJsonl<T>(paths.records);
  return { records, stats, manifest };
}

async function readJsonl<T>(path: string): Promise<T[]> {
  if (!existsSync(path)) {
    throw new SlipwayError(
      'SLIPWAY_SAMPLE_NOT_FOUND',
      `${path} is missing though its stats exist. Capture the sample again.`,
      {
        details: { path },
      },
    );
  }
  const text = await readFile(path, 'utf8');
  const out: T[] = [];
  let start = 0;
  let line = 1;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const s = text.slice(start, end).trim();
    if (s !== '') {
      try {
        out.push(JSON.parse(s) as T);
      } catch (err) {
        throw new SlipwayError('SLIPWAY_PARSE', `${path}:${line} is not valid JSON: ${(err as Error).message}`, {
          cause: err,
          details: { path, line },
        });
      }
    }
    start = end + 1;
    line++;
  }
  return out;
}

export interface LoadSampleOptions<T> {
  /** Samples folder (default `$SLIPWAY_SAMPLES` or `./samples`). */
  root?: string;
  /** Checks every record against the dataset's schema (`SLIPWAY_VALIDATION` naming the line) and types them. */
  dataset?: Dataset<T>;
}

/**
 * Loads a sample's records as test fixtures.
 * Throws `SLIPWAY_SAMPLE_NOT_FOUND` (listing the samples there are) when it does not exist.
 *
 * @example
 * const orders = await loadSample('orders.v1/default')
 * const typed = await loadSample('orders.v1/default', { dataset: orders })   // validated, typed
 */
export async function loadSample<T = unknown>(ref: string, options: LoadSampleOptions<T> = {}): Promise<T[]> {
  const root = resolve(options.root ?? defaultSamplesRoot());
  const parsed = parseSampleRef(ref);
  const paths = samplePaths(root, parsed);
  if (!existsSync(paths.records)) {
    throw new SlipwayError(
      'SLIPWAY_SAMPLE_NOT_FOUND',
      `Sample ${parsed.topic}/${parsed.name} does not exist (no ${paths.records}); ${await available(root)}. Capture one with \`slipway sample capture <dataset> --name ${parsed.name}\`.`,
      { details: { ref, path: paths.records } },
    );
  }
  const records = await readJsonl<T>(paths.records);
  const dataset = options.dataset;
  if (dataset !== undefined) {
    if (dataset.topic !== parsed.topic) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Sample ${ref} belongs to ${parsed.topic}, not to dataset ${dataset.topic}.`,
        {
          details: { ref, dataset: dataset.topic },
        },
      );
    }
    records.forEach((r, i) => {
      const why = dataset.explain(r);
      if (why !== undefined) {
        throw new SlipwayError(
          'SLIPWAY_VALIDATION',
          `${paths.records}:${i + 1} does not match ${dataset.topic}: ${why}. The schema changed since the capture: capture the sample again.`,
          { details: { path: paths.records, line: i + 1 } },
        );
      }
    });
  }
  return records;
}

/** Every sample under the root, as `topic/name` references, sorted. */
export async function listSamples(options: { root?: string } = {}): Promise<string[]> {
  const root = resolve(options.root ?? defaultSamplesRoot());
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const topic of await readdir(root, { withFileTypes: true })) {
    if (!topic.isDirectory() || !TOPIC.test(topic.name)) continue;
    for (const f of await readdir(join(root, topic.name))) {
      if (f.endsWith('.jsonl')) out.push(`${topic.name}/${f.slice(0, -'.jsonl'.length)}`);
    }
  }
  return out.sort();
}

import type { Dataset } from '../dataset/dataset.js';
import { SlipwayError } from '../errors.js';
import type { Log, LogRecord } from '../log/log.js';
import { getPath, isValidPath, splitPath } from './field-paths.js';
import { createMasker, type Masker, type Masking } from './masking.js';
import { assertNoPii, scanForPii } from './pii.js';
import { keyBucket, recordPriority, StratifiedReservoir, type Stratum } from './reservoir.js';
import { computeStats } from './stats.js';
import { checkSampleName, DEFAULT_SAMPLE_NAME, type Sample, type SampleManifest } from './store.js';

/** How to spread a sample over groups of records. */
export type StratifyBy =
  | { /** A field path whose values are categories (an event type). */ field: string; minPerStratum?: number }
  | {
      /** Buckets of the record key's hash: spreads the sample over the key space. */ keyHashBuckets: number;
      minPerStratum?: number;
    };

export interface CaptureProgress {
  /** Records read so far. */
  scanned: number;
  /** Records in the offset range to read. */
  total: number;
  /** Records that were candidates (parsed and validated). */
  candidates: number;
}

export interface CaptureOptions<T> {
  log: Log;
  dataset: Dataset<T>;
  /** Records wanted. */
  size: number;
  /** Sample name (default `default`), recorded in the manifest. */
  name?: string;
  stratifyBy?: StratifyBy;
  /** Masking rules; without them every field is kept, and the PII scan stops fields that look personal. */
  masking?: Masking;
  /** Secret key of keyed rules; default `$SLIPWAY_MASK_KEY`. */
  maskKey?: string;
  /** Seed of the record priorities (default 1): the same seed over the same log gives the same sample. */
  seed?: number;
  /** Only records appended at or after this time (ms since the epoch or a Date). */
  since?: number | Date;
  /** Only records appended at or before this time. */
  until?: number | Date;
  /** Stop on unmasked fields that look like personal data (default true; `check` turns it off, it stores nothing). */
  piiScan?: boolean;
  /** Records per log read (default 2000). */
  batchSize?: number;
  signal?: AbortSignal;
  /** Called every 50,000 records or so, and at the end. */
  onProgress?: (progress: CaptureProgress) => void;
}

interface Kept {
  value: Record<string, unknown>;
  partition: number;
  offset: number;
  timestamp: number;
}

const PROGRESS_EVERY = 50_000;

function toMs(t: number | Date | undefined, what: string): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : t;
  if (!Number.isFinite(ms))
    throw new SlipwayError('SLIPWAY_USAGE', `${what} must be a time (ms since the epoch or a Date), got ${String(t)}.`);
  return ms;
}

/** The first offset whose timestamp is ≥ `since` (timestamps are append times, so they rise within a partition). */
async function firstOffsetAtOrAfter(
  log: Log,
  topic: string,
  partition: number,
  since: number,
  end: number,
): Promise<number> {
  let lo = 0;
  let hi = end;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const [rec] = await log.read(topic, partition, mid, 1);
    if (rec === undefined || rec.offset >= hi) {
      hi = mid;
    } else if (rec.timestamp < since) {
      lo = rec.offset + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

/**
 * Takes a representative, masked sample of a dataset from the log: reads every partition over the whole range
 * (or the `since`/`until` window), samples uniformly with O(1) work per record — optionally stratified by a
 * field or by key hash — then masks the kept records, checks they still match the schema, scans them for
 * unmasked personal data (`SLIPWAY_PII_UNMASKED`) and computes their stats. Writes nothing: pass the result
 * to `writeSample`.
 *
 * Only candidate records (about size·ln(N/size) of N) are parsed and validated; invalid ones are skipped and
 * counted (`manifest.validation`).
 *
 * @example
 * const sample = await captureSample({ log, dataset: orders, size: 10_000, masking: ordersMasking })
 * await writeSample(sample)          // samples/orders.v1/default.jsonl + default.stats.json
 */
export async function captureSample<T>(options: CaptureOptions<T>): Promise<Sample<T>> {
  const { log, dataset } = options;
  const size = options.size;
  if (!Number.isSafeInteger(size) || size < 1) {
    throw new SlipwayError('SLIPWAY_USAGE', `The sample size must be a whole number ≥ 1, got ${size}.`, {
      details: { size },
    });
  }
  const name = checkSampleName(options.name ?? DEFAULT_SAMPLE_NAME);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed))
    throw new SlipwayError('SLIPWAY_USAGE', `The seed must be a whole number, got ${seed}.`);
  const since = toMs(options.since, 'since');
  const until = toMs(options.until, 'until');
  const batchSize = options.batchSize ?? 2000;
  const stratify = options.stratifyBy;
  const minPerStratum = stratify?.minPerStratum ?? 1;
  let fieldPath: string[] | undefined;
  let buckets = 0;
  if (stratify !== undefined) {
    if ('field' in stratify) {
      if (!isValidPath(stratify.field) || stratify.field.includes('[]'))
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `Stratify field '${stratify.field}' must be a field path like type or payload.kind (no arrays).`,
        );
      fieldPath = splitPath(stratify.field);
    } else {
      buckets = stratify.keyHashBuckets;
      if (!Number.isInteger(buckets) || buckets < 1 || buckets > 1000)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `Key hash buckets must be a whole number from 1 to 1000, got ${buckets}.`,
        );
    }
    if (!Number.isInteger(minPerStratum) || minPerStratum < 0)
      throw new SlipwayError('SLIPWAY_USAGE', `minPerStratum must be a whole number ≥ 0, got ${minPerStratum}.`);
  }
  if (options.masking !== undefined && options.masking.dataset.topic !== dataset.topic) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `The masking given is for ${options.masking.dataset.topic}, not for ${dataset.topic}. Pass the masking defined for ${dataset.topic}.`,
    );
  }
  // Before the long scan: a missing key fails now, not after reading a million records.
  const masker: Masker | undefined =
    options.masking === undefined ? undefined : await createMasker(options.masking, { key: options.maskKey });

  const topic = dataset.topic;
  const info = await log.describeTopic(topic);
  if (info === undefined) {
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `Topic ${topic} does not exist in the ${log.engine} log, so there is nothing to sample. Produce records first, or point --log at the right log.`,
      { details: { topic } },
    );
  }
  const ranges: Array<{ partition: number; from: number; to: number }> = [];
  for (let p = 0; p < info.partitions; p++) {
    const to = await log.endOffset(topic, p);
    const from = since === undefined ? 0 : await firstOffsetAtOrAfter(log, topic, p, since, to);
    ranges.push({ partition: p, from, to });
  }
  const total = ranges.reduce((n, r) => n + (r.to - r.from), 0);

  const reservoir = new StratifiedReservoir<Kept>({
    size,
    minPerStratum: stratify === undefined ? 0 : minPerStratum,
    describe: fieldPath !== undefined ? `field '${(stratify as { field: string }).field}'` : 'key hash',
  });
  reservoir.remaining = total;
  const single = stratify === undefined ? reservoir.stratum('all') : undefined;
  const bucketStrata: Array<Stratum<Kept>> = [];
  for (let b = 0; b < buckets; b++) bucketStrata.push(reservoir.stratum(`bucket-${String(b).padStart(3, '0')}`));

  let read = 0;
  let scanned = 0;
  let examined = 0;
  let invalid = 0;
  let firstError: string | undefined;
  let lastProgress = 0;
  const parse = (r: LogRecord): Record<string, unknown> | undefined => {
    try {
      return JSON.parse(r.value) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const reject = (why: string | undefined): void => {
    invalid++;
    firstError ??= why;
  };

  for (const range of ranges) {
    let offset = range.from;
    while (offset < range.to) {
      if (options.signal?.aborted) {
        throw new SlipwayError(
          'SLIPWAY_INTERRUPTED',
          `Capture of ${topic} interrupted after ${read} of ${total} records; nothing was written.`,
          { details: { read, total } },
        );
      }
      const batch = await log.read(topic, range.partition, offset, Math.min(batchSize, range.to - offset));
      if (batch.length === 0) break;
      const partition = range.partition;
      for (let i = 0; i < batch.length; i++) {
        const r = batch[i] as LogRecord;
        if (r.offset >= range.to) break;
        read++;
        if ((since !== undefined && r.timestamp < since) || (until !== undefined && r.timestamp > until)) continue;
        scanned++;
        let value: Record<string, unknown> | undefined;
        let stratum = single as Stratum<Kept>;
        if (fieldPath !== undefined) {
          value = parse(r);
          examined++;
          if (value === undefined) {
            reject('not valid JSON');
            continue;
          }
          const v = getPath(value, fieldPath);
          stratum = reservoir.stratum(v === undefined ? '(missing)' : typeof v === 'string' ? v : JSON.stringify(v));
        } else if (buckets > 0) {
          let key = r.key;
          if (key === null) {
            value = parse(r);
            key = value === undefined ? '' : String(value[dataset.key]);
          }
          stratum = bucketStrata[keyBucket(key, buckets)] as Stratum<Kept>;
        }
        const priority = recordPriority(seed, partition, r.offset);
        if (!reservoir.consider(stratum, priority)) continue;
        if (fieldPath === undefined) examined++;
        value ??= parse(r);
        if (value === undefined) {
          reject('not valid JSON');
          continue;
        }
        if (!dataset.is(value)) {
          reject(dataset.explain(value));
          continue;
        }
        reservoir.add(stratum, priority, { value, partition, offset: r.offset, timestamp: r.timestamp });
      }
      offset = (batch[batch.length - 1] as LogRecord).offset + 1;
      reservoir.remaining = total - read;
      if (options.onProgress !== undefined && read - lastProgress >= PROGRESS_EVERY) {
        lastProgress = read;
        options.onProgress({ scanned: read, total, candidates: examined });
      }
    }
  }
  options.onProgress?.({ scanned: read, total, candidates: examined });

  const { items, strata } = reservoir.finish();
  // Oldest first: a sample replays like the traffic it came from.
  items.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
  const records = items.map((k) => k.value);
  if (masker !== undefined) {
    for (const r of records) masker.mask(r);
    const broken = records.findIndex((r) => !dataset.is(r));
    if (broken !== -1) {
      throw new SlipwayError(
        'SLIPWAY_VALIDATION',
        `After masking, records of ${topic} no longer match its schema (${dataset.explain(records[broken])}). ` +
          `Choose rules that keep values valid, e.g. { fake: 'email' } for an email-formatted field or { fake: 'id' } for an id, instead of 'hash' or 'redact'. Nothing was written.`,
        { details: { topic } },
      );
    }
  }
  if (options.piiScan !== false) {
    assertNoPii(scanForPii(records, { isDeclared: masker?.isDeclared, schema: dataset.schema }), topic);
  }
  const stats = computeStats(records);
  const manifest: SampleManifest = {
    format: 'slipway.sample',
    version: 1,
    name,
    dataset: {
      name: dataset.name,
      version: dataset.version,
      topic,
      key: dataset.key,
      schemaDigest: dataset.schemaDigest,
    },
    records: records.length,
    requestedSize: size,
    capturedAt: new Date().toISOString(),
    seed,
    source: {
      engine: log.engine,
      partitions: ranges,
      scanned,
      ...(since === undefined ? {} : { since: new Date(since).toISOString() }),
      ...(until === undefined ? {} : { until: new Date(until).toISOString() }),
    },
    validation: {
      examined,
      invalid,
      estimatedInvalidTotal: examined === 0 ? 0 : Math.round((invalid / examined) * scanned),
      ...(firstError === undefined ? {} : { firstError }),
    },
    stratification:
      stratify === undefined
        ? { by: 'none' }
        : 'field' in stratify
          ? { by: 'field', field: stratify.field, minPerStratum, strata }
          : { by: 'keyHash', buckets, minPerStratum, strata },
    masking:
      options.masking === undefined
        ? null
        : {
            digest: options.masking.digest,
            rules: { ...options.masking.described },
            allowUnmasked: [...options.masking.allowUnmasked],
            ...(masker?.keyId === undefined ? {} : { keyId: masker.keyId }),
          },
  };
  return { records: records as T[], stats, manifest };
}

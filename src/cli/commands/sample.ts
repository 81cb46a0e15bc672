import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { type Dataset, isDataset } from '../../dataset/dataset.js';
import { SlipwayError } from '../../errors.js';
import type { AppendRecord } from '../../log/log.js';
import { partitionFor } from '../../log/partitioner.js';
import { isPipeline } from '../../pipeline/pipeline.js';
import { findProjectFile, type LoadedModule, pickDataset } from '../../project/load-module.js';
import { type CaptureProgress, captureSample, type StratifyBy } from '../../samples/capture.js';
import { compareStats, type DriftReport } from '../../samples/drift.js';
import { isMasking, type Masking } from '../../samples/masking.js';
import type { SampleStats } from '../../samples/stats.js';
import {
  DEFAULT_SAMPLE_NAME,
  defaultSamplesRoot,
  listSamples,
  readSampleStats,
  type SampleManifest,
  writeSample,
} from '../../samples/store.js';
import { createSynthesizer } from '../../samples/synth.js';
import { createDatasetTopic } from '../../topics/dataset-topic.js';
import { type CliContext, intOption } from '../context.js';
import { withDatasetFormat } from '../dataset-format.js';

interface CommonOptions {
  project?: string;
  dir?: string;
  masking?: string;
}

interface CaptureFlags extends CommonOptions {
  size: number;
  name: string;
  stratifyBy?: string;
  keyBuckets?: number;
  minPerStratum?: number;
  since?: string;
  until?: string;
  seed: number;
}

interface CheckFlags extends CommonOptions {
  sample: string;
  against?: string;
  size?: number;
  since?: string;
  until?: string;
  seed?: number;
  json?: boolean;
}

interface SynthFlags extends CommonOptions {
  count: number;
  sample?: string;
  seed: number;
  out?: string;
  produce?: boolean;
}

const DURATION = /^(\d+)(ms|s|m|h|d|w)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `15m`, `2h`, `7d` ago, or an ISO time. */
export function parseTime(value: string, option: string, now = Date.now()): number {
  const d = DURATION.exec(value);
  if (d !== null) return now - Number(d[1]) * (UNIT_MS[d[2] as string] as number);
  const t = Date.parse(value);
  if (Number.isNaN(t)) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `${option} must be a duration ago (30s, 15m, 2h, 7d) or an ISO time (2026-03-01T00:00:00Z), got '${value}'.`,
    );
  }
  return t;
}

/**
 * Loads the project file once and finds the dataset and the maskings it exports. Mirrors `loadModule`, which
 * keeps only datasets and pipelines: importing the file a second time for its maskings would double the
 * start-up time (a fresh tsx namespace re-evaluates the whole module graph).
 */
async function loadProject(
  project: string | undefined,
  name: string,
): Promise<{ dataset: Dataset; maskings: Map<string, Masking> }> {
  const file = findProjectFile(project);
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new SlipwayError('SLIPWAY_FILE_NOT_FOUND', `${file} does not exist (looked at ${path}).`, {
      details: { path },
    });
  }
  let exported: Record<string, unknown>;
  try {
    exported = (
      /\.[cm]?tsx?$/.test(path)
        ? await (await import('tsx/esm/api')).tsImport(pathToFileURL(path).href, import.meta.url)
        : await import(pathToFileURL(path).href)
    ) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof SlipwayError) throw err;
    throw new SlipwayError('SLIPWAY_INVALID_DEFINITION', `Loading ${file} failed: ${(err as Error).message}`, {
      cause: err,
      details: { path },
    });
  }
  const values = Object.values(exported);
  const pipelines = values.filter(isPipeline);
  const datasets = new Map<string, Dataset>();
  for (const v of values) if (isDataset(v)) datasets.set(v.topic, v);
  for (const p of pipelines) for (const d of [...p.inputs, ...p.outputs]) datasets.set(d.topic, d);
  const module: LoadedModule = { path, datasets: [...datasets.values()], pipelines, tables: [] };
  const maskings = new Map<string, Masking>();
  for (const [exportName, value] of Object.entries(exported)) if (isMasking(value)) maskings.set(exportName, value);
  return { dataset: pickDataset(module, name), maskings };
}

/** The masking named by --masking, else the only one exported for the dataset, else none. */
function pickMasking(dataset: Dataset, maskings: Map<string, Masking>, named: string | undefined): Masking | undefined {
  if (named !== undefined) {
    const m = maskings.get(named);
    if (m === undefined) {
      throw new SlipwayError(
        'SLIPWAY_NOT_EXPORTED',
        `The project exports no masking named '${named}' (maskings: ${[...maskings.keys()].join(', ') || 'none'}). Export one made with defineMasking().`,
      );
    }
    if (m.dataset.topic !== dataset.topic) {
      throw new SlipwayError('SLIPWAY_USAGE', `Masking '${named}' is for ${m.dataset.topic}, not ${dataset.topic}.`);
    }
    return m;
  }
  const forDataset = [...maskings].filter(([, m]) => m.dataset.topic === dataset.topic);
  if (forDataset.length > 1) {
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `The project exports ${forDataset.length} maskings for ${dataset.topic} (${forDataset.map(([n]) => n).join(', ')}); choose one with --masking <name>.`,
    );
  }
  return forDataset[0]?.[1];
}

function stratification(opts: {
  stratifyBy?: string;
  keyBuckets?: number;
  minPerStratum?: number;
}): StratifyBy | undefined {
  if (opts.stratifyBy !== undefined && opts.keyBuckets !== undefined) {
    throw new SlipwayError('SLIPWAY_USAGE', 'Give at most one of --stratify-by <field> and --key-buckets <n>.');
  }
  const min = opts.minPerStratum === undefined ? {} : { minPerStratum: opts.minPerStratum };
  if (opts.stratifyBy !== undefined) return { field: opts.stratifyBy, ...min };
  if (opts.keyBuckets !== undefined) return { keyHashBuckets: opts.keyBuckets, ...min };
  return undefined;
}

function fromManifest(m: SampleManifest): StratifyBy | undefined {
  const s = m.stratification;
  if (s.by === 'field') return { field: s.field, minPerStratum: s.minPerStratum };
  if (s.by === 'keyHash') return { keyHashBuckets: s.buckets, minPerStratum: s.minPerStratum };
  return undefined;
}

function progressLine(topic: string): (p: CaptureProgress) => string {
  const started = performance.now();
  return (p) => {
    const secs = (performance.now() - started) / 1000;
    const pct = p.total === 0 ? 100 : Math.floor((p.scanned / p.total) * 100);
    return `sampling ${topic}: ${p.scanned}/${p.total} records (${pct}%), ${Math.round(p.scanned / Math.max(secs, 1e-3))}/s`;
  };
}

export function registerSample(program: Command, ctx: CliContext): void {
  const sample = program
    .command('sample')
    .description('Representative, masked data samples: capture, check for drift, synthesise load')
    .addHelpText(
      'after',
      '\nSamples are kept as samples/<topic>/<name>.jsonl with <name>.stats.json beside it; tests load them with\n' +
        "loadSample('orders.v1/default'). Masking rules come from defineMasking() exports of the project file;\n" +
        'keyed rules read the secret key from $SLIPWAY_MASK_KEY.',
    );

  sample
    .command('capture')
    .description('Take a representative sample of a dataset from the log, mask it, and store it with its stats')
    .argument('<dataset>', 'dataset name (orders) or topic (orders.v1), exported by the project file')
    .requiredOption('-s, --size <n>', 'records in the sample', intOption('--size', 1))
    .option('--name <name>', 'sample name', DEFAULT_SAMPLE_NAME)
    .option('--stratify-by <field>', 'spread the sample over the values of a field (e.g. an event type)')
    .option(
      '--key-buckets <n>',
      'spread the sample over n buckets of the record key hash',
      intOption('--key-buckets', 1),
    )
    .option('--min-per-stratum <n>', 'records each stratum gets at least (default 1)', intOption('--min-per-stratum'))
    .option('--since <time>', 'only records appended since a duration ago (2h, 7d) or an ISO time')
    .option('--until <time>', 'only records appended until a duration ago or an ISO time')
    .option(
      '--seed <n>',
      'seed of the sampling: the same seed over the same log gives the same sample',
      intOption('--seed'),
      1,
    )
    .option('--masking <export>', 'masking export to use (default: the one exported for the dataset)')
    .option('-p, --project <file>', 'module exporting the datasets and maskings (default: slipway.config.ts)')
    .option('--dir <path>', 'samples folder (default: $SLIPWAY_SAMPLES or ./samples)')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway sample capture orders --size 10000\n  slipway sample capture orders --size 2000 --name recent --since 24h --stratify-by currency',
    )
    .action(async (name: string, opts: CaptureFlags) => {
      const { dataset, maskings } = await loadProject(opts.project, name);
      const masking = pickMasking(dataset, maskings, opts.masking);
      const stratifyBy = stratification(opts);
      const since = opts.since === undefined ? undefined : parseTime(opts.since, '--since');
      const until = opts.until === undefined ? undefined : parseTime(opts.until, '--until');
      const root = resolve(opts.dir ?? defaultSamplesRoot());
      const log = await ctx.openLogForReading();
      const started = performance.now();
      try {
        const line = progressLine(dataset.topic);
        const result = await captureSample({
          log: await withDatasetFormat(ctx, log, dataset, 'slipway sample capture'),
          dataset,
          size: opts.size,
          name: opts.name,
          seed: opts.seed,
          ...(stratifyBy === undefined ? {} : { stratifyBy }),
          ...(masking === undefined ? {} : { masking }),
          ...(since === undefined ? {} : { since }),
          ...(until === undefined ? {} : { until }),
          signal: ctx.interrupted,
          onProgress: (p) => ctx.io.progress(line(p)),
        });
        ctx.io.done();
        const paths = await writeSample(result, { root });
        const m = result.manifest;
        const secs = ((performance.now() - started) / 1000).toFixed(1);
        ctx.io.err(`captured ${m.records} of ${m.source.scanned} records from ${dataset.topic} in ${secs}s`);
        if (m.masking !== null) {
          const rules = Object.entries(m.masking.rules).map(([p, r]) => `${p} (${r})`);
          ctx.io.err(
            `masked: ${rules.join(', ') || 'nothing'}${m.masking.keyId === undefined ? '' : `; key id ${m.masking.keyId}`}`,
          );
        } else {
          ctx.io.err(`no masking exported for ${dataset.topic}: fields were kept as they are (none looked personal)`);
        }
        if (m.stratification.by !== 'none') {
          ctx.io.err(
            `strata: ${m.stratification.strata.map((s) => `${s.stratum} ${s.kept}/${s.population}`).join(', ')}`,
          );
        }
        if (m.validation.invalid > 0) {
          ctx.io.err(
            `skipped ${m.validation.invalid} invalid records of ${m.validation.examined} checked (about ${m.validation.estimatedInvalidTotal} in the range; first: ${m.validation.firstError})`,
          );
        }
        if (m.records < opts.size)
          ctx.io.err(`the log held only ${m.records} valid records in range (asked for ${opts.size})`);
        ctx.io.err(`wrote ${shortPath(paths.records)} and ${shortPath(paths.stats)}`);
      } finally {
        await log.close();
      }
    });

  sample
    .command('check')
    .description(
      'Compare live data (or a newer sample) with a sample’s stats and report drift field by field; exit 1 on drift',
    )
    .argument('<dataset>', 'dataset name (orders) or topic (orders.v1)')
    .option('--sample <name>', 'the sample to compare against', DEFAULT_SAMPLE_NAME)
    .option('--against <name>', 'compare with another stored sample (a newer capture) instead of live data')
    .option('-s, --size <n>', 'records of live data to sample (default: the sample’s size)', intOption('--size', 1))
    .option('--since <time>', 'only live records appended since a duration ago (2h, 7d) or an ISO time')
    .option('--until <time>', 'only live records appended until a duration ago or an ISO time')
    .option('--seed <n>', 'seed of the live sampling (default: the sample’s)', intOption('--seed'))
    .option('--masking <export>', 'masking export to use (default: the one exported for the dataset)')
    .option('-p, --project <file>', 'module exporting the datasets and maskings (default: slipway.config.ts)')
    .option('--dir <path>', 'samples folder (default: $SLIPWAY_SAMPLES or ./samples)')
    .option('--json', 'print the drift report as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway sample check orders --since 24h\n  slipway sample check orders --against recent',
    )
    .action(async (name: string, opts: CheckFlags) => {
      const { dataset, maskings } = await loadProject(opts.project, name);
      const root = resolve(opts.dir ?? defaultSamplesRoot());
      const base = await readSampleStats(`${dataset.topic}/${opts.sample}`, { root });
      let current: { stats: SampleStats; manifest: SampleManifest };
      let what: string;
      if (opts.against !== undefined) {
        current = await readSampleStats(`${dataset.topic}/${opts.against}`, { root });
        what = `sample ${dataset.topic}/${opts.against}`;
      } else {
        const masking = pickMasking(dataset, maskings, opts.masking);
        if (
          masking !== undefined &&
          base.manifest.masking !== null &&
          masking.digest !== base.manifest.masking.digest
        ) {
          ctx.io.err(
            `note: the masking rules changed since ${dataset.topic}/${opts.sample} was captured; masked fields may differ`,
          );
        }
        const since = opts.since === undefined ? undefined : parseTime(opts.since, '--since');
        const until = opts.until === undefined ? undefined : parseTime(opts.until, '--until');
        const stratifyBy = fromManifest(base.manifest);
        const log = await ctx.openLogForReading();
        try {
          const line = progressLine(dataset.topic);
          current = await captureSample({
            log: await withDatasetFormat(ctx, log, dataset, 'slipway sample check'),
            dataset,
            size: opts.size ?? Math.max(1, base.manifest.records),
            seed: opts.seed ?? base.manifest.seed,
            piiScan: false,
            ...(stratifyBy === undefined ? {} : { stratifyBy }),
            ...(masking === undefined ? {} : { masking }),
            ...(since === undefined ? {} : { since }),
            ...(until === undefined ? {} : { until }),
            signal: ctx.interrupted,
            onProgress: (p) => ctx.io.progress(line(p)),
          });
          ctx.io.done();
        } finally {
          await log.close();
        }
        what = `live ${dataset.topic} (${current.manifest.records} records sampled)`;
      }
      const baseKey = base.manifest.masking?.keyId;
      const currentKey = current.manifest.masking?.keyId;
      if (baseKey !== undefined && currentKey !== undefined && baseKey !== currentKey) {
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `${dataset.topic}/${opts.sample} was masked with key id ${baseKey}, but ${what} with key id ${currentKey}: every masked value would differ. Set SLIPWAY_MASK_KEY to the key the sample was captured with.`,
        );
      }
      const withoutShapes = (stats: SampleStats): boolean => {
        const strings = Object.values(stats.fields).filter((f) => (f.types.string ?? 0) > 0);
        return strings.length > 0 && strings.every((f) => f.shape === undefined);
      };
      if (withoutShapes(base.stats) || withoutShapes(current.stats)) {
        ctx.io.err(
          `note: ${withoutShapes(base.stats) ? `${dataset.topic}/${opts.sample}` : what} was captured before string shapes were kept: string fields (ids, keys) are compared by presence and common values only; capture it again to compare their shape and values`,
        );
      }
      const report = compareStats(base.stats, current.stats);
      if (opts.json) ctx.io.out(JSON.stringify(report, null, 2));
      else printReport(ctx, report, `${dataset.topic}/${opts.sample}`, what);
      if (report.drifted) {
        const c = report.counts;
        throw new SlipwayError(
          'SLIPWAY_SAMPLE_DRIFT',
          `${what} drifted from sample ${dataset.topic}/${opts.sample}: ${c.drifted} drifted, ${c.new} new, ${c.missing} missing of ${report.fields.length} fields. ` +
            `If the change is expected, capture the sample again: slipway sample capture ${dataset.name} --name ${opts.sample} --size ${base.manifest.records}`,
          { details: { counts: c } },
        );
      }
    });

  sample
    .command('synth')
    .description('Generate schema-valid synthetic records, optionally shaped by a sample’s stats, for load tests')
    .argument('<dataset>', 'dataset name (orders) or topic (orders.v1)')
    .requiredOption('-n, --count <n>', 'records to generate', intOption('--count', 1))
    .option('--sample <name>', 'shape values by this sample’s stats (shares, quantiles, presence)')
    .option('--seed <n>', 'seed: the same seed gives the same records', intOption('--seed'), 1)
    .option('-o, --out <file>', 'write JSON Lines to a file (default: stdout)')
    .option('--produce', 'append the records to the dataset’s topic in the log, partitioned by key')
    .option('-p, --project <file>', 'module exporting the datasets (default: slipway.config.ts)')
    .option('--dir <path>', 'samples folder (default: $SLIPWAY_SAMPLES or ./samples)')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway sample synth orders -n 100000 --sample default --produce\n  slipway sample synth orders -n 1000 --out orders.jsonl',
    )
    .action(async (name: string, opts: SynthFlags) => {
      if (opts.out !== undefined && opts.produce === true) {
        throw new SlipwayError('SLIPWAY_USAGE', 'Give at most one of --out <file> and --produce.');
      }
      const { dataset } = await loadProject(opts.project, name);
      const root = resolve(opts.dir ?? defaultSamplesRoot());
      const stats =
        opts.sample === undefined
          ? undefined
          : (await readSampleStats(`${dataset.topic}/${opts.sample}`, { root })).stats;
      const synth = createSynthesizer({ dataset, seed: opts.seed, ...(stats === undefined ? {} : { stats }) });
      const batch = 5000;
      let written = 0;
      const started = performance.now();
      const log = opts.produce === true ? await ctx.openLog() : undefined;
      const file = opts.out === undefined ? undefined : await open(opts.out, 'w');
      try {
        if (log !== undefined) await createDatasetTopic(log, dataset);
        // A registry format on Kafka: written in the Confluent wire format, as a runner writes it.
        const writer =
          log === undefined ? undefined : await withDatasetFormat(ctx, log, dataset, 'slipway sample synth');
        while (written < opts.count && !ctx.interrupted.aborted) {
          const n = Math.min(batch, opts.count - written);
          if (writer !== undefined) {
            const now = Date.now();
            const records: AppendRecord[] = new Array(n);
            for (let i = 0; i < n; i++) {
              const value = synth.next();
              const key = dataset.keyOf(value);
              records[i] = {
                partition: partitionFor(key, dataset.partitions),
                key,
                value: JSON.stringify(value),
                timestamp: now,
              };
            }
            await writer.append(dataset.topic, records);
          } else {
            const lines = new Array<string>(n);
            for (let i = 0; i < n; i++) lines[i] = JSON.stringify(synth.next());
            if (file !== undefined) await file.write(`${lines.join('\n')}\n`);
            else for (const l of lines) ctx.io.out(l);
          }
          written += n;
          ctx.io.progress(`synthesised ${written}/${opts.count} ${dataset.topic} records`);
        }
        ctx.io.done();
        const secs = (performance.now() - started) / 1000;
        const where =
          log !== undefined ? `to ${dataset.topic}` : opts.out !== undefined ? `to ${opts.out}` : 'to stdout';
        ctx.io.err(
          `synthesised ${written} records ${where}${stats === undefined ? '' : ` shaped by ${dataset.topic}/${opts.sample}`} in ${secs.toFixed(1)}s (${Math.round(written / Math.max(secs, 1e-3))}/s)`,
        );
      } finally {
        await file?.close();
        await log?.close();
      }
    });

  sample
    .command('list')
    .description('List the stored samples')
    .option('--dir <path>', 'samples folder (default: $SLIPWAY_SAMPLES or ./samples)')
    .action(async (opts: { dir?: string }) => {
      const root = resolve(opts.dir ?? defaultSamplesRoot());
      const refs = await listSamples({ root });
      if (refs.length === 0) {
        ctx.io.out(`no samples under ${root}`);
        return;
      }
      for (const ref of refs) {
        const { manifest } = await readSampleStats(ref, { root });
        ctx.io.out(
          `${ref.padEnd(32)}  ${String(manifest.records).padStart(8)} records  captured ${manifest.capturedAt}`,
        );
      }
    });
}

/** A path relative to the working directory when it lies under it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

const STATUS_LABEL = { unchanged: 'ok', drifted: 'DRIFTED', new: 'NEW', missing: 'MISSING' } as const;

function printReport(ctx: CliContext, report: DriftReport, sampleRef: string, what: string): void {
  ctx.io.out(`comparing ${what} with sample ${sampleRef} (${report.baseRecords} records)`);
  const pct = (x: number): string => `${Math.round(x * 100)}%`;
  const rows = report.fields.map((f) => [
    f.path,
    STATUS_LABEL[f.status],
    `${pct(f.presence[0])} → ${pct(f.presence[1])}`,
    f.reasons.join('; '),
  ]);
  const header = ['FIELD', 'STATUS', 'PRESENCE', 'WHY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  ctx.io.out(fmt(header));
  for (const r of rows) ctx.io.out(fmt(r));
  const c = report.counts;
  ctx.io.out(`${c.unchanged} unchanged, ${c.drifted} drifted, ${c.new} new, ${c.missing} missing`);
}

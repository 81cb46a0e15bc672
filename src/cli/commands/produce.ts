import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Dataset } from '../../dataset/dataset.js';
import { generateValue, seededRandom } from '../../dataset/generate.js';
import { SlipwayError } from '../../errors.js';
import type { AppendRecord, Log } from '../../log/log.js';
import { partitionFor } from '../../log/partitioner.js';
import { findProjectFile, loadModule, pickDataset } from '../../project/load-module.js';
import { resolveSchemaRegistry } from '../../runtime/registry-options.js';
import { logWithFormats } from '../../runtime/value-codecs.js';
import { createDatasetTopic } from '../../topics/dataset-topic.js';
import { type CliContext, intOption } from '../context.js';

interface ProduceOptions {
  file?: string;
  generate?: boolean;
  rate?: number;
  count?: number;
  seed?: number;
  project?: string;
}

export function registerProduce(program: Command, ctx: CliContext): void {
  program
    .command('produce')
    .description('Append records to a dataset: from a JSON Lines file (validated first), or generated at a rate')
    .argument('<dataset>', 'dataset name (orders) or topic (orders.v1), exported by the project file')
    .option(
      '-f, --file <path>',
      'JSON Lines file, one record per line ("-" for stdin); every line is checked before any is written',
    )
    .option('-g, --generate', 'generate schema-valid records instead of reading a file')
    .option(
      '-r, --rate <n>',
      'records per second when generating (default: as fast as possible)',
      intOption('--rate', 1),
    )
    .option(
      '-n, --count <n>',
      'records to generate (default: until interrupted, or 1000 without --rate)',
      intOption('--count', 1),
    )
    .option('--seed <n>', 'seed for generated records', intOption('--seed'), 1)
    .option('-p, --project <file>', 'module exporting the datasets (default: slipway.config.ts)')
    .addHelpText(
      'after',
      '\nExamples:\n  slipway produce orders --file orders.jsonl\n  slipway produce orders --generate --rate 1000 --count 60000',
    )
    .action(async (name: string, opts: ProduceOptions) => {
      if ((opts.file === undefined) === (opts.generate !== true)) {
        throw new SlipwayError('SLIPWAY_USAGE', 'Give exactly one of --file <path> or --generate.');
      }
      const module = await loadModule(findProjectFile(opts.project));
      const dataset = pickDataset(module, name);
      // The whole file is checked before the log is opened: a file with bad lines creates nothing.
      const values = opts.file === undefined ? undefined : await readValidFile(ctx, dataset, opts.file);
      const log = await ctx.openLog();
      try {
        await createDatasetTopic(log, dataset);
        // A registry format on Kafka: written in the Confluent wire format, as a runner writes it.
        const registry = await resolveSchemaRegistry(ctx.logConfig().schemaRegistry);
        const formatted = logWithFormats(log, new Map([[dataset.topic, dataset]]), registry, 'slipway produce');
        const writer = formatted.log;
        const written =
          values !== undefined
            ? await produceValues(ctx, writer, dataset, values)
            : await produceGenerated(ctx, writer, dataset, opts);
        ctx.io.done();
        ctx.io.err(`produced ${written} records to ${dataset.topic}`);
      } finally {
        await log.close();
      }
    });
}

function toAppend(dataset: Dataset, value: unknown, now: number): AppendRecord {
  const key = dataset.keyOf(value);
  return { partition: partitionFor(key, dataset.partitions), key, value: JSON.stringify(value), timestamp: now };
}

/** Bad lines listed in the error; the rest are counted. */
const MAX_LISTED = 20;

interface BadLine {
  line: number;
  reason: string;
  json: boolean;
}

/**
 * Reads and validates the whole file, so a bad line writes nothing. Every bad line is found: the error
 * lists the first {@link MAX_LISTED} as `file:line: reason` and counts the rest. `SLIPWAY_PARSE` when
 * every bad line is bad JSON, else `SLIPWAY_VALIDATION`.
 */
async function readValidFile(ctx: CliContext, dataset: Dataset, file: string): Promise<unknown[]> {
  if (file !== '-' && !existsSync(file)) {
    throw new SlipwayError(
      'SLIPWAY_FILE_NOT_FOUND',
      `${file} does not exist. Pass a JSON Lines file with one ${dataset.topic} record per line.`,
    );
  }
  const input = file === '-' ? process.stdin : createReadStream(file, 'utf8');
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const values: unknown[] = [];
  const bad: BadLine[] = [];
  let badCount = 0;
  let notRecords = 0;
  let checked = 0;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    checked++;
    if (checked % 50_000 === 0) ctx.io.progress(`checked ${checked} lines`);
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      badCount++;
      if (bad.length < MAX_LISTED) bad.push({ line: lineNo, reason: (err as Error).message, json: true });
      continue;
    }
    const why = dataset.explain(value);
    if (why !== undefined) {
      badCount++;
      notRecords++;
      if (bad.length < MAX_LISTED) bad.push({ line: lineNo, reason: why, json: false });
      continue;
    }
    // Once a line is bad nothing is written: only the count of good lines matters from then on.
    if (badCount === 0) values.push(value);
  }
  if (badCount > 0) throw badLinesError(dataset, file, bad, { count: badCount, notRecords, checked });
  return values;
}

function badLinesError(
  dataset: Dataset,
  file: string,
  bad: BadLine[],
  { count, notRecords, checked }: { count: number; notRecords: number; checked: number },
): SlipwayError {
  const name = file === '-' ? '(stdin)' : file;
  const first = bad[0] as BadLine;
  // Bad JSON alone keeps its own code, as before; any line that is JSON but not a record makes it a validation error.
  const code = notRecords === 0 ? 'SLIPWAY_PARSE' : 'SLIPWAY_VALIDATION';
  const details = { file, line: first.line, bad: count, lines: bad.map(({ line, reason }) => ({ line, reason })) };
  if (count === 1) {
    const what = first.json
      ? `is not valid JSON (${first.reason})`
      : `does not match ${dataset.topic}: ${first.reason}`;
    return new SlipwayError(code, `${name}:${first.line} ${what}. Nothing was written.`, { details });
  }
  const listed = bad.map((b) => `  ${name}:${b.line}: ${b.json ? `not valid JSON (${b.reason})` : b.reason}`);
  const more = count > bad.length ? [`  … and ${count - bad.length} more bad lines`] : [];
  return new SlipwayError(
    code,
    `${name}: ${count} of ${checked} lines are bad (not valid JSON, or not matching ${dataset.topic}). Nothing was written; fix them and run again:\n${[...listed, ...more].join('\n')}`,
    { details },
  );
}

/** Appends checked values in batches. */
async function produceValues(ctx: CliContext, log: Log, dataset: Dataset, values: unknown[]): Promise<number> {
  const now = Date.now();
  for (let i = 0; i < values.length; i += 5000) {
    await log.append(
      dataset.topic,
      values.slice(i, i + 5000).map((v) => toAppend(dataset, v, now)),
    );
    ctx.io.progress(`written ${Math.min(values.length, i + 5000)}/${values.length}`);
  }
  return values.length;
}

async function produceGenerated(ctx: CliContext, log: Log, dataset: Dataset, opts: ProduceOptions): Promise<number> {
  const random = seededRandom(opts.seed ?? 1);
  const total = opts.count ?? (opts.rate === undefined ? 1000 : Number.POSITIVE_INFINITY);
  const started = performance.now();
  let written = 0;
  const tick = opts.rate === undefined ? 0 : Math.max(5, Math.min(100, 1000 / opts.rate));
  while (written < total && !ctx.interrupted.aborted) {
    const elapsed = performance.now() - started;
    const due = opts.rate === undefined ? written + 5000 : Math.floor((elapsed / 1000) * opts.rate) + 1;
    const n = Math.min(total, due) - written;
    if (n > 0) {
      const now = Date.now();
      const batch: AppendRecord[] = [];
      for (let i = 0; i < n; i++) {
        const value = generateValue(dataset.schema, random);
        if (!dataset.is(value)) {
          throw new SlipwayError(
            'SLIPWAY_VALIDATION',
            `Cannot generate records for ${dataset.topic}: its schema uses constraints the generator does not support (${dataset.explain(value)}). Use --file instead.`,
          );
        }
        batch.push(toAppend(dataset, value, now));
      }
      await log.append(dataset.topic, batch);
      written += n;
      ctx.io.progress(`produced ${written}${Number.isFinite(total) ? `/${total}` : ''} records to ${dataset.topic}`);
    }
    if (tick > 0) await new Promise((r) => setTimeout(r, tick));
  }
  return written;
}

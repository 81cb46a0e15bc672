import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import type { Dataset } from '../../dataset/dataset.js';
import { generateValue, seededRandom } from '../../dataset/generate.js';
import { SlipwayError } from '../../errors.js';
import type { AppendRecord, Log } from '../../log/log.js';
import { partitionFor } from '../../log/partitioner.js';
import { findProjectFile, loadModule, pickDataset } from '../../project/load-module.js';
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
      const log = await ctx.openLog();
      try {
        await createDatasetTopic(log, dataset);
        const written =
          opts.file !== undefined
            ? await produceFile(ctx, log, dataset, opts.file)
            : await produceGenerated(ctx, log, dataset, opts);
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

/** Reads and validates the whole file first, so a bad line writes nothing. */
async function produceFile(ctx: CliContext, log: Log, dataset: Dataset, file: string): Promise<number> {
  if (file !== '-' && !existsSync(file)) {
    throw new SlipwayError(
      'SLIPWAY_FILE_NOT_FOUND',
      `${file} does not exist. Pass a JSON Lines file with one ${dataset.topic} record per line.`,
    );
  }
  const input = file === '-' ? process.stdin : createReadStream(file, 'utf8');
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const values: unknown[] = [];
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new SlipwayError(
        'SLIPWAY_PARSE',
        `${file}:${lineNo} is not valid JSON (${(err as Error).message}). Nothing was written.`,
        {
          details: { file, line: lineNo },
        },
      );
    }
    const why = dataset.explain(value);
    if (why !== undefined) {
      throw new SlipwayError(
        'SLIPWAY_VALIDATION',
        `${file}:${lineNo} does not match ${dataset.topic}: ${why}. Nothing was written.`,
        {
          details: { file, line: lineNo },
        },
      );
    }
    values.push(value);
    if (values.length % 50_000 === 0) ctx.io.progress(`checked ${values.length} lines`);
  }
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

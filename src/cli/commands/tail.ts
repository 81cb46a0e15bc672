import type { Command } from 'commander';
import type { Dataset } from '../../dataset/dataset.js';
import { SlipwayError } from '../../errors.js';
import { lastRecords } from '../../log/last-records.js';
import type { Log, LogRecord } from '../../log/log.js';
import { findProjectFile, loadModule, pickDataset } from '../../project/load-module.js';
import { type CliContext, intOption } from '../context.js';
import { withDatasetFormat } from '../dataset-format.js';

interface TailOptions {
  lines?: number;
  from?: string;
  partition?: number;
  follow?: boolean;
  values?: boolean;
  project?: string;
}

/**
 * A topic name as given, or a dataset name resolved through the project file; with the dataset that writes the
 * topic when the project file declares one (its registry format, if any, decodes the values).
 */
async function resolveTopic(
  log: Log,
  name: string,
  project: string | undefined,
): Promise<{ topic: string; dataset?: Dataset }> {
  let module: Awaited<ReturnType<typeof loadModule>> | undefined;
  const load = async () => {
    module ??= await loadModule(findProjectFile(project));
    return module;
  };
  if ((await log.describeTopic(name)) !== undefined) {
    // A topic by its name: no project file is needed, but one that declares the topic tells its format.
    let dataset: Dataset | undefined;
    try {
      dataset = (await load()).datasets.find((d) => d.topic === name);
    } catch {
      dataset = undefined;
    }
    return dataset === undefined ? { topic: name } : { topic: name, dataset };
  }
  try {
    await load();
  } catch {
    const topics = (await log.listTopics()).map((t) => t.name);
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `No topic '${name}' in the log (topics: ${topics.join(', ') || 'none'}). Name a topic such as orders.v1.`,
    );
  }
  const dataset = pickDataset(await load(), name);
  if ((await log.describeTopic(dataset.topic)) === undefined) {
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `Dataset ${name} has no topic ${dataset.topic} in the log yet: nothing has been produced to it.`,
    );
  }
  return { topic: dataset.topic, dataset };
}

export function registerTail(program: Command, ctx: CliContext): void {
  program
    .command('tail')
    .description('Print the records of a dataset or topic as JSON lines, optionally following new ones')
    .argument('<dataset>', 'topic (orders.v1, orders.v1.dlq) or dataset name from the project file')
    .option(
      '-n, --lines <n>',
      'records to show per partition from the end (ignored with --from)',
      intOption('--lines'),
      10,
    )
    .option('--from <where>', "'beginning', 'end', or an offset")
    .option('--partition <p>', 'only this partition', intOption('--partition'))
    .option('-f, --follow', 'keep printing new records until interrupted')
    .option('--values', 'print only the record values')
    .option('-p, --project <file>', 'module exporting the datasets (default: slipway.config.ts)')
    .action(async (name: string, opts: TailOptions) => {
      const base = await ctx.openLogForReading();
      try {
        const { topic, dataset } = await resolveTopic(base, name, opts.project);
        // A dataset in a registry format (avro(), jsonSchema()) on Kafka: values are decoded by their schema id,
        // as a runner reads them; a value that does not decode is shown with its reason and its bytes.
        const log = await withDatasetFormat(ctx, base, dataset, 'slipway tail', topic);
        const info = (await log.describeTopic(topic)) as { partitions: number };
        const partitions =
          opts.partition === undefined ? Array.from({ length: info.partitions }, (_, p) => p) : [opts.partition];
        const from = opts.from;
        if (from !== undefined && from !== 'beginning' && from !== 'end') {
          const offset = Number(from);
          if (!Number.isSafeInteger(offset) || offset < 0) {
            throw new SlipwayError(
              'SLIPWAY_USAGE',
              `--from must be 'beginning', 'end' or an offset ≥ 0, got '${from}'.`,
            );
          }
        }
        const print = (r: LogRecord): void => {
          const undecodable = r.undecodable;
          if (opts.values) ctx.io.out(undecodable === undefined ? r.value : JSON.stringify({ undecodable }));
          else {
            let value: unknown = r.value;
            try {
              value = undecodable === undefined ? JSON.parse(r.value) : null;
            } catch {
              // not JSON: print the text as is
            }
            ctx.io.out(
              JSON.stringify({
                topic: r.topic,
                partition: r.partition,
                offset: r.offset,
                key: r.key,
                timestamp: r.timestamp,
                headers: r.headers,
                value,
                ...(undecodable === undefined ? {} : { undecodable }),
              }),
            );
          }
        };
        const positions = new Map<number, number>();
        for (const p of partitions) {
          if (from === undefined) {
            // The last N records, not the records after end − N: offsets have gaps (Kafka's transaction markers).
            const last = await lastRecords(log, topic, p, opts.lines ?? 10);
            for (const r of last.records) print(r);
            positions.set(p, last.end);
          } else {
            positions.set(p, from === 'beginning' ? 0 : from === 'end' ? await log.endOffset(topic, p) : Number(from));
          }
        }
        for (;;) {
          let printed = 0;
          for (const p of partitions) {
            for (;;) {
              const records = await log.read(topic, p, positions.get(p) ?? 0, 1000);
              if (records.length === 0) break;
              for (const r of records) print(r);
              printed += records.length;
              positions.set(p, (records.at(-1) as LogRecord).offset + 1);
            }
          }
          if (!opts.follow || ctx.interrupted.aborted) break;
          if (printed === 0) await log.waitForChange({ timeoutMs: 500, signal: ctx.interrupted });
        }
      } finally {
        await base.close();
      }
    });
}

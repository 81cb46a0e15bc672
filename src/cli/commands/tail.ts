import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { lastRecords } from '../../log/last-records.js';
import type { Log, LogRecord } from '../../log/log.js';
import { findProjectFile, loadModule, pickDataset } from '../../project/load-module.js';
import { type CliContext, intOption } from '../context.js';

interface TailOptions {
  lines?: number;
  from?: string;
  partition?: number;
  follow?: boolean;
  values?: boolean;
  project?: string;
}

/** A topic name as given, or a dataset name resolved through the project file. */
async function resolveTopic(log: Log, name: string, project: string | undefined): Promise<string> {
  if ((await log.describeTopic(name)) !== undefined) return name;
  let module: Awaited<ReturnType<typeof loadModule>>;
  try {
    module = await loadModule(findProjectFile(project));
  } catch {
    const topics = (await log.listTopics()).map((t) => t.name);
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `No topic '${name}' in the log (topics: ${topics.join(', ') || 'none'}). Name a topic such as orders.v1.`,
    );
  }
  const topic = pickDataset(module, name).topic;
  if ((await log.describeTopic(topic)) === undefined) {
    throw new SlipwayError(
      'SLIPWAY_TOPIC_NOT_FOUND',
      `Dataset ${name} has no topic ${topic} in the log yet: nothing has been produced to it.`,
    );
  }
  return topic;
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
      const log = await ctx.openLogForReading();
      try {
        const topic = await resolveTopic(log, name, opts.project);
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
          if (opts.values) ctx.io.out(r.value);
          else {
            let value: unknown = r.value;
            try {
              value = JSON.parse(r.value);
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
        await log.close();
      }
    });
}

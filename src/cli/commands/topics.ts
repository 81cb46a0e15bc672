import type { Command } from 'commander';
import { formatRetention } from '../../dataset/retention.js';
import { findProjectFile, loadModule } from '../../project/load-module.js';
import {
  applyTopics,
  planTopics,
  type TopicPlan,
  type TopicPlanEntry,
  topicMismatchError,
} from '../../topics/topic-plan.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';

interface TopicsAsCodeOptions {
  project?: string;
  json?: boolean;
}

export function registerTopics(program: Command, ctx: CliContext): void {
  const topics = program
    .command('topics')
    .description(
      'List the topics of the log with their partitions and record counts (on Kafka counted by reading them); `topics plan` / `topics apply` compare them with the datasets',
    )
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const log = await ctx.openLogForReading();
      try {
        const rows = [];
        for (const t of await log.listTopics()) {
          // Slipway's own internal topics (recorded topic settings) are not the user's.
          if (t.name.startsWith('__')) continue;
          // Records are counted, not derived from offsets: on Kafka, offsets also number transaction markers, and a
          // partition may start past 0 (retention). The end offsets are shown too, as offsets.
          let records = 0;
          const ends = [];
          for (let p = 0; p < t.partitions; p++) {
            records += await log.countRecords(t.name, p);
            ends.push(await log.endOffset(t.name, p));
          }
          rows.push({ name: t.name, partitions: t.partitions, records, endOffsets: ends });
        }
        if (opts.json) {
          ctx.io.out(JSON.stringify(rows, null, 2));
          return;
        }
        if (rows.length === 0) {
          ctx.io.out(`no topics in ${ctx.logPath()}`);
          return;
        }
        const width = Math.max(5, ...rows.map((r) => r.name.length));
        ctx.io.out(`${'TOPIC'.padEnd(width)}  PARTITIONS  RECORDS`);
        for (const r of rows)
          ctx.io.out(`${r.name.padEnd(width)}  ${String(r.partitions).padStart(10)}  ${String(r.records).padStart(7)}`);
      } finally {
        await log.close();
      }
    });

  const asCode = (name: 'plan' | 'apply', description: string) =>
    topics
      .command(name)
      .description(description)
      .option('-p, --project <file>', 'module exporting the datasets (default: slipway.config.ts)')
      .option('--json', 'print the plan as JSON')
      .action(async (_opts: TopicsAsCodeOptions, cmd: Command) => {
        // `--json` is also an option of `topics` itself: read it from either.
        const opts = cmd.optsWithGlobals() as TopicsAsCodeOptions;
        const module = await loadModule(findProjectFile(opts.project));
        // The embedded log, or Kafka with the global `--kafka <brokers>` (or $SLIPWAY_KAFKA_BROKERS). `plan` only
        // reads: a log that does not exist is a mistyped path, not one to create.
        const log = name === 'plan' ? await ctx.openLogForReading() : await ctx.openLog();
        let plan: TopicPlan;
        try {
          plan = name === 'plan' ? await planTopics(log, module.datasets) : await applyTopics(log, module.datasets);
        } finally {
          await log.close();
        }
        if (opts.json) ctx.io.out(JSON.stringify(plan, null, 2));
        else printPlan(ctx, plan);
        const mismatch = topicMismatchError(plan);
        if (mismatch !== undefined) throw mismatch;
      });
  asCode(
    'plan',
    'Compare each dataset’s declared partitions and retention with its topic: ok, missing or mismatch. Changes nothing',
  ).addHelpText('after', '\nExit code 1 (SLIPWAY_TOPIC_MISMATCH) when a topic differs from its declaration.');
  asCode(
    'apply',
    'Create the missing topics with their declared partitions and retention; report (never change) mismatches',
  ).addHelpText('after', '\nExit code 1 (SLIPWAY_TOPIC_MISMATCH) when a topic differs from its declaration.');
}

function cell(entry: TopicPlanEntry, field: 'partitions' | 'retention'): string {
  const declared =
    field === 'partitions' ? String(entry.declared.partitions) : formatRetention(entry.declared.retentionMs);
  const diff = entry.differences.find((d) => d.field === field);
  if (diff !== undefined) {
    return `${declared} (actual ${field === 'partitions' ? diff.actual : formatRetention(diff.actual)})`;
  }
  const actual = entry.actual?.retentionMs;
  if (field === 'retention' && entry.declared.retentionMs === undefined && actual !== undefined) {
    return `(not declared; actual ${formatRetention(actual)})`;
  }
  return declared;
}

function printPlan(ctx: CliContext, plan: TopicPlan): void {
  const rows = plan.entries.map((e) => [e.status, e.dataset, e.topic, cell(e, 'partitions'), cell(e, 'retention')]);
  printTable(ctx.io, ['STATUS', 'DATASET', 'TOPIC', 'PARTITIONS', 'RETENTION'], rows);
  const count = (s: string) => plan.entries.filter((e) => e.status === s).length;
  const summary = (['ok', 'created', 'missing', 'mismatch'] as const)
    .filter((s) => count(s) > 0)
    .map((s) => `${count(s)} ${s}`)
    .join(', ');
  ctx.io.err(
    `${plan.engine} log: ${summary || 'no datasets'}` +
      (plan.retention === 'recorded' ? ' (retention is recorded by Slipway, not enforced, on this engine)' : ''),
  );
}

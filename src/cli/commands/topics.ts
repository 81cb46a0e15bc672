import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerTopics(program: Command, ctx: CliContext): void {
  program
    .command('topics')
    .description('List the topics of the log with their partitions and record counts')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const log = await ctx.openLog();
      try {
        const rows = [];
        for (const t of await log.listTopics()) {
          const ends = [];
          for (let p = 0; p < t.partitions; p++) ends.push(await log.endOffset(t.name, p));
          rows.push({
            name: t.name,
            partitions: t.partitions,
            records: ends.reduce((a, b) => a + b, 0),
            endOffsets: ends,
          });
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
}

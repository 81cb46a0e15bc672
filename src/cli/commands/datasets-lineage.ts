import type { Command } from 'commander';
import { datasetLineage } from '../../deploy/dataset-registry.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';
import { storeFromOption } from './artifacts.js';
import { catalog, find, STORE_OPTION } from './datasets-catalog.js';

/** `slipway datasets lineage orders`: who produces and consumes each major, per environment. */
export function registerDatasetsLineage(datasets: Command, ctx: CliContext): void {
  datasets
    .command('lineage')
    .description('Who produces and consumes each major of a dataset in each environment (the released pipelines)')
    .argument('<dataset>', 'e.g. orders')
    .option(...STORE_OPTION)
    .option('--control-plane <url>', 'the control plane whose registry to read')
    .option('--json', 'print JSON')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { store?: string; controlPlane?: string; json?: boolean };
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      if (!versions.some((v) => v.name === name)) find(versions, name, 'dataset');
      const lineage = datasetLineage(versions, registry?.releases ?? [], name);
      if (opts.json) {
        ctx.io.out(JSON.stringify(lineage, null, 2));
        return;
      }
      const majors = [...new Set(versions.filter((v) => v.name === name).map((v) => v.major))];
      const rows = majors.flatMap((m) => {
        const entries = lineage.filter((l) => l.major === m);
        const retired = versions.find((v) => v.name === name && v.major === m)?.retiredAt ?? null;
        if (entries.length === 0)
          return [[`${name}.v${m}`, '-', retired === null ? 'nobody (released)' : 'retired', '-', '-']];
        return entries.map((l) => [
          l.topic,
          l.environment,
          l.role === 'output' ? 'produces' : 'consumes',
          `${l.pipeline}@${l.pipelineVersion}`,
          l.version,
        ]);
      });
      printTable(ctx.io, ['TOPIC', 'ENVIRONMENT', 'ROLE', 'PIPELINE', 'AS VERSION'], rows);
    });
}

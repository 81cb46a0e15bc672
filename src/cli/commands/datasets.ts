import type { Command } from 'commander';
import { shortDigest } from '../../artifact/manifest.js';
import type { DatasetVersionRecord } from '../../deploy/control-store.js';
import { datasetLineage } from '../../deploy/dataset-registry.js';
import type { CliContext } from '../context.js';
import { printTable } from '../io.js';
import { storeFromOption } from './artifacts.js';
import { catalog, day, STORE_OPTION } from './datasets-catalog.js';
import { registerDatasetsCheck } from './datasets-check.js';
import { registerDatasetsDiff } from './datasets-diff.js';
import { registerDatasetsLineage } from './datasets-lineage.js';
import { registerDatasetsMigrate } from './datasets-migrate.js';
import { registerDatasetsRetire } from './datasets-retire.js';
import { registerDatasetsShow } from './datasets-show.js';

export function registerDatasets(program: Command, ctx: CliContext): void {
  const datasets = program
    .command('datasets')
    .description(
      'The dataset registry: every dataset version an artifact declared, its schema, mode, first sighting, who uses it and where; `datasets check` enforces the versioning strategy',
    )
    .option(...STORE_OPTION)
    .option('--control-plane <url>', 'the control plane whose registry to read (default: the project’s)')
    .option('--json', 'print JSON')
    .action(async (opts: { store?: string; controlPlane?: string; json?: boolean }) => {
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      const lineage = datasetLineage(versions, registry?.releases ?? []);
      const where = (v: DatasetVersionRecord, role: 'input' | 'output') => [
        ...new Set(
          lineage
            .filter((l) => l.name === v.name && l.version === v.version && l.role === role)
            .map((l) => l.environment),
        ),
      ];
      if (opts.json) {
        ctx.io.out(
          JSON.stringify(
            versions.map((v) => ({ ...v, producedIn: where(v, 'output'), consumedIn: where(v, 'input') })),
            null,
            2,
          ),
        );
        return;
      }
      if (versions.length === 0) {
        ctx.io.out('no dataset versions known yet: `slipway build <pipeline-file>` records those a pipeline declares');
        return;
      }
      printTable(
        ctx.io,
        ['DATASET', 'VERSION', 'TOPIC', 'MODE', 'SCHEMA', 'FIRST SEEN', 'BY', 'PRODUCED IN', 'CONSUMED IN'],
        versions.map((v) => [
          v.name,
          v.version,
          `${v.topic}${v.retiredAt === null ? '' : ' (retired)'}`,
          v.compatibility,
          shortDigest(v.schemaDigest),
          day(v.firstSeenAt),
          `${v.firstSeenBy.pipeline}@${v.firstSeenBy.version}`,
          where(v, 'output').join(',') || '-',
          where(v, 'input').join(',') || '-',
        ]),
      );
    });
  registerDatasetsShow(datasets, ctx);
  registerDatasetsDiff(datasets, ctx);
  registerDatasetsCheck(datasets, ctx);
  registerDatasetsLineage(datasets, ctx);
  registerDatasetsRetire(datasets, ctx);
  registerDatasetsMigrate(datasets, ctx);
}

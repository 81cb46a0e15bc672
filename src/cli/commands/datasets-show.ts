import type { Command } from 'commander';
import { shortDigest } from '../../artifact/manifest.js';
import {
  type CompatibilityMode,
  checkCompatibility,
  compareVersions,
  formatIncompatibility,
} from '../../dataset/compatibility.js';
import { datasetLineage } from '../../deploy/dataset-registry.js';
import type { CliContext } from '../context.js';
import { storeFromOption } from './artifacts.js';
import { catalog, day, find, STORE_OPTION } from './datasets-catalog.js';

/** `slipway datasets show orders@1.2.0`: one dataset version, its schema, users and compatibility with the version before it. */
export function registerDatasetsShow(datasets: Command, ctx: CliContext): void {
  datasets
    .command('show')
    .description(
      'One dataset version: its schema, mode, first sighting, the artifacts that use it, and how it relates to the version before it',
    )
    .argument('<dataset@version>', 'e.g. orders@1.2.0 (the newest version when the version is left out)')
    .option(...STORE_OPTION)
    .option('--control-plane <url>', 'the control plane whose registry to read')
    .option('--json', 'print JSON')
    .action(async (ref: string, _opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals() as { store?: string; controlPlane?: string; json?: boolean };
      const { versions, registry } = await catalog(ctx, storeFromOption(ctx, opts.store), opts.controlPlane);
      const v = find(versions, ref, 'dataset');
      const previous = versions.filter(
        (p) => p.name === v.name && p.major === v.major && compareVersions(p.version, v.version) < 0,
      );
      const report = checkCompatibility(v.compatibility as CompatibilityMode, previous, v);
      const lineage = datasetLineage([v], registry?.releases ?? []);
      if (opts.json) {
        ctx.io.out(JSON.stringify({ ...v, lineage, compatibility: report }, null, 2));
        return;
      }
      ctx.io.out(
        `${v.name}@${v.version}  topic ${v.topic}${v.retiredAt === null ? '' : ` (retired ${day(v.retiredAt)})`}`,
      );
      ctx.io.out(`  mode        ${v.compatibility}`);
      ctx.io.out(`  schema      ${v.schemaDigest}`);
      ctx.io.out(
        `  first seen  ${day(v.firstSeenAt)} in ${v.firstSeenBy.pipeline}@${v.firstSeenBy.version} (${shortDigest(v.firstSeenBy.digest)})`,
      );
      for (const u of v.usedBy)
        ctx.io.out(
          `  ${u.role === 'output' ? 'written by' : 'read by   '}  ${u.pipeline}@${u.version} (${shortDigest(u.digest)})`,
        );
      for (const l of lineage)
        ctx.io.out(
          `  ${l.environment}: ${l.pipeline}@${l.pipelineVersion} ${l.role === 'output' ? 'produces' : 'consumes'} it`,
        );
      const prev = previous.at(-1);
      if (prev === undefined) ctx.io.out('  the first version of its major');
      else
        ctx.io.out(
          `  ${report.compatible ? '✓' : '✗'} ${v.compatibility}-compatible with ${report.checked
            .map((c) => c.version)
            .filter((x, i, a) => a.indexOf(x) === i)
            .join(
              ', ',
            )}${report.compatible ? '' : `:\n${report.incompatibilities.map(formatIncompatibility).join('\n')}`}`,
        );
      ctx.io.out(JSON.stringify(v.schema, null, 2));
    });
}

import type { Command } from 'commander';
import type { DatastoreConnection } from '../../datastore/connection.js';
import { describeDatastore } from '../../datastore/connection.js';
import { resolveDatastore } from '../../environment/datastores.js';
import { SlipwayError } from '../../errors.js';
import { describeLogConfig, openLog } from '../../log/open-log.js';
import type { Pipeline } from '../../pipeline/pipeline.js';
import { loadModule, pickPipeline } from '../../project/load-module.js';
import { serveMetrics } from '../../runtime/metrics.js';
import { resolveSchemaRegistry } from '../../runtime/registry-options.js';
import { type RegistryUnavailableEvent, registryLine } from '../../runtime/registry-wait.js';
import { Runner } from '../../runtime/runner.js';
import { parseConfigOption } from '../config-option.js';
import { type CliContext, intOption } from '../context.js';
import { fenceOtherRunners, followRun, runAsGroup, runOwner } from './run-group.js';
import { refuseManagedPipeline } from './run-guard.js';

interface RunOptions {
  pipeline?: string;
  config?: string;
  metricsPort?: number;
  batchSize?: number;
  untilCaughtUp?: boolean;
  runners?: number;
  force?: boolean;
}

/**
 * The datastore a sink pipeline writes its table to: the one the environment (`--env`) declares under the
 * table's datastore name, resolved as `slipway deploy` resolves it (password from its secret reference).
 * Without `--env`, or when the environment does not declare it: `SLIPWAY_DATASTORE_NOT_DECLARED`.
 */
async function sinkDatastore(ctx: CliContext, pipeline: Pipeline): Promise<DatastoreConnection | undefined> {
  const sink = pipeline.sink;
  if (sink === undefined) return undefined;
  const env = ctx.environment();
  const loaded = ctx.project();
  if (env === undefined || loaded === undefined)
    throw new SlipwayError(
      'SLIPWAY_DATASTORE_NOT_DECLARED',
      `${pipeline.name} writes table ${sink.table.name} (datastore '${sink.table.datastore}'): run it with --env <environment> (or $SLIPWAY_ENV), an environment of slipway.config.ts that declares datastores.${sink.table.datastore}.`,
      { details: { pipeline: pipeline.name, table: sink.table.name, datastore: sink.table.datastore } },
    );
  return resolveDatastore(env, sink.table.datastore, loaded.dir);
}

export function registerRun(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description(
      'Run a pipeline on the log (embedded, or Kafka with --kafka), exactly once, until interrupted (Ctrl-C drains and stops)',
    )
    .argument('<pipeline-file>', 'TypeScript or JavaScript module exporting the pipeline')
    .option('--pipeline <name>', 'which pipeline, when the file exports several')
    .option('-c, --config <json>', 'pipeline config as JSON, or @file.json')
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics on http://127.0.0.1:<port>/metrics',
      intOption('--metrics-port'),
    )
    .option('--batch-size <n>', 'most records per atomic commit', intOption('--batch-size', 1), 2000)
    .option('--until-caught-up', 'stop once every input partition is processed to its end')
    .option(
      '--runners <n>',
      'run as n runner processes, each owning a share of the input partitions (to use more cores)',
      intOption('--runners', 1),
      1,
    )
    .option('--force', 'run it even when a control plane runs this pipeline on the same log (takes it over)')
    .action(async (file: string, opts: RunOptions) => {
      const module = await loadModule(file);
      const pipeline = pickPipeline(module, opts.pipeline);
      const config = parseConfigOption(opts.config);
      const runners = opts.runners ?? 1;
      const datastore = await sinkDatastore(ctx, pipeline);
      if (datastore !== undefined && runners > 1)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `--runners ${runners}: ${pipeline.name} writes a table, and slipway run runs a sink pipeline as one runner; run several under the control plane (slipway up, slipway scale).`,
          { details: { option: '--runners' } },
        );
      // Refused before anything starts when a control plane runs the pipeline here.
      const check = await openLog(ctx.logConfig());
      try {
        const warning = await refuseManagedPipeline(check, pipeline.name, opts.force === true);
        if (warning !== undefined) ctx.io.err(`warning: ${warning}`);
      } finally {
        await check.close();
      }
      if (runners > 1) {
        await runAsGroup(ctx, pipeline, {
          file,
          runners,
          config,
          batchSize: opts.batchSize ?? 2000,
          untilCaughtUp: opts.untilCaughtUp ?? false,
          ...(opts.metricsPort === undefined ? {} : { metricsPort: opts.metricsPort }),
        });
        return;
      }
      const schemaRegistry = await resolveSchemaRegistry(ctx.logConfig().schemaRegistry);
      const log = await openLog(ctx.logConfig(), { commitThread: true });
      let runner: Runner;
      try {
        runner = new Runner({
          pipeline,
          log,
          config,
          ...(schemaRegistry === undefined ? {} : { schemaRegistry }),
          batchSize: opts.batchSize ?? 2000,
          ...(datastore === undefined ? {} : { datastore }),
        });
      } catch (err) {
        // A runner refused at construction: the log's commit thread would keep the process from exiting.
        await log.close();
        throw err;
      }
      let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
      const totals = followRun(runner, ctx);
      runner.on('registry-unavailable', (e: RegistryUnavailableEvent) => ctx.io.err(registryLine(e)));
      try {
        await runner.start();
        // The runner fences its own owner; a group that ran the pipeline before wrote under others. (A sink's
        // epochs are in its datastore: runner.log is the sink's.)
        await fenceOtherRunners(runner.log, pipeline, [runOwner(pipeline)]);
        if (opts.metricsPort !== undefined) {
          metrics = await serveMetrics([runner.metrics.registry], {
            port: opts.metricsPort,
            beforeScrape: async () => void (await runner.lag()),
          });
          ctx.io.err(`metrics at ${metrics.url}`);
        }
        const into =
          datastore === undefined || pipeline.sink === undefined
            ? pipeline.outputs.map((d) => d.topic).join(', ')
            : `table ${pipeline.sink.table.name} in ${describeDatastore(datastore)}`;
        ctx.io.err(
          `running ${pipeline.name}@${pipeline.version} on the ${describeLogConfig(ctx.logConfig())} (${pipeline.inputs.map((d) => d.topic).join(', ')} → ${into})`,
        );
        const show = async (): Promise<void> => {
          const lag = (await runner.lag()).reduce((n, p) => n + p.lag, 0);
          ctx.io.progress(`in ${totals.inputs}  out ${totals.outputs}  dlq ${totals.dlq}  lag ${lag}`);
        };
        const timer = setInterval(() => void show().catch(() => {}), 1000);
        try {
          if (opts.untilCaughtUp) {
            await runner.drain();
          } else {
            await runner.activate();
            await new Promise<void>((resolve) => {
              ctx.interrupted.addEventListener('abort', () => resolve(), { once: true });
              runner.on('state', (s: string) => {
                if (s === 'failed' || s === 'fenced') resolve();
              });
            });
          }
        } finally {
          clearInterval(timer);
        }
        if (runner.state === 'fenced') {
          throw new SlipwayError(
            'SLIPWAY_FENCED',
            `Another instance of ${pipeline.name} took over; this one stopped without writing more.`,
          );
        }
        await runner.stop();
        if (runner.state === 'failed') throw runner.error;
        await show();
        ctx.io.done();
        ctx.io.err(
          `stopped ${pipeline.name}: ${totals.inputs} in, ${totals.outputs} out, ${totals.dlq} to the DLQ; offsets committed`,
        );
      } finally {
        await metrics?.close();
        await log.close();
      }
    });
}

import { relative } from 'node:path';
import type { Command } from 'commander';
import { exportObservability } from '../../environment/observability-export.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext } from '../context.js';

interface ExportOptions {
  project?: string;
  out: string;
  rateWindow?: string;
  json?: boolean;
}

export function registerObservability(program: Command, ctx: CliContext): void {
  const observability = program
    .command('observability')
    .description("Observability as code: an environment's SLOs as Prometheus alert rules and a Grafana dashboard");
  observability
    .command('export')
    .description(
      'Write <out>/slipway-<env>.rules.yml (Prometheus alert rules of the SLOs) and <out>/slipway-<env>.dashboard.json (a Grafana dashboard) for the environment --env names',
    )
    .option('--project <file>', 'the project file declaring the environments (default: slipway.config.ts here)')
    .option('--out <dir>', 'the folder to write into (created if missing)', 'observability')
    .option('--rate-window <duration>', 'the window of the latency and DLQ-ratio rates, e.g. 5m (default 5m)')
    .option('--json', 'print what was written as JSON')
    .action((opts: ExportOptions) => {
      const env = ctx.environment();
      const loaded = ctx.project();
      if (env === undefined || loaded === undefined)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          'slipway observability export needs an environment: pass --env <name> (or set $SLIPWAY_ENV) naming one the project declares.',
        );
      if (opts.rateWindow !== undefined && !/^\d+(ms|s|m|h|d)$/.test(opts.rateWindow))
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `--rate-window '${opts.rateWindow}' is not a duration: give one like 1m, 5m or 30s.`,
          { details: { field: 'rateWindow' } },
        );
      const out = exportObservability(loaded.project.spec, env.name, {
        outDir: opts.out,
        ...(opts.rateWindow === undefined ? {} : { rateWindow: opts.rateWindow }),
      });
      if (opts.json) return void ctx.io.out(JSON.stringify(out, null, 2));
      const shown = (p: string): string =>
        relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p);
      const n = out.alerts.length;
      ctx.io.out(
        `wrote ${shown(out.rulesPath)}  (${n} alert rule${n === 1 ? '' : 's'} for ${out.pipelines.length} pipeline${out.pipelines.length === 1 ? '' : 's'} in ${env.name})`,
      );
      for (const a of out.alerts) ctx.io.out(`  ${a.alert}  ${a.pipeline}`);
      ctx.io.out(`wrote ${shown(out.dashboardPath)}  (${out.panels} panels)`);
      if (n === 0)
        ctx.io.out(
          `no SLOs are declared for ${env.name}: add slos (per pipeline) to the project, or slo under environments.${env.name}.pipelines.<pipeline>, then export again.`,
        );
      else
        ctx.io.out(
          `load the rules in Prometheus (rule_files), scrape the control plane's /metrics, and import the dashboard in Grafana; check them with: promtool check rules ${shown(out.rulesPath)}`,
        );
    });
}

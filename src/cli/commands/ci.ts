import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { CI_PROVIDERS, type CiProvider, writeCiWorkflow } from '../../workflow/ci-workflow.js';
import type { CliContext } from '../context.js';

interface GenerateOptions {
  provider: string;
  entry?: string;
  dir: string;
  grace?: string;
}

export function registerCi(program: Command, ctx: CliContext): void {
  const ci = program
    .command('ci')
    .description('Continuous integration: the generated workflow and the broken-main guard');
  ci.command('generate')
    .description(
      'Write the CI workflow (install, lint, secret scan, tests, one build, the report bound to its digest, promotion dev → staging → prod); regenerating rewrites only the marked regions',
    )
    .requiredOption('--provider <name>', `CI provider: ${CI_PROVIDERS.join(' or ')}`)
    .option('--entry <pipeline-file>', 'the pipeline the artifact is built from', 'pipeline.ts')
    .option('--grace <duration>', 'grace period of the broken-main guard', '10m')
    .option('--dir <dir>', 'project folder', '.')
    .action((opts: GenerateOptions) => {
      if (!(CI_PROVIDERS as readonly string[]).includes(opts.provider))
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `--provider: '${opts.provider}' is not supported; use ${CI_PROVIDERS.join(' or ')}.`,
        );
      const { path, changed } = writeCiWorkflow(opts.dir, {
        provider: opts.provider as CiProvider,
        ...(opts.entry === undefined ? {} : { entry: opts.entry }),
        ...(opts.grace === undefined ? {} : { grace: opts.grace }),
      });
      ctx.io.err(changed ? `wrote ${path}` : `${path} is up to date`);
      ctx.io.out(path);
    });
}

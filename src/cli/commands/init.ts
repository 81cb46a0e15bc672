import { relative } from 'node:path';
import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { scaffoldProject } from '../../workflow/scaffold.js';
import type { CliContext } from '../context.js';

interface InitOptions {
  name?: string;
  slipway?: string;
  ci?: string;
}

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description(
      'Scaffold a project: a dataset, a pipeline, unit/integration/e2e tests, a masked sample, environments (local, dev, staging, prod), git hooks, a CI workflow',
    )
    .argument('[dir]', 'folder to create the project in', '.')
    .option('--name <name>', 'package name (default: the folder name)')
    .option(
      '--slipway <spec>',
      "how package.json depends on Slipway: a version, a tarball (file:…/slipway-0.1.0.tgz) or a git URL (default: this Slipway's version)",
    )
    .option('--ci <provider>', 'CI workflow to write: github, gitlab or none', 'github')
    .action((dir: string, opts: InitOptions) => {
      const ci = opts.ci ?? 'github';
      if (ci !== 'github' && ci !== 'gitlab' && ci !== 'none')
        throw new SlipwayError('SLIPWAY_USAGE', `--ci: '${ci}' is not a provider; use github, gitlab or none.`);
      const result = scaffoldProject({
        dir,
        ci,
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.slipway === undefined ? {} : { slipway: opts.slipway }),
      });
      for (const f of result.files) ctx.io.err(`  created ${f}`);
      const rel = relative(process.cwd(), result.dir);
      const cd = rel.startsWith('..') ? result.dir : rel;
      ctx.io.err(
        `\nA Slipway project in ${result.dir}. Next:\n${cd === '' ? '' : `  cd ${cd}\n`}  git init    # the hooks need a git repository\n  npm install # installs Slipway, TypeBox and the hooks\n  npm test`,
      );
    });
}

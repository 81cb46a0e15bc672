import type { Command } from 'commander';
import { SlipwayError } from '../../errors.js';
import { CI_PROVIDERS, type CiProvider, writeCiWorkflow } from '../../workflow/ci-workflow.js';
import { guardBranch, parseDuration } from '../../workflow/guard.js';
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

  ci.command('guard')
    .description(
      'The broken-main policy: when the branch is red, find the first bad commit since the last green one (bisecting with the test), re-run once to rule out a flaky test, and revert the culprit when no fix lands within the grace period',
    )
    .requiredOption('--test <command>', 'the test command (exit code 0 is green), run by the shell')
    .option('--grace <duration>', 'how long a fix may take after the culprit was committed (10m, 90s…)', '10m')
    .option('--push', 'push the revert to the remote')
    .option('--remote <name>', 'remote to look for fixes on and push to (default: origin when it exists)')
    .option('--branch <name>', 'branch to guard (default: the one checked out)')
    .option('--good <commit>', 'a commit known to be green (default: found by testing back along the branch)')
    .option('--poll <duration>', 'how often to look for a fix while the grace period runs', '15s')
    .action(
      async (opts: {
        test: string;
        grace: string;
        push?: boolean;
        remote?: string;
        branch?: string;
        good?: string;
        poll: string;
      }) => {
        const short = (c: string) => c.slice(0, 12);
        const result = await guardBranch({
          cwd: process.cwd(),
          test: opts.test,
          graceMs: parseDuration(opts.grace),
          pollMs: parseDuration(opts.poll),
          push: opts.push === true,
          signal: ctx.interrupted,
          ...(opts.remote === undefined ? {} : { remote: opts.remote }),
          ...(opts.branch === undefined ? {} : { branch: opts.branch }),
          ...(opts.good === undefined ? {} : { good: opts.good }),
          onEvent: (e) => {
            if (e.type === 'test')
              ctx.io.err(
                `  ${e.passed ? 'green' : 'red  '} ${short(e.commit)} ${e.subject}${e.rerun ? ' (re-run)' : ''}`,
              );
            else if (e.type === 'culprit')
              ctx.io.err(
                `first bad commit: ${short(e.commit)} ${e.subject} (last green ${short(e.lastGreen)}, ${e.tested} commits tested)`,
              );
            else if (e.type === 'waiting')
              ctx.io.err(`waiting for a fix until ${e.until.toISOString()} (grace ${opts.grace} after the culprit)`);
            else if (e.type === 'new-commits') ctx.io.err(`new commits on the branch: testing ${short(e.tip)}`);
          },
        });
        const say = {
          green: 'the branch is green: nothing to do',
          flaky: 'the test failed once and passed on the re-run: a flaky test, not a broken branch; nothing reverted',
          fixed: `fixed within the grace period by ${short(result.fix ?? '')}: nothing reverted`,
          reverted: `reverted ${short(result.culprit ?? '')} with ${short(result.revert ?? '')}${result.pushed ? ', pushed' : ' (committed locally; --push pushes it)'}: the branch was red for longer than ${opts.grace}`,
          red: 'the branch is red and no green commit was found to bisect from: fix it by hand (or name one with --good)',
        }[result.outcome];
        ctx.io.err(say);
        ctx.io.out(JSON.stringify(result));
        if (result.outcome === 'red') process.exitCode = 1;
      },
    );
}

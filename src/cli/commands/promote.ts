import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { SlipwayError } from '../../errors.js';
import type { CliContext } from '../context.js';
import { follow } from './deploy.js';

/** Who approves: `--by`, else `$SLIPWAY_USER`, else the OS user. */
function approver(by: string | undefined): string {
  if (by !== undefined) return by;
  const fromEnv = process.env.SLIPWAY_USER;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  try {
    return userInfo().username;
  } catch {
    throw new SlipwayError('SLIPWAY_USAGE', 'Cannot tell who approves: pass --by <name>.');
  }
}

export function registerPromote(program: Command, ctx: CliContext): void {
  const client = (opts: { controlPlane?: string }) => ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane);

  program
    .command('promote')
    .description(
      'Deploy into an environment the digest verified in the one before it (same bytes, no rebuild), with its config and policy',
    )
    .argument('<pipeline>', 'pipeline name')
    .requiredOption('--to <env>', 'the environment to promote into')
    .option('--digest <digest>', 'which digest (default: what is live in the environment it is promoted from)')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .option('--no-wait', 'return once the deployment has started')
    .action(async (pipeline: string, opts: { to: string; digest?: string; controlPlane?: string; wait: boolean }) => {
      const c = client(opts);
      const record = await c.promote(pipeline, opts.to, opts.digest);
      ctx.io.err(
        `deployment ${record.id}: promoting ${record.pipeline}@${record.artifact.version} ${record.artifact.digest.slice(0, 19)} from ${record.options.promotion?.from ?? '?'} into ${opts.to}${record.options.promotion?.approvedBy === undefined ? '' : ` (approved by ${record.options.promotion.approvedBy})`}`,
      );
      if (opts.wait) await follow(ctx, c, record.id);
    });

  program
    .command('approve')
    .description('Approve promoting a digest of a pipeline into an environment that needs an approval')
    .argument('<pipeline>', 'pipeline name')
    .option('--digest <digest>', 'which digest (default: what is live in the environment it is promoted from)')
    .option('--by <name>', 'who approves (default: $SLIPWAY_USER, else the OS user)')
    .option('--note <text>', 'why')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .action(async (pipeline: string, opts: { digest?: string; by?: string; note?: string; controlPlane?: string }) => {
      const environment = ctx.environment()?.name;
      if (environment === undefined)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          'Name the environment the approval is for: slipway approve <pipeline> --env <env>.',
        );
      const approval = await client(opts).approve({
        pipeline,
        environment,
        by: approver(opts.by),
        ...(opts.digest === undefined ? {} : { digest: opts.digest }),
        ...(opts.note === undefined ? {} : { note: opts.note }),
      });
      ctx.io.out(
        `approved ${pipeline} ${approval.digest.slice(0, 19)} into ${environment} by ${approval.by} at ${new Date(approval.at).toISOString()}`,
      );
    });
}

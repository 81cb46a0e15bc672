import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ArtifactStore } from '../../artifact/artifact-store.js';
import { buildArtifact } from '../../artifact/build-artifact.js';
import { BUNDLE_FILE, shortDigest } from '../../artifact/manifest.js';
import { ControlPlaneClient } from '../../control/client.js';
import type { DeployRequest } from '../../deploy/deploy-options.js';
import { TERMINAL_STATUSES } from '../../deploy/deployment.js';
import type { GateConfig } from '../../deploy/gates.js';
import { SlipwayError } from '../../errors.js';
import { parseConfigOption } from '../config-option.js';
import { type CliContext, intOption } from '../context.js';
import { describeEvent, describeOutcome } from '../render-event.js';

/** The samples folder for a shadow run: `--samples`, else `./samples` when the project has one. */
function shadowSamples(dir: string | undefined): { samples?: string } {
  const path = resolve(dir ?? 'samples');
  if (existsSync(path)) return { samples: path };
  if (dir !== undefined)
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `--samples ${dir}: no such folder (${path}). Capture one with \`slipway sample capture\`.`,
    );
  return {};
}

/** Prints a deployment's steps as they happen until it ends; a deployment that did not complete exits 1. */
export async function follow(ctx: CliContext, c: ControlPlaneClient, id: string): Promise<void> {
  let after = 0;
  for (;;) {
    const { deployment, events } = await c.deployment(id, after);
    for (const e of events) {
      ctx.io.err(describeEvent(e));
      after = e.seq;
    }
    if ((TERMINAL_STATUSES as readonly string[]).includes(deployment.status)) {
      ctx.io.out(describeOutcome(deployment));
      if (deployment.status !== 'completed') process.exitCode = 1;
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

const isSourceFile = (ref: string): boolean => /\.(m?[jt]s|tsx?)$/.test(ref) && !/^(sha256:)?[0-9a-f]{7,64}$/.test(ref);

/**
 * What `slipway deploy` hands the control plane: always an artifact digest. A source file is built
 * here first (a development deploy, accepted untested by a local control plane only); an artifact
 * the control plane's store does not hold is uploaded from this project's store.
 */
async function artifactFor(
  ctx: CliContext,
  c: ControlPlaneClient,
  ref: string,
  pipeline: string | undefined,
): Promise<{ digest: string; built: boolean }> {
  const store = new ArtifactStore({ dir: ctx.artifactsDir() });
  let digest = ref;
  let built = false;
  if (isSourceFile(ref)) {
    const result = await buildArtifact({ entry: ref, store, ...(pipeline === undefined ? {} : { pipeline }) });
    ctx.io.err(
      `built ${result.manifest.name}@${result.manifest.version} ${result.digest} from ${ref} (a development deploy: untested)`,
    );
    digest = result.digest;
    built = true;
  }
  if (!(await c.hasArtifact(digest))) {
    // Not in the control plane's store: send this project's copy, if it has one (else the control
    // plane says the digest is unknown, listing what it holds).
    const local = await store.verify(digest).catch(() => undefined);
    if (local === undefined) return { digest, built };
    await c.uploadArtifact(local.manifest, await readFile(join(local.dir, BUNDLE_FILE)));
    ctx.io.err(`uploaded ${shortDigest(local.digest)} to the control plane at ${c.url}`);
    digest = local.digest;
  }
  return { digest, built };
}

interface DeployCliOptions {
  controlPlane?: string;
  strategy: string;
  steps?: number[];
  stepMs?: number;
  shadow?: number;
  samples?: string;
  bake: number;
  allowChange?: string;
  maxDlqRatio?: number;
  maxP99Ms?: number;
  maxDiffRatio?: number;
  config?: string;
  pipeline?: string;
  allowUntested?: boolean;
  irreversibleState?: boolean;
  batchSize?: number;
  wait: boolean;
}

const ratio = (name: string) => (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1)
    throw new SlipwayError('SLIPWAY_USAGE', `${name} must be a ratio from 0 to 1, got '${value}'.`);
  return n;
};

export function registerDeploy(program: Command, ctx: CliContext): void {
  const client = (opts: { controlPlane?: string }) =>
    ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane, ctx.environment()?.name);
  program
    .command('deploy')
    .description('Deploy an artifact (by digest) with zero downtime, showing each step as it happens')
    .argument('<artifact>', 'artifact digest or unique prefix (slipway artifacts), or a pipeline file in development')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .option('-s, --strategy <name>', 'blue-green (default), canary or recreate', 'blue-green')
    .option(
      '--steps <percents>',
      'canary: share of keys green gets at each step, comma-separated (default 1,10,50,100)',
      (v: string) =>
        v.split(',').map((p) => {
          const n = Number(p.trim());
          if (p.trim() === '' || !Number.isFinite(n))
            throw new SlipwayError(
              'SLIPWAY_USAGE',
              `--steps takes percentages like 1,10,50,100; '${p}' is not a number.`,
            );
          return n;
        }),
    )
    .option(
      '--step-ms <ms>',
      'canary: how long gates watch each step before the next (default 2000)',
      intOption('--step-ms'),
    )
    .option(
      '--shadow <records>',
      'shadow-run green on this many input records and diff it against blue first',
      intOption('--shadow', 1),
    )
    .option(
      '--samples <dir>',
      'with --shadow: samples folder whose default samples stand in when live input is too sparse (default: ./samples if present)',
    )
    .option('--bake <ms>', 'how long gates watch green after cutover', intOption('--bake'), 5000)
    .option('--allow-change <fields>', 'output fields the new version is expected to change (comma-separated)')
    .option('--max-dlq-ratio <ratio>', 'gate: most DLQ records per input record', ratio('--max-dlq-ratio'))
    .option('--max-p99-ms <ms>', 'gate: highest p99 end-to-end latency during bake', intOption('--max-p99-ms'))
    .option(
      '--max-diff-ratio <ratio>',
      'gate: most changed+missing+extra outputs per compared output in the shadow diff',
      ratio('--max-diff-ratio'),
    )
    .option(
      '-c, --config <json>',
      "pipeline config as JSON, or @file.json (default: the live release's config, carried forward)",
    )
    .option('--batch-size <n>', 'most records per atomic commit', intOption('--batch-size', 1))
    .option('--pipeline <name>', 'which pipeline, when a file exports several')
    .option('--allow-untested', 'skip the release gate (no passing `slipway test` report); local control plane only')
    .option(
      '--irreversible-state',
      'allow a state migration without a down migration (after it, a rollback to the version before is not possible)',
    )
    .option('--no-wait', 'return once the deployment has started')
    .action(async (ref: string, opts: DeployCliOptions, cmd: Command) => {
      const c = client(opts);
      // With --env, the environment's declared policy decides what the command line leaves out.
      const given = (name: string) => ctx.environment() === undefined || cmd.getOptionValueSource(name) !== 'default';
      const gates: GateConfig = {};
      if (opts.allowChange)
        gates.allowChangedFields = opts.allowChange
          .split(',')
          .map((f) => f.trim())
          .filter(Boolean);
      if (opts.maxDlqRatio !== undefined) gates.maxDlqRatio = opts.maxDlqRatio;
      if (opts.maxP99Ms !== undefined) gates.maxP99LatencyMs = opts.maxP99Ms;
      if (opts.maxDiffRatio !== undefined) gates.maxDiffRatio = opts.maxDiffRatio;
      const config = parseConfigOption(opts.config);
      const strategy = given('strategy') ? (opts.strategy as DeployRequest['strategy']) : undefined;
      const { digest, built } = await artifactFor(ctx, c, ref, opts.pipeline);
      const request: DeployRequest = {
        artifact: digest,
        ...(strategy === undefined ? {} : { strategy }),
        ...(given('bake') ? { bakeMs: opts.bake } : {}),
        ...(Object.keys(gates).length === 0 ? {} : { gates }),
        ...(opts.shadow ? { shadow: { records: opts.shadow, ...shadowSamples(opts.samples) } } : {}),
        ...(opts.steps !== undefined || opts.stepMs !== undefined
          ? {
              canary: {
                ...(opts.steps === undefined ? {} : { steps: opts.steps }),
                ...(opts.stepMs === undefined ? {} : { stepMs: opts.stepMs }),
              },
            }
          : {}),
        ...(config === undefined ? {} : { config }),
        ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }),
        ...(opts.allowUntested || built ? { allowUntested: true } : {}),
        ...(opts.irreversibleState ? { irreversibleState: true } : {}),
      };
      const record = await c.deploy(request);
      ctx.io.err(`deployment ${record.id}: ${record.pipeline}@${record.artifact.version} (${record.options.strategy})`);
      if (!opts.wait) return;
      await follow(ctx, c, record.id);
    });

  program
    .command('rollback')
    .description(
      "Roll back the deployment in progress of a pipeline at an exact offset; with none in progress, in a project's environment, promote the previously verified digest again",
    )
    .argument('<pipeline>', 'pipeline name')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .action(async (pipeline: string, opts: { controlPlane?: string }) => {
      const c = client(opts);
      const { deployment, repromoted } = await c.rollback(pipeline);
      if (repromoted === undefined) {
        ctx.io.out(`rolling back ${deployment}; \`slipway history ${deployment}\` shows its steps`);
        return;
      }
      ctx.io.err(`${deployment}: promoting the previously verified ${repromoted.slice(0, 19)} again`);
      await follow(ctx, c, deployment);
    });

  program
    .command('scale')
    .description(
      'Run the live version of a pipeline as N runner processes, each owning a share of the input partitions',
    )
    .argument('<pipeline>', 'pipeline name')
    .argument(
      '<runners>',
      'how many runner processes (1 up to the number of input partitions)',
      intOption('<runners>', 1),
    )
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .action(async (pipeline: string, runners: number, opts: { controlPlane?: string }) => {
      const c = client(opts);
      const record = await c.scale(pipeline, runners);
      ctx.io.err(`${record.id}: ${pipeline} from ${record.summary.from ?? 1} to ${runners} runners`);
      await follow(ctx, c, record.id);
    });

  program
    .command('undeploy')
    .description(
      'Stop a pipeline for good in an environment: its live runner commits its last batch and stops, its release is removed (so a dataset major it used can be retired)',
    )
    .argument('<pipeline>', 'pipeline name')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .action(async (pipeline: string, opts: { controlPlane?: string }) => {
      const gone = await client(opts).undeploy(pipeline);
      ctx.io.out(`undeployed ${gone.pipeline}@${gone.artifact.version} from ${gone.environment}`);
    });
}

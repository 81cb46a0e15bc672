import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import type { DeploymentEvent, DeploymentRecord, Release } from '../../control/control-store.js';
import { daemonPaths, readDaemonInfo, startDaemon } from '../../control/daemon.js';
import { SlipwayError } from '../../errors.js';
import { describeLogConfig } from '../../log/open-log.js';
import { type CliContext, intOption } from '../context.js';

/** The daemon's folder: the folder of the log (`.slipway` by default). */
function stateDir(ctx: CliContext): string {
  return dirname(ctx.logPath());
}

export function describeEvent(e: DeploymentEvent): string {
  const d = e.data;
  const at = new Date(e.at).toISOString().slice(11, 23);
  switch (`${e.step}:${e.kind}`) {
    case 'planned:info':
      return `${at}  planned     ${(d.artifact as { pipeline: string; version: string }).pipeline}@${(d.artifact as { version: string }).version}${(d.options as { untested?: boolean } | undefined)?.untested ? ' (untested)' : ''}`;
    case 'start-green:info':
      return `${at}  green       started in standby (${String(d.runner)})`;
    case 'shadow:begin':
      return `${at}  shadow      green reads blue's offsets into shadow outputs…`;
    case 'shadow:end': {
      const diff = d.diff as {
        compared: number;
        identical: number;
        changed: number;
        missing: number;
        extra: number;
        changedFields: Record<string, number>;
      };
      const fields = Object.entries(diff.changedFields)
        .map(([f, n]) => `${f}×${n}`)
        .join(', ');
      const sample = d.sampleDiff as (typeof diff & { samples: string[]; records: number }) | undefined;
      const sampleLine =
        sample === undefined
          ? ''
          : `\n${at}  sample diff ${sample.records} records of ${sample.samples.join(', ')} (live input too sparse): ${sample.identical} identical, ${sample.changed} changed, ${sample.missing} missing, ${sample.extra} extra → ${d.ok ? 'pass' : 'FAIL'}`;
      if (diff.compared === 0)
        return `${at}  shadow diff nothing to compare: no input arrived during the shadow run${sampleLine}`;
      return `${at}  shadow diff ${diff.compared} compared: ${diff.identical} identical, ${diff.changed} changed, ${diff.missing} missing, ${diff.extra} extra${fields ? ` (fields: ${fields})` : ''} → ${d.ok ? 'pass' : 'FAIL'}${sampleLine}`;
    }
    case 'cutover:begin':
      return `${at}  cutover     pausing blue at its committed offsets…`;
    case 'cutover:end':
      return `${at}  cutover     at offset ${String(d.records)} (epoch ${String(d.epoch)}), pause ${String(d.pauseMs)} ms`;
    case 'bake:begin':
      return `${at}  bake        watching gates…`;
    case 'bake:end': {
      const failed = (d.gates as Array<{ ok: boolean; gate: string; message: string }>).filter((g) => !g.ok);
      return `${at}  bake        ${d.ok ? 'gates passed' : `gate failed: ${failed.map((g) => `${g.gate} (${g.message})`).join('; ') || 'rollback requested'}`}`;
    }
    case 'rollback:begin':
      return `${at}  rollback    pausing green, activating blue at the same offsets…`;
    case 'rollback:end':
      return `${at}  rollback    done in ${String(d.rollbackMs)} ms (pause ${String(d.pauseMs)} ms)`;
    case 'stop-blue:begin':
      return `${at}  recreate    stopping blue…`;
    case 'start-green:end':
      return `${at}  recreate    green running (output stopped for ${String(d.pauseMs)} ms)`;
    case 'start-runners:info':
      return `${at}  scale       ${String(d.runners)} runners started in standby, each with a share of the partitions`;
    case 'handoff:begin':
      return `${at}  handoff     pausing the running set at its committed offsets…`;
    case 'handoff:end':
      return `${at}  handoff     ${String(d.runners)} runners live at offset ${String(d.records)}, pause ${String(d.pauseMs)} ms`;
    case 'barrier:info': {
      const share = Number(d.share);
      const at0 =
        share === 0
          ? 'blue takes every key again'
          : share === 100
            ? 'green takes every key'
            : `green takes ${share} % of keys`;
      return `${at}  barrier     both sides at offset ${total(d.offsets as Array<{ offset: number }>)}: ${at0}`;
    }
    case 'canary-100:end':
      return `${at}  cutover     green is live at offset ${total(d.offsets as Array<{ offset: number }>)} (epoch ${String(d.epoch)}), pause ${String(d.pauseMs)} ms`;
    default:
      if (e.step.startsWith('canary-')) {
        const share = e.step.slice('canary-'.length);
        if (e.kind === 'begin') return `${at}  canary      ${share} % of keys to green…`;
        if (e.kind === 'end') {
          const failed = ((d.gates as Array<{ ok: boolean; gate: string; message: string }> | undefined) ?? []).filter(
            (g) => !g.ok,
          );
          return `${at}  canary      ${share} %: ${d.ok ? `gates passed (pause ${String(d.pauseMs ?? 0)} ms)` : `gate failed: ${failed.map((g) => `${g.gate} (${g.message})`).join('; ') || 'rollback requested'}`}`;
        }
      }
      if (e.kind === 'error') return `${at}  ${e.step.padEnd(11)} error ${String(d.code ?? '')}: ${String(d.message)}`;
      if (e.kind === 'info') return `${at}  ${e.step}`;
      return `${at}  ${e.step.padEnd(11)} ${e.kind}`;
  }
}

const total = (offsets: Array<{ offset: number }> | undefined): number =>
  (offsets ?? []).reduce((n, o) => n + o.offset, 0);

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

const TERMINAL = new Set(['completed', 'rolled_back', 'aborted', 'failed']);

/** Prints a deployment's steps as they happen until it ends; a deployment that did not complete exits 1. */
async function follow(ctx: CliContext, c: ControlPlaneClient, id: string): Promise<void> {
  let after = 0;
  for (;;) {
    const { deployment, events } = await c.deployment(id, after);
    for (const e of events) {
      ctx.io.err(describeEvent(e));
      after = e.seq;
    }
    if (TERMINAL.has(deployment.status)) {
      ctx.io.out(`${deployment.id} ${deployment.status}`);
      if (deployment.status !== 'completed') process.exitCode = 1;
      return;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export function registerControl(program: Command, ctx: CliContext): void {
  const controlPlane = (cmd: Command) =>
    cmd.option('--control-plane <url>', 'control plane URL (default: the daemon of this project)');
  const client = (opts: { controlPlane?: string }) => ControlPlaneClient.find(stateDir(ctx), opts.controlPlane);

  program
    .command('up')
    .description('Start the control plane: controller, runner supervisor and HTTP API (Ctrl-C stops it)')
    .option('--port <port>', 'HTTP port on 127.0.0.1 (default: any free port)', intOption('--port'))
    .option('--detach', 'run in the background and return once it answers')
    .action(async (opts: { port?: number; detach?: boolean }) => {
      const dir = stateDir(ctx);
      const running = readDaemonInfo(dir);
      if (running !== undefined) {
        ctx.io.out(`control plane already running at ${running.url} (pid ${running.pid})`);
        return;
      }
      if (opts.detach) {
        const args = process.argv.slice(1).filter((a) => a !== '--detach');
        const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: 'ignore' });
        child.unref();
        for (let i = 0; i < 300; i++) {
          const info = readDaemonInfo(dir);
          if (info !== undefined) {
            ctx.io.out(`control plane running at ${info.url} (pid ${info.pid}); stop it with \`slipway down\``);
            return;
          }
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new SlipwayError(
          'SLIPWAY_DAEMON_UNAVAILABLE',
          'The control plane did not come up within 30 s; run `slipway up` in the foreground to see why.',
        );
      }
      const daemon = await startDaemon({
        paths: daemonPaths(dir, { logPath: ctx.logPath() }),
        log: ctx.logConfig(),
        ...(opts.port ? { port: opts.port } : {}),
      });
      daemon.controller.on('event', (e: DeploymentEvent) => ctx.io.err(`${e.deploymentId}  ${describeEvent(e)}`));
      daemon.controller.on('resume', (d: DeploymentRecord) => ctx.io.err(`resuming ${d.id} at step ${d.step}`));
      daemon.controller.on('runner-restarted', (id: string) => ctx.io.err(`restarted crashed runner as ${id}`));
      ctx.io.err(
        `control plane at ${daemon.url} (${describeLogConfig(ctx.logConfig())}); Ctrl-C or \`slipway down\` stops it`,
      );
      ctx.interrupted.addEventListener('abort', () => void daemon.close(), { once: true });
      await daemon.closed;
      ctx.io.err('control plane stopped; runners committed their last batch');
    });

  controlPlane(
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
      ),
  ).action(async (pipeline: string, runners: number, opts: { controlPlane?: string }) => {
    const c = client(opts);
    const record = await c.request<DeploymentRecord>('POST', `/api/pipelines/${encodeURIComponent(pipeline)}/scale`, {
      runners,
    });
    ctx.io.err(`${record.id}: ${pipeline} from ${String(record.summary.from)} to ${runners} runners`);
    await follow(ctx, c, record.id);
  });

  controlPlane(
    program.command('down').description('Stop the control plane (runners finish their batch and commit)'),
  ).action(async (opts: { controlPlane?: string }) => {
    const info = readDaemonInfo(stateDir(ctx));
    await client(opts).request('POST', '/api/shutdown');
    if (info !== undefined) {
      for (let i = 0; i < 300; i++) {
        try {
          process.kill(info.pid, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    ctx.io.out('control plane stopped');
  });

  controlPlane(program.command('status').description('What is live, its runners, and deployments in progress'))
    .option('--json', 'print JSON')
    .action(async (opts: { controlPlane?: string; json?: boolean }) => {
      const status = await client(opts).request<{
        releases: Release[];
        runners: Array<{
          pipeline: string;
          runner: string;
          pid: number;
          stats: {
            state: string;
            inputs: number;
            outputs: number;
            dlq: number;
            lag: number;
            p99LatencyMs: number;
          } | null;
        }>;
        active: DeploymentRecord[];
      }>('GET', '/api/status');
      if (opts.json) {
        ctx.io.out(JSON.stringify(status, null, 2));
        return;
      }
      if (status.releases.length === 0) ctx.io.out('nothing deployed yet: `slipway deploy <artifact>`');
      for (const r of status.releases) {
        const run = status.runners.find((x) => x.pipeline === r.pipeline);
        const s = run?.stats;
        ctx.io.out(
          `${r.pipeline}@${r.artifact.version}  ${r.artifact.digest?.slice(0, 19) ?? r.artifact.module}\n  runner ${run?.runner ?? '-'} pid ${run?.pid ?? '-'}  ${s ? `${s.state}  in ${s.inputs}  out ${s.outputs}  dlq ${s.dlq}  lag ${s.lag}  p99 ${s.p99LatencyMs} ms` : 'not running'}`,
        );
      }
      for (const d of status.active)
        ctx.io.out(`deploying ${d.id}: ${d.pipeline}@${d.artifact.version} (${d.options.strategy}) at step ${d.step}`);
    });

  controlPlane(program.command('history').description('Past deployments, or the step-by-step events of one'))
    .argument('[deployment]', 'a deployment id for its events')
    .option('-n, --limit <n>', 'how many deployments', intOption('--limit', 1), 20)
    .option('--json', 'print JSON')
    .action(async (id: string | undefined, opts: { controlPlane?: string; limit: number; json?: boolean }) => {
      const c = client(opts);
      if (id !== undefined) {
        const { deployment, events } = await c.deployment(id);
        if (opts.json) return void ctx.io.out(JSON.stringify({ deployment, events }, null, 2));
        ctx.io.out(
          `${deployment.id}  ${deployment.pipeline}@${deployment.artifact.version}  ${deployment.options.strategy}  ${deployment.status}`,
        );
        for (const e of events) ctx.io.out(describeEvent(e));
        return;
      }
      const list = await c.request<DeploymentRecord[]>('GET', `/api/deployments?limit=${opts.limit}`);
      if (opts.json) return void ctx.io.out(JSON.stringify(list, null, 2));
      if (list.length === 0) return void ctx.io.out('no deployments yet');
      ctx.io.out(
        `${'DEPLOYMENT'.padEnd(20)} ${'PIPELINE'.padEnd(24)} ${'STRATEGY'.padEnd(10)} ${'STATUS'.padEnd(11)} PAUSE     STARTED`,
      );
      for (const d of list) {
        const pause = d.summary.cutoverPauseMs === undefined ? '-' : `${d.summary.cutoverPauseMs} ms`;
        ctx.io.out(
          `${d.id.padEnd(20)} ${`${d.pipeline}@${d.artifact.version}`.padEnd(24)} ${d.options.strategy.padEnd(10)} ${d.status.padEnd(11)} ${pause.padEnd(9)} ${new Date(d.createdAt).toISOString()}`,
        );
      }
    });

  controlPlane(
    program
      .command('deploy')
      .description('Deploy an artifact (by digest) with zero downtime, showing each step as it happens')
      .argument(
        '<artifact>',
        'artifact digest or unique prefix (slipway artifacts), or a pipeline file in development',
      ),
  )
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
    .option('--max-dlq-ratio <ratio>', 'gate: most DLQ records per input record', Number.parseFloat)
    .option('--max-p99-ms <ms>', 'gate: highest p99 end-to-end latency during bake', intOption('--max-p99-ms'))
    .option(
      '--max-diff-ratio <ratio>',
      'gate: most changed+missing+extra outputs per compared output in the shadow diff',
      Number.parseFloat,
    )
    .option('-c, --config <json>', 'pipeline config as JSON')
    .option('--pipeline <name>', 'which pipeline, when a file exports several')
    .option('--allow-untested', 'skip the release gate (no passing `slipway test` report); local control plane only')
    .option('--no-wait', 'return once the deployment has started')
    .action(
      async (
        artifact: string,
        opts: {
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
          wait: boolean;
        },
      ) => {
        const c = client(opts);
        const gates: Record<string, unknown> = {};
        if (opts.allowChange)
          gates.allowChangedFields = opts.allowChange
            .split(',')
            .map((f) => f.trim())
            .filter(Boolean);
        if (opts.maxDlqRatio !== undefined) gates.maxDlqRatio = opts.maxDlqRatio;
        if (opts.maxP99Ms !== undefined) gates.maxP99LatencyMs = opts.maxP99Ms;
        if (opts.maxDiffRatio !== undefined) gates.maxDiffRatio = opts.maxDiffRatio;
        let config: unknown;
        if (opts.config !== undefined) {
          try {
            config = JSON.parse(opts.config);
          } catch {
            throw new SlipwayError('SLIPWAY_PARSE', '--config is not valid JSON.');
          }
        }
        const isFile = /\.(m?[jt]s|tsx?)$/.test(artifact);
        const record = await c.request<DeploymentRecord>('POST', '/api/deployments', {
          artifact: isFile ? resolve(artifact) : artifact,
          strategy: opts.strategy,
          bakeMs: opts.bake,
          gates,
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
          ...(opts.pipeline ? { pipeline: opts.pipeline } : {}),
          ...(opts.allowUntested ? { allowUntested: true } : {}),
        });
        ctx.io.err(`deployment ${record.id}: ${record.pipeline}@${record.artifact.version} (${opts.strategy})`);
        if (!opts.wait) return;
        await follow(ctx, c, record.id);
      },
    );

  controlPlane(
    program
      .command('rollback')
      .description('Roll back the deployment in progress of a pipeline at an exact offset')
      .argument('<pipeline>', 'pipeline name'),
  ).action(async (pipeline: string, opts: { controlPlane?: string }) => {
    const { deployment } = await client(opts).request<{ deployment: string }>('POST', '/api/rollback', { pipeline });
    ctx.io.out(`rolling back ${deployment}; \`slipway history ${deployment}\` shows its steps`);
  });
}

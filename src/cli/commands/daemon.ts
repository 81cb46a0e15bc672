import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { daemonPaths, readDaemonInfo, startDaemon } from '../../control/daemon.js';
import type { DeploymentEvent, DeploymentRecord } from '../../deploy/deployment.js';
import { SlipwayError } from '../../errors.js';
import { describeLogConfig } from '../../log/open-log.js';
import { loadModule, PROJECT_FILES } from '../../project/load-module.js';
import { type LoadedProject, loadProjectFile } from '../../project/load-project.js';
import { type CliContext, intOption } from '../context.js';
import { describeEvent } from '../render-event.js';

/** A port option: a whole number from 0 to 65535. */
const portOption = (name: string) => (value: string) => {
  const n = intOption(name)(value);
  if (n > 65_535) throw new SlipwayError('SLIPWAY_USAGE', `${name} must be a port from 0 to 65535, got '${value}'.`);
  return n;
};

/** The project `up` serves: the one named, else slipway.config.* here when it declares environments. */
async function projectToServe(named: string | undefined): Promise<LoadedProject | undefined> {
  if (named !== undefined) return loadProjectFile(named);
  const file = PROJECT_FILES.find((f) => existsSync(f));
  if (file === undefined) return undefined;
  const module = await loadModule(file);
  return module.project === undefined
    ? undefined
    : { project: module.project, dir: dirname(module.path), path: module.path };
}

export function registerDaemon(program: Command, ctx: CliContext): void {
  program
    .command('up')
    .description('Start the control plane: controller, runner supervisor and HTTP API (Ctrl-C stops it)')
    .option('--port <port>', 'HTTP port (default: any free port)', portOption('--port'))
    .option(
      '--host <address>',
      'address to bind (default 127.0.0.1; any other lets other machines read status, but changes are accepted from loopback only)',
    )
    .option('--detach', 'run in the background (output to .slipway/daemon.log) and return once it answers')
    .option(
      '-p, --project <file>',
      'project file declaring the environments to serve (default: slipway.config.ts here, when it declares them)',
    )
    .action(async (opts: { port?: number; host?: string; detach?: boolean; project?: string }) => {
      // A project that declares environments: one control plane serves them all, from its folder's .slipway.
      const project = await projectToServe(opts.project);
      const dir = project === undefined ? ctx.stateDir() : join(project.dir, '.slipway');
      const paths =
        project === undefined
          ? daemonPaths(dir, { logPath: ctx.logPath(), artifactsDir: ctx.artifactsDir() })
          : daemonPaths(dir, { artifactsDir: process.env.SLIPWAY_ARTIFACTS ?? join(dir, 'artifacts') });
      const running = readDaemonInfo(dir);
      if (running !== undefined) {
        ctx.io.out(`control plane already running at ${running.url} (pid ${running.pid})`);
        return;
      }
      if (opts.detach) {
        mkdirSync(dir, { recursive: true });
        // What the daemon prints (runner failures, restarts, events) goes to a file, not nowhere.
        const out = openSync(paths.daemonLog, 'a');
        const args = process.argv.slice(1).filter((a) => a !== '--detach');
        const child = spawn(process.execPath, [...process.execArgv, ...args], {
          detached: true,
          stdio: ['ignore', out, out],
        });
        closeSync(out);
        let exited: number | null = null;
        child.once('exit', (code) => {
          exited = code ?? 1;
        });
        child.unref();
        for (let i = 0; i < 300; i++) {
          const info = readDaemonInfo(dir);
          if (info !== undefined) {
            ctx.io.out(
              `control plane running at ${info.url} (pid ${info.pid}); its log is ${paths.daemonLog}; stop it with \`slipway down\``,
            );
            return;
          }
          if (exited !== null) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new SlipwayError(
          'SLIPWAY_DAEMON_UNAVAILABLE',
          exited === null
            ? `The control plane did not come up within 30 s; see ${paths.daemonLog}.`
            : `The control plane exited (code ${exited}) before it came up; see ${paths.daemonLog}.`,
        );
      }
      const daemon = await startDaemon({
        paths,
        ...(project === undefined
          ? { log: ctx.logConfig() }
          : { project: { spec: project.project.spec, dir: project.dir } }),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
      });
      const many = daemon.plane.environments.length > 1;
      for (const c of daemon.plane.controllers) {
        const env = many ? `[${c.environment}] ` : '';
        c.on('event', (e: DeploymentEvent) => ctx.io.err(`${env}${e.deploymentId}  ${describeEvent(e)}`));
        c.on('resume', (d: DeploymentRecord) => ctx.io.err(`${env}resuming ${d.id} at step ${d.step}`));
        c.on('pipeline-event', (e: { pipeline: string; message: string }) =>
          ctx.io.err(`${env}${e.pipeline}  ${e.message}`),
        );
        c.on('error-event', (err: { code?: string; message?: string }) =>
          ctx.io.err(`${env}error ${err?.code ?? ''} ${err?.message ?? String(err)}`),
        );
      }
      const where = daemon.plane.controllers
        .map((c) => `${many ? `${c.environment}: ` : ''}${describeLogConfig(c.logConfig)}`)
        .join('; ');
      ctx.io.err(
        `control plane at ${daemon.url} (${where}; artifacts in ${paths.artifactsDir}); Ctrl-C or \`slipway down\` stops it`,
      );
      ctx.interrupted.addEventListener('abort', () => void daemon.close(), { once: true });
      await daemon.closed;
      ctx.io.err('control plane stopped; runners committed their last batch');
    });

  program
    .command('down')
    .description('Stop the control plane (runners finish their batch and commit); nothing to do when none runs')
    .option('--control-plane <url>', 'control plane URL (default: the daemon of this project)')
    .action(async (opts: { controlPlane?: string }) => {
      const info = readDaemonInfo(ctx.stateDir());
      if (info === undefined && opts.controlPlane === undefined && process.env.SLIPWAY_CONTROL_PLANE === undefined) {
        ctx.io.out(`no control plane is running for ${ctx.stateDir()}`);
        return;
      }
      await ControlPlaneClient.find(ctx.stateDir(), opts.controlPlane).shutdown();
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
}

import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import type { Command } from 'commander';
import { ControlPlaneClient } from '../../control/client.js';
import { daemonPaths, readDaemonInfo, startDaemon } from '../../control/daemon.js';
import type { DeploymentEvent, DeploymentRecord } from '../../deploy/deployment.js';
import { SlipwayError } from '../../errors.js';
import { describeLogConfig } from '../../log/open-log.js';
import { type CliContext, intOption } from '../context.js';
import { describeEvent } from '../render-event.js';

/** A port option: a whole number from 0 to 65535. */
const portOption = (name: string) => (value: string) => {
  const n = intOption(name)(value);
  if (n > 65_535) throw new SlipwayError('SLIPWAY_USAGE', `${name} must be a port from 0 to 65535, got '${value}'.`);
  return n;
};

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
    .action(async (opts: { port?: number; host?: string; detach?: boolean }) => {
      const dir = ctx.stateDir();
      const paths = daemonPaths(dir, { logPath: ctx.logPath(), artifactsDir: ctx.artifactsDir() });
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
        log: ctx.logConfig(),
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
      });
      const c = daemon.controller;
      c.on('event', (e: DeploymentEvent) => ctx.io.err(`${e.deploymentId}  ${describeEvent(e)}`));
      c.on('resume', (d: DeploymentRecord) => ctx.io.err(`resuming ${d.id} at step ${d.step}`));
      c.on('pipeline-event', (e: { pipeline: string; message: string }) => ctx.io.err(`${e.pipeline}  ${e.message}`));
      c.on('error-event', (err: { code?: string; message?: string }) =>
        ctx.io.err(`error ${err?.code ?? ''} ${err?.message ?? String(err)}`),
      );
      ctx.io.err(
        `control plane at ${daemon.url} (${describeLogConfig(ctx.logConfig())}; artifacts in ${paths.artifactsDir}); Ctrl-C or \`slipway down\` stops it`,
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

import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { ServerType } from '@hono/node-server';
import { ArtifactStore } from '../artifact/artifact-store.js';
import { Controller } from '../deploy/controller.js';
import { datastoreContractHook } from '../environment/datastore-contract-hook.js';
import { artifactTables, datastoreDeployHook } from '../environment/datastore-deploy-hook.js';
import { datastoreReference } from '../environment/datastores.js';
import { environmentSecrets } from '../environment/promotion.js';
import { environmentsInOrder, resolveEnvironment } from '../environment/resolve.js';
import { SlipwayError } from '../errors.js';
import type { LogConfig } from '../log/open-log.js';
import { ChildProcessSupervisor } from '../supervisor/child-process-supervisor.js';
import type { RunnerSupervisor } from '../supervisor/supervisor.js';
import { createApi } from './api.js';
import { ControlPlane, type ServedProject } from './control-plane.js';
import type { DaemonInfo, DaemonPaths } from './daemon-info.js';
import { openSqliteControlStore } from './sqlite-control-store.js';

export { type DaemonInfo, type DaemonPaths, daemonPaths, readDaemonInfo } from './daemon-info.js';

export interface RunningDaemon {
  url: string;
  /** The controller of the first environment (the only one without a project). */
  controller: Controller;
  /** Every environment's controller, the stores, promotions. */
  plane: ControlPlane;
  /** Resolves when the daemon has stopped (after `close()` or POST /api/shutdown). */
  closed: Promise<void>;
  close(): Promise<void>;
}

export interface DaemonOptions {
  paths: DaemonPaths;
  /** Port to listen on (default: any free port). */
  port?: number;
  /** Address to bind (default 127.0.0.1: only this machine reaches the API). */
  host?: string;
  environment?: string;
  /** The environment's log (default: the embedded log at `paths.logPath`). */
  log?: LogConfig;
  /** How runners run (default: a child process each, loading artifacts from `paths.artifactsDir`). */
  supervisor?: RunnerSupervisor;
  /**
   * The project whose environments this control plane serves (each with its own log and runners); without
   * one, it serves one environment (`environment`, default `local`) on `log`.
   */
  project?: ServedProject;
  /** With a project: how each environment's runners run (default: child processes). */
  supervisorFor?: (environment: string) => RunnerSupervisor;
}

/** Listens on host:port, or refuses with a coded error saying why (a busy port, an address not on this machine). */
async function listen(
  app: { fetch: (req: Request, env?: unknown) => Response | Promise<Response> },
  host: string,
  port: number,
): Promise<ServerType> {
  // The HTTP server is loaded when a daemon starts, not by every CLI command that only talks to one.
  const { serve } = await import('@hono/node-server');
  return new Promise((resolvePromise, reject) => {
    const server = serve({ fetch: app.fetch, port, hostname: host }, () => resolvePromise(server));
    server.once('error', (err: NodeJS.ErrnoException) => {
      const where = `${host}:${port}`;
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} is already in use on ${host}: stop what uses it, or pick another with --port (or leave --port out for any free port)`
          : err.code === 'EADDRNOTAVAIL'
            ? `${host} is not an address of this machine: pass one of its addresses with --host`
            : err.code === 'EACCES'
              ? `port ${port} needs privileges: use a port above 1023`
              : err.message;
      reject(
        new SlipwayError('SLIPWAY_USAGE', `The control plane cannot listen on ${where}: ${why}.`, {
          cause: err,
          details: { host, port },
        }),
      );
    });
  });
}

/**
 * Starts the control plane: control store, controller (live runners + deployments, resuming any a
 * crash interrupted; runners in child processes) and the HTTP API on 127.0.0.1 (or `host`). Writes
 * `<dir>/daemon.json` so the CLI finds it.
 */
export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { paths } = options;
  const host = options.host ?? '127.0.0.1';
  mkdirSync(paths.dir, { recursive: true });
  const store = await openSqliteControlStore({ path: paths.controlPath });
  let url = '';
  const name = () =>
    url === '' ? `control plane in ${paths.dir} (pid ${process.pid})` : `control plane at ${url} (pid ${process.pid})`;
  const artifacts = new ArtifactStore({ dir: paths.artifactsDir });
  const controllers = new Map<string, Controller>();
  const project = options.project;
  if (project === undefined) {
    const environment = options.environment ?? 'local';
    controllers.set(
      environment,
      new Controller({
        store,
        supervisor: options.supervisor ?? new ChildProcessSupervisor({ artifactsDir: paths.artifactsDir }),
        artifacts,
        log: options.log ?? { engine: 'embedded', path: paths.logPath },
        environment,
        name,
      }),
    );
  } else {
    for (const environment of environmentsInOrder(project.spec)) {
      const env = resolveEnvironment(project.spec, environment, project.dir);
      if (env.log.engine === 'embedded') mkdirSync(dirname(env.log.path), { recursive: true });
      controllers.set(
        environment,
        new Controller({
          store,
          supervisor:
            options.supervisorFor?.(environment) ?? new ChildProcessSupervisor({ artifactsDir: paths.artifactsDir }),
          artifacts,
          log: env.log,
          environment,
          name,
          secretsOf: (pipeline) => environmentSecrets(env.spec, pipeline, project.dir, resolve),
          runnersOf: (pipeline) => env.spec.pipelines?.[pipeline]?.runners,
          datastoreOf: (_pipeline, datastore) => datastoreReference(env.spec, datastore, project.dir),
          // The contract of expand-and-contract, once a deployment has retired the previous version.
          contractMigrations: datastoreContractHook({ project, tablesOf: (a) => artifactTables(artifacts, a) }),
        }),
      );
    }
  }
  const plane = new ControlPlane({
    store,
    artifacts,
    controllers,
    ...(project === undefined
      ? {}
      : {
          project,
          // Datastores' migrations, expand-and-contract, before a deployment starts green.
          beforeDeploy: datastoreDeployHook({ project, tablesOf: (a) => artifactTables(artifacts, a) }),
        }),
  });
  const controller = plane.controllers[0] as Controller;
  let finish: () => void = () => {};
  const closed = new Promise<void>((r) => {
    finish = r;
  });
  let server: ServerType | undefined;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server?.close();
      await Promise.all(plane.controllers.map((c) => c.close()));
      await store.close();
      rmSync(join(paths.dir, 'daemon.json'), { force: true });
      finish();
    })();
    return closing;
  };
  const app = createApi(plane, { onShutdown: () => void close() });
  try {
    server = await listen(app, host, options.port ?? 0);
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    url = `http://${host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
    for (const c of plane.controllers) await c.start();
  } catch (err) {
    server?.close();
    await Promise.all(plane.controllers.map((c) => c.close().catch(() => {})));
    await store.close();
    throw err;
  }
  const info: DaemonInfo = {
    pid: process.pid,
    url,
    logPath: paths.logPath,
    artifactsDir: paths.artifactsDir,
    environment: controller.environment,
    environments: plane.environments,
    ...(project === undefined ? {} : { project: project.dir }),
    startedAt: new Date().toISOString(),
  };
  writeFileSync(join(paths.dir, 'daemon.json'), `${JSON.stringify(info, null, 2)}\n`);
  return { url, controller, plane, closed, close };
}

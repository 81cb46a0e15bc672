import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serve } from '@hono/node-server';
import { Controller } from '../deploy/controller.js';
import type { LogConfig } from '../log/open-log.js';
import { createApi } from './api.js';
import { openSqliteControlStore } from './sqlite-control-store.js';

/** Where a project's daemon keeps its files: `.slipway/` beside the log by default. */
export interface DaemonPaths {
  dir: string;
  logPath: string;
  controlPath: string;
  artifactsDir: string;
}

export function daemonPaths(dir: string, overrides: Partial<DaemonPaths> = {}): DaemonPaths {
  const base = resolve(dir);
  return {
    dir: base,
    logPath: overrides.logPath ?? join(base, 'log.db'),
    controlPath: overrides.controlPath ?? join(base, 'control.db'),
    artifactsDir: overrides.artifactsDir ?? join(base, 'artifacts'),
  };
}

export interface DaemonInfo {
  pid: number;
  url: string;
  logPath: string;
  startedAt: string;
}

export interface RunningDaemon {
  url: string;
  controller: Controller;
  /** Resolves when the daemon has stopped (after `close()` or POST /api/shutdown). */
  closed: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the control plane: control store, controller (live runners + deployments, resuming any a
 * crash interrupted) and the HTTP API on 127.0.0.1. Writes `<dir>/daemon.json` so the CLI finds it.
 */
export async function startDaemon(options: {
  paths: DaemonPaths;
  port?: number;
  environment?: string;
  /** The environment's log (default: the embedded log at `paths.logPath`). */
  log?: LogConfig;
}): Promise<RunningDaemon> {
  const { paths } = options;
  mkdirSync(paths.dir, { recursive: true });
  const store = await openSqliteControlStore({ path: paths.controlPath });
  const controller = new Controller({
    store,
    logPath: paths.logPath,
    ...(options.log === undefined ? {} : { log: options.log }),
    ...(options.environment ? { environment: options.environment } : {}),
  });
  await controller.start();
  let finish: () => void = () => {};
  const closed = new Promise<void>((r) => {
    finish = r;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      server.close();
      await controller.close();
      await store.close();
      rmSync(join(paths.dir, 'daemon.json'), { force: true });
      finish();
    })();
    return closing;
  };
  const app = createApi(controller, { artifactsDir: paths.artifactsDir, onShutdown: () => void close() });
  const server = await new Promise<ReturnType<typeof serve>>((resolvePromise, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port ?? 0, hostname: '127.0.0.1' }, () => resolvePromise(s));
    s.once('error', reject);
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  const info: DaemonInfo = { pid: process.pid, url, logPath: paths.logPath, startedAt: new Date().toISOString() };
  writeFileSync(join(paths.dir, 'daemon.json'), `${JSON.stringify(info, null, 2)}\n`);
  return { url, controller, closed, close };
}

/** The daemon recorded in `<dir>/daemon.json`, if its process is alive. */
export function readDaemonInfo(dir: string): DaemonInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(resolve(dir), 'daemon.json'), 'utf8')) as DaemonInfo;
    process.kill(info.pid, 0);
    return info;
  } catch {
    return undefined;
  }
}

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * Where a project's control plane keeps its files: one folder (`.slipway/` by default: the folder of
 * the embedded log) holds the log, the control store, the artifact store, the daemon's address and
 * its log file. `slipway build` and the daemon use the same artifact store by default.
 */
export interface DaemonPaths {
  dir: string;
  logPath: string;
  controlPath: string;
  artifactsDir: string;
  /** Where a detached daemon writes what it prints. */
  daemonLog: string;
}

export function daemonPaths(dir: string, overrides: Partial<DaemonPaths> = {}): DaemonPaths {
  const base = resolve(dir);
  return {
    dir: base,
    logPath: overrides.logPath ?? join(base, 'log.db'),
    controlPath: overrides.controlPath ?? join(base, 'control.db'),
    artifactsDir: overrides.artifactsDir ?? join(base, 'artifacts'),
    daemonLog: overrides.daemonLog ?? join(base, 'daemon.log'),
  };
}

/** What `<dir>/daemon.json` records of a running daemon, so the CLI finds it. */
export interface DaemonInfo {
  pid: number;
  url: string;
  logPath: string;
  artifactsDir: string;
  environment: string;
  startedAt: string;
  /** Every environment it serves, in promotion order (one without a project). */
  environments?: string[];
  /** The project folder whose slipway.config.ts declares them. */
  project?: string;
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

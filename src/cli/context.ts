import { resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { openEmbeddedLog } from '../log/embedded/embedded-log.js';
import type { Log } from '../log/log.js';
import type { Io } from './io.js';

/** The default embedded log, relative to the working directory. */
export const DEFAULT_LOG_PATH = '.slipway/log.db';

/** What every command gets: where to print, and how to reach the log named by the global options. */
export interface CliContext {
  io: Io;
  /** Path of the embedded log: `--log`, else `SLIPWAY_LOG`, else `.slipway/log.db`. */
  logPath(): string;
  openLog(): Promise<Log>;
  /** Resolves when the user interrupts (Ctrl-C / SIGTERM); commands use it to stop gracefully. */
  interrupted: AbortSignal;
}

export function createContext(program: Command, io: Io, interrupted: AbortSignal): CliContext {
  const logPath = (): string =>
    resolve((program.opts().log as string | undefined) ?? process.env.SLIPWAY_LOG ?? DEFAULT_LOG_PATH);
  return {
    io,
    logPath,
    openLog: () => openEmbeddedLog({ path: logPath() }),
    interrupted,
  };
}

/** Parses a whole number option, or throws a usage error naming the option. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}, got '${value}'`);
    }
    return n;
  };
}

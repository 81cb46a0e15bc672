import { dirname, join, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import type { Project } from '../environment/project.js';
import type { ResolvedEnvironment } from '../environment/resolve.js';
import { resolveEnvironmentOrWorkspace } from '../environment/workspaces.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type LogConfig, openLog, parseBrokers } from '../log/open-log.js';
import type { Io } from './io.js';
import { kafkaSecurityFlagsGiven, kafkaSecurityFromOptions } from './kafka-security-options.js';

/** The default embedded log, relative to the working directory. */
export const DEFAULT_LOG_PATH = '.slipway/log.db';

/** What every command gets: where to print, and how to reach the log named by the global options. */
export interface CliContext {
  io: Io;
  /** Path of the embedded log: `--log`, else `SLIPWAY_LOG`, else `.slipway/log.db`. */
  logPath(): string;
  /**
   * The project's state folder: the folder of the embedded log (`.slipway` by default). It holds the
   * control store, the daemon's address and log file, and (by default) the artifact store.
   */
  stateDir(): string;
  /** The artifact store `build` writes to and the daemon runs from: `$SLIPWAY_ARTIFACTS`, else `<state>/artifacts`. */
  artifactsDir(): string;
  /** The log commands use: Kafka with `--kafka` (or `SLIPWAY_KAFKA_BROKERS`), else the embedded log. */
  logConfig(): LogConfig;
  /** The log, created (with its folder) when the embedded file does not exist yet: for commands that write. */
  openLog(): Promise<Log>;
  /**
   * The log, for commands that only read it: a missing embedded file is refused with `SLIPWAY_LOG_NOT_FOUND`
   * (a mistyped `--log`), and nothing is created.
   */
  openLogForReading(): Promise<Log>;
  /** Resolves when the user interrupts (Ctrl-C / SIGTERM); commands use it to stop gracefully. */
  interrupted: AbortSignal;
  /**
   * The environment `--env <name>` (or `$SLIPWAY_ENV`) names, resolved from the project file before the
   * command runs; undefined without one. With it, the log commands use is the environment's (its engine,
   * address and topic namespace) and the state folder is the project's `.slipway`.
   */
  environment(): ResolvedEnvironment | undefined;
  /** The project file's environments, when the command loaded them (with `--env`, or commands that need them). */
  project(): { project: Project; dir: string; path: string } | undefined;
  /** Loads the project (once) and resolves `--env`; run by the CLI before every command. */
  loadEnvironment(projectFile?: string): Promise<void>;
}

export function createContext(program: Command, io: Io, interrupted: AbortSignal): CliContext {
  let environment: ResolvedEnvironment | undefined;
  let loaded: { project: Project; dir: string; path: string } | undefined;
  const envName = (): string | undefined => {
    const flag = program.opts().env as string | undefined;
    const fromEnv = process.env.SLIPWAY_ENV;
    return flag ?? (fromEnv === undefined || fromEnv === '' ? undefined : fromEnv);
  };
  const logPath = (): string => {
    const flag = (program.opts().log as string | undefined) ?? process.env.SLIPWAY_LOG;
    if (flag === undefined && environment?.log.engine === 'embedded') return environment.log.path;
    return resolve(flag ?? DEFAULT_LOG_PATH);
  };
  const logConfig = (): LogConfig => {
    const opts = program.opts();
    const securityFlags = kafkaSecurityFlagsGiven(opts);
    if (environment !== undefined) {
      if (opts.kafka !== undefined || (opts.log as string | undefined) !== undefined || securityFlags.length > 0)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `--env ${environment.name} chooses the log (declared in the project, with its security); leave out --kafka, --kafka-* and --log.`,
        );
      return environment.log;
    }
    const flag = opts.kafka as string | undefined;
    const env = process.env.SLIPWAY_KAFKA_BROKERS;
    const security = kafkaSecurityFromOptions(opts);
    // SCHEMA_REGISTRY_URL travels with the log's config to runner processes (slipway run --runners).
    const registryUrl = process.env.SCHEMA_REGISTRY_URL?.trim();
    const secured = {
      ...(security === undefined ? {} : { security }),
      ...(registryUrl === undefined || registryUrl === '' ? {} : { schemaRegistry: { url: registryUrl } }),
    };
    if (flag !== undefined) return { engine: 'kafka', brokers: parseBrokers(flag), ...secured };
    if (env !== undefined && env !== '')
      return { engine: 'kafka', brokers: parseBrokers(env, 'SLIPWAY_KAFKA_BROKERS'), ...secured };
    if (securityFlags.length > 0)
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `${securityFlags.join(', ')} secure a Kafka connection: give the brokers with --kafka <host:port> (or $SLIPWAY_KAFKA_BROKERS).`,
        { details: { option: securityFlags[0] } },
      );
    return { engine: 'embedded', path: logPath() };
  };
  const stateDir = (): string =>
    loaded !== undefined && environment !== undefined ? join(loaded.dir, '.slipway') : dirname(logPath());
  return {
    environment: () => environment,
    project: () => loaded,
    loadEnvironment: async (projectFile) => {
      const name = envName();
      if (name === undefined) return;
      if (loaded === undefined) {
        const { loadProjectFile } = await import('../project/load-project.js');
        loaded = await loadProjectFile(projectFile);
      }
      // A declared environment, else one of the project's workspaces (`slipway workspace up`).
      environment = resolveEnvironmentOrWorkspace(loaded.project.spec, name, loaded.dir);
    },
    io,
    logPath,
    stateDir,
    artifactsDir: () => resolve(process.env.SLIPWAY_ARTIFACTS ?? join(stateDir(), 'artifacts')),
    logConfig,
    openLog: () => openLog(logConfig()),
    openLogForReading: async () => {
      const config = logConfig();
      try {
        return await openLog(config, { mustExist: true });
      } catch (err) {
        if (!isSlipwayError(err, 'SLIPWAY_LOG_NOT_FOUND') || config.engine !== 'embedded') throw err;
        throw new SlipwayError(
          'SLIPWAY_LOG_NOT_FOUND',
          `no log at ${config.path}: check --log / $SLIPWAY_LOG; commands that write (produce, run, up) create it.`,
          { cause: err, details: { path: config.path } },
        );
      }
    },
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

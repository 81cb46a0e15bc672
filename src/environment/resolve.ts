import { isAbsolute, join, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { LogConfig } from '../log/open-log.js';
import type { EnvironmentSpec, ProjectSpec } from './project.js';

/** One environment of a project, ready to run: its spec, and the log (with its namespace) its runners use. */
export interface ResolvedEnvironment {
  readonly name: string;
  readonly spec: EnvironmentSpec;
  /** The environment's log, carrying its topic prefix as the namespace (see `namespaceLog`). */
  readonly log: LogConfig;
}

/** The embedded log file of an environment: its declared path (relative to the project folder), else `.slipway/<name>/log.db`. */
export function embeddedLogPath(projectDir: string, name: string, path: string | undefined): string {
  if (path === undefined) return join(resolve(projectDir), '.slipway', name, 'log.db');
  return isAbsolute(path) ? path : resolve(projectDir, path);
}

/** The log config of an environment: engine and address from its spec, its topic prefix as the namespace. */
export function environmentLog(projectDir: string, name: string, spec: EnvironmentSpec): LogConfig {
  const namespace = {
    ...(spec.topicPrefix === undefined || spec.topicPrefix === '' ? {} : { namespace: spec.topicPrefix }),
    // The registry travels with the log's config to every runner of the environment.
    ...(spec.schemaRegistry === undefined ? {} : { schemaRegistry: { ...spec.schemaRegistry } }),
  };
  if (spec.log.engine === 'embedded')
    return { engine: 'embedded', path: embeddedLogPath(projectDir, name, spec.log.path), ...namespace };
  const { engine: _engine, brokers, sasl, tls, ...client } = spec.log;
  const security =
    sasl === undefined && tls === undefined
      ? {}
      : { security: { ...(sasl === undefined ? {} : { sasl }), ...(tls === undefined ? {} : { tls }) } };
  return { engine: 'kafka', brokers: [...brokers], ...client, ...security, ...namespace };
}

/**
 * Resolves a declared environment by name, or refuses with `SLIPWAY_UNKNOWN_ENVIRONMENT` listing those
 * the project declares.
 */
export function resolveEnvironment(project: ProjectSpec, name: string, projectDir: string): ResolvedEnvironment {
  const spec = project.environments[name];
  if (spec === undefined) {
    const declared = Object.keys(project.environments);
    throw new SlipwayError(
      'SLIPWAY_UNKNOWN_ENVIRONMENT',
      `The project declares no environment '${name}' (it declares: ${declared.join(', ')}). Add it under environments in slipway.config.ts, or pick one of those.`,
      { details: { environment: name, declared } },
    );
  }
  return Object.freeze({ name, spec, log: environmentLog(projectDir, name, spec) });
}

/** Every environment of a project, in promotion order (an environment after the one it is promoted from). */
export function environmentsInOrder(project: ProjectSpec): string[] {
  const names = Object.keys(project.environments);
  const depth = (name: string): number => {
    let d = 0;
    for (
      let at = project.environments[name]?.promotion?.from;
      at !== undefined;
      at = project.environments[at]?.promotion?.from
    )
      d++;
    return d;
  };
  return names
    .map((n, i) => ({ n, i, d: depth(n) }))
    .sort((a, b) => a.d - b.d || a.i - b.i)
    .map((x) => x.n);
}

import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { SlipwayError } from '../errors.js';
import type { EnvironmentSpec, ProjectSpec } from './project.js';
import { environmentLog, environmentsInOrder, type ResolvedEnvironment, resolveEnvironment } from './resolve.js';

/**
 * Per-developer workspaces: private environments derived from a declared one (its base). A workspace runs on
 * the base's log engine with a topic prefix of its own (`ws-<name>.` before the base's prefix, so neither the
 * base's namespace nor another workspace's contains it), or, when the base is embedded, in an embedded file of
 * its own. Workspaces are not declared in `slipway.config.ts`: each developer makes theirs with
 * `slipway workspace up`, and they are recorded in the project's `.slipway/workspaces.json`, so `--env <name>`
 * resolves them like declared environments.
 */

/** One workspace as `.slipway/workspaces.json` records it. */
export interface WorkspaceRecord {
  name: string;
  /** The declared environment it derives from. */
  base: string;
  /** Prefix of every topic, group, owner and state namespace it makes on its log. */
  topicPrefix: string;
  /** Embedded bases only: the workspace's own log file, relative to the project folder. */
  logPath?: string;
  createdAt: string;
  createdBy: string;
}

interface WorkspaceFile {
  version: 1;
  workspaces: Record<string, WorkspaceRecord>;
}

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** `<project>/.slipway/workspaces.json`. */
export function workspacesFile(projectDir: string): string {
  return join(resolve(projectDir), '.slipway', 'workspaces.json');
}

/** The project's workspaces, by name (none when the file does not exist). */
export function readWorkspaces(projectDir: string): Map<string, WorkspaceRecord> {
  const path = workspacesFile(projectDir);
  const out = new Map<string, WorkspaceRecord>();
  if (!existsSync(path)) return out;
  let parsed: WorkspaceFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as WorkspaceFile;
  } catch (err) {
    throw new SlipwayError(
      'SLIPWAY_WORKSPACE_FILE',
      `${path} is not valid JSON (${(err as Error).message}). Fix it, or move it away and make your workspace again with \`slipway workspace up\`.`,
      { cause: err, details: { path } },
    );
  }
  const entries = parsed?.workspaces;
  if (parsed?.version !== 1 || typeof entries !== 'object' || entries === null) {
    throw new SlipwayError(
      'SLIPWAY_WORKSPACE_FILE',
      `${path} is not a workspace list of this Slipway (expected {"version": 1, "workspaces": {…}}). Fix it, or move it away and make your workspace again.`,
      { details: { path } },
    );
  }
  for (const [name, w] of Object.entries(entries)) {
    if (
      !NAME.test(name) ||
      typeof w?.base !== 'string' ||
      typeof w.topicPrefix !== 'string' ||
      !PREFIX.test(w.topicPrefix)
    )
      throw new SlipwayError(
        'SLIPWAY_WORKSPACE_FILE',
        `${path}: workspace '${name}' is malformed (it needs a base and a topicPrefix). Fix it, or remove the entry.`,
        { details: { path, workspace: name } },
      );
    out.set(name, { ...w, name });
  }
  return out;
}

/** Writes the workspace list (through a temp file and a rename, so a crash never leaves half a file). */
export function writeWorkspaces(projectDir: string, workspaces: ReadonlyMap<string, WorkspaceRecord>): void {
  const path = workspacesFile(projectDir);
  mkdirSync(dirname(path), { recursive: true });
  const file: WorkspaceFile = {
    version: 1,
    workspaces: Object.fromEntries([...workspaces].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`);
  renameSync(tmp, path);
}

/**
 * Reads, changes and writes the workspace list under an exclusive lock file (`workspaces.json.lock`), so two
 * commands making workspaces at once both land. A lock older than 10 s is a crashed command's: taken over.
 */
export function updateWorkspaces<T>(projectDir: string, change: (workspaces: Map<string, WorkspaceRecord>) => T): T {
  const lock = `${workspacesFile(projectDir)}.lock`;
  mkdirSync(dirname(lock), { recursive: true });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000) rmSync(lock, { force: true });
      } catch {
        // Gone meanwhile: try again.
      }
      if (Date.now() > deadline)
        throw new SlipwayError(
          'SLIPWAY_WORKSPACE_FILE',
          `${lock} has been held for 30 s: another slipway command is changing the workspaces. Try again; if none runs, delete the lock file.`,
          { retryable: true, details: { path: lock } },
        );
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    const workspaces = readWorkspaces(projectDir);
    const out = change(workspaces);
    writeWorkspaces(projectDir, workspaces);
    return out;
  } finally {
    rmSync(lock, { force: true });
  }
}

/** The OS user name as a workspace name: lower case, letters, digits and `-`, starting with a letter. */
export function defaultWorkspaceName(user: string = safeUserName()): string {
  let name = user
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  if (!/^[a-z]/.test(name)) name = `u${name}`;
  return name.slice(0, 24).replace(/-+$/, '') || 'dev';
}

function safeUserName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'dev';
  }
}

/**
 * The environment workspaces derive from by default: the one declared with `workspaceBase: true`, else the
 * first in promotion order (where artifacts start).
 */
export function defaultWorkspaceBase(project: ProjectSpec): string {
  const marked = Object.entries(project.environments).filter(([, e]) => e.workspaceBase === true);
  if (marked.length > 1)
    throw new SlipwayError(
      'SLIPWAY_INVALID_DEFINITION',
      `Project definition: ${marked.map(([n]) => n).join(' and ')} are both marked workspaceBase; mark one.`,
      { details: { field: `environments.${marked[1]?.[0]}.workspaceBase` } },
    );
  return marked[0]?.[0] ?? (environmentsInOrder(project)[0] as string);
}

/** Where a log is, as a key: two environments with the same key share topics unless their prefixes differ. */
function logKey(projectDir: string, name: string, spec: EnvironmentSpec): string {
  const log = environmentLog(projectDir, name, spec);
  return log.engine === 'kafka' ? `kafka:${[...log.brokers].sort().join(',')}` : `embedded:${log.path}`;
}

/**
 * Makes the record of a new workspace `name` derived from `base` (default: {@link defaultWorkspaceBase}), or
 * refuses with a coded error: a name that is not valid or is a declared environment's, an unknown base, or a
 * prefix that would overlap a declared environment's on the same log.
 */
export function newWorkspace(
  project: ProjectSpec,
  projectDir: string,
  name: string,
  options: { base?: string; user?: string; now?: Date } = {},
): WorkspaceRecord {
  if (!NAME.test(name))
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `'${name}' is not a workspace name: use 1-32 lower-case letters, digits and '-', starting with a letter (e.g. 'alice').`,
      { details: { workspace: name } },
    );
  if (project.environments[name] !== undefined)
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `'${name}' is a declared environment of the project; a workspace needs a name of its own (e.g. '${name}-${defaultWorkspaceName(options.user)}').`,
      { details: { workspace: name } },
    );
  const baseName = options.base ?? defaultWorkspaceBase(project);
  const base = resolveEnvironment(project, baseName, projectDir).spec;
  const topicPrefix = `ws-${name}.${base.topicPrefix ?? ''}`;
  if (!PREFIX.test(topicPrefix))
    throw new SlipwayError(
      'SLIPWAY_USAGE',
      `The workspace's topic prefix '${topicPrefix}' would be longer than 64 characters: choose a shorter workspace name.`,
      { details: { workspace: name, topicPrefix } },
    );
  const logPath =
    base.log.engine === 'embedded'
      ? relative(resolve(projectDir), join(resolve(projectDir), '.slipway', 'workspaces', name, 'log.db'))
      : undefined;
  const record: WorkspaceRecord = {
    name,
    base: baseName,
    topicPrefix,
    ...(logPath === undefined ? {} : { logPath }),
    createdAt: (options.now ?? new Date()).toISOString(),
    createdBy: options.user ?? safeUserName(),
  };
  // A declared environment whose prefix starts with this one's (or the reverse) would see its topics.
  const spec = workspaceSpec(base, record);
  const mine = logKey(projectDir, name, spec);
  for (const [other, env] of Object.entries(project.environments)) {
    if (logKey(projectDir, other, env) !== mine) continue;
    const theirs = env.topicPrefix ?? '';
    if (theirs !== '' && (theirs.startsWith(topicPrefix) || topicPrefix.startsWith(theirs)))
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Workspace '${name}' would use the prefix '${topicPrefix}', which overlaps environment ${other}'s ('${theirs}') on the same log: choose another workspace name.`,
        { details: { workspace: name, environment: other } },
      );
  }
  return record;
}

/** A workspace's environment spec: the base's, on its own prefix (and file), without promotion rules. */
function workspaceSpec(base: EnvironmentSpec, record: WorkspaceRecord): EnvironmentSpec {
  const { promotion: _promotion, workspaceBase: _marked, ...rest } = base;
  return {
    ...rest,
    log: base.log.engine === 'embedded' ? { engine: 'embedded', path: record.logPath ?? '' } : base.log,
    topicPrefix: record.topicPrefix,
    // Its own schema in each of the base's databases (as its own topic prefix on the base's log): a workspace never
    // migrates or writes the base's tables.
    ...(base.datastores === undefined
      ? {}
      : {
          datastores: Object.fromEntries(
            Object.entries(base.datastores).map(([n, d]) => [
              n,
              {
                ...d,
                schema: `${d.schema ?? 'public'}_${record.topicPrefix}`
                  .toLowerCase()
                  .replace(/[^a-z0-9_]/g, '_')
                  .slice(0, 63),
              },
            ]),
          ),
        }),
    // A developer's own space: builds need no test report to run there.
    allowUntested: true,
  };
}

/** A resolved workspace: a ResolvedEnvironment, plus the record it came from. */
export interface ResolvedWorkspace extends ResolvedEnvironment {
  readonly workspace: WorkspaceRecord;
}

/** Resolves a recorded workspace against the project (its base's current spec). */
export function resolveWorkspace(project: ProjectSpec, record: WorkspaceRecord, projectDir: string): ResolvedWorkspace {
  const base = project.environments[record.base];
  if (base === undefined)
    throw new SlipwayError(
      'SLIPWAY_UNKNOWN_ENVIRONMENT',
      `Workspace '${record.name}' derives from '${record.base}', which the project no longer declares. Declare ${record.base} again to use it or remove it (\`slipway workspace down ${record.name}\`), or delete its entry from ${workspacesFile(projectDir)} (what it made stays on the log, under the prefix '${record.topicPrefix}').`,
      { details: { environment: record.name, base: record.base } },
    );
  const spec = workspaceSpec(base, record);
  return Object.freeze({
    name: record.name,
    spec,
    log: environmentLog(projectDir, record.name, spec),
    workspace: record,
  });
}

/**
 * A declared environment, else a workspace of the project; refuses with `SLIPWAY_UNKNOWN_ENVIRONMENT` naming
 * both lists.
 */
export function resolveEnvironmentOrWorkspace(
  project: ProjectSpec,
  name: string,
  projectDir: string,
): ResolvedEnvironment | ResolvedWorkspace {
  if (project.environments[name] !== undefined) return resolveEnvironment(project, name, projectDir);
  const workspaces = readWorkspaces(projectDir);
  const record = workspaces.get(name);
  if (record !== undefined) return resolveWorkspace(project, record, projectDir);
  const declared = Object.keys(project.environments);
  throw new SlipwayError(
    'SLIPWAY_UNKNOWN_ENVIRONMENT',
    `The project declares no environment '${name}' and has no such workspace (environments: ${declared.join(', ')}; workspaces: ${[...workspaces.keys()].join(', ') || 'none'}). Pick one of those, or make it with \`slipway workspace up ${name}\`.`,
    { details: { environment: name, declared, workspaces: [...workspaces.keys()] } },
  );
}

/** True when a resolved environment is a workspace. */
export function isWorkspace(env: ResolvedEnvironment): env is ResolvedWorkspace {
  return (env as Partial<ResolvedWorkspace>).workspace !== undefined;
}

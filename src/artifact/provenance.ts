import { execFile } from 'node:child_process';
import { relative, resolve } from 'node:path';
import type { ArtifactProvenance } from './manifest.js';

/**
 * Where the sources of a build come from: the git commit of the project and whether the work tree had
 * uncommitted changes. Never fails: outside a git work tree (or without git) both are null.
 *
 * Slipway's own working folder (`.slipway/`, where the log and the default artifact store live) and the
 * folders in `exclude` (an artifact store elsewhere in the tree) do not make the tree dirty.
 *
 * @example
 * const { gitCommit, gitDirty } = await readProvenance({ cwd: process.cwd() })
 */
export async function readProvenance(options: { cwd: string; exclude?: string[] }): Promise<ArtifactProvenance> {
  const cwd = resolve(options.cwd);
  const inside = await git(cwd, ['rev-parse', '--is-inside-work-tree']);
  if (inside?.trim() !== 'true') return { gitCommit: null, gitDirty: null };
  const head = (await git(cwd, ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}']))?.trim();
  const excluded = ['.slipway', ...(options.exclude ?? []).map((dir) => relative(cwd, resolve(cwd, dir)))]
    .filter((path) => path !== '' && !path.startsWith('..'))
    .map((path) => `:(exclude)${path}`);
  // ':/' is the whole work tree, not only the project folder: a change anywhere in the commit counts.
  const status = await git(cwd, ['status', '--porcelain', '--untracked-files=normal', '--', ':/', ...excluded]);
  return {
    gitCommit: head !== undefined && /^[0-9a-f]{40,64}$/.test(head) ? head : null,
    gitDirty: status === undefined ? null : status.trim() !== '',
  };
}

/** Runs git; undefined when it fails or is not installed. */
function git(cwd: string, args: string[]): Promise<string | undefined> {
  return new Promise((done) => {
    execFile(
      'git',
      args,
      // No optional locks: `git status` must not write the index of the user's repository behind their back.
      { cwd, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' }, timeout: 30_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout) => done(err ? undefined : stdout),
    );
  });
}

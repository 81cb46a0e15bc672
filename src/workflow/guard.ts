import { execFileSync, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { SlipwayError } from '../errors.js';

/** What the guard decided. */
export type GuardOutcome =
  | 'green' // the tip passes
  | 'flaky' // the tip failed, then passed on the re-run: no revert
  | 'fixed' // a commit that landed within the grace period made the branch green
  | 'reverted' // the culprit was reverted (and pushed, when asked)
  | 'red'; // still red, and nothing could be reverted (no culprit found, or the revert did not apply)

export type GuardEvent =
  | { type: 'test'; commit: string; subject: string; passed: boolean; rerun?: boolean }
  | { type: 'culprit'; commit: string; subject: string; lastGreen: string; tested: number }
  | { type: 'waiting'; until: Date; culprit: string }
  | { type: 'new-commits'; tip: string }
  | { type: 'reverted'; culprit: string; revert: string; pushed: boolean };

export interface GuardOptions {
  /** The work tree of the repository (a clean checkout of the branch; CI's). */
  cwd: string;
  /** The test command, run by the shell in `cwd`; exit code 0 is green. */
  test: string;
  /** How long a fix may take, counted from when the culprit was committed, before it is reverted. */
  graceMs: number;
  /** The remote to fetch fixes from and push the revert to (default: `origin` when it exists). */
  remote?: string;
  /** The branch (default: the one checked out). */
  branch?: string;
  /** Push the revert to the remote. */
  push?: boolean;
  /** A commit known to be green (default: found by testing back along the branch's first parents). */
  good?: string;
  /** How far back to look for a green commit (default 64). */
  maxLookback?: number;
  /** How often to look for a fix while waiting out the grace period (default 15 s). */
  pollMs?: number;
  onEvent?: (event: GuardEvent) => void;
  signal?: AbortSignal;
}

export interface GuardResult {
  outcome: GuardOutcome;
  /** The first bad commit, when the branch was red. */
  culprit?: string;
  /** The revert commit, when one was made. */
  revert?: string;
  pushed?: boolean;
  /** The commit that fixed the branch within the grace period. */
  fix?: string;
}

/** Parses `10m`, `90s`, `500ms`, `1h` (or a number of milliseconds). */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (m === null)
    throw new SlipwayError('SLIPWAY_USAGE', `'${text}' is not a duration: write e.g. 10m, 90s, 500ms or 1h.`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

/**
 * The broken-main policy. When the branch's tip fails the test, re-runs it once (a flaky test causes no
 * revert), finds the first bad commit since the last green one (bisecting with the test), waits until the
 * grace period after the culprit's commit is over while looking for a fix on the remote, and, when the
 * branch is still red, commits a revert of the culprit on top of the tip (and pushes it with `push`).
 * Never reverts when the re-run passes or a later commit is green. Leaves the branch checked out.
 *
 * @example
 * const r = await guardBranch({ cwd: '.', test: 'npm test', graceMs: 10 * 60_000, push: true })
 * // r.outcome: 'reverted', r.culprit: '3f2a…'
 */
export async function guardBranch(options: GuardOptions): Promise<GuardResult> {
  const git = gitIn(options.cwd);
  if (git(['rev-parse', '--is-inside-work-tree'], true) !== 'true')
    throw new SlipwayError(
      'SLIPWAY_GUARD_FAILED',
      `${options.cwd} is not a git work tree: run the guard in a checkout.`,
    );
  if (git(['status', '--porcelain', '--untracked-files=no']) !== '')
    throw new SlipwayError(
      'SLIPWAY_GUARD_FAILED',
      'the work tree has uncommitted changes; the guard checks out older commits to bisect: run it in a clean checkout.',
    );
  const branch = options.branch ?? git(['symbolic-ref', '--short', 'HEAD'], true);
  if (branch === '')
    throw new SlipwayError('SLIPWAY_GUARD_FAILED', 'HEAD is detached: check out the branch, or name it with --branch.');
  const remote = options.remote ?? (git(['remote'], true).split('\n').includes('origin') ? 'origin' : undefined);
  const emit = options.onEvent ?? (() => {});
  const subject = (c: string) => git(['log', '-1', '--format=%s', c]);
  const test = (commit: string, rerun = false): boolean => {
    git(['checkout', '-q', '--detach', commit]);
    const run = spawnSync(options.test, { cwd: options.cwd, shell: true, stdio: 'ignore' });
    const passed = run.status === 0;
    emit({ type: 'test', commit, subject: subject(commit), passed, ...(rerun ? { rerun } : {}) });
    return passed;
  };
  const update = (): string => {
    if (remote !== undefined) {
      git(['fetch', '-q', remote, branch]);
      git(['checkout', '-q', branch]);
      git(['merge', '-q', '--ff-only', `${remote}/${branch}`]);
    }
    return git(['rev-parse', branch]);
  };

  try {
    let tip = update();
    if (test(tip)) return { outcome: 'green' };
    if (test(tip, true)) return { outcome: 'flaky' };

    const { culprit, lastGreen, tested } = findCulprit(git, test, tip, options);
    if (culprit === undefined) return { outcome: 'red' };
    emit({ type: 'culprit', commit: culprit, subject: subject(culprit), lastGreen, tested });

    const committedAt = Number(git(['log', '-1', '--format=%ct', culprit])) * 1000;
    const deadline = committedAt + options.graceMs;
    if (Date.now() < deadline) emit({ type: 'waiting', until: new Date(deadline), culprit });
    for (;;) {
      const now = Date.now();
      if (now < deadline)
        await sleep(Math.min(options.pollMs ?? 15_000, deadline - now), undefined, { signal: options.signal });
      const next = update();
      if (next !== tip) {
        tip = next;
        emit({ type: 'new-commits', tip });
        if (test(tip)) return { outcome: 'fixed', culprit, fix: tip };
      }
      if (Date.now() >= deadline) break;
    }

    git(['checkout', '-q', branch]);
    try {
      git(['revert', '--no-edit', culprit]);
    } catch (err) {
      git(['revert', '--abort'], true);
      throw new SlipwayError(
        'SLIPWAY_GUARD_FAILED',
        `main is red since ${culprit.slice(0, 12)} (${subject(culprit)}), and its revert does not apply on ${tip.slice(0, 12)}: revert it by hand.`,
        { cause: err, details: { culprit } },
      );
    }
    const revert = git(['rev-parse', 'HEAD']);
    git([
      'commit',
      '-q',
      '--amend',
      '-m',
      `${git(['log', '-1', '--format=%B', revert])}\n\nReverted by slipway ci guard: main was red for longer than the grace period.`,
    ]);
    const amended = git(['rev-parse', 'HEAD']);
    let pushed = false;
    if (options.push === true) {
      if (remote === undefined)
        throw new SlipwayError(
          'SLIPWAY_GUARD_FAILED',
          `--push needs a remote, and the repository has none; the revert ${amended.slice(0, 12)} was committed locally.`,
        );
      git(['push', '-q', remote, `HEAD:refs/heads/${branch}`]);
      pushed = true;
    }
    emit({ type: 'reverted', culprit, revert: amended, pushed });
    return { outcome: 'reverted', culprit, revert: amended, pushed };
  } finally {
    git(['checkout', '-q', branch], true);
  }
}

function findCulprit(
  git: (args: string[], lenient?: boolean) => string,
  test: (commit: string) => boolean,
  tip: string,
  options: GuardOptions,
): { culprit?: string; lastGreen: string; tested: number } {
  // The branch's own history (first parents), newest first: what landed on it, one commit or merge at a time.
  const history = git(['rev-list', '--first-parent', `--max-count=${(options.maxLookback ?? 64) + 1}`, tip]).split(
    '\n',
  );
  let tested = 0;
  let good: number | undefined;
  if (options.good !== undefined) {
    const sha = git(['rev-parse', options.good]);
    good = history.indexOf(sha);
    if (good < 0)
      throw new SlipwayError('SLIPWAY_GUARD_FAILED', `--good ${options.good} is not on the branch's recent history.`);
  } else {
    // Gallop back (1, 2, 4, … commits) to a green commit, then bisect between it and the last red one.
    let bad = 0;
    for (let step = 1; ; step *= 2) {
      const i = Math.min(bad + step, history.length - 1);
      if (i === bad) break;
      tested++;
      if (test(history[i]!)) {
        good = i;
        break;
      }
      bad = i;
    }
    if (good === undefined) return { lastGreen: '', tested };
  }
  let bad = 0;
  let lo = good; // green (older: larger index)
  while (lo - bad > 1) {
    const mid = Math.floor((lo + bad) / 2);
    tested++;
    if (test(history[mid]!)) lo = mid;
    else bad = mid;
  }
  return { culprit: history[bad]!, lastGreen: history[lo]!, tested };
}

function gitIn(cwd: string): (args: string[], lenient?: boolean) => string {
  return (args, lenient = false) => {
    try {
      return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    } catch (err) {
      if (lenient) return '';
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new SlipwayError(
        'SLIPWAY_GUARD_FAILED',
        `git ${args.join(' ')} failed: ${stderr || (err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  };
}

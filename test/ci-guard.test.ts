// slipway ci guard against a real repository with a bare remote: a breaking commit is reverted after the
// grace period; a fix landing within it prevents the revert; a test that fails once then passes causes none.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { guardBranch } from '../src/workflow/guard.js';

const BIN = fileURLToPath(new URL('../bin/slipway.js', import.meta.url));
const roots: string[] = [];
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

/** A bare remote, a clone CI runs in, and a developer's clone; `value.txt` must hold `ok` for the test to pass. */
function setup(): { ci: string; dev: string; commit: (file: string, text: string, msg: string) => string } {
  const root = mkdtempSync(join(tmpdir(), 'slipway-guard-'));
  roots.push(root);
  const remote = join(root, 'remote.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
  const dev = join(root, 'dev');
  execFileSync('git', ['clone', '-q', remote, dev], { stdio: 'ignore' });
  for (const [k, v] of [
    ['user.name', 'dev'],
    ['user.email', 'dev@example.com'],
  ])
    git(dev, 'config', k!, v!);
  git(dev, 'checkout', '-q', '-b', 'main');
  const commit = (file: string, text: string, msg: string): string => {
    writeFileSync(join(dev, file), text);
    git(dev, 'add', '.');
    git(dev, 'commit', '-q', '-m', msg);
    git(dev, 'push', '-q', 'origin', 'main');
    return git(dev, 'rev-parse', 'HEAD');
  };
  commit('check.sh', 'test "$(cat value.txt)" = ok\n', 'the test');
  commit('value.txt', 'ok\n', 'green');
  commit('a.txt', 'a\n', 'unrelated 1');
  const ci = join(root, 'ci');
  execFileSync('git', ['clone', '-q', remote, ci], { stdio: 'ignore' });
  git(ci, 'config', 'user.name', 'guard');
  git(ci, 'config', 'user.email', 'guard@example.com');
  return { ci, dev, commit };
}

describe('slipway ci guard', () => {
  it('reverts the first bad commit once the grace period is over, and pushes the revert', async () => {
    const { ci, dev, commit } = setup();
    const culprit = commit('value.txt', 'broken\n', 'breaks the test');
    commit('b.txt', 'b\n', 'unrelated 2');
    git(ci, 'pull', '-q');
    // The compiled CLI, as CI runs it (npm run build first).
    const cli = spawnSync(
      process.execPath,
      [BIN, 'ci', 'guard', '--grace', '2s', '--poll', '200ms', '--test', 'sh check.sh', '--push'],
      { cwd: ci, encoding: 'utf8' },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stderr, new RegExp(`first bad commit: ${culprit.slice(0, 12)} breaks the test`));
    assert.match(cli.stderr, /reverted [0-9a-f]{12} with [0-9a-f]{12}, pushed/);
    const result = JSON.parse(cli.stdout.trim().split('\n').pop() ?? '') as {
      outcome: string;
      culprit: string;
      pushed: boolean;
    };
    assert.equal(result.outcome, 'reverted');
    assert.equal(result.culprit, culprit);
    assert.equal(result.pushed, true);
    git(dev, 'pull', '-q');
    assert.match(git(dev, 'log', '-1', '--format=%s'), /^Revert "breaks the test"/);
    assert.equal(git(dev, 'show', 'HEAD:value.txt'), 'ok');
    assert.equal(git(dev, 'show', 'HEAD:b.txt'), 'b', 'later commits are kept');
  });

  it('does not revert when a fix lands within the grace period', async () => {
    const { ci, dev, commit } = setup();
    commit('value.txt', 'broken\n', 'breaks the test');
    git(ci, 'pull', '-q');
    const guarding = guardBranch({ cwd: ci, test: 'sh check.sh', graceMs: 20_000, pollMs: 200, push: true });
    await new Promise((r) => setTimeout(r, 1500));
    const fix = commit('value.txt', 'ok\n', 'fixes the test');
    const result = await guarding;
    assert.equal(result.outcome, 'fixed');
    assert.equal(result.fix, fix);
    git(dev, 'fetch', '-q');
    assert.equal(git(dev, 'rev-parse', 'origin/main'), fix, 'nothing was pushed after the fix');
  });

  it('does not revert when the test fails once and passes on the re-run', async () => {
    const { ci, dev, commit } = setup();
    // Fails the first time it runs in this clone, passes after: a flaky test.
    commit('check.sh', 'if [ ! -f .ran ]; then touch .ran; exit 1; fi\ntest "$(cat value.txt)" = ok\n', 'a flaky test');
    git(ci, 'pull', '-q');
    const head = git(ci, 'rev-parse', 'HEAD');
    const result = await guardBranch({ cwd: ci, test: 'sh check.sh', graceMs: 0, push: true });
    assert.equal(result.outcome, 'flaky');
    assert.equal(git(ci, 'rev-parse', 'HEAD'), head);
    git(dev, 'fetch', '-q');
    assert.equal(git(dev, 'rev-parse', 'origin/main'), head);
  });

  it('refuses a work tree with uncommitted changes', async () => {
    const { ci } = setup();
    writeFileSync(join(ci, 'value.txt'), 'edited\n');
    await assert.rejects(guardBranch({ cwd: ci, test: 'true', graceMs: 0 }), { code: 'SLIPWAY_GUARD_FAILED' });
  });
});

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';

const _ROOT = resolve('.');
const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A copy of examples/orders in a temp folder (see test/helpers/example-project.ts). */
function makeProject(): string {
  const project = copyExampleProject({ prefix: 'slipway-artifact-cli-', tsx: true });
  made.push(project.dir);
  return project.dir;
}

describe('slipway build / slipway artifacts', () => {
  it('builds an artifact, prints its digest, and lists it', async () => {
    const project = makeProject();
    const empty = await runCli(['artifacts'], { cwd: project });
    assert.equal(empty.code, 0, empty.stderr);
    assert.match(
      empty.stdout,
      /no artifacts in .*\.slipway\/artifacts; build one with `slipway build <pipeline-file>`/,
    );

    const built = await runCli(['build', 'pipeline.ts'], { cwd: project });
    assert.equal(built.code, 0, built.stderr);
    const digest = built.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    assert.match(built.stderr, /built enrich-orders@1\.0\.0 [0-9a-f]{12} into /);
    assert.match(built.stderr, /inputs {3}orders\.v1 \(schema [0-9a-f]{12}\)/);
    assert.match(built.stderr, /git {6}not a git work tree/);

    const again = await runCli(['build', 'pipeline.ts', '--json'], { cwd: project });
    assert.equal(again.code, 0, again.stderr);
    const result = JSON.parse(again.stdout);
    assert.equal(result.digest, digest);
    assert.equal(result.created, false);
    assert.equal(result.manifest.inputs[0].topic, 'orders.v1');

    const listed = await runCli(['artifacts', '--json'], { cwd: project });
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout);
    assert.equal(rows.length, 1);
    assert.equal(rows[0].digest, digest);
    assert.equal(rows[0].name, 'enrich-orders');
    assert.equal(rows[0].version, '1.0.0');
    assert.equal(rows[0].gitCommit, null);
    assert.ok(!Number.isNaN(Date.parse(rows[0].builtAt)));

    const table = await runCli(['artifacts'], { cwd: project });
    assert.match(table.stdout, /^DIGEST {8}NAME {11}VERSION {2}COMMIT {2}BUILT AT {14}STATUS\n/);
    assert.match(table.stdout, new RegExp(`\\n${digest.slice(7, 19)}  enrich-orders  1\\.0\\.0 {4}- {7}\\d{4}-`));
  });

  it('takes the store from --store or $SLIPWAY_ARTIFACTS, and warns about a dirty tree', async () => {
    const project = makeProject();
    const store = join(project, 'elsewhere');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: project });
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '-m', 'first');
    writeFileSync(join(project, 'pipeline.ts'), `${readFileSync(join(project, 'pipeline.ts'), 'utf8')}\n// edited\n`);

    const built = await runCli(['build', 'pipeline.ts', '--store', 'elsewhere'], { cwd: project });
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, /warning: the work tree has uncommitted changes/);
    assert.match(built.stderr, /git {6}[0-9a-f]{12} dirty/);
    const viaEnv = await runCli(['artifacts', '--json'], { cwd: project, env: { SLIPWAY_ARTIFACTS: store } });
    const rows = JSON.parse(viaEnv.stdout);
    assert.deepEqual(
      rows.map((r: { digest: string; gitDirty: boolean }) => [r.digest, r.gitDirty]),
      [[built.stdout.trim(), true]],
    );
    const defaultStore = await runCli(['artifacts', '--json'], { cwd: project });
    assert.deepEqual(JSON.parse(defaultStore.stdout), []);
  });

  it('reports build errors with a code, the file and the line', async () => {
    const project = makeProject();
    // TypeScript is type-checked before it is bundled: the checker reports it.
    writeFileSync(join(project, 'broken.ts'), 'export const x = ;\n');
    const broken = await runCli(['build', 'broken.ts'], { cwd: project });
    assert.equal(broken.code, 1);
    assert.match(
      broken.stderr,
      /error SLIPWAY_TYPECHECK_FAILED: broken\.ts does not type-check \(1 error\)[^\n]*\n {2}broken\.ts\(1,18\): error TS1109/,
    );
    // JavaScript goes straight to the bundler, which reports it.
    writeFileSync(join(project, 'broken.js'), 'export const x = ;\n');
    const bundled = await runCli(['build', 'broken.js'], { cwd: project });
    assert.equal(bundled.code, 1);
    assert.match(
      bundled.stderr,
      /error SLIPWAY_BUILD_FAILED: Bundling broken\.js failed with 1 error:\n {2}broken\.js:1:\d+: /,
    );
    const missing = await runCli(['build', 'nope.ts'], { cwd: project });
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error SLIPWAY_FILE_NOT_FOUND: nope\.ts does not exist/);
  });
});

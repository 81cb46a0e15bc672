import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type DatasetsProject, datasetsProject, MIGRATE_V2 } from './helpers/datasets-project.js';

const made: DatasetsProject[] = [];
after(() => {
  for (const p of made) p.remove();
});

function makeProject(): DatasetsProject {
  const project = datasetsProject('slipway-datasets-cli-');
  made.push(project);
  return project;
}

const ORIGINAL = {
  datasets: readFileSync('examples/orders/datasets.ts', 'utf8'),
  pipeline: readFileSync('examples/orders/pipeline.ts', 'utf8'),
};

/**
 * Writes the example with `orders` at a version, an extra field `note` in its schema (or none), and the
 * pipeline at a version (so a dataset's own problems are not hidden behind the pipeline's).
 */
function edit(project: string, orders: string, note: string | null, pipeline: string, code = ''): void {
  let datasets = ORIGINAL.datasets.replace("version: '1.0.0'", `version: '${orders}'`);
  if (note !== null)
    datasets = datasets.replace(
      "createdAt: Type.String({ format: 'date-time' }),",
      `createdAt: Type.String({ format: 'date-time' }),\n      note: ${note},`,
    );
  writeFileSync(join(project, 'datasets.ts'), datasets);
  writeFileSync(
    join(project, 'pipeline.ts'),
    `${ORIGINAL.pipeline.replace("version: '1.0.0'", `version: '${pipeline}'`)}${code}`,
  );
}

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf8' });

describe('slipway build enforces versions; slipway datasets lists, shows and diffs them', () => {
  it('refuses a missing bump, a wrong bump and an incompatible minor; accepts the right one', async () => {
    const { dir: project, cli } = makeProject();
    const first = await cli('build', 'pipeline.ts');
    assert.equal(first.code, 0, first.stderr);

    // The same version of orders with another schema: the bump is missing.
    edit(project, '1.0.0', 'Type.Optional(Type.String())', '1.0.1');
    const missing = await cli('build', 'pipeline.ts');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /SLIPWAY_VERSION_NOT_BUMPED/);
    assert.match(
      missing.stderr,
      /dataset orders@1\.0\.0 has another schema than orders@1\.0\.0 in artifact [0-9a-f]{12} \(enrich-orders@1\.0\.0\)/,
    );
    assert.match(missing.stderr, /The change is backward-compatible: bump the minor \(1\.1\.0\)/);

    // A patch that changes the schema.
    edit(project, '1.0.1', 'Type.Optional(Type.String())', '1.0.1');
    const patch = await cli('build', 'pipeline.ts');
    assert.equal(patch.code, 1);
    assert.match(patch.stderr, /SLIPWAY_WRONG_BUMP/);
    assert.match(
      patch.stderr,
      /orders@1\.0\.1 is a patch of 1\.0\.0 .* a patch may change annotations only\. The change is backward-compatible: make it a minor \(1\.1\.0\)/,
    );

    // A minor that adds a required field: old records do not have it.
    edit(project, '1.1.0', 'Type.String()', '1.0.1');
    const breaking = await cli('build', 'pipeline.ts');
    assert.equal(breaking.code, 1);
    assert.match(breaking.stderr, /SLIPWAY_WRONG_BUMP/);
    assert.match(
      breaking.stderr,
      /orders@1\.1\.0 is a minor of 1\.0\.0 .* not backward-compatible .* make it a major \(2\.0\.0, a new topic orders\.v2/,
    );
    assert.match(breaking.stderr, /✗ \$\.note: never written \(1\.0\.0\) → required \(1\.1\.0\) {2}\[required-added\]/);
    assert.match(breaking.stderr, /breaks: readers on 1\.1\.0 reading records written by 1\.0\.0/);
    assert.match(breaking.stderr, /fix: {4}make \$\.note optional/);
    assert.equal((await cli('artifacts', '--json')).stdout.match(/"digest"/g)?.length, 1, 'nothing refused was stored');

    // The right bump: an optional field in a closed model is backward-compatible, a minor.
    edit(project, '1.1.0', 'Type.Optional(Type.String())', '1.0.1');
    const minor = await cli('build', 'pipeline.ts');
    assert.equal(minor.code, 0, minor.stderr);
    const again = await cli('build', 'pipeline.ts');
    assert.equal(again.code, 0, 'the same sources again are the same artifact');

    // Point 6: the same pipeline version with other code.
    edit(project, '1.1.0', 'Type.Optional(Type.String())', '1.0.1', '\nexport const other = 1;\n');
    const code = await cli('build', 'pipeline.ts');
    assert.equal(code.code, 1);
    assert.match(code.stderr, /SLIPWAY_VERSION_NOT_BUMPED/);
    assert.match(
      code.stderr,
      /pipeline enrich-orders@1\.0\.1 is already [0-9a-f]{12} .* a version names one code\. Bump the pipeline's version \(to 1\.0\.2\)/,
    );

    const list = await cli('datasets');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^DATASET +VERSION +TOPIC +MODE +SCHEMA +FIRST SEEN +BY +PRODUCED IN +CONSUMED IN\n/);
    assert.match(list.stdout, /\norders +1\.0\.0 +orders\.v1 +backward +[0-9a-f]{12} .* enrich-orders@1\.0\.0 /);
    assert.match(list.stdout, /\norders +1\.1\.0 +orders\.v1 +backward .* enrich-orders@1\.0\.1 /);
    assert.match(list.stdout, /\nenriched-orders +1\.0\.0 +enriched-orders\.v1 /);

    const show = await cli('datasets', 'show', 'orders@1.1.0');
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^orders@1\.1\.0 {2}topic orders\.v1\n {2}mode {8}backward\n/);
    assert.match(show.stdout, /read by {5}enrich-orders@1\.0\.1/);
    assert.match(show.stdout, /✓ backward-compatible with 1\.0\.0/);

    const diff = await cli('datasets', 'diff', 'orders@1.0.0', '1.1.0');
    assert.equal(diff.code, 0, diff.stderr);
    assert.match(diff.stdout, /^orders@1\.0\.0 → orders@1\.1\.0: backward-compatible only/);
    assert.match(diff.stdout, /\n {2}\+ \$\.note: \{"type":"string"\}\n/);
    assert.match(diff.stdout, /backward \(readers on 1\.1\.0, records of 1\.0\.0\): ✓ compatible/);
    assert.match(diff.stdout, /forward {2}\(readers on 1\.0\.0, records of 1\.1\.0\): ✗ 1 incompatibility/);
    assert.match(
      diff.stdout,
      /\$\.note: closed content model without it \(1\.0\.0\) → declares 'note' \(1\.1\.0\) {2}\[property-not-accepted\]/,
    );

    const unknown = await cli('datasets', 'show', 'orders@9.9.9');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /SLIPWAY_DATASET_NOT_FOUND.*known: 1\.0\.0, 1\.1\.0/);
  });

  it('datasets check runs in CI against the last release in git, with no store and no control plane', async () => {
    const { dir: project, cli } = makeProject();
    writeFileSync(join(project, '.gitignore'), 'node_modules\n.slipway\n');
    edit(project, '1.1.0', 'Type.Optional(Type.String())', '1.1.0');
    git(project, 'init', '-q', '-b', 'main');
    git(project, 'add', '-A');
    git(project, 'commit', '-q', '-m', 'release 1');
    git(project, 'tag', 'v1');

    const same = await cli('datasets', 'check', 'pipeline.ts');
    assert.equal(same.code, 0, same.stderr);
    assert.match(
      same.stdout,
      /✓ pipeline\.ts: enrich-orders@1\.1\.0 \(orders@1\.1\.0, enriched-orders@1\.0\.0\)\n {2}checked against the artifact store \(.*\), git v1\n/,
    );

    // The note becomes an integer, under the same version: refused against the tag.
    edit(project, '1.1.0', 'Type.Optional(Type.Integer())', '1.2.0');
    const missing = await cli('datasets', 'check', 'pipeline.ts');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /SLIPWAY_VERSION_NOT_BUMPED/);
    assert.match(missing.stdout, /orders@1\.1\.0 has another schema than orders@1\.1\.0 in git v1/);
    assert.match(missing.stdout, /not backward-compatible: bump the major \(2\.0\.0/);

    edit(project, '1.2.0', 'Type.Optional(Type.Integer())', '1.2.0');
    const wrong = await cli('datasets', 'check', 'pipeline.ts', '--json');
    assert.equal(wrong.code, 1);
    const [result] = JSON.parse(wrong.stdout);
    assert.deepEqual(
      result.problems.map((p: { code: string; reason: string; suggest: string }) => [p.code, p.reason, p.suggest]),
      [['SLIPWAY_WRONG_BUMP', 'incompatible', '2.0.0']],
    );
    assert.deepEqual(
      result.problems[0].incompatibilities.map((i: { path: string; rule: string }) => [i.path, i.rule]),
      [['$.note', 'type-narrowed']],
    );

    // The pipeline's version names one code: the released 1.1.0 is other code than this.
    edit(project, '2.0.0', 'Type.Optional(Type.Integer())', '1.1.0');
    const code = await cli('datasets', 'check', 'pipeline.ts');
    assert.equal(code.code, 1);
    assert.match(code.stdout, /pipeline enrich-orders@1\.1\.0 is already [0-9a-f]{12} \(git v1\)/);

    edit(project, '2.0.0', 'Type.Optional(Type.Integer())', '2.0.0');
    const major = await cli('datasets', 'check', 'pipeline.ts');
    assert.equal(major.code, 0, `${major.stdout}\n${major.stderr}`);
    assert.match(major.stdout, /✓ pipeline\.ts: enrich-orders@2\.0\.0 \(orders@2\.0\.0/);
  });

  it('datasets migrate runs the upcast bridge: orders.v2 filled from orders.v1, once', async () => {
    const { cli, writeOrdersV2 } = makeProject();
    writeOrdersV2({ closed: true });
    assert.equal((await cli('produce', 'orders', '--generate', '--count', '120')).code, 0);
    const first = await cli(...MIGRATE_V2, '--until-caught-up');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /bridge bridge-orders-v1-to-v2@2\.0\.0 [0-9a-f]{12}: orders\.v1 → orders\.v2/);
    assert.match(first.stdout, /carried 120 records from orders\.v1 to orders\.v2 \(120 read, 0 dead-lettered\)/);
    // The history fill's progress, overall and per partition, then live.
    assert.match(
      first.stderr,
      /history orders\.v1 → orders\.v2: 0\/120 records \(0%\) {2}p0 0\/\d+ p1 0\/\d+ p2 0\/\d+ p3 0\/\d+\n/,
    );
    assert.match(first.stderr, /history orders\.v1 → orders\.v2: 120\/120 records \(100%\)/);
    assert.match(first.stderr, /\nlive: orders\.v2 holds the 120 records of orders\.v1's history/);
    assert.equal((await cli('produce', 'orders', '--generate', '--count', '5', '--seed', '2')).code, 0);
    const again = await cli(...MIGRATE_V2, '--until-caught-up');
    assert.match(again.stdout, /carried 5 records .* \(5 read/, 'it resumes where it was: each record once');
    assert.match(again.stderr, /history orders\.v1 → orders\.v2: 5\/5 records/);
    const down = await cli(...MIGRATE_V2, '--down', '--until-caught-up');
    assert.equal(down.code, 1);
    assert.match(down.stderr, /SLIPWAY_INVALID_DEFINITION.*declares no downcast/);
    // A major the module does not export: the generated bridge module says so with a code.
    const none = await cli(
      'datasets',
      'migrate',
      'orders',
      '--to',
      '3',
      '--datasets',
      'datasets-v2.ts',
      '--until-caught-up',
    );
    assert.equal(none.code, 1);
    assert.match(none.stderr, /SLIPWAY_DATASET_NOT_FOUND/);
  });
});

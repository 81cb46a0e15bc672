// A new user's first hour, for real: `slipway init` in a temporary folder, `npm install` of Slipway from a
// tarball of this checkout on a fresh npm cache, `npm test` and `tsc` there; a type error makes `slipway build`
// refuse; the husky hooks refuse commits holding secrets and pass a clean one; a build of a pipeline that
// embeds a token is refused; the generated GitHub workflow parses with GitHub's own parser and its run steps
// pass in the project. Needs the registry (npm install) and dist/ built (`npm run build`).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';

const checkout = fileURLToPath(new URL('..', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'slipway-init-'));
const project = join(root, 'orders-pipelines');
const cache = join(root, 'npm-cache');
// The project's commands see neither this run's npm settings nor Slipway's source condition.
const env: NodeJS.ProcessEnv = { ...process.env, npm_config_cache: cache, NODE_OPTIONS: '', CI: '' };
for (const k of Object.keys(env)) if (k.startsWith('npm_') && k !== 'npm_config_cache') delete env[k];

function run(cmd: string, args: string[], cwd = project): { code: number; out: string } {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

function ok(cmd: string, args: string[], cwd = project): string {
  const r = run(cmd, args, cwd);
  assert.equal(r.code, 0, `${cmd} ${args.join(' ')} failed:\n${r.out}`);
  return r.out;
}

let installOutput = '';

before(
  () => {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
        cwd: checkout,
        env,
        encoding: 'utf8',
      }),
    ) as Array<{ filename: string }>;
    const tarball = join(root, packed[0]!.filename);
    ok('node', [join(checkout, 'bin/slipway.js'), 'init', project, '--slipway', `file:${tarball}`], root);
    ok('git', ['init', '-q', '-b', 'main']);
    ok('git', ['config', 'user.name', 'dev']);
    ok('git', ['config', 'user.email', 'dev@example.com']);
    installOutput = ok('npm', ['install', '--no-audit', '--no-fund']);
  },
  { timeout: 30 * 60_000 },
);
after(() => rmSync(root, { recursive: true, force: true }));

describe('a project made by slipway init', { timeout: 60 * 60_000 }, () => {
  it('installs with one copy of TypeBox, the hooks, and no engine warning but the two known harmless ones', () => {
    const copies = run('npm', ['ls', '@sinclair/typebox', '--all', '--parseable']).out.trim().split('\n');
    assert.deepEqual(
      copies.filter((l) => l.includes('@sinclair/typebox')).map((l) => l.slice(project.length + 1)),
      ['node_modules/@sinclair/typebox'],
    );
    assert.equal(ok('git', ['config', 'core.hooksPath']).trim(), '.husky/_');
    const engines = [...installOutput.matchAll(/package: '([^']+)'/g)].map((m) => m[1]!.replace(/@[^@]+$/, ''));
    assert.deepEqual([...new Set(engines)].sort(), ['@platformatic/dynamic-buffer', '@platformatic/wasm-utils']);
  });

  it('type-checks and passes npm test', () => {
    ok('npx', ['tsc', '--noEmit', '-p', '.']);
    const out = ok('npm', ['test']);
    assert.match(out, /unit\s+pass/);
    assert.match(out, /integration\s+pass/);
    assert.match(out, /e2e\s+pass/);
  });

  it('refuses to build a pipeline that does not type-check', () => {
    const source = readFileSync(join(project, 'pipeline.ts'), 'utf8');
    writeFileSync(join(project, 'pipeline.ts'), source.replace('amountEur,\n', "amountEur: 'high',\n"));
    try {
      const r = run('npx', ['slipway', 'build', 'pipeline.ts']);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /SLIPWAY_TYPECHECK_FAILED/);
      assert.match(r.out, /pipeline\.ts\(\d+,\d+\): error TS2322/);
    } finally {
      writeFileSync(join(project, 'pipeline.ts'), source);
    }
    assert.match(ok('npx', ['slipway', 'build', 'pipeline.ts']), /sha256:[0-9a-f]{64}/);
  });

  it('commits clean work through the pre-commit hook', () => {
    ok('git', ['add', '-A']);
    const out = ok('git', ['commit', '-q', '-m', 'a new Slipway project']);
    assert.match(out, /no secrets in \d+ files/);
  });

  const leaks: Array<[string, string, RegExp]> = [
    [
      'aws.ts',
      "export const aws = {\n  accessKeyId: 'AKIAQWERTYUIOPASDFGH',\n  aws_secret_access_key: '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',\n};\n",
      /secretlint-rule-aws/,
    ],
    ['github.ts', "export const token = 'ghp_R2d2C3poL8k9ZxQwErTyUiOpAsDfGhJkLzXc';\n", /secretlint-rule-github/],
    [
      'kafka-client.ts',
      "export const kafka = {\n  sasl: { mechanism: 'scram-sha-256', username: 'orders', password: 'Kf4-s3cret-Pa55' },\n};\n",
      /slipway\/kafka-sasl-password/,
    ],
  ];
  for (const [file, content, rule] of leaks) {
    it(`refuses a commit of ${file} holding a secret, naming the finding`, () => {
      writeFileSync(join(project, file), content);
      ok('git', ['add', file]);
      const head = ok('git', ['rev-parse', 'HEAD']);
      const r = run('git', ['commit', '-q', '-m', `add ${file}`]);
      ok('git', ['reset', '-q', 'HEAD', file]);
      rmSync(join(project, file));
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, rule);
      assert.match(r.out, new RegExp(`${file.replace('.', '\\.')}:\\d+:\\d+`));
      assert.match(r.out, /SLIPWAY_SECRETS_FOUND/);
      assert.equal(ok('git', ['rev-parse', 'HEAD']), head, 'nothing was committed');
    });
  }

  it('refuses to build a pipeline that embeds a token', () => {
    const source = readFileSync(join(project, 'pipeline.ts'), 'utf8');
    const leaky = source
      .replace(
        "import { definePipeline } from 'slipway';",
        "import { definePipeline } from 'slipway';\n\nconst apiToken = 'ghp_R2d2C3poL8k9ZxQwErTyUiOpAsDfGhJkLzXc';",
      )
      .replace('createdAt: order.createdAt,', 'createdAt: order.createdAt + apiToken.slice(0, 0),');
    assert.notEqual(leaky, source);
    writeFileSync(join(project, 'leaky.ts'), leaky);
    try {
      const r = run('npx', ['slipway', 'build', 'leaky.ts']);
      assert.notEqual(r.code, 0, r.out);
      assert.match(r.out, /SLIPWAY_SECRETS_FOUND/);
      assert.match(r.out, /bundle:leaky\.ts:\d+:\d+\s+@secretlint\/secretlint-rule-github/);
    } finally {
      rmSync(join(project, 'leaky.ts'));
    }
  });

  it("writes a GitHub workflow that GitHub's parser accepts, whose run steps pass here in order", async () => {
    const content = readFileSync(join(project, '.github/workflows/slipway.yml'), 'utf8');
    const parsed = parseWorkflow({ name: 'slipway.yml', content }, new NoOperationTraceWriter());
    assert.deepEqual(
      parsed.context.errors.getErrors().map((e) => e.message),
      [],
    );
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
    assert.equal(template.errors, undefined);
    const verify = template.jobs.find((j) => j.id.toString() === 'verify') as unknown as {
      steps: Array<{ run?: { toString(): string } }>;
    };
    const steps = verify.steps.filter((s) => s.run !== undefined).map((s) => s.run!.toString());
    assert.deepEqual(steps.slice(0, 4), [
      'npm ci',
      'npx biome ci .',
      'npx tsc --noEmit -p .',
      'npx slipway secrets scan',
    ]);
    for (const step of steps) {
      const r = run('bash', ['-e', '-c', step]);
      assert.equal(r.code, 0, `step '${step}' failed:\n${r.out}`);
    }
    assert.match(readFileSync(join(project, '.slipway-digest'), 'utf8'), /^sha256:[0-9a-f]{64}/);

    // A workflow GitHub would refuse is refused by the same check.
    const broken = parseWorkflow(
      { name: 'x.yml', content: content.replace('runs-on:', 'runs-onn:') },
      new NoOperationTraceWriter(),
    );
    assert.notEqual(broken.context.errors.getErrors().length, 0);
  });
});

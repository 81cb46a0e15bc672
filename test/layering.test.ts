import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

// The layering check CI runs (`npm run lint:layers`): it passes on the sources as they are, and fails
// on a copy of them with a deliberate violation, naming the rule — a check of the checker.
const root = resolve('.');
const copy = mkdtempSync(join(tmpdir(), 'slipway-layers-'));
after(() => rmSync(copy, { recursive: true, force: true }));

function layers(cwd: string): { status: number | null; output: string } {
  const r = spawnSync('npm', ['run', '--silent', 'lint:layers'], { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('the layering check', () => {
  it('passes on the sources, and the folder report shows no cycle', () => {
    const check = layers(root);
    assert.equal(check.status, 0, check.output);
    const report = spawnSync('npm', ['run', '--silent', 'deps:report'], { cwd: root, encoding: 'utf8' });
    assert.equal(report.status, 0, report.stderr);
    assert.match(report.stdout, /cycles between folders: none/);
    assert.match(report.stdout, /deploy\s+→ .*supervisor/);
    assert.doesNotMatch(report.stdout, /^\s+(deploy|control|supervisor|runtime|log)\s+→ .*\bcli\b/m);
  });

  it('fails on a deliberate violation: a library folder importing the CLI, or deploy reaching up into control', () => {
    for (const name of ['src', 'package.json', 'tsconfig.json', '.dependency-cruiser.cjs', 'scripts'])
      cpSync(join(root, name), join(copy, name), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));

    appendFileSync(join(copy, 'src/runtime/keyed-state.ts'), "\nimport '../cli/main.js';\n");
    const cli = layers(copy);
    assert.notEqual(cli.status, 0, 'the check must fail');
    assert.match(cli.output, /no-cli-in-library: src\/runtime\/keyed-state\.ts → src\/cli\/main\.ts/);
    assert.match(cli.output, /layer-runtime/);

    cpSync(join(root, 'src/runtime/keyed-state.ts'), join(copy, 'src/runtime/keyed-state.ts'));
    appendFileSync(join(copy, 'src/deploy/gates.ts'), "\nimport type { ControlStatus } from '../control/status.js';\n");
    const up = layers(copy);
    assert.notEqual(up.status, 0, 'a type-only import upwards fails too');
    assert.match(up.output, /layer-deploy: src\/deploy\/gates\.ts → src\/control\/status\.ts/);
    const report = spawnSync('node', ['scripts/deps-report.mjs'], { cwd: copy, encoding: 'utf8' });
    assert.equal(report.status, 1, 'the report exits 1 on a folder cycle');
    assert.match(report.stdout, /cycles between folders: [1-9]/);
  });
});

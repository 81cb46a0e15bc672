import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { ciWorkflowPath, generateCiWorkflow, writeCiWorkflow } from './ci-workflow.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ci workflow', () => {
  it("the GitHub workflow parses with GitHub's parser: verify, guard, and promotion dev → staging → prod", async () => {
    const content = generateCiWorkflow({ provider: 'github' });
    const parsed = parseWorkflow({ name: 'slipway.yml', content }, new NoOperationTraceWriter());
    assert.deepEqual(
      parsed.context.errors.getErrors().map((e) => e.message),
      [],
    );
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
    assert.equal(template.errors, undefined);
    assert.deepEqual(
      template.jobs.map((j) => j.id.toString()),
      ['verify', 'guard', 'promote-dev', 'promote-staging', 'promote-prod'],
    );
    assert.match(content, /promote-prod:[\s\S]*needs: promote-staging[\s\S]*environment: prod/);
    assert.match(content, /slipway ci guard --grace 10m --test "npm test" --push/);
  });

  it('regenerates idempotently, keeping hand edits outside the marked regions and rewriting inside them', () => {
    for (const provider of ['github', 'gitlab'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'slipway-ci-'));
      dirs.push(dir);
      const first = writeCiWorkflow(dir, { provider });
      assert.equal(first.changed, true);
      assert.equal(writeCiWorkflow(dir, { provider }).changed, false, 'regenerating changes nothing');
      const path = join(dir, ciWorkflowPath(provider));
      const generated = readFileSync(path, 'utf8');
      const edited = `# our own note\n${generated.replace('npx slipway secrets scan', 'npx slipway secrets scan --hand-edit')}# our own tail\n`;
      writeFileSync(path, edited);
      writeCiWorkflow(dir, { provider });
      const regenerated = readFileSync(path, 'utf8');
      assert.ok(regenerated.startsWith('# our own note\n'), provider);
      assert.ok(regenerated.endsWith('# our own tail\n'), provider);
      assert.ok(!regenerated.includes('--hand-edit'), `${provider}: the region is Slipway's`);
      assert.equal(regenerated, `# our own note\n${generated}# our own tail\n`);
    }
  });

  it('refuses to overwrite a workflow without the marks', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slipway-ci-'));
    dirs.push(dir);
    writeFileSync(join(dir, '.gitlab-ci.yml'), 'test:\n  script: [make]\n');
    assert.throws(() => writeCiWorkflow(dir, { provider: 'gitlab' }), { code: 'SLIPWAY_SCAFFOLD_CONFLICT' });
    assert.equal(readFileSync(join(dir, '.gitlab-ci.yml'), 'utf8'), 'test:\n  script: [make]\n');
  });
});

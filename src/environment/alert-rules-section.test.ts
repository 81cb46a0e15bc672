import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { alertRulesSection } from './alert-rules-section.js';
import { checkProject } from './project.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-rules-plan-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const project = (maxLag: number, more = false) =>
  checkProject({
    slos: { orders: { maxLag, maxDlqRatio: 0.01 }, ...(more ? { billing: { p99LatencyMs: 900 } } : {}) },
    environments: { prod: { log: { engine: 'embedded' } } },
  });

describe('env plan: the SLO alert rules section', () => {
  it('creates the rules file, finds nothing after, and names each alert that changed, appeared or went', async () => {
    const out = join(dir, 'observability');
    const first = alertRulesSection(project(1000), 'prod', out);
    const created = await first.plan();
    assert.equal(created.changes.length, 1);
    assert.equal(created.changes[0]?.action, 'create');
    assert.deepEqual(
      created.changes[0]?.fields.map((f) => f.field),
      ['alert SlipwayLagAboveSlo / orders', 'alert SlipwayDlqRatioAboveSlo / orders'],
    );
    await first.apply?.(created.changes);
    assert.ok(existsSync(join(out, 'slipway-prod.rules.yml')));
    assert.ok(existsSync(join(out, 'slipway-prod.dashboard.json')));
    assert.deepEqual(await first.plan(), { section: 'alert-rules', changes: [], unchanged: 2 });

    // The SLOs changed in slipway.config.ts: the plan names what differs from the file.
    const changed = await alertRulesSection(project(500, true), 'prod', out).plan();
    assert.equal(changed.changes[0]?.action, 'update');
    assert.deepEqual(
      changed.changes[0]?.fields.map((f) => f.field),
      ['alert SlipwayLagAboveSlo / orders', 'alert SlipwayP99LatencyAboveSlo / billing'],
    );
    assert.equal(changed.unchanged, 1);
    const fewer = await alertRulesSection(
      checkProject({ slos: { orders: { maxLag: 1000 } }, environments: { prod: { log: { engine: 'embedded' } } } }),
      'prod',
      out,
    ).plan();
    assert.deepEqual(fewer.changes[0]?.fields, [
      { field: 'alert SlipwayDlqRatioAboveSlo / orders', from: 'exported before' },
    ]);

    // A hand-edited file in another shape: replaced as a whole, never read as rules it is not.
    writeFileSync(
      join(out, 'slipway-prod.rules.yml'),
      'groups:\n- name: x\n  rules:\n  - alert: Mine\n    expr: up == 0\n',
    );
    const edited = await first.plan();
    assert.equal(edited.changes[0]?.fields[0]?.field, 'content');
    await first.apply?.(edited.changes);
    assert.equal((await first.plan()).changes.length, 0);
  });

  it('skips a workspace, which has no alert rules of its own', async () => {
    const plan = await alertRulesSection(project(1000), 'ws-ana', join(dir, 'none')).plan();
    assert.match(plan.skipped ?? '', /workspace/);
  });
});

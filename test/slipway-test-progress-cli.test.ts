// Issue 10, item 14.6: `slipway test` progress named only the first test.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-test-progress-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('slipway test progress', () => {
  it('names every test as it finishes, in every layer', async () => {
    const run = await runCli(['--log', join(dir, 'log.db'), 'test', '--layer', 'unit,integration'], {
      cwd: example,
    });
    assert.equal(run.code, 0, run.stderr);
    const expected = [
      ['unit', 'enrich-orders > converts amounts to EUR and keeps a running total per customer'],
      ['unit', 'enrich-orders > makes a customer vip once their total passes the configured threshold'],
      ['unit', 'enrich-orders > sends an order above the fraud limit to the DLQ, without touching the state'],
      ['unit', 'enrich-orders > dead-letters orders that break the schema or are not JSON'],
      ['unit', 'enrich-orders > refuses a bad config as a real start would'],
      ['unit', 'enrich-orders > processes the masked sample of real orders: every record enriched, none dead-lettered'],
      [
        'integration',
        'enrich-orders on the embedded log > processes everything once, resumes from its committed offsets, and dead-letters the fraud',
      ],
    ];
    const shown = run.stderr.split('\n').filter((l) => l.includes('✓'));
    for (const [layer, name] of expected) {
      assert.ok(
        shown.some((l) => l.startsWith(layer as string) && l.endsWith(`✓ ${name}`)),
        `no progress line for ${layer}: ${name} in\n${run.stderr}`,
      );
    }
    assert.equal(shown.length, expected.length, run.stderr);
    assert.match(run.stderr, /unit +pass: 6 passed, 0 failed/);
  });
});

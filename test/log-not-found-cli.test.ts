// Issue 10, item 14.3: a read-only command with a mistyped `--log` created an empty database and its folder.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { isSlipwayError } from '../src/errors.js';
import { openEmbeddedLog } from '../src/log/embedded/embedded-log.js';
import { openLog } from '../src/log/open-log.js';
import { runCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-log-not-found-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const env = { SLIPWAY_MASK_KEY: 'log-not-found-test-key-0123456789' };

/** Commands that only read the log, each with what it needs besides the log. */
const readOnly: string[][] = [
  ['topics'],
  ['topics', '--json'],
  ['topics', 'plan'],
  ['tail', 'orders'],
  ['tail', 'orders.v1', '--from', 'beginning', '--follow'],
  ['sample', 'capture', 'orders', '--size', '10', '--dir', join(dir, 'samples')],
  // Against the example's own sample (examples/orders/samples/orders.v1/default).
  ['sample', 'check', 'orders'],
];

describe('read-only commands and a log that does not exist', () => {
  for (const args of readOnly) {
    const shown = args.map((a) => (a.startsWith(dir) ? '<dir>' : a)).join(' ');
    it(`slipway ${shown} refuses it with SLIPWAY_LOG_NOT_FOUND and creates nothing`, async () => {
      const folder = join(dir, `typo-${args.join('-').replace(/[^a-z]+/g, '-')}`);
      const log = join(folder, 'log.db');
      const res = await runCli(['--log', log, ...args], { cwd: example, env });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /^error SLIPWAY_LOG_NOT_FOUND: /m);
      assert.ok(res.stderr.includes(`no log at ${log}`), res.stderr);
      assert.match(res.stderr, /check --log \/ \$SLIPWAY_LOG; commands that write \(produce, run, up\) create it/);
      assert.equal(existsSync(folder), false, `${folder} was created`);
      assert.equal(existsSync(join(dir, 'samples')), false, 'no sample was written');
    });
  }

  it('refuses a mistyped $SLIPWAY_LOG the same way', async () => {
    const folder = join(dir, 'typo-env');
    const res = await runCli(['topics'], { cwd: example, env: { ...env, SLIPWAY_LOG: join(folder, 'log.db') } });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^error SLIPWAY_LOG_NOT_FOUND: no log at /m);
    assert.equal(existsSync(folder), false);
  });

  it('lets a command that writes create the log, and then the readers read it', async () => {
    const log = join(dir, 'new', 'log.db');
    const produced = await runCli(['--log', log, 'produce', 'orders', '--generate', '--count', '5'], {
      cwd: example,
    });
    assert.equal(produced.code, 0, produced.stderr);
    const topics = await runCli(['--log', log, 'topics', '--json'], { cwd: example });
    assert.equal(topics.code, 0, topics.stderr);
    const rows = JSON.parse(topics.stdout) as Array<{ name: string; records: number }>;
    assert.equal(rows.find((r) => r.name === 'orders.v1')?.records, 5);
  });

  it('openEmbeddedLog / openLog with mustExist refuse a missing file, and open an existing one', async () => {
    const folder = join(dir, 'lib', 'missing');
    const path = join(folder, 'log.db');
    const notFound = (err: unknown): boolean => isSlipwayError(err, 'SLIPWAY_LOG_NOT_FOUND');
    await assert.rejects(openEmbeddedLog({ path, mustExist: true }), notFound);
    await assert.rejects(openLog({ engine: 'embedded', path }, { mustExist: true }), notFound);
    assert.equal(existsSync(join(dir, 'lib')), false);
    await (await openEmbeddedLog({ path })).close();
    const log = await openEmbeddedLog({ path, mustExist: true });
    assert.deepEqual(await log.listTopics(), []);
    await log.close();
  });
});

// Issue 10, item 14.2: `produce --file` reported only the first bad line; it reports them all (up to 20 shown).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-produce-bad-lines-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const good: string[] = readFileSync(join(example, 'data/orders.jsonl'), 'utf8').trim().split('\n');
const negative = (i: number): string => JSON.stringify({ ...JSON.parse(good[i] as string), amount: -1 - i });

describe('slipway produce --file with bad lines', () => {
  it('lists every bad line as file:line: reason (20 shown, then how many more), and writes nothing', async () => {
    // 40 lines: 27 bad (25 below the schema's minimum, 2 not JSON), 13 good, and a blank line that is skipped.
    const lines: string[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 7 || i === 31) lines.push(`{"orderId": "o-${i}", oops`);
      else if (i % 8 < 5) lines.push(negative(i));
      else lines.push(good[i] as string);
    }
    lines.splice(20, 0, '');
    const bad = lines.flatMap((l, i) => (l !== '' && !good.includes(l) ? [i + 1] : []));
    assert.equal(bad.length, 27);
    const file = join(dir, 'orders-bad.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const log = join(dir, 'state', 'log.db');

    const res = await runCli(['--log', log, 'produce', 'orders', '--file', file], { cwd: example });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^error SLIPWAY_VALIDATION: .*orders-bad\.jsonl: 27 of 40 lines are bad/m);
    assert.match(res.stderr, /Nothing was written/);
    const listed = [...res.stderr.matchAll(/^ {2}(.*orders-bad\.jsonl):(\d+): (.*)$/gm)];
    assert.deepEqual(
      listed.map((m) => Number(m[2])),
      bad.slice(0, 20),
      'the first 20 bad lines, in order',
    );
    for (const m of listed) {
      const line = lines[Number(m[2]) - 1] as string;
      if (line.includes('oops')) assert.match(m[3] as string, /^not valid JSON/);
      else assert.match(m[3] as string, /^\/amount must be >= 0$/);
    }
    assert.match(res.stderr, /^ {2}… and 7 more bad lines$/m);
    assert.equal(existsSync(log), false, 'no log was created');
    assert.equal(existsSync(join(dir, 'state')), false, 'nor its folder');
  });

  it('says SLIPWAY_PARSE when every bad line is bad JSON, and lists each', async () => {
    const file = join(dir, 'not-json.jsonl');
    writeFileSync(file, [good[0], '{"orderId": oops}', good[1], 'not json at all'].join('\n'));
    const log = join(dir, 'parse.db');
    const res = await runCli(['--log', log, 'produce', 'orders', '--file', file], { cwd: example });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /^error SLIPWAY_PARSE: .*not-json\.jsonl: 2 of 4 lines are bad/m);
    assert.match(res.stderr, /^ {2}.*not-json\.jsonl:2: not valid JSON/m);
    assert.match(res.stderr, /^ {2}.*not-json\.jsonl:4: not valid JSON/m);
    assert.equal(existsSync(log), false);
  });

  it('keeps the one-line message for a single bad line, and produces the file once it is fixed', async () => {
    const file = join(dir, 'one-bad.jsonl');
    writeFileSync(file, [good[0], good[1], good[2], negative(3)].join('\n'));
    const log = join(dir, 'one.db');
    const res = await runCli(['--log', log, 'produce', 'orders', '--file', file], { cwd: example });
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /error SLIPWAY_VALIDATION: .*one-bad\.jsonl:4 does not match orders\.v1: \/amount must be >= 0\. Nothing was written\./,
    );
    writeFileSync(file, [good[0], good[1], good[2], good[3]].join('\n'));
    const fixed = await runCli(['--log', log, 'produce', 'orders', '--file', file], { cwd: example });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stderr, /produced 4 records to orders\.v1/);
  });
});

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Command } from 'commander';
import { isSlipwayError, openEmbeddedLog, partitionFor } from 'slipway';
import { orders } from '../../../examples/orders/datasets.js';
import { makeOrder, type TempLog, tempLog } from '../../../test/helpers/orders.js';
import { loadSample } from '../../samples/store.js';
import { createContext } from '../context.js';
import type { Io } from '../io.js';
import { parseTime, registerSample } from './sample.js';

const PROJECT = resolve('examples/orders/slipway.config.ts');
const KEY = 'cli-test-key-0123456789abcdef';
const T0 = Date.UTC(2026, 0, 1);

interface Run {
  out: string[];
  err: string[];
}

describe('slipway sample', () => {
  let t: TempLog;
  let dir: string;
  let prevKey: string | undefined;

  /** Runs `slipway --log <log> sample …args` in process, as main() would, and returns what it printed. */
  const run = async (...args: string[]): Promise<Run> => {
    const printed: Run = { out: [], err: [] };
    const io: Io = {
      out: (l) => printed.out.push(l),
      err: (l) => printed.err.push(l),
      progress: () => {},
      done: () => {},
    };
    const program = new Command('slipway').option('--log <path>').exitOverride();
    registerSample(program, createContext(program, io, new AbortController().signal));
    for (const c of program.commands) c.exitOverride();
    await program.parseAsync(['node', 'slipway', '--log', t.path, 'sample', ...args]);
    return printed;
  };

  const append = async (from: number, count: number, amountScale: number, timestamp: number) => {
    const records = [];
    for (let i = from; i < from + count; i++) {
      const o = makeOrder(i, 100);
      o.amount = Math.round((o.amount as number) * amountScale * 100) / 100;
      if (i % 3 === 0) o.email = `someone.${i % 100}@real-mail.test`;
      records.push({
        partition: partitionFor(String(o.customerId), 4),
        key: String(o.customerId),
        value: JSON.stringify(o),
        timestamp,
      });
    }
    await t.log.append(orders.topic, records);
  };

  before(async () => {
    t = await tempLog('slipway-sample-cli-');
    dir = join(t.dir, 'samples');
    prevKey = process.env.SLIPWAY_MASK_KEY;
    process.env.SLIPWAY_MASK_KEY = KEY;
    await t.log.createTopic(orders.topic, { partitions: 4 });
    await append(0, 5000, 1, T0);
  });
  after(async () => {
    if (prevKey === undefined) delete process.env.SLIPWAY_MASK_KEY;
    else process.env.SLIPWAY_MASK_KEY = prevKey;
    await t.cleanup();
  });

  it('captures a masked sample with the masking the project exports', async () => {
    const res = await run('capture', 'orders', '--size', '600', '--project', PROJECT, '--dir', dir);
    assert.match(res.err.join('\n'), /captured 600 of 5000 records from orders\.v1/);
    assert.match(res.err.join('\n'), /masked: email \(fake:email\), customerId \(fake:id\(prefix=c-\)\)/);
    assert.ok(existsSync(join(dir, 'orders.v1', 'default.stats.json')));
    const text = readFileSync(join(dir, 'orders.v1', 'default.jsonl'), 'utf8');
    assert.doesNotMatch(text, /real-mail\.test|"c\d+"/);
    assert.equal((await loadSample('orders.v1/default', { root: dir, dataset: orders })).length, 600);
  });

  it('reports no drift for the same data, as a per-field table', async () => {
    const res = await run('check', 'orders', '--project', PROJECT, '--dir', dir, '--seed', '5');
    assert.match(res.out[1] ?? '', /^FIELD\s+STATUS\s+PRESENCE\s+WHY$/);
    assert.ok(
      res.out.some((l) => /^amount\s+ok\s+100% → 100%$/.test(l)),
      res.out.join('\n'),
    );
    assert.match(res.out.at(-1) ?? '', /7 unchanged, 0 drifted, 0 new, 0 missing/);
  });

  it('fails with SLIPWAY_SAMPLE_DRIFT when live data drifted, naming the fields', async () => {
    await append(5000, 3000, 4, T0 + 86_400_000);
    const printed: string[] = [];
    await assert.rejects(
      (async () => {
        const res = await run('check', 'orders', '--project', PROJECT, '--dir', dir, '--since', '2026-01-01T12:00:00Z');
        printed.push(...res.out);
      })(),
      (err) =>
        isSlipwayError(err, 'SLIPWAY_SAMPLE_DRIFT') &&
        /1 drifted/.test(err.message) &&
        /slipway sample capture orders/.test(err.message),
    );
    // The table was printed before the error; check --json to see the report itself.
    const json = await run(
      'check',
      'orders',
      '--project',
      PROJECT,
      '--dir',
      dir,
      '--since',
      '2026-01-01T12:00:00Z',
      '--json',
    ).catch((err) => err);
    assert.ok(isSlipwayError(json, 'SLIPWAY_SAMPLE_DRIFT'));
  });

  it('compares two stored samples with --against', async () => {
    await run(
      'capture',
      'orders',
      '--size',
      '600',
      '--project',
      PROJECT,
      '--dir',
      dir,
      '--name',
      'recent',
      '--since',
      '2026-01-01T12:00:00Z',
    );
    await assert.rejects(run('check', 'orders', '--project', PROJECT, '--dir', dir, '--against', 'recent'), (err) =>
      isSlipwayError(err, 'SLIPWAY_SAMPLE_DRIFT'),
    );
  });

  it('synthesises shaped records to a file and into the log', async () => {
    const out = join(t.dir, 'synth.jsonl');
    const res = await run(
      'synth',
      'orders',
      '-n',
      '2000',
      '--sample',
      'default',
      '--project',
      PROJECT,
      '--dir',
      dir,
      '--out',
      out,
    );
    assert.match(res.err.join('\n'), /synthesised 2000 records to .*synth\.jsonl shaped by orders\.v1\/default/);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    assert.equal(lines.length, 2000);
    for (const l of lines) assert.ok(orders.is(JSON.parse(l)));

    const before = await t.log.endOffset(orders.topic, 0);
    await run('synth', 'orders', '-n', '1000', '--project', PROJECT, '--produce');
    const check = await openEmbeddedLog({ path: t.path });
    let total = 0;
    for (let p = 0; p < 4; p++) total += await check.endOffset(orders.topic, p);
    await check.close();
    assert.equal(total, 9000);
    assert.ok((await t.log.endOffset(orders.topic, 0)) > before);
  });

  it('says how to set the mask key when it is missing', async () => {
    delete process.env.SLIPWAY_MASK_KEY;
    try {
      await assert.rejects(run('capture', 'orders', '--size', '10', '--project', PROJECT, '--dir', dir), (err) =>
        isSlipwayError(err, 'SLIPWAY_MASK_KEY_MISSING'),
      );
    } finally {
      process.env.SLIPWAY_MASK_KEY = KEY;
    }
  });

  it('parses --since as a duration ago or a time', () => {
    assert.equal(parseTime('2h', '--since', 10_000_000), 10_000_000 - 7_200_000);
    assert.equal(parseTime('2026-01-01T00:00:00Z', '--since'), T0);
    assert.throws(
      () => parseTime('yesterday', '--since'),
      (err) => isSlipwayError(err, 'SLIPWAY_USAGE'),
    );
  });
});

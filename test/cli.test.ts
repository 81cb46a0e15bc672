import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog } from '../src/log/embedded/embedded-log.js';
import { runCli, startCli } from './helpers/cli.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-cli-'));
const logPath = join(dir, 'log.db');
const cli = (args: string[], input?: string) =>
  runCli(['--log', logPath, ...args], { cwd: example, ...(input === undefined ? {} : { input }) });

after(() => rmSync(dir, { recursive: true, force: true }));

/** A port nothing listens on now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('slipway CLI', () => {
  it('produces a JSON Lines file, runs the example pipeline, lists topics and tails the output', async () => {
    const produced = await cli(['produce', 'orders', '--file', 'data/orders.jsonl']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, /produced 200 records to orders\.v1/);

    const run = await cli(['run', 'pipeline.ts', '--until-caught-up']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /200 in, 200 out, 0 to the DLQ/);

    const topics = await cli(['topics', '--json']);
    assert.equal(topics.code, 0, topics.stderr);
    const byName = Object.fromEntries(
      JSON.parse(topics.stdout).map((t: { name: string; records: number }) => [t.name, t.records]),
    );
    assert.equal(byName['orders.v1'], 200);
    assert.equal(byName['enriched-orders.v1'], 200);
    assert.equal(byName['orders.v1.dlq'], 0);

    const tail = await cli(['tail', 'enriched-orders', '--from', 'beginning']);
    assert.equal(tail.code, 0, tail.stderr);
    const lines = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 200);
    assert.ok(lines.every((l) => /^orders\.v1\/\d\/\d+$/.test(l.headers['slipway-source'])));
    const c0 = lines.filter((l) => l.key === 'c0');
    assert.equal(Math.max(...c0.map((l) => l.value.customerOrders)), 10);

    const again = await cli(['run', 'pipeline.ts', '--until-caught-up']);
    assert.match(again.stderr, /0 in, 0 out/, 'a second run resumes from the committed offsets');
  });

  it('generates schema-valid records at a rate', async () => {
    const res = await cli(['produce', 'orders.v1', '--generate', '--count', '300', '--rate', '2000']);
    assert.equal(res.code, 0, res.stderr);
    const tail = await cli(['tail', 'orders.v1', '--from', 'beginning', '--values']);
    assert.equal(tail.stdout.trim().split('\n').length, 500);
  });

  it('refuses a file with a bad line, naming the line, and writes nothing', async () => {
    const file = join(dir, 'bad.jsonl');
    const good = readFileSync(join(example, 'data/orders.jsonl'), 'utf8').split('\n').slice(0, 3);
    writeFileSync(
      file,
      [
        ...good,
        '{"orderId":"x","customerId":"c","amount":-1,"currency":"EUR","items":1,"createdAt":"2026-01-01T00:00:00Z"}',
      ].join('\n'),
    );
    const before = JSON.parse((await cli(['topics', '--json'])).stdout);
    const res = await cli(['produce', 'orders', '--file', file]);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /error SLIPWAY_VALIDATION: .*bad\.jsonl:4 .*\/amount must be >= 0.*Nothing was written/);
    const afterTopics = JSON.parse((await cli(['topics', '--json'])).stdout);
    assert.deepEqual(afterTopics, before);

    writeFileSync(file, '{"orderId": oops}\n');
    const parse = await cli(['produce', 'orders', '--file', file]);
    assert.equal(parse.code, 1);
    assert.match(parse.stderr, /error SLIPWAY_PARSE: .*bad\.jsonl:1 is not valid JSON/);
  });

  it('gives clear errors for a missing file, a bad schema and a corrupt log', async () => {
    const missing = await cli(['run', 'nope.ts']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /error SLIPWAY_FILE_NOT_FOUND: nope\.ts does not exist/);

    // a user project of its own, with slipway installed
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(resolve('.'), join(dir, 'node_modules', 'slipway'));
    const badFile = join(dir, 'bad-pipeline.ts');
    writeFileSync(
      badFile,
      `import { defineDataset } from 'slipway';\nexport const d = defineDataset({ name: 'x', version: '1.0', key: 'id', schema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] } });\n`,
    );
    const bad = await cli(['run', badFile]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error SLIPWAY_INVALID_DEFINITION: .*version '1\.0' is not a semantic version/);

    const corrupt = join(dir, 'corrupt.db');
    writeFileSync(corrupt, 'not a database '.repeat(100));
    const res = await runCli(['--log', corrupt, 'topics'], { cwd: example });
    assert.equal(res.code, 1);
    assert.match(res.stderr, /error SLIPWAY_LOG_CORRUPT: /);

    const usage = await cli(['produce', 'orders']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /Give exactly one of --file <path> or --generate/);
  });
});

describe('slipway run --runners', () => {
  const groupLog = join(dir, 'group.db');
  const gcli = (args: string[]) => runCli(['--log', groupLog, ...args], { cwd: example });

  it('runs the example as 2 runner processes: every input once, the same keyed totals, resumable by one runner', async () => {
    const produced = await gcli(['produce', 'orders', '--file', 'data/orders.jsonl']);
    assert.equal(produced.code, 0, produced.stderr);

    const run = await gcli(['run', 'pipeline.ts', '--runners', '2', '--until-caught-up']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /as 2 runner processes/);
    assert.match(run.stderr, /\(2 runners\): 200 in, 200 out, 0 to the DLQ/);

    const tail = await gcli(['tail', 'enriched-orders', '--from', 'beginning']);
    const lines = tail.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { key: string; headers: Record<string, string>; value: { customerOrders: number } });
    assert.equal(lines.length, 200);
    const sources = new Set(lines.map((l) => l.headers['slipway-source']));
    assert.equal(sources.size, 200, 'each input record has exactly one output');
    // Keyed state lives with the partition: each customer's running count ends where one runner's would.
    const c0 = lines.filter((l) => l.key === 'c0').map((l) => l.value.customerOrders);
    assert.deepEqual(
      c0.sort((a, b) => a - b),
      Array.from({ length: 10 }, (_, i) => i + 1),
    );

    // One runner takes over from the group's committed offsets (same consumer group), fencing its owners.
    const epochs = async () => {
      const log = await openEmbeddedLog({ path: groupLog });
      const owners = ['slipway.enrich-orders', 'slipway.enrich-orders.r1of2', 'slipway.enrich-orders.r2of2'];
      const out = await Promise.all(owners.map((o) => log.currentEpoch(o)));
      await log.close();
      return out;
    };
    const [, r1, r2] = await epochs();
    assert.ok((r1 as number) > 0 && (r2 as number) > 0, 'each runner of the group wrote under its own owner');
    await gcli(['produce', 'orders', '--file', 'data/orders.jsonl']);
    const single = await gcli(['run', 'pipeline.ts', '--until-caught-up']);
    assert.equal(single.code, 0, single.stderr);
    assert.match(single.stderr, /: 200 in, 200 out, 0 to the DLQ/);
    const [, r1After, r2After] = await epochs();
    assert.deepEqual([r1After, r2After], [(r1 as number) + 1, (r2 as number) + 1], 'the group is fenced');
    const again = await gcli(['run', 'pipeline.ts', '--runners', '3', '--until-caught-up']);
    assert.match(again.stderr, /\(3 runners\): 0 in, 0 out/);
  });

  it("serves the runners' metrics together with --metrics-port", async () => {
    await gcli(['produce', 'orders', '--file', 'data/orders.jsonl']);
    const port = await freePort();
    const running = startCli(
      ['--log', groupLog, 'run', 'pipeline.ts', '--runners', '2', '--metrics-port', String(port)],
      {
        cwd: example,
      },
    );
    try {
      await running.waitForStderr(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics \(the 2 runners' together\)/);
      // Both runners' counts in one series: the 200 new records, whichever runner read them.
      const inputs = /slipway_records_in_total\{[^}]*topic="orders\.v1"[^}]*\} 200\b/;
      let text = '';
      for (let i = 0; i < 200 && !inputs.test(text); i++) {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.match(text, inputs);
      assert.match(text, /slipway_records_out_total\{[^}]*topic="enriched-orders\.v1"[^}]*\} 200\b/);
      const lagSeries = text.match(/^slipway_lag_records\{[^}]*partition="\d"[^}]*\} \d+$/gm) ?? [];
      assert.equal(lagSeries.length, 4, `one lag series per input partition:\n${text}`);
    } finally {
      const done = await running.stop();
      assert.equal(done.code, 0, done.stderr);
    }
  });

  it('refuses more runners than input partitions', async () => {
    const many = await gcli(['run', 'pipeline.ts', '--runners', '5', '--until-caught-up']);
    assert.equal(many.code, 2);
    assert.match(many.stderr, /SLIPWAY_USAGE: .*4 input partitions: it can run as at most 4 runners, not 5/);
    const zero = await gcli(['run', 'pipeline.ts', '--runners', '0']);
    assert.equal(zero.code, 2);
    assert.match(zero.stderr, /--runners must be a whole number ≥ 1/);
  });
});

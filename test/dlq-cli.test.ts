import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog, Runner } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import type { enrichOrders } from '../examples/orders/pipeline.js';
import { enrichOrdersBroken } from '../examples/orders/versions/v3-broken.js';
import { runCli, startCli } from './helpers/cli.js';
import { produceOrders } from './helpers/orders.js';

const example = resolve('examples/orders');
const dir = mkdtempSync(join(tmpdir(), 'slipway-dlq-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('slipway dlq', () => {
  it('lists dead letters from the log alone: grouped by reason and version, filtered, as a list or JSON', async () => {
    const logPath = join(dir, 'offline', 'log.db');
    const log = await openEmbeddedLog({ path: logPath });
    await produceOrders(log, 0, 100, 10);
    await log.append(orders.topic, [{ partition: 0, key: 'x', value: '{not json' }]);
    // The broken version dead-letters one order in five (20) and the bad JSON; an older Slipway wrote one without
    // the headers that say who wrote it.
    const broken = new Runner({
      pipeline: enrichOrdersBroken as typeof enrichOrders,
      log,
      provenance: { artifact: `sha256:${'ab'.repeat(32)}`, deployment: 'dep-3' },
    });
    await broken.start();
    await broken.activate();
    await broken.drain();
    await broken.stop();
    await log.append(`${orders.topic}.dlq`, [
      {
        partition: 1,
        key: 'old',
        value: JSON.stringify({ reason: 'process-error', message: 'from an older version', value: '{}' }),
        headers: { 'slipway-source': 'orders.v1/1/999' },
      },
    ]);
    await log.close();
    const cli = (args: string[]) => runCli(['--log', logPath, ...args], { cwd: example });

    const grouped = await cli(['dlq']);
    assert.equal(grouped.code, 0, grouped.stderr);
    assert.match(
      grouped.stdout,
      /22 dead letters of 22 records: 0 replayed, 0 failed again when replayed, 22 never replayed/,
    );
    assert.match(grouped.stdout, /orders\.v1\.dlq\s+process-error\s+1\.2\.0\s+sha256:abababababab…\s+dep-3\s+20\s+0\s/);
    assert.match(grouped.stdout, /orders\.v1\.dlq\s+invalid-json\s+1\.2\.0\s+sha256:abababababab…\s+dep-3\s+1\s+0/);
    assert.match(
      grouped.stdout,
      /orders\.v1\.dlq\s+process-error\s+unknown\s+unknown\s+unknown\s+1\s+0\s.*from an older version/,
    );
    assert.match(grouped.stdout, /cannot price an order with 3 items/);
    assert.match(grouped.stderr, /slipway dlq replay enrich-orders --deployment dep-3/);

    const listed = await cli(['dlq', 'orders', '--list', '--reason', 'invalid-json']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = listed.stdout.trim().split('\n');
    assert.match(rows[0] ?? '', /^SOURCE\s+REASON\s+VERSION\s+DEPLOYMENT\s+REPLAYED\s+MESSAGE$/);
    assert.equal(rows.length, 2);
    assert.match(rows[1] ?? '', /^orders\.v1\/0\/\d+\s+invalid-json\s+1\.2\.0\s+dep-3\s+no\s+input is not JSON/);

    const json = JSON.parse((await cli(['dlq', 'orders.v1', '--json', '--list', '--version', '1.2.0'])).stdout);
    assert.deepEqual(json.topics, ['orders.v1.dlq']);
    assert.equal(json.entries.length, 21);
    assert.ok(json.entries.every((e: { replayed: string }) => e.replayed === 'not-replayed'));
    const one = json.entries.find((e: { reason: string }) => e.reason === 'process-error');
    const ranged = await cli(['dlq', '--list', '--source', `${one.source}`, '--json']);
    assert.deepEqual(
      JSON.parse(ranged.stdout).entries.map((e: { source: string }) => e.source),
      [one.source],
    );
    assert.match(
      (await cli(['dlq', 'enrich-orders', '--version', '9.9.9'])).stdout,
      /no dead letters match the filters/,
    );
    const bad = await cli(['dlq', '--source', 'orders.v1']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /SLIPWAY_USAGE: --source takes <topic>\/<partition>/);

    const noDaemon = await cli(['dlq', 'replay', 'enrich-orders', '--deployment', 'dep-3']);
    assert.equal(noDaemon.code, 1);
    assert.match(noDaemon.stderr, /SLIPWAY_DAEMON_UNAVAILABLE: No control plane is running/);
  });

  it('replays a rolled-back deployment’s dead letters through the control plane, as its summary says, once', async () => {
    const home = join(dir, 'daemon');
    const cli = (args: string[]) => runCli(['--log', join(home, 'log.db'), ...args], { cwd: example });
    try {
      assert.equal((await cli(['up', '--detach'])).code, 0);
      assert.equal((await cli(['produce', 'orders', '--generate', '--count', '300'])).code, 0);
      const first = await cli(['deploy', 'pipeline.ts', '--bake', '300']);
      assert.equal(first.code, 0, first.stderr);
      const load = startCli(['--log', join(home, 'log.db'), 'produce', 'orders', '--generate', '--rate', '400'], {
        cwd: example,
      });
      await load.waitForStderr(/produced \d+ records/);
      const broken = await cli(['deploy', 'versions/v3-broken.ts', '--bake', '4000', '--max-dlq-ratio', '0.01']);
      await load.stop();
      assert.equal(broken.code, 1, broken.stderr);
      const offered = broken.stdout.match(
        /(dep-\S+) rolled_back: .*; (\d+) records dead-lettered by 1\.2\.0: replay them through the live version with `(slipway dlq replay enrich-orders --deployment dep-\S+)`/,
      );
      assert.ok(offered, broken.stdout);
      const [, id, count, command] = offered as unknown as [string, string, string, string];
      assert.equal(command, `slipway dlq replay enrich-orders --deployment ${id}`);

      const dry = await cli(['dlq', 'replay', 'enrich-orders', '--deployment', id, '--dry-run']);
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(
        dry.stdout,
        new RegExp(`dry run: ${count} of ${count} selected dead letters to replay through enrich-orders@1\\.0\\.0`),
      );

      const replay = await cli(command.split(' ').slice(1));
      assert.equal(replay.code, 0, replay.stderr);
      assert.match(replay.stderr, /replay\s+live runner paused at offset \d+/);
      assert.match(
        replay.stdout,
        new RegExp(`completed: ${count} replayed through 1\\.0\\.0 \\(${count} outputs\\), 0 dead-lettered again`),
      );

      const again = await cli(command.split(' ').slice(1));
      assert.equal(again.code, 1);
      assert.match(
        again.stderr,
        new RegExp(`SLIPWAY_NOTHING_TO_REPLAY: .*of the ${count} selected, ${count} were replayed already`),
      );

      const listed = await cli(['dlq', '--list', '--deployment', id, '--json']);
      const entries = JSON.parse(listed.stdout).entries as Array<{ replayed: string }>;
      assert.equal(entries.length, Number(count));
      assert.ok(entries.every((e) => e.replayed === 'replayed'));
      const history = await cli(['history']);
      assert.match(history.stdout, /enrich-orders@1\.0\.0\s+replay\s+completed/);
    } finally {
      await cli(['down']);
    }
  });
});

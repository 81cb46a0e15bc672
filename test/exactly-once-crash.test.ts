import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Runner, SOURCE_HEADER } from 'slipway';
import { enrichedOrders, orders } from '../examples/orders/datasets.js';
import { enrichOrders } from '../examples/orders/pipeline.js';
import { chaosRandom } from './helpers/chaos-random.js';
import { produceOrders, readAll, tempLog } from './helpers/orders.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-child.ts', import.meta.url));
const RECORDS = 120_000;
const KILLS = 12;
const chaos = chaosRandom('exactly-once-crash');

function startChild(logPath: string): { child: ChildProcess; running: Promise<void>; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--conditions=slipway-source', '--import', 'tsx', CHILD, logPath, '200'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const running = new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('running')) resolve();
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, running, exited };
}

describe('exactly once under crashes', () => {
  it(`SIGKILLs the runner ${KILLS}+ times over ${RECORDS} records: every output exactly once, state as in a clean run`, async () => {
    const crashed = await tempLog('slipway-crash-');
    const clean = await tempLog('slipway-clean-');
    await produceOrders(crashed.log, 0, RECORDS, 1000);
    await produceOrders(clean.log, 0, RECORDS, 1000);

    let midRunKills = 0;
    let finished = false;
    for (let attempt = 0; attempt < 60 && !finished; attempt++) {
      const { child, running, exited } = startChild(crashed.path);
      if (midRunKills < KILLS) {
        const outcome = await Promise.race([
          running.then(() => 'running' as const),
          exited.then(() => 'exited' as const),
        ]);
        if (outcome === 'running') {
          await new Promise((r) => setTimeout(r, 20 + chaos.next() * 180));
          child.kill('SIGKILL');
        }
        const code = await exited;
        if (code === 0) finished = true;
        else {
          const committed = (await crashed.log.committedOffsets('slipway.enrich-orders')).reduce(
            (n, o) => n + o.offset,
            0,
          );
          if (committed < RECORDS) midRunKills++;
        }
      } else {
        assert.equal(await exited, 0, 'the last run completes');
        finished = true;
      }
    }
    assert.ok(midRunKills >= KILLS, `killed mid-run ${midRunKills} times`);
    assert.ok(finished);

    const runner = new Runner({ pipeline: enrichOrders, log: clean.log });
    await runner.start();
    await runner.drain();
    await runner.stop();

    const inputs = await readAll(crashed.log, orders.topic);
    const out = await readAll(crashed.log, enrichedOrders.topic);
    const cleanOut = await readAll(clean.log, enrichedOrders.topic);
    assert.equal(inputs.length, RECORDS);
    const bySource = new Map<string, string>();
    for (const r of out) {
      const source = r.headers[SOURCE_HEADER] as string;
      assert.ok(!bySource.has(source), `duplicate output for ${source}`);
      bySource.set(source, r.value);
    }
    for (const r of inputs) assert.ok(bySource.has(`${r.topic}/${r.partition}/${r.offset}`), `lost ${r.offset}`);
    assert.equal(out.length, RECORDS);
    for (const r of cleanOut)
      assert.equal(bySource.get(r.headers[SOURCE_HEADER] as string), r.value, 'same output as a clean run');
    for (let p = 0; p < orders.partitions; p++) {
      assert.deepEqual(await crashed.log.readState('enrich-orders', p), await clean.log.readState('enrich-orders', p));
    }
    assert.equal((await readAll(crashed.log, `${orders.topic}.dlq`)).length, 0);
    await crashed.cleanup();
    await clean.cleanup();
  });
});

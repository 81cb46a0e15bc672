import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Log, Runner } from 'slipway';
import { orders } from '../examples/orders/datasets.js';
import { countV1, countV2, down, NAME, up } from './fixtures/state-migration/counts.js';
import { produceOrders, readAll, tempLog } from './helpers/orders.js';

const CHILD = fileURLToPath(new URL('./fixtures/state-migration-crash-child.ts', import.meta.url));
const CUSTOMERS = 400;
const RUNS = 4;
const seed = Number(process.env.SLIPWAY_SEED ?? Date.now() % 1_000_000);

/** A small seeded generator (mulberry32), so a failing run can be replayed with SLIPWAY_SEED. */
function random(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function drain(log: Log, pipeline: typeof countV1): Promise<void> {
  const runner = new Runner({ pipeline, log });
  await runner.start();
  await runner.activate();
  await runner.drain();
  await runner.stop();
}

/** Starts the child and SIGKILLs it `afterMs` after it begins activating (the migration: ~0.8 s of slow `up`). */
async function crashDuringActivation(logPath: string, afterMs: number): Promise<string> {
  const child = spawn(process.execPath, ['--conditions=slipway-source', '--import', 'tsx', CHILD, logPath], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('activating')) resolve();
    });
    child.on('exit', () => resolve());
  });
  await new Promise((r) => setTimeout(r, afterMs));
  child.kill('SIGKILL');
  await exited;
  return out.includes('running') ? 'after the migration' : 'during the migration';
}

describe('a state migration killed mid-way (embedded log)', () => {
  it(`leaves the old layout or the new, and the restart migrates exactly once (seed ${seed})`, async () => {
    console.log(`state migration crash test: SLIPWAY_SEED=${seed}`);
    const next = random(seed);
    const v2 = countV2('2.0.0', { from: 1, up, down });
    for (let run = 0; run < RUNS; run++) {
      const t = await tempLog('slipway-state-crash-');
      try {
        await produceOrders(t.log, 0, 4000, CUSTOMERS);
        await drain(t.log, countV1);
        const killAt = Math.floor(next() * 1000);
        const when = await crashDuringActivation(t.path, killAt);
        console.log(`run ${run}: killed ${killAt} ms into the activation, ${when}`);
        // Each partition is whole in one layout: every key a number (v1), or every key { orders } with the mark.
        for (let p = 0; p < orders.partitions; p++) {
          const entries = await t.log.readState(NAME, p);
          const marked = entries.some(([k]) => k === '\u0000slipway.state-version');
          const values = entries.filter(([k]) => !k.startsWith('\u0000')).map(([, v]) => JSON.parse(v));
          assert.ok(
            values.every((v) => (marked ? typeof v.orders === 'number' : typeof v === 'number')),
            `partition ${p} ${when}`,
          );
        }
        // Restarted (up is not idempotent): each customer's state is what a clean v2 run leaves, { orders: n }.
        await produceOrders(t.log, 4000, 1000, CUSTOMERS);
        await drain(t.log, v2);
        const counts = new Map<string, number>();
        for (const r of await readAll(t.log, orders.topic))
          counts.set(String(r.key), (counts.get(String(r.key)) ?? 0) + 1);
        for (let p = 0; p < orders.partitions; p++)
          for (const [k, v] of await t.log.readState(NAME, p))
            if (!k.startsWith('\u0000')) assert.deepEqual(JSON.parse(v), { orders: counts.get(k) }, `${k} (${when})`);
      } finally {
        await t.cleanup();
      }
    }
  });
});

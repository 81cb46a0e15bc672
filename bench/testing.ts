// npm run bench:testing — the test toolkit's speed: the harness pushing 100,000 records through the
// example pipeline in memory, then (from bench/samples.ts, run as a child) sample capture over
// 1,000,000 records and synthetic generation. Last line: one JSON object.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createHarness } from 'slipway/testing';
import { orders } from '../examples/orders/datasets.js';
import { enrichOrders } from '../examples/orders/pipeline.js';
import { argValue } from './common.js';

const RECORDS = argValue('records', 100_000);
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
const values = Array.from({ length: RECORDS }, (_, i) => ({
  orderId: `o-${i}`,
  customerId: `c${i % 5000}`,
  amount: ((i * 7919) % 50_000) / 100,
  currency: CURRENCIES[i % 3],
  items: 1 + (i % 5),
  createdAt: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
}));

async function harnessRun(): Promise<number> {
  const harness = await createHarness(enrichOrders);
  const started = performance.now();
  for (let i = 0; i < RECORDS; i += 10_000) await harness.send(orders, values.slice(i, i + 10_000));
  const seconds = (performance.now() - started) / 1000;
  const outputs = harness.outputs('enriched-orders').length;
  await harness.close();
  if (outputs !== RECORDS) throw new Error(`harness produced ${outputs} of ${RECORDS}`);
  return RECORDS / seconds;
}

// A unit test of a pipeline: one harness, a handful of records.
const unitStarted = performance.now();
const small = await createHarness(enrichOrders);
await small.send(orders, values.slice(0, 10));
await small.close();
const unitMs = performance.now() - unitStarted;

const rates = [await harnessRun(), await harnessRun()];
const harnessRate = Math.max(...rates);
console.log(
  `harness: ${RECORDS} records through enrich-orders at ${Math.round(harnessRate)} records/s (best of 2); a 10-record unit test took ${unitMs.toFixed(1)} ms`,
);

const child = spawnSync(
  process.execPath,
  [...process.execArgv, fileURLToPath(new URL('./samples.ts', import.meta.url)), '--runs', '1'],
  {
    encoding: 'utf8',
    env: { ...process.env, SLIPWAY_MASK_KEY: process.env.SLIPWAY_MASK_KEY ?? 'bench-mask-key-0123456789abcdef' },
    maxBuffer: 16 * 1024 * 1024,
  },
);
if (child.status !== 0) throw new Error(`bench/samples.ts failed:\n${child.stderr}`);
const lines = child.stdout.trim().split('\n');
for (const l of lines.slice(0, -1)) console.log(l);
const samples = JSON.parse(lines.at(-1) as string) as { captureRecordsPerSec: number; synthRecordsPerSec: number };
console.log(
  JSON.stringify({
    bench: 'testing',
    harnessRecordsPerSec: Math.round(harnessRate),
    unitTestMs: Math.round(unitMs * 10) / 10,
    captureRecordsPerSec: samples.captureRecordsPerSec,
    synthRecordsPerSec: samples.synthRecordsPerSec,
  }),
);

// npm run bench:testing — the test toolkit's speed: the harness pushing 100,000 records through the
// example pipeline in memory, against a baseline measured in the same run (a raw loop doing only what
// any harness must: write each value as JSON and read it back, check it against its schema, call
// `process` with a plain Map for state, check and write each output as JSON, read it back), then (from
// bench/samples.ts, run as a child) sample capture over 1,000,000 records and synthetic generation.
// Last line: one JSON object.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Dataset, partitionFor } from 'slipway';
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

/** The baseline: the same records and pipeline, with none of the harness's machinery. */
function rawRun(): number {
  const state = new Map<string, unknown>();
  const config = enrichOrders.resolveConfig(undefined);
  const outputs: Array<{ value: unknown; key: string; partition: number; source: string }> = [];
  let source = '';
  const ctx = {
    emit(dataset: Dataset, value: unknown) {
      if (!dataset.is(value)) throw new Error(`invalid output: ${dataset.explain(value)}`);
      const key = dataset.keyOf(value);
      const text = JSON.stringify(value);
      outputs.push({ value: JSON.parse(text), key, partition: partitionFor(key, dataset.partitions), source });
    },
    state: {
      get: (key: string) => state.get(key),
      set: (key: string, value: unknown) => void state.set(key, value),
      delete: (key: string) => void state.delete(key),
    },
    config,
  };
  const started = performance.now();
  for (let i = 0; i < RECORDS; i++) {
    const value = JSON.parse(JSON.stringify(values[i]));
    if (!orders.is(value)) throw new Error(`invalid input: ${orders.explain(value)}`);
    source = `${orders.topic}/${partitionFor(orders.keyOf(value), orders.partitions)}/${i}`;
    enrichOrders.process(value, ctx as unknown as Parameters<typeof enrichOrders.process>[1]);
  }
  const seconds = (performance.now() - started) / 1000;
  if (outputs.length !== RECORDS) throw new Error(`raw loop produced ${outputs.length} of ${RECORDS}`);
  return RECORDS / seconds;
}

// A unit test of a pipeline: one harness, a handful of records.
const unitStarted = performance.now();
const small = await createHarness(enrichOrders);
await small.send(orders, values.slice(0, 10));
await small.close();
const unitMs = performance.now() - unitStarted;

// Alternated, so both see the same machine; the best of three of each, after one round of each
// that is not counted (the code is compiled and the heap grown, as in a test run past its first file).
const rates: number[] = [];
const rawRates: number[] = [];
rawRun();
await harnessRun();
for (let i = 0; i < 3; i++) {
  rawRates.push(rawRun());
  rates.push(await harnessRun());
}
const harnessRate = Math.max(...rates);
const rawRate = Math.max(...rawRates);
console.log(
  `harness: ${RECORDS} records through enrich-orders at ${Math.round(harnessRate)} records/s (best of 3: ${rates.map(Math.round).join(', ')}); a 10-record unit test took ${unitMs.toFixed(1)} ms`,
);
console.log(
  `raw loop (baseline, same run): ${Math.round(rawRate)} records/s (best of 3: ${rawRates.map(Math.round).join(', ')}); the harness runs at ${(harnessRate / rawRate).toFixed(2)}× the raw loop`,
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
    rawRecordsPerSec: Math.round(rawRate),
    harnessVsRaw: Math.round((harnessRate / rawRate) * 100) / 100,
    unitTestMs: Math.round(unitMs * 10) / 10,
    captureRecordsPerSec: samples.captureRecordsPerSec,
    synthRecordsPerSec: samples.synthRecordsPerSec,
  }),
);

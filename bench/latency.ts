// npm run bench:latency — feeds records at a steady rate (default 10,000/s for 20 s) from another
// process and measures produce time → output committed for each record. Last line: one JSON object.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type CommitEvent, openEmbeddedLog, Runner } from 'slipway';
import { argValue, benchIn, mapPipeline, percentile, tempDir } from './common.js';

const RATE = argValue('rate', 10_000);
const SECONDS = argValue('seconds', 20);
const WARMUP_MS = 1000;

const tmp = tempDir('slipway-latency-');
const log = await openEmbeddedLog({ path: tmp.path, commitThread: true });
await log.createTopic(benchIn.topic, { partitions: benchIn.partitions });
const runner = new Runner({ pipeline: mapPipeline, log });
await runner.start();
const latencies: number[] = [];
let firstAt = 0;
runner.on('commit', (e: CommitEvent) => {
  for (const ts of e.inputTimestamps) {
    if (firstAt === 0) firstAt = ts;
    if (ts - firstAt >= WARMUP_MS) latencies.push(e.committedAt - ts);
  }
});
await runner.activate();

console.log(`latency: ${RATE} records/s for ${SECONDS} s from a producer process (first ${WARMUP_MS} ms not counted)`);
const producer = spawn(
  process.execPath,
  [
    ...process.execArgv,
    fileURLToPath(new URL('./latency-producer.ts', import.meta.url)),
    tmp.path,
    String(RATE),
    String(SECONDS),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
producer.stdout.on('data', (d) => {
  out += d;
});
await new Promise<void>((resolve, reject) =>
  producer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`producer exited ${code}`)))),
);
const { sent } = JSON.parse(out) as { sent: number };
await runner.drain();
await runner.stop();
await log.close();
tmp.remove();

latencies.sort((a, b) => a - b);
const p50 = percentile(latencies, 50);
const p99 = percentile(latencies, 99);
console.log(
  `sent ${sent}, measured ${latencies.length}; p50 ${p50} ms, p90 ${percentile(latencies, 90)} ms, p99 ${p99} ms, max ${latencies.at(-1)} ms`,
);
console.log(JSON.stringify({ bench: 'latency', rate: RATE, records: sent, p50Ms: p50, p99Ms: p99 }));

// Child process of bench/latency.ts: appends bench records at a steady rate to the embedded log.
import { type AppendRecord, openEmbeddedLog, partitionFor } from 'slipway';
import { benchIn, benchRecord } from './common.js';

const [path, rateArg, secondsArg] = process.argv.slice(2);
const rate = Number(rateArg);
const seconds = Number(secondsArg);
const log = await openEmbeddedLog({ path: path as string });
const started = performance.now();
let sent = 0;
while (performance.now() - started < seconds * 1000) {
  const due = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
  if (due > 0) {
    const now = Date.now();
    const batch: AppendRecord[] = [];
    for (let i = sent; i < sent + due; i++) {
      const v = benchRecord(i);
      const key = String(v.userId);
      batch.push({ partition: partitionFor(key, benchIn.partitions), key, value: JSON.stringify(v), timestamp: now });
    }
    await log.append(benchIn.topic, batch);
    sent += due;
  }
  await new Promise((r) => setTimeout(r, 1));
}
await log.close();
process.stdout.write(`${JSON.stringify({ sent })}\n`);

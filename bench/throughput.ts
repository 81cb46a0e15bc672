// npm run bench:throughput — the trivial map pipeline over 1,000,000 records on the embedded log,
// against a raw loop over the same Log doing the same map (read batch → parse, add field, stringify
// → one commit of outputs + offsets) without the Slipway runtime. Last line: one JSON object.
import { type AppendRecord, type Log, openEmbeddedLog, partitionFor, Runner } from 'slipway';
import { argValue, benchIn, benchOut, mapPipeline, produceBench, tempDir } from './common.js';

const RECORDS = argValue('records', 1_000_000);
const BATCH = 2000;

async function rawLoop(log: Log): Promise<number> {
  const owner = 'raw-loop';
  const epoch = await log.fence(owner);
  await log.createTopic('raw-out.v1', { partitions: benchOut.partitions });
  const positions = Array.from({ length: benchIn.partitions }, () => 0);
  let done = 0;
  let next = 0;
  while (done < RECORDS) {
    const outputs: AppendRecord[] = [];
    const offsets = [];
    let read = 0;
    for (let i = 0; i < positions.length && read < BATCH; i++) {
      const p = (next + i) % positions.length;
      const records = await log.read(benchIn.topic, p, positions[p] as number, BATCH - read);
      if (records.length === 0) continue;
      for (const r of records) {
        const value = JSON.parse(r.value) as { amount: number; userId: string };
        const out = { ...value, amountCents: Math.round(value.amount * 100) };
        outputs.push({
          partition: partitionFor(value.userId, benchOut.partitions),
          key: value.userId,
          value: JSON.stringify(out),
        });
      }
      read += records.length;
      positions[p] = (positions[p] as number) + records.length;
      offsets.push({ topic: benchIn.topic, partition: p, offset: positions[p] as number });
    }
    next = (next + 1) % positions.length;
    await log.commit({
      owner,
      epoch,
      outputs: [{ topic: 'raw-out.v1', records: outputs }],
      offsets: { group: 'raw', offsets },
    });
    done += read;
  }
  return done;
}

async function slipwayRun(log: Log): Promise<number> {
  const runner = new Runner({ pipeline: mapPipeline, log, batchSize: BATCH });
  await runner.start();
  const offsets = await runner.drain();
  await runner.stop();
  return offsets.reduce((n, o) => n + o.offset, 0);
}

async function measure(name: string, fn: (log: Log) => Promise<number>): Promise<number> {
  const tmp = tempDir(`slipway-bench-${name}-`);
  const log = await openEmbeddedLog({ path: tmp.path, commitThread: true });
  const avg = await produceBench(log, RECORDS);
  const started = performance.now();
  const n = await fn(log);
  const seconds = (performance.now() - started) / 1000;
  await log.close();
  tmp.remove();
  if (n !== RECORDS) throw new Error(`${name} processed ${n} of ${RECORDS}`);
  const rate = n / seconds;
  console.log(
    `${name.padEnd(8)} ${n} records of ~${Math.round(avg)} bytes in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s`,
  );
  return rate;
}

console.log(`throughput: ${RECORDS} records, batch ${BATCH}, embedded log`);
// Alternate the two so neither always runs on a warmer (or more loaded) machine.
const raw1 = await measure('raw', rawLoop);
const sw1 = await measure('slipway', slipwayRun);
const sw2 = await measure('slipway', slipwayRun);
const raw2 = await measure('raw', rawLoop);
const raw = (raw1 + raw2) / 2;
const sw = (sw1 + sw2) / 2;
console.log(
  JSON.stringify({
    bench: 'throughput',
    records: RECORDS,
    recordsPerSec: Math.round(sw),
    rawRecordsPerSec: Math.round(raw),
    ratio: Math.round((sw / raw) * 1000) / 1000,
  }),
);

// npm run bench:throughput — the trivial map pipeline over 1,000,000 records on the embedded log,
// against a raw loop over the same Log doing the same map (read batch → parse, add field, stringify
// → one commit of outputs + offsets) without the Slipway runtime. Last line: one JSON object.
import { readFileSync } from 'node:fs';
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

/** CPU seconds used by the main thread so far (Linux; undefined elsewhere). */
function mainThreadCpu(): number | undefined {
  try {
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 10 ms
  } catch {
    return undefined;
  }
}

interface Measured {
  rate: number;
  /** CPU µs per record: the whole process (every thread), and the main thread alone. */
  cpuUs: number;
  mainCpuUs: number | undefined;
}

async function measure(name: string, fn: (log: Log) => Promise<number>): Promise<Measured> {
  const tmp = tempDir(`slipway-bench-${name}-`);
  const log = await openEmbeddedLog({ path: tmp.path, commitThread: true });
  const avg = await produceBench(log, RECORDS);
  const cpu = process.cpuUsage();
  const main = mainThreadCpu();
  const started = performance.now();
  const n = await fn(log);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const mainUsed = main === undefined ? undefined : (mainThreadCpu() as number) - main;
  await log.close();
  tmp.remove();
  if (n !== RECORDS) throw new Error(`${name} processed ${n} of ${RECORDS}`);
  const rate = n / seconds;
  const cpuUs = (used.user + used.system) / n;
  const mainCpuUs = mainUsed === undefined ? undefined : (mainUsed * 1e6) / n;
  // CPU per record is steadier than the rate on a busy machine: it does not count waiting for a core.
  console.log(
    `${name.padEnd(8)} ${n} records of ~${Math.round(avg)} bytes in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s` +
      ` (CPU per record: ${cpuUs.toFixed(2)} µs, main thread ${mainCpuUs?.toFixed(2) ?? '?'} µs)`,
  );
  return { rate, cpuUs, mainCpuUs };
}

console.log(`throughput: ${RECORDS} records, batch ${BATCH}, embedded log`);
// `--only raw` or `--only slipway` runs one side once (for profiling: no figures line).
const only = process.argv[process.argv.indexOf('--only') + 1];
if (process.argv.includes('--only')) {
  await measure(only === 'raw' ? 'raw' : 'slipway', only === 'raw' ? rawLoop : slipwayRun);
  process.exit(0);
}
// Alternate the two so neither always runs on a warmer (or more loaded) machine.
const raw1 = await measure('raw', rawLoop);
const sw1 = await measure('slipway', slipwayRun);
const sw2 = await measure('slipway', slipwayRun);
const raw2 = await measure('raw', rawLoop);
const raw = (raw1.rate + raw2.rate) / 2;
const sw = (sw1.rate + sw2.rate) / 2;
const mean = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.round(((a + b) / 2) * 100) / 100;
console.log(
  JSON.stringify({
    bench: 'throughput',
    records: RECORDS,
    recordsPerSec: Math.round(sw),
    rawRecordsPerSec: Math.round(raw),
    ratio: Math.round((sw / raw) * 1000) / 1000,
    cpuUsPerRecord: mean(sw1.cpuUs, sw2.cpuUs),
    rawCpuUsPerRecord: mean(raw1.cpuUs, raw2.cpuUs),
    mainThreadCpuUsPerRecord: mean(sw1.mainCpuUs, sw2.mainCpuUs),
    rawMainThreadCpuUsPerRecord: mean(raw1.mainCpuUs, raw2.mainCpuUs),
  }),
);

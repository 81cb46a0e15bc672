// npm run bench:throughput — the trivial map pipeline (parse, add a field, emit) over 1,000,000
// records of ~200 bytes on the embedded log, against a raw loop over the same Log doing the same map
// (read batch → parse, add field, stringify → one commit of outputs + offsets) without the Slipway
// runtime. Both sides are measured twice over: as one runner (one loop) in this process, and scaled
// out over the machine's cores as `slipway scale` runs a pipeline — `--runners N` runner processes
// (default: one per core, up to the 4 input partitions), each owning a share of the input partitions — against N raw loops in N processes.
// Every measurement starts from a copy of the same produced log. Last line: one JSON object.
import { type ChildProcess, fork } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ArtifactStore, buildArtifact, ChildProcessSupervisor, type Log, openEmbeddedLog, Runner } from 'slipway';
import { inputPartitions } from '../src/runtime/runner-setup.js';
import { assignPartitions, RunnerGroup } from '../src/supervisor/runner-group.js';
import { argValue, benchIn, mapPipeline, produceBench, spreadMapPipeline, tempDir } from './common.js';
import { type RawLoopChild, rawLoop } from './raw-loop.js';

const RECORDS = argValue('records', 1_000_000);
// One runner process per core, as many as there are input partitions to share out (2 on the CI machines).
const RUNNERS = argValue('runners', Math.max(1, Math.min(availableParallelism(), benchIn.partitions)));
const BATCH = 2000;
const SOURCE_ARGV = ['--conditions=slipway-source', '--import', 'tsx'];

type Map = 'literal' | 'spread';
const pipelines = { literal: mapPipeline, spread: spreadMapPipeline };
// Runner processes run artifacts: both map pipelines are built once from bench/common.ts.
const artifactsDir = tempDir('slipway-bench-artifacts-').dir;
const supervisor = new ChildProcessSupervisor({ artifactsDir });
const artifacts = (async () => {
  const store = new ArtifactStore({ dir: artifactsDir });
  const common = fileURLToPath(new URL('./common.ts', import.meta.url));
  const build = async (name: string) => (await buildArtifact({ entry: common, pipeline: name, store })).digest;
  return { literal: await build(mapPipeline.name), spread: await build(spreadMapPipeline.name) };
})();

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

// The input, produced once; each measurement runs on a copy of it.
const template = tempDir('slipway-bench-input-');
let recordBytes = 0;
{
  const log = await openEmbeddedLog({ path: template.path });
  recordBytes = await produceBench(log, RECORDS);
  await log.close(); // checkpoints the WAL into the file
}

function copyOfInput(name: string): ReturnType<typeof tempDir> {
  const tmp = tempDir(`slipway-bench-${name}-`);
  copyFileSync(template.path, tmp.path);
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(template.path + suffix)) copyFileSync(template.path + suffix, tmp.path + suffix);
  }
  return tmp;
}

interface Measured {
  rate: number;
  /** CPU µs per record of this process (every thread) and of its main thread; undefined for child processes. */
  cpuUs: number | undefined;
  mainCpuUs: number | undefined;
}

async function measure(
  name: string,
  run: (path: string) => Promise<{ records: number; seconds: number; cpu?: NodeJS.CpuUsage; main?: number }>,
): Promise<Measured> {
  const tmp = copyOfInput(name.replace(/\W+/g, '-'));
  const { records, seconds, cpu, main } = await run(tmp.path);
  tmp.remove();
  if (records !== RECORDS) throw new Error(`${name} processed ${records} of ${RECORDS}`);
  const rate = records / seconds;
  const cpuUs = cpu === undefined ? undefined : (cpu.user + cpu.system) / records;
  const mainCpuUs = main === undefined ? undefined : (main * 1e6) / records;
  // CPU per record is steadier than the rate on a busy machine: it does not count waiting for a core.
  console.log(
    `${name.padEnd(20)} ${records} records of ~${Math.round(recordBytes)} bytes in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s` +
      (cpuUs === undefined
        ? ''
        : ` (CPU per record: ${cpuUs.toFixed(2)} µs, main thread ${mainCpuUs?.toFixed(2) ?? '?'} µs)`),
  );
  return { rate, cpuUs, mainCpuUs };
}

/** Runs `fn` on the log at `path` in this process, timing it and its CPU. */
async function inProcess(path: string, fn: (log: Log) => Promise<number>) {
  const log = await openEmbeddedLog({ path, commitThread: true });
  const cpu = process.cpuUsage();
  const main = mainThreadCpu();
  const started = performance.now();
  const records = await fn(log);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const mainUsed = main === undefined ? undefined : (mainThreadCpu() as number) - main;
  await log.close();
  return { records, seconds, cpu: used, ...(mainUsed === undefined ? {} : { main: mainUsed }) };
}

const singleRunner = (map: Map) => (path: string) =>
  inProcess(path, async (log) => {
    const runner = new Runner({ pipeline: pipelines[map], log, batchSize: BATCH });
    await runner.start();
    const offsets = await runner.drain();
    await runner.stop();
    return offsets.reduce((n, o) => n + o.offset, 0);
  });

const singleRaw = (map: Map) => (path: string) => inProcess(path, (log) => rawLoop(log, { map, batch: BATCH }));

/** The pipeline as RUNNERS runner processes (what `slipway scale <pipeline> N` runs), timed from activation to caught up. */
const scaledRunners = (map: Map) => async (path: string) => {
  const pipeline = pipelines[map];
  const group = new RunnerGroup(
    supervisor,
    {
      id: `bench-${map}`,
      digest: (await artifacts)[map],
      pipeline: pipeline.name,
      log: { engine: 'embedded', path },
      owner: `slipway.${pipeline.name}`,
      group: `slipway.${pipeline.name}`,
      batchSize: BATCH,
    },
    assignPartitions(inputPartitions(pipeline), RUNNERS),
  );
  const log = await openEmbeddedLog({ path });
  try {
    await group.start();
    const ends = [];
    for (const { topic, partition } of inputPartitions(pipeline))
      ends.push({ topic, partition, offset: await log.endOffset(topic, partition) });
    const started = performance.now();
    const offsets = await group.runUntil(ends);
    const seconds = (performance.now() - started) / 1000;
    return { records: offsets.reduce((n, o) => n + o.offset, 0), seconds };
  } finally {
    await group.stop();
    await log.close();
  }
};

/** RUNNERS raw loops in as many processes, each over the partitions a runner of the same share would own. */
const scaledRaw = (map: Map) => async (path: string) => {
  const shares = assignPartitions(inputPartitions(mapPipeline), RUNNERS);
  const children: ChildProcess[] = shares.map((share, i) => {
    const options: RawLoopChild = {
      path,
      map,
      batch: BATCH,
      owner: `raw-loop.r${i + 1}of${shares.length}`,
      partitions: share.map((tp) => tp.partition),
    };
    return fork(fileURLToPath(new URL('./raw-loop.ts', import.meta.url)), [JSON.stringify(options)], {
      execArgv: SOURCE_ARGV,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
  });
  const next = (child: ChildProcess) =>
    new Promise<{ ready?: boolean; records?: number }>((resolve, reject) => {
      child.once('message', resolve);
      child.once('exit', (code) => reject(new Error(`raw loop child exited with ${code}`)));
    });
  await Promise.all(children.map(next));
  const done = children.map(next);
  const started = performance.now();
  for (const child of children) child.send('go');
  const counts = await Promise.all(done);
  const seconds = (performance.now() - started) / 1000;
  return { records: counts.reduce((n, c) => n + (c.records ?? 0), 0), seconds };
};

console.log(
  `throughput: ${RECORDS} records, batch ${BATCH}, embedded log; one runner and ${RUNNERS} runner processes (this machine has ${availableParallelism()} cores)`,
);
// `--only raw|slipway|scaled|scaled-raw` runs one side once (for profiling: no figures line).
if (process.argv.includes('--only')) {
  const only = process.argv[process.argv.indexOf('--only') + 1];
  const sides = { raw: singleRaw, slipway: singleRunner, scaled: scaledRunners, 'scaled-raw': scaledRaw };
  const side = sides[(only ?? 'slipway') as keyof typeof sides] ?? singleRunner;
  await measure(only ?? 'slipway', side(process.argv.includes('--spread') ? 'spread' : 'literal'));
  template.remove();
  process.exit(0);
}
// Each side twice, in an order that alternates them, so none always runs on a warmer (or more loaded) machine.
const scaledLabel = `×${RUNNERS}`;
const raw1 = await measure('raw', singleRaw('literal'));
const sw1 = await measure('slipway', singleRunner('literal'));
const swN1 = await measure(`slipway ${scaledLabel}`, scaledRunners('literal'));
const rawN1 = await measure(`raw ${scaledLabel}`, scaledRaw('literal'));
const rawN2 = await measure(`raw ${scaledLabel}`, scaledRaw('literal'));
const swN2 = await measure(`slipway ${scaledLabel}`, scaledRunners('literal'));
const sw2 = await measure('slipway', singleRunner('literal'));
const raw2 = await measure('raw', singleRaw('literal'));
// The same pipeline with its output spread from the input, once each: what the literal saves.
const spread1 = await measure('slipway, spread', singleRunner('spread'));
const spreadN = await measure(`slipway ${scaledLabel}, spread`, scaledRunners('spread'));
template.remove();

const avg = (a: number, b: number): number => (a + b) / 2;
const mean = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined ? undefined : Math.round(((a + b) / 2) * 100) / 100;
const swN = avg(swN1.rate, swN2.rate);
const rawN = avg(rawN1.rate, rawN2.rate);
const sw = avg(sw1.rate, sw2.rate);
const raw = avg(raw1.rate, raw2.rate);
console.log(
  JSON.stringify({
    bench: 'throughput',
    records: RECORDS,
    runners: RUNNERS,
    recordsPerSec: Math.round(swN),
    rawRecordsPerSec: Math.round(rawN),
    ratio: Math.round((swN / rawN) * 1000) / 1000,
    singleRunner: {
      recordsPerSec: Math.round(sw),
      rawRecordsPerSec: Math.round(raw),
      ratio: Math.round((sw / raw) * 1000) / 1000,
      cpuUsPerRecord: mean(sw1.cpuUs, sw2.cpuUs),
      rawCpuUsPerRecord: mean(raw1.cpuUs, raw2.cpuUs),
      mainThreadCpuUsPerRecord: mean(sw1.mainCpuUs, sw2.mainCpuUs),
      rawMainThreadCpuUsPerRecord: mean(raw1.mainCpuUs, raw2.mainCpuUs),
    },
    spread: { recordsPerSec: Math.round(spreadN.rate), singleRunnerRecordsPerSec: Math.round(spread1.rate) },
  }),
);

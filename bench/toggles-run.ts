// A throughput process of bench:toggles: one pipeline (`base`: the map pipeline, `toggled`: the same with three
// toggles), as a runner process in production runs one. For each `run` line on stdin it copies the input log,
// drains it with one runner and prints `{"rate":…,"cpuRate":…,"pipeline":…}` (records per second of wall time
// and per second of this process's CPU time, every thread; the pipeline's name).
import { copyFileSync, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { openEmbeddedLog, Runner } from 'slipway';
import { mapPipeline, tempDir } from './common.js';
import { toggledMapPipeline } from './toggles-pipeline.js';

const [template, which, records] = process.argv.slice(2) as [string, string, string];
const RECORDS = Number(records);
const pipeline = which === 'toggled' ? toggledMapPipeline : mapPipeline;

async function run(): Promise<{ rate: number; cpuRate: number; pipeline: string }> {
  const tmp = tempDir('slipway-bench-toggles-');
  copyFileSync(template, tmp.path);
  for (const s of ['-wal', '-shm']) if (existsSync(template + s)) copyFileSync(template + s, tmp.path + s);
  try {
    const log = await openEmbeddedLog({ path: tmp.path, commitThread: true });
    const runner = new Runner({ pipeline, log });
    await runner.start();
    const started = performance.now();
    const cpu = process.cpuUsage();
    await runner.drain();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const stats = await runner.stats();
    await runner.stop();
    await log.close();
    if (stats.processed !== RECORDS) throw new Error(`${pipeline.name} processed ${stats.processed} of ${RECORDS}`);
    return { rate: RECORDS / seconds, cpuRate: RECORDS / ((used.user + used.system) / 1e6), pipeline: pipeline.name };
  } finally {
    tmp.remove();
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'run') process.stdout.write(`${JSON.stringify(await run())}\n`);
}

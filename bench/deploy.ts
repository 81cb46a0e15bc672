// npm run bench:deploy — under a steady load (default 20,000 orders/s from another process), 20
// blue-green deployments and, in the same run, 20 recreate deployments of the example pipeline
// (artifacts built once, alternating v1 and v2), plus broken releases that the gates roll back.
// The pause of a deployment is the longest time no output was committed around its cutover, read
// from the output topic's commit timestamps. Lost and duplicated records are checked by source.
// `--engine kafka` runs the same on the Kafka broker at KAFKA_BROKERS (or starts the project's
// broker), with the example pipeline under names of this run (so a shared broker keeps runs apart)
// and 5,000 orders/s by default (`--rate N`); there a plain read_committed consumer (bench/deploy-watcher.ts)
// also notes when output reaches it, for the pause as seen from outside. Last line: one JSON object.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ArtifactStore,
  buildArtifact,
  ChildProcessSupervisor,
  Controller,
  checkExactlyOnce,
  type DeploymentEvent,
  type DeployRequestOptions as DeployOptions,
  type Log,
  openSqliteControlStore,
} from 'slipway';
import { longestGap as gapAround, outputTimes } from '../src/deploy/output-gaps.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { type LogConfig, openLog } from '../src/log/open-log.js';
import { argValue, percentile, tempDir } from './common.js';

const engineArg = process.argv.indexOf('--engine');
const ENGINE = engineArg > 0 ? process.argv[engineArg + 1] : 'embedded';
if (ENGINE !== 'embedded' && ENGINE !== 'kafka') throw new Error(`--engine takes embedded or kafka, not ${ENGINE}`);
const RATE = argValue('rate', ENGINE === 'kafka' ? 5000 : 20_000);
const DEPLOYS = argValue('deploys', 20);
const ROLLBACKS = argValue('rollbacks', 3);
/** Recreate deployments, the baseline of `pauseRatio` (default as many as blue-green ones). */
const RECREATES = argValue('recreates', DEPLOYS);
const EXAMPLE = fileURLToPath(new URL('../examples/orders/', import.meta.url));

const tmp = tempDir('slipway-bench-deploy-');
const logPath = tmp.path;
const store = new ArtifactStore({ dir: join(tmp.dir, 'artifacts') });
const refs: string[] = [];
// On Kafka the example runs under names of this run: `orders-<id>.v1` → `enriched-orders-<id>.v1`.
const id = randomUUID().slice(0, 8);
const suffix = ENGINE === 'kafka' ? `-${id}` : '';
const logConfig: LogConfig =
  ENGINE === 'kafka' ? { engine: 'kafka', brokers: kafkaBrokers() } : { engine: 'embedded', path: logPath };
if (ENGINE === 'kafka') {
  process.env.SLIPWAY_TEST_ISOLATION = id;
  const isolated = fileURLToPath(new URL('../test/fixtures/isolated/', import.meta.url));
  for (const file of ['v1.ts', 'v2.ts', 'v3.ts'])
    refs.push((await buildArtifact({ entry: join(isolated, file), cwd: isolated, store })).digest);
} else {
  for (const file of ['pipeline.ts', 'versions/v2.ts', 'versions/v3-broken.ts']) {
    refs.push((await buildArtifact({ entry: join(EXAMPLE, file), cwd: EXAMPLE, store })).digest);
  }
}
const [v1, v2, v3] = refs as [string, string, string];
const INPUT = `orders${suffix}.v1`;
const OUTPUT = `enriched-orders${suffix}.v1`;
const DLQ = `${INPUT}.dlq`;
const GROUP = `slipway.enrich-orders${suffix}`;

const controlStore = await openSqliteControlStore({ path: join(tmp.dir, 'control.db') });
// Runner processes, as the daemon runs them: the pause includes the IPC between controller and runners.
const controller = new Controller({
  store: controlStore,
  supervisor: new ChildProcessSupervisor({ artifactsDir: store.dir }),
  artifacts: store,
  log: logConfig,
});
const windows: Array<{ strategy: string; from: number; to: number }> = [];
/** The controller's phases of each blue-green cutover (see HandoffPhases). */
const phases: Array<Record<string, number>> = [];
let windowStart = 0;
controller.on('event', (e: DeploymentEvent) => {
  if ((e.step === 'cutover' || e.step === 'stop-blue') && e.kind === 'begin') windowStart = e.at;
  if (e.step === 'cutover' && e.kind === 'end') {
    windows.push({ strategy: 'blue-green', from: windowStart, to: e.at });
    const of = (e.data as { phases?: Record<string, number> }).phases;
    if (of !== undefined) phases.push(of);
  }
  if (e.step === 'start-green' && e.kind === 'end') windows.push({ strategy: 'recreate', from: windowStart, to: e.at });
});

const producer = spawn(
  process.execPath,
  [
    ...process.execArgv,
    fileURLToPath(new URL('./deploy-producer.ts', import.meta.url)),
    JSON.stringify(logConfig),
    String(RATE),
    INPUT,
  ],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
let producerOut = '';
producer.stdout.on('data', (d) => {
  producerOut += d;
});
const log = await openLog(logConfig);
await controller.start();
console.log(
  `deploy on ${ENGINE}: ${RATE} orders/s; ${DEPLOYS} blue-green and ${RECREATES} recreate deployments, ${ROLLBACKS} rollbacks`,
);

const committed = async (l: Log) => new Map((await l.committedOffsets(GROUP)).map((o) => [o.partition, o.offset]));
/** Whether the live runner has committed past every input record appended so far. */
const caughtUp = async (): Promise<boolean> => {
  const at = await committed(log);
  for (let p = 0; p < 4; p++) if ((at.get(p) ?? 0) < (await log.endOffset(INPUT, p))) return false;
  return true;
};
async function deploy(artifact: string, options: DeployOptions) {
  const record = await controller.wait((await controller.deploy(artifact, options)).id);
  await new Promise((r) => setTimeout(r, 250));
  return record;
}

const first = await deploy(v1, { strategy: 'blue-green', bakeMs: 500 });
if (first.status !== 'completed') throw new Error(`first deployment ${first.status}: ${JSON.stringify(first.summary)}`);
// Kafka: a consumer that is not ours reads the output (created by the first deployment) as any reader would.
const watcher = ENGINE === 'kafka' ? await startWatcher() : undefined;
await new Promise((r) => setTimeout(r, 1000));
const bgStartedAt = Date.now();

const bgFrom = await committed(log);
const rollbackMs: number[] = [];
for (let i = 0; i < DEPLOYS; i++) {
  // The latency and lag gates are relaxed: this measures handoffs, and a loaded machine must not roll them back.
  const record = await deploy(i % 2 === 0 ? v2 : v1, {
    strategy: 'blue-green',
    bakeMs: 300,
    gates: { maxP99LatencyMs: 60_000, maxLag: 10_000_000 },
  });
  if (record.status !== 'completed')
    throw new Error(`blue-green ${i} ${record.status}: ${JSON.stringify(record.summary)}`);
  process.stdout.write(`  blue-green ${i + 1}/${DEPLOYS}: ${record.summary.cutoverPauseMs} ms handoff\n`);
}
for (let i = 0; i < ROLLBACKS; i++) {
  const record = await deploy(v3, { strategy: 'blue-green', bakeMs: 10_000, gates: { maxDlqRatio: 0.01 } });
  if (record.status !== 'rolled_back') throw new Error(`broken release ${record.status}`);
  rollbackMs.push(record.summary.rollbackMs as number);
  process.stdout.write(`  broken release ${i + 1}/${ROLLBACKS}: rolled back in ${record.summary.rollbackMs} ms\n`);
}
const bgTo = await committed(log);
const bgEndedAt = Date.now();
for (let i = 0; i < RECREATES; i++) {
  const record = await deploy(i % 2 === 0 ? v2 : v1, { strategy: 'recreate' });
  if (record.status !== 'completed') throw new Error(`recreate ${i} ${record.status}`);
  process.stdout.write(`  recreate ${i + 1}/${RECREATES}: ${record.summary.cutoverPauseMs} ms handoff\n`);
}
await new Promise((r) => setTimeout(r, 1000));
producer.stdin.end();
await new Promise<void>((resolve) => producer.on('exit', () => resolve()));
const { sent } = JSON.parse(producerOut) as { sent: number };
const outside = watcher === undefined ? undefined : await watcher.result();
for (let i = 0; i < 600; i++) {
  if (await caughtUp()) break;
  await new Promise((r) => setTimeout(r, 100));
}
const rcTo = await committed(log);
await controller.close();
await controlStore.close();

// Commit times of every output record, to find the longest silence around each handoff.
const times = await outputTimes(log, OUTPUT);
const longestGap = (from: number, to: number): number => gapAround(times, from, to);
const pauses = (strategy: string) =>
  windows
    .filter((w) => w.strategy === strategy)
    .map((w) => longestGap(w.from, w.to))
    .sort((a, b) => a - b);
const bgPauses = pauses('blue-green').slice(-DEPLOYS - ROLLBACKS);
const rcPauses = pauses('recreate');
const bgCheck = await checkExactlyOnce(log, {
  input: INPUT,
  outputs: [OUTPUT],
  dlq: DLQ,
  from: bgFrom,
  upTo: bgTo,
});
const rcCheck = await checkExactlyOnce(log, {
  input: INPUT,
  outputs: [OUTPUT],
  dlq: DLQ,
  from: bgTo,
  upTo: rcTo,
});
const all = await checkExactlyOnce(log, { input: INPUT, outputs: [OUTPUT], dlq: DLQ });
await log.close();
tmp.remove();

const bg = { p50: percentile(bgPauses, 50), p99: percentile(bgPauses, 99) };
const bgWindows = windows.filter((w) => w.strategy === 'blue-green');
// Outside: the longest gap between committed output records reaching the plain consumer, around each cutover,
// and in steady state (each second of the blue-green run at least 2 s away from any cutover).
const outsideGaps =
  outside === undefined ? [] : bgWindows.map((w) => gapAround(outside.arrivals, w.from, w.to)).sort((a, b) => a - b);
const steadyGaps: number[] = [];
if (outside !== undefined) {
  for (let t = bgStartedAt; t + 1000 <= bgEndedAt; t += 1000) {
    if (bgWindows.some((w) => t + 1000 > w.from - 2000 && t < w.to + 2000)) continue;
    steadyGaps.push(gapAround(outside.arrivals, t, t + 1000));
  }
  steadyGaps.sort((a, b) => a - b);
}
const phaseP = (name: string, p: number) =>
  percentile(
    phases.map((ph) => ph[name] ?? 0).sort((a, b) => a - b),
    p,
  );
const phaseNames = ['pauseMs', 'fenceMs', 'offsetsMs', 'activateMs'];
if (phases.length > 0)
  console.log(
    `cutover phases p50/p99 (ms): ${phaseNames.map((n) => `${n} ${phaseP(n, 50)}/${phaseP(n, 99)}`).join(', ')}`,
  );
if (outside !== undefined) {
  console.log(
    `outside consumer: ${outside.records} records; gaps around blue-green cutovers (ms): ${outsideGaps.join(' ')}`,
  );
  console.log(
    `outside consumer: steady-state longest gap per second (ms) p50 ${percentile(steadyGaps, 50)}, max ${steadyGaps.at(-1)}`,
  );
}
const rc = { p50: percentile(rcPauses, 50), p99: percentile(rcPauses, 99) };
rollbackMs.sort((a, b) => a - b);
console.log(`blue-green pauses (ms): ${bgPauses.join(' ')}`);
console.log(`recreate pauses (ms):   ${rcPauses.join(' ')}`);
console.log(
  `${all.inputs} orders in; lost ${all.lost}, duplicated ${all.duplicated}, dead-lettered by the broken releases ${all.deadLettered}`,
);
console.log(
  JSON.stringify({
    bench: 'deploy',
    engine: ENGINE,
    rate: RATE,
    records: sent,
    blueGreen: {
      deploys: DEPLOYS,
      pauseP50Ms: bg.p50,
      pauseP99Ms: bg.p99,
      lost: bgCheck.lost,
      duplicated: bgCheck.duplicated,
      rollbackMs: percentile(rollbackMs, 50),
      ...(phases.length === 0
        ? {}
        : { phasesP50Ms: Object.fromEntries(phaseNames.map((n) => [n.replace(/Ms$/, ''), phaseP(n, 50)])) }),
      ...(outside === undefined
        ? {}
        : {
            outsideGapP50Ms: percentile(outsideGaps, 50),
            outsideGapP99Ms: percentile(outsideGaps, 99),
            outsideGapMaxMs: outsideGaps.at(-1) ?? null,
            steadyGapP50Ms: percentile(steadyGaps, 50),
            steadyGapMaxMs: steadyGaps.at(-1) ?? null,
          }),
    },
    recreate: {
      deploys: RECREATES,
      pauseP50Ms: rc.p50,
      pauseP99Ms: rc.p99,
      lost: rcCheck.lost,
      duplicated: rcCheck.duplicated,
    },
    pauseRatio: Math.round((rc.p50 / Math.max(1, bg.p50)) * 10) / 10,
  }),
);

/** Starts bench/deploy-watcher.ts on the output topic; resolves once it consumes. */
async function startWatcher() {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(new URL('./deploy-watcher.ts', import.meta.url)),
      kafkaBrokers().join(','),
      OUTPUT,
      `bench-deploy-watcher-${id}`,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      if (d.toString().includes('watcher: consuming')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the output watcher exited (${code}) before it consumed`)));
  });
  return {
    async result(): Promise<{ records: number; arrivals: number[] }> {
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      child.stdin.end();
      await exited;
      return JSON.parse(out) as { records: number; arrivals: number[] };
    },
  };
}

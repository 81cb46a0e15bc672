// One engine's leg of bench/deploy.ts: under a steady load from another process (bench/deploy-producer.ts),
// blue-green deployments, broken releases the gates roll back, then recreate deployments of the example pipeline
// (artifacts built once, alternating v1 and v2). The pause of a deployment is the longest time no output was
// committed around its cutover, read from the output topic's commit timestamps. Lost and duplicated records are
// checked by source. On Kafka the example runs under names of this leg (so a shared broker keeps runs apart) and a
// plain read_committed consumer (bench/deploy-watcher.ts) also notes when output reaches it, for the pause as seen
// from outside. Everything a leg makes is its own and is removed when it ends, whether it succeeded or not: its
// temporary folder (log file, artifacts, control store), its child processes (load, watcher, runners) and, on Kafka,
// its topics, consumer groups, owner and state changelog. So two legs in one process share nothing.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
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
import { type LogConfig, openLog } from '../src/log/open-log.js';
import { percentile, tempDir } from './common.js';

export type DeployEngine = 'embedded' | 'kafka';

/** What one leg runs: the same for both engines of one `--engine both` run. */
export interface DeployLegOptions {
  engine: DeployEngine;
  /** Orders per second appended by the load process. */
  rate: number;
  deploys: number;
  rollbacks: number;
  /** Recreate deployments, the baseline of `pauseRatio`. */
  recreates: number;
  /** Kafka only: the brokers. */
  brokers?: string[];
}

/** One leg's figures: the fields of the JSON line `--engine embedded|kafka` prints (less `bench`). */
export interface DeployFigures {
  engine: DeployEngine;
  rate: number;
  records: number;
  /** The rate the load process reached (`rate` is what it was asked for): below it on a loaded machine. */
  appendedPerSec: number;
  blueGreen: Record<string, unknown> & { pauseP50Ms: number; pauseP99Ms: number; lost: number; duplicated: number };
  recreate: { deploys: number; pauseP50Ms: number; pauseP99Ms: number; lost: number; duplicated: number };
  pauseRatio: number;
  /** Orders appended after the live runner's last commit when the leg ended (0 when it caught up). */
  behindAtEnd: number;
  /** The 1-minute load average when the leg began and when it ended: these machines are shared. */
  load: [number, number];
}

const EXAMPLE = fileURLToPath(new URL('../examples/orders/', import.meta.url));
const ISOLATED = fileURLToPath(new URL('../test/fixtures/isolated/', import.meta.url));
const round1 = (n: number) => Math.round(n * 10) / 10;

/** Runs one engine's leg and returns its figures; prints readable lines as it goes. */
export async function runDeployLeg(options: DeployLegOptions): Promise<DeployFigures> {
  const { engine, rate: RATE, deploys: DEPLOYS, rollbacks: ROLLBACKS, recreates: RECREATES } = options;
  const loadBefore = round1(loadavg()[0] as number);
  const tmp = tempDir(`slipway-bench-deploy-${engine}-`);
  // On Kafka the example runs under names of this leg: `orders-<id>.v1` → `enriched-orders-<id>.v1`. The
  // isolated fixtures read the id from SLIPWAY_TEST_ISOLATION when built and in the runner processes (which
  // inherit it), so it is set for this leg only and restored after.
  const id = randomUUID().slice(0, 8);
  const suffix = engine === 'kafka' ? `-${id}` : '';
  const isolationBefore = process.env.SLIPWAY_TEST_ISOLATION;
  if (engine === 'kafka') process.env.SLIPWAY_TEST_ISOLATION = id;
  const logConfig: LogConfig =
    engine === 'kafka' ? { engine: 'kafka', brokers: options.brokers ?? [] } : { engine: 'embedded', path: tmp.path };
  const PIPELINE = `enrich-orders${suffix}`;
  const INPUT = `orders${suffix}.v1`;
  const OUTPUT = `enriched-orders${suffix}.v1`;
  const DLQ = `${INPUT}.dlq`;
  // The live runner's consumer group and owner (Runner's defaults), and its state namespace (PIPELINE).
  const GROUP = `slipway.${PIPELINE}`;
  const OWNER = `slipway.${PIPELINE}`;
  const WATCHER_GROUP = `bench-deploy-watcher-${id}`;

  let producer: ChildProcess | undefined;
  let watcher: Watcher | undefined;
  let controller: Controller | undefined;
  let controlStore: Awaited<ReturnType<typeof openSqliteControlStore>> | undefined;
  let log: Log | undefined;
  try {
    const store = new ArtifactStore({ dir: join(tmp.dir, 'artifacts') });
    const sources =
      engine === 'kafka'
        ? ['v1.ts', 'v2.ts', 'v3.ts'].map((f) => ({ entry: join(ISOLATED, f), cwd: ISOLATED }))
        : ['pipeline.ts', 'versions/v2.ts', 'versions/v3-broken.ts'].map((f) => ({
            entry: join(EXAMPLE, f),
            cwd: EXAMPLE,
          }));
    const refs: string[] = [];
    for (const s of sources) refs.push((await buildArtifact({ ...s, store })).digest);
    const [v1, v2, v3] = refs as [string, string, string];

    controlStore = await openSqliteControlStore({ path: join(tmp.dir, 'control.db') });
    // Runner processes, as the daemon runs them: the pause includes the IPC between controller and runners.
    controller = new Controller({
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
      if (e.step === 'start-green' && e.kind === 'end')
        windows.push({ strategy: 'recreate', from: windowStart, to: e.at });
    });

    const load = spawn(
      process.execPath,
      [
        ...process.execArgv,
        fileURLToPath(new URL('./deploy-producer.ts', import.meta.url)),
        JSON.stringify(logConfig),
        String(RATE),
        INPUT,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    producer = load;
    let producerOut = '';
    load.stdout?.on('data', (d) => {
      producerOut += d;
    });
    const producerExited = new Promise<void>((resolve) => load.on('exit', () => resolve()));
    const reader = await openLog(logConfig);
    log = reader;
    await controller.start();
    console.log(
      `deploy on ${engine}: ${RATE} orders/s; ${DEPLOYS} blue-green and ${RECREATES} recreate deployments, ${ROLLBACKS} rollbacks` +
        (engine === 'kafka' ? `; topics ${INPUT} → ${OUTPUT}` : ''),
    );

    const committed = async () => new Map((await reader.committedOffsets(GROUP)).map((o) => [o.partition, o.offset]));
    /** Whether the live runner has committed past every input record appended so far. */
    const caughtUp = async (): Promise<boolean> => {
      const at = await committed();
      for (let p = 0; p < 4; p++) if ((at.get(p) ?? 0) < (await reader.endOffset(INPUT, p))) return false;
      return true;
    };
    const ctl = controller;
    async function deploy(artifact: string, deployOptions: DeployOptions) {
      const record = await ctl.wait((await ctl.deploy(artifact, deployOptions)).id);
      await new Promise((r) => setTimeout(r, 250));
      return record;
    }

    const first = await deploy(v1, { strategy: 'blue-green', bakeMs: 500 });
    if (first.status !== 'completed')
      throw new Error(`first deployment ${first.status}: ${JSON.stringify(first.summary)}`);
    // Kafka: a consumer that is not ours reads the output (created by the first deployment) as any reader would.
    if (engine === 'kafka') watcher = await startWatcher(options.brokers ?? [], OUTPUT, WATCHER_GROUP);
    await new Promise((r) => setTimeout(r, 1000));
    const bgStartedAt = Date.now();

    const bgFrom = await committed();
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
    const bgTo = await committed();
    const bgEndedAt = Date.now();
    for (let i = 0; i < RECREATES; i++) {
      const record = await deploy(i % 2 === 0 ? v2 : v1, { strategy: 'recreate' });
      if (record.status !== 'completed') throw new Error(`recreate ${i} ${record.status}`);
      process.stdout.write(`  recreate ${i + 1}/${RECREATES}: ${record.summary.cutoverPauseMs} ms handoff\n`);
    }
    await new Promise((r) => setTimeout(r, 1000));
    load.stdin?.end();
    await producerExited;
    const { sent, seconds } = JSON.parse(producerOut) as { sent: number; seconds: number };
    const appendedPerSec = Math.round(sent / seconds);
    console.log(
      `${engine}: load: ${sent} orders appended in ${seconds.toFixed(1)} s, ${appendedPerSec}/s of the ${RATE}/s asked`,
    );
    const outside = watcher === undefined ? undefined : await watcher.result();
    for (let i = 0; i < 600; i++) {
      if (await caughtUp()) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await controller.close();
    controller = undefined;
    await controlStore.close();
    controlStore = undefined;
    // Read once the runners have stopped, so no commit comes after it.
    const rcTo = await committed();

    // Commit times of every output record, to find the longest silence around each handoff.
    const times = await outputTimes(reader, OUTPUT);
    const pauses = (strategy: string) =>
      windows
        .filter((w) => w.strategy === strategy)
        .map((w) => gapAround(times, w.from, w.to))
        .sort((a, b) => a - b);
    const bgPauses = pauses('blue-green').slice(-DEPLOYS - ROLLBACKS);
    const rcPauses = pauses('recreate');
    const check = { input: INPUT, outputs: [OUTPUT], dlq: DLQ };
    const bgCheck = await checkExactlyOnce(reader, { ...check, from: bgFrom, upTo: bgTo });
    const rcCheck = await checkExactlyOnce(reader, { ...check, from: bgTo, upTo: rcTo });
    // Every input record up to the live runner's last commit. What the load appended after it (a runner behind a
    // loaded machine's load that did not catch up within the minute given) was never processed: counted apart, not
    // as lost.
    const all = await checkExactlyOnce(reader, { ...check, upTo: rcTo });
    let behind = 0;
    for (let p = 0; p < 4; p++) behind += (await reader.endOffset(INPUT, p)) - (rcTo.get(p) ?? 0);

    const bg = { p50: percentile(bgPauses, 50), p99: percentile(bgPauses, 99) };
    const bgWindows = windows.filter((w) => w.strategy === 'blue-green');
    // Outside: the longest gap between committed output records reaching the plain consumer, around each cutover,
    // and in steady state (each second of the blue-green run at least 2 s away from any cutover).
    const outsideGaps =
      outside === undefined
        ? []
        : bgWindows.map((w) => gapAround(outside.arrivals, w.from, w.to)).sort((a, b) => a - b);
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
        `${engine}: cutover phases p50/p99 (ms): ${phaseNames.map((n) => `${n} ${phaseP(n, 50)}/${phaseP(n, 99)}`).join(', ')}`,
      );
    if (outside !== undefined) {
      console.log(
        `${engine}: outside consumer: ${outside.records} records; gaps around blue-green cutovers (ms): ${outsideGaps.join(' ')}`,
      );
      console.log(
        `${engine}: outside consumer: steady-state longest gap per second (ms) p50 ${percentile(steadyGaps, 50)}, max ${steadyGaps.at(-1)}`,
      );
    }
    const rc = { p50: percentile(rcPauses, 50), p99: percentile(rcPauses, 99) };
    rollbackMs.sort((a, b) => a - b);
    console.log(`${engine}: blue-green pauses (ms): ${bgPauses.join(' ')}`);
    console.log(`${engine}: recreate pauses (ms):   ${rcPauses.join(' ')}`);
    console.log(
      `${engine}: ${all.inputs} orders processed; lost ${all.lost}, duplicated ${all.duplicated}, dead-lettered by the broken releases ${all.deadLettered}` +
        (behind > 0 ? `; ${behind} appended after the live runner's last commit (it had not caught up)` : ''),
    );
    return {
      engine,
      rate: RATE,
      records: sent,
      appendedPerSec,
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
      pauseRatio: round1(rc.p50 / Math.max(1, bg.p50)),
      behindAtEnd: behind,
      load: [loadBefore, round1(loadavg()[0] as number)],
    };
  } finally {
    // Idempotent: on success most of this is done already; on a failure it stops what is still running.
    await stopChild(producer);
    await watcher?.stop();
    await controller?.close().catch(() => {});
    await controlStore?.close().catch(() => {});
    if (engine === 'kafka' && log !== undefined) {
      // The leg's topics, groups, owner and state changelog: nothing of it stays on the broker.
      await log.deleteTopics([INPUT, OUTPUT, DLQ]).catch(warn('topics'));
      await log.deleteGroups([GROUP, WATCHER_GROUP]).catch(warn('groups'));
      await log.forgetOwners([OWNER]).catch(warn('owner'));
      await log.deleteStateNamespaces([PIPELINE]).catch(warn('state'));
    }
    await log?.close().catch(() => {});
    tmp.remove();
    if (isolationBefore === undefined) delete process.env.SLIPWAY_TEST_ISOLATION;
    else process.env.SLIPWAY_TEST_ISOLATION = isolationBefore;
  }
}

const warn = (what: string) => (err: unknown) =>
  process.stderr.write(`bench:deploy: could not remove the Kafka leg's ${what}: ${(err as Error).message}\n`);

/** Closes a child's stdin (how the load and the watcher are told to stop), then kills it after 10 s. */
async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Watcher {
  /** Stops the consumer and returns what it saw. */
  result(): Promise<{ records: number; arrivals: number[] }>;
  /** Stops the consumer if it still runs. */
  stop(): Promise<void>;
}

/** Starts bench/deploy-watcher.ts on the output topic; resolves once it consumes. */
async function startWatcher(brokers: string[], topic: string, group: string): Promise<Watcher> {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      fileURLToPath(new URL('./deploy-watcher.ts', import.meta.url)),
      brokers.join(','),
      topic,
      group,
    ],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      if (d.toString().includes('watcher: consuming')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`the output watcher exited (${code}) before it consumed`)));
  });
  return {
    async result() {
      await stopChild(child);
      await exited;
      return JSON.parse(out) as { records: number; arrivals: number[] };
    },
    stop: () => stopChild(child),
  };
}

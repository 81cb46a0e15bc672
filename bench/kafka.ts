// npm run bench:kafka [-- --records N] [-- --batch N] [-- --rounds N] — the trivial map pipeline (parse, add a field, emit) over
// 500,000 records on a Kafka broker (KAFKA_BROKERS, else the project's local broker):
// - slipway ×N: N runner processes (`--runners N`, default the stream threads), as `slipway run --runners N` runs it;
// - slipway: one Runner over the Kafka Log in the bench's process, exactly once (outputs + input offsets in one transaction;
//   batches of `--batch` records, those read while a commit is in flight gathered into the next, up to 4);
// - raw: the ceiling, a @platformatic/kafka Consumer → transactional Producer loop doing the same map over the
//   same records and partitions: read_committed, one transaction per batch of the same size, the input offsets
//   committed in the transaction (TxnOffsetCommit of the last record of each partition);
// - kafka-streams: the same map in Kafka Streams (bench/kafka-streams/, built once with Maven), exactly_once_v2,
//   2 stream threads (`--streams-threads N`), its defaults otherwise (commit.interval.ms 100 under exactly once);
// - at-least-once: the raw loop without transactions (idempotent producer, then a plain offset commit per batch).
//   The Kafka Log has no at-least-once mode: every Log commit is atomic by contract.
// The Slipway and Kafka Streams legs are timed alike: each is set up before its clock starts (Kafka Streams: JVM
// started, its map run 100,000 times for the JIT, started paused until RUNNING with every partition's task assigned,
// so the first rebalance and its producers' InitProducerId are behind it; Slipway: runner processes started, each
// runner activated once with `runUntil` to offset 0, which fences it and loads positions and state), the clock starts
// as processing is let go (`go` to the JVM; `runUntil(end offsets)`, which fences once more), and it stops at the
// first poll (OffsetFetch every 10 ms from the bench's process) that sees the group's committed offsets cover every
// record: a transactional offset commit is visible only once its transaction commits, so both stop when their last
// transaction is committed, seen the same way. The raw loops time from their first record to their last commit.
// Every run writes its own output topic; its output is read back read_committed and must hold each input
// record exactly once. Topics and groups are unique per run and deleted at the end. Last line: one JSON object.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer, type Message, Producer } from '@platformatic/kafka';
import {
  type AppendRecord,
  ArtifactStore,
  buildArtifact,
  ChildProcessSupervisor,
  type Log,
  partitionFor,
  Runner,
} from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { inputPartitions } from '../src/runtime/runner-setup.js';
import { assignPartitions, RunnerGroup } from '../src/supervisor/runner-group.js';
import { argValue, benchRecord, tempDir } from './common.js';
import { kafkaBenchPipeline } from './kafka-pipeline.js';
import { ensureKafkaStreamsBuilt, startKafkaStreams } from './kafka-streams.js';

const RECORDS = argValue('records', 500_000);
const BATCH = argValue('batch', 2000);
const PARTITIONS = 4;
const ROUNDS = argValue('rounds', 2);
const STREAMS_THREADS = argValue('streams-threads', 2);
// Slipway scaled out as Kafka Streams is: one runner process per stream thread, each owning a share of the partitions.
const RUNNERS = argValue('runners', STREAMS_THREADS);
const brokers = kafkaBrokers();
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

const input = kafkaBenchPipeline(run, `${run}-0`, PARTITIONS).input;
const topics = new Set<string>([input.topic]);
const groups = new Set<string>();

/** A fresh output dataset and the map pipeline (bench/kafka-pipeline.ts), per Slipway run. */
function slipwayPipeline(n: number) {
  const { pipeline, output } = kafkaBenchPipeline(run, `${run}-${n}`, PARTITIONS);
  topics.add(output.topic);
  topics.add(`${input.topic}.dlq`);
  groups.add(`slipway.${pipeline.name}`);
  return { pipeline, output: output.topic };
}

async function produceInput(log: Log): Promise<number> {
  await log.createTopic(input.topic, { partitions: PARTITIONS });
  let bytes = 0;
  for (let start = 0; start < RECORDS; start += 10_000) {
    const batch: AppendRecord[] = [];
    for (let i = start; i < Math.min(RECORDS, start + 10_000); i++) {
      const value = JSON.stringify(benchRecord(i));
      bytes += value.length;
      const key = `user-${i % 10_000}`;
      batch.push({ partition: partitionFor(key, PARTITIONS), key, value });
    }
    await log.append(input.topic, batch);
  }
  return bytes / RECORDS;
}

/** Reads a whole output topic read_committed; throws unless it holds every input record exactly once. */
async function verify(log: Log, topic: string): Promise<void> {
  const seen = new Set<string>();
  let count = 0;
  for (let p = 0; p < PARTITIONS; p++) {
    let from = 0;
    for (;;) {
      const records = await log.read(topic, p, from, 50_000);
      if (records.length === 0) break;
      for (const r of records) {
        count++;
        const value = JSON.parse(r.value) as { id: string; amount: number; amountCents: number };
        if (value.amountCents !== Math.round(value.amount * 100)) throw new Error(`${topic}: bad output ${r.value}`);
        seen.add(value.id);
      }
      from = (records.at(-1) as { offset: number }).offset + 1;
    }
  }
  if (count !== RECORDS || seen.size !== RECORDS) {
    throw new Error(`${topic} holds ${count} records (${seen.size} distinct), not exactly the ${RECORDS} inputs`);
  }
}

/** A leg's time, its output topic, and (one runner) the seconds to its first commit: activation, first batch. */
interface LegResult {
  seconds: number;
  topic: string;
  firstCommit?: number;
  /** CPU seconds of the process(es) inside the clock, where the bench can read them. */
  cpuSeconds?: number;
}

/**
 * The one stop condition of the Slipway and Kafka Streams legs: polls the group's committed offsets (OffsetFetch every
 * 10 ms from the bench's process) until they cover every input record; resolves with the `performance.now()` of that
 * poll. A transactional offset commit becomes visible only when its transaction commits, so this is the moment the
 * last transaction of the leg is committed, seen the same way for both. Rejects when `failed` does.
 */
async function committedCovering(admin: Admin, group: string, failed: Promise<unknown>): Promise<number> {
  let failure: unknown;
  let hasFailed = false;
  failed.catch((err) => {
    failure = err;
    hasFailed = true;
  });
  for (;;) {
    if (hasFailed) throw failure;
    const answer = await admin.listConsumerGroupOffsets({ groups: [group] }).catch(() => []);
    const at = performance.now();
    let sum = 0n;
    for (const g of answer)
      for (const t of g.topics) for (const p of t.partitions) if (p.committedOffset > 0n) sum += p.committedOffset;
    if (sum >= BigInt(RECORDS)) return at;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** CPU seconds used so far by this process's live child processes (Linux /proc; 0 elsewhere). */
function childrenCpuSeconds(): number {
  let ticks = 0;
  try {
    for (const task of readdirSync('/proc/self/task')) {
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean)) {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
      }
    }
  } catch {
    return 0;
  }
  return ticks / 100; // USER_HZ
}

/** Every input partition at offset 0: `runUntil` to these activates a runner (fence, positions, state) and processes nothing. */
const atStart = () =>
  Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: input.topic, partition, offset: 0 }));

async function slipwayRun(admin: Admin, log: Log, n: number): Promise<LegResult> {
  const { pipeline, output } = slipwayPipeline(n);
  const runner = new Runner({ pipeline, log, batchSize: BATCH });
  try {
    await runner.start(); // creates the output and DLQ topics
    await runner.runUntil(atStart()); // activated once, as Kafka Streams is RUNNING before its clock starts
    const ends = [];
    for (let partition = 0; partition < PARTITIONS; partition++)
      ends.push({ topic: input.topic, partition, offset: await log.endOffset(input.topic, partition) });
    let firstCommit: number | undefined;
    runner.once('commit', () => {
      firstCommit = (performance.now() - started) / 1000;
    });
    const cpu = process.cpuUsage();
    const started = performance.now();
    const running = runner.runUntil(ends);
    const seen = await committedCovering(admin, runner.group, running);
    const used = process.cpuUsage(cpu);
    const offsets = await running;
    const consumed = offsets.reduce((sum, o) => sum + o.offset, 0);
    if (consumed < RECORDS) throw new Error(`slipway consumed up to ${consumed}, expected at least ${RECORDS}`);
    return {
      seconds: (seen - started) / 1000,
      topic: output,
      cpuSeconds: (used.user + used.system) / 1e6,
      ...(firstCommit === undefined ? {} : { firstCommit }),
    };
  } finally {
    await runner.stop();
  }
}

// Runner processes run artifacts: each scaled leg builds bench/kafka-pipeline.ts with its own topic names.
const artifactsDir = tempDir('slipway-bench-kafka-artifacts-');
const artifacts = new ArtifactStore({ dir: artifactsDir.dir });
const supervisor = new ChildProcessSupervisor({ artifactsDir: artifacts.dir });

/** The pipeline as RUNNERS runner processes (`slipway run --runners N`), timed from activation to caught up. */
async function scaledRun(admin: Admin, log: Log, n: number): Promise<LegResult> {
  const { pipeline, output } = slipwayPipeline(n);
  process.env.SLIPWAY_BENCH_KAFKA_LEG = `${run}-${n}`; // read by the bundle, here and in the runner processes
  const entry = fileURLToPath(new URL('./kafka-pipeline.ts', import.meta.url));
  const built = await buildArtifact({ entry, pipeline: pipeline.name, store: artifacts });
  const owner = `slipway.${pipeline.name}`;
  const group = new RunnerGroup(
    supervisor,
    {
      id: `bench-kafka-${n}`,
      digest: built.digest,
      pipeline: pipeline.name,
      log: { engine: 'kafka', brokers },
      owner,
      group: owner,
      batchSize: BATCH,
    },
    assignPartitions(inputPartitions(pipeline), RUNNERS),
  );
  try {
    await group.start(); // each creates the output and DLQ topics, then waits in standby
    await group.runUntil(atStart()); // each activated once (fence, positions, state), as Kafka Streams is RUNNING
    const ends = [];
    for (const { topic, partition } of inputPartitions(pipeline))
      ends.push({ topic, partition, offset: await log.endOffset(topic, partition) });
    const cpu = childrenCpuSeconds();
    const started = performance.now();
    const running = group.runUntil(ends);
    const seen = await committedCovering(admin, owner, running);
    const cpuSeconds = childrenCpuSeconds() - cpu;
    const offsets = await running;
    const consumed = offsets.reduce((sum, o) => sum + o.offset, 0);
    if (consumed < RECORDS)
      throw new Error(`slipway ×${RUNNERS} consumed up to ${consumed}, expected at least ${RECORDS}`);
    return { seconds: (seen - started) / 1000, topic: output, cpuSeconds };
  } finally {
    await group.stop();
  }
}

/** The raw @platformatic/kafka loop: consume a batch, map it, produce it; with or without a transaction. */
async function rawRun(admin: Admin, n: number, transactions: boolean): Promise<{ seconds: number; topic: string }> {
  const output = `bench-raw-${run}-${n}`;
  topics.add(output);
  await admin.createTopics({ topics: [output], partitions: PARTITIONS, replicas: -1 });
  const groupId = `bench-raw-${run}-${n}`;
  groups.add(groupId);
  const consumer = new Consumer({
    clientId: groupId,
    bootstrapBrokers: brokers,
    groupId,
    isolationLevel: 1, // READ_COMMITTED
    maxWaitTime: 100,
    maxBytes: 4 << 20,
  });
  const producer = new Producer({
    clientId: `${groupId}-producer`,
    bootstrapBrokers: brokers,
    idempotent: true,
    ...(transactions ? { transactionalId: `bench-raw-${run}-${n}` } : {}),
  });
  let started = 0;
  try {
    const stream = await consumer.consume({ topics: [input.topic], mode: 'earliest', autocommit: false });
    let batch: Message[] = [];
    let done = 0;
    const flush = async () => {
      const messages = batch.map((m) => {
        const value = JSON.parse((m.value as Buffer).toString('utf8')) as { amount: number; userId: string };
        const out = { ...value, amountCents: Math.round(value.amount * 100) };
        return {
          topic: output,
          partition: partitionFor(value.userId, PARTITIONS),
          key: m.key as Buffer,
          value: Buffer.from(JSON.stringify(out), 'utf8'),
        };
      });
      // The last record of each input partition: its offset + 1 is the partition's new committed offset.
      const last = new Map<number, Message>();
      for (const m of batch) last.set(m.partition, m);
      if (transactions) {
        const tx = await producer.beginTransaction();
        try {
          await tx.send({ messages });
          await tx.addConsumer(consumer);
          for (const m of last.values()) await tx.addOffset(m);
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => undefined);
          throw err;
        }
      } else {
        await producer.send({ messages });
        await consumer.commit({
          offsets: [...last.values()].map((m) => ({
            topic: m.topic,
            partition: m.partition,
            offset: m.offset + 1n,
            leaderEpoch: -1,
          })),
        });
      }
      done += batch.length;
      batch = [];
    };
    for await (const message of stream) {
      if (started === 0) started = performance.now();
      batch.push(message as Message);
      if (batch.length >= BATCH || done + batch.length >= RECORDS) await flush();
      if (done >= RECORDS) break;
    }
    const seconds = (performance.now() - started) / 1000;
    await stream.close();
    return { seconds, topic: output };
  } finally {
    await consumer.close().catch(() => undefined);
    await producer.close().catch(() => undefined);
  }
}

/**
 * The Kafka Streams app (bench/kafka-streams/), exactly_once_v2, over the same input into a topic of its own: started
 * paused and settled (JVM, first rebalance, tasks and producers set up), then timed from `go` to its committed offsets
 * covering every record, by the same watcher as Slipway's legs.
 */
async function streamsRun(admin: Admin, n: number): Promise<LegResult> {
  const output = `bench-streams-${run}-${n}`;
  topics.add(output);
  await admin.createTopics({ topics: [output], partitions: PARTITIONS, replicas: -1 });
  const applicationId = `bench-streams-${run}-${n}`;
  groups.add(applicationId);
  const app = await startKafkaStreams({
    brokers,
    input: input.topic,
    output,
    applicationId,
    partitions: PARTITIONS,
    threads: STREAMS_THREADS,
  });
  let seconds: number;
  let cpu = 0;
  try {
    const started = performance.now();
    app.go();
    seconds = ((await committedCovering(admin, applicationId, app.failed)) - started) / 1000;
  } finally {
    const { rebalances, cpuSeconds } = await app.stop();
    cpu = cpuSeconds;
    if (rebalances > 0) console.log(`kafka-streams rebalanced ${rebalances} times inside its clock`);
    // Kafka Streams' consumers do not leave their group on close: remove them, or deleting the group fails
    // (NON_EMPTY_GROUP) until their session times out.
    await admin.removeMembersFromConsumerGroup({ groupId: applicationId });
  }
  return { seconds, topic: output, cpuSeconds: cpu };
}

async function main(): Promise<void> {
  ensureKafkaStreamsBuilt();
  const log = await openKafkaLog({ brokers, clientId: `bench-${run}` });
  const admin = new Admin({ clientId: `bench-admin-${run}`, bootstrapBrokers: brokers });
  const scaled = `slipway ×${RUNNERS}`;
  const rates: Record<string, number[]> = {
    [scaled]: [],
    'kafka-streams': [],
    slipway: [],
    raw: [],
    'at-least-once': [],
  };
  const loadBefore = loadavg()[0] as number;
  try {
    console.log(
      `kafka: ${RECORDS} records, ${PARTITIONS} partitions, batch ${BATCH} records (a raw transaction each; Slipway gathers up to 4 read while a commit is in flight), Slipway as ${RUNNERS} runner processes and as one, Kafka Streams with ${STREAMS_THREADS} threads, brokers ${brokers.join(',')}`,
    );
    const avg = await produceInput(log);
    console.log(`input  ${input.topic}: ${RECORDS} records of ~${Math.round(avg)} bytes`);
    const measure = async (name: string, fn: () => Promise<LegResult>) => {
      const { seconds, topic, firstCommit, cpuSeconds } = await fn();
      await verify(log, topic);
      const rate = RECORDS / seconds;
      (rates[name] as number[]).push(rate);
      console.log(
        `${name.padEnd(13)} ${RECORDS} records in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s${firstCommit === undefined ? '' : ` (first commit after ${firstCommit.toFixed(2)} s)`}${cpuSeconds === undefined ? '' : ` (CPU ${((cpuSeconds * 1e6) / RECORDS).toFixed(1)} µs/record)`} (output verified: each input exactly once, read_committed; load ${loadavg()[0]?.toFixed(1)})`,
      );
    };
    // Alternate the legs, in a different order each round, so none always runs on a warmer (or more loaded) machine.
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const legs: Array<[string, () => Promise<LegResult>]> = [
        [scaled, () => scaledRun(admin, log, ++n)],
        ['kafka-streams', () => streamsRun(admin, ++n)],
        ['slipway', () => slipwayRun(admin, log, ++n)],
        ['raw', () => rawRun(admin, ++n, true)],
      ];
      if (round % 2 === 1) legs.reverse();
      for (const [name, fn] of legs) await measure(name, fn);
    }
    await measure('at-least-once', () => rawRun(admin, ++n, false));
  } finally {
    await supervisor.close();
    artifactsDir.remove();
    await admin.deleteTopics({ topics: [...topics] }).catch((err) => console.error(`deleting topics: ${err}`));
    for (const group of groups) {
      await admin.deleteGroups({ groups: [group] }).catch((err) => {
        const causes = (err as { errors?: unknown[] }).errors ?? [];
        console.error(`deleting group ${group}: ${err} ${causes.map((c) => JSON.stringify(c)).join('; ')}`);
      });
    }
    await admin.close().catch(() => undefined);
    await log.close();
  }
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  };
  const swN = median(rates[scaled] as number[]);
  const sw = median(rates.slipway as number[]);
  const raw = median(rates.raw as number[]);
  const streams = median(rates['kafka-streams'] as number[]);
  const rounded = (xs: number[] | undefined) => (xs ?? []).map((x) => Math.round(x));
  const ratio = (a: number, b: number) => Math.round((a / b) * 1000) / 1000;
  console.log(
    JSON.stringify({
      bench: 'kafka',
      records: RECORDS,
      batch: BATCH,
      runners: RUNNERS,
      recordsPerSec: Math.round(swN),
      kafkaStreamsRecordsPerSec: Math.round(streams),
      kafkaStreamsThreads: STREAMS_THREADS,
      vsKafkaStreams: ratio(swN, streams),
      singleRunner: {
        recordsPerSec: Math.round(sw),
        rawRecordsPerSec: Math.round(raw),
        ratio: ratio(sw, raw),
        vsKafkaStreams: ratio(sw, streams),
      },
      atLeastOnceRecordsPerSec: Math.round(median(rates['at-least-once'] as number[])),
      rounds: {
        slipway: rounded(rates[scaled]),
        kafkaStreams: rounded(rates['kafka-streams']),
        singleRunner: rounded(rates.slipway),
        raw: rounded(rates.raw),
      },
      load: [Math.round(loadBefore * 10) / 10, Math.round((loadavg()[0] as number) * 10) / 10],
    }),
  );
}

await main();

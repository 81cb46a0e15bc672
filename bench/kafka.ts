// npm run bench:kafka [-- --records N] [-- --batch N] [-- --rounds N] — the trivial map pipeline (parse, add a field, emit) over
// 500,000 records on a Kafka broker (KAFKA_BROKERS, else the project's local broker):
// - slipway: the Slipway Runner over the Kafka Log, exactly once (outputs + input offsets in one transaction);
// - raw: the ceiling, a @platformatic/kafka Consumer → transactional Producer loop doing the same map over the
//   same records and partitions: read_committed, one transaction per batch of the same size, the input offsets
//   committed in the transaction (TxnOffsetCommit of the last record of each partition);
// - kafka-streams: the same map in Kafka Streams (bench/kafka-streams/, built once with Maven), exactly_once_v2,
//   2 stream threads (`--streams-threads N`), its defaults otherwise (commit.interval.ms 100 under exactly once);
//   timed from RUNNING to its committed input offsets covering every record;
// - at-least-once: the raw loop without transactions (idempotent producer, then a plain offset commit per batch).
//   The Kafka Log has no at-least-once mode: every Log commit is atomic by contract.
// Every run writes its own output topic; its output is read back read_committed and must hold each input
// record exactly once. Topics are unique per run and deleted at the end. Last line: one JSON object.
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, type Message, Producer } from '@platformatic/kafka';
import { type AppendRecord, defineDataset, definePipeline, type Log, partitionFor, Runner } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { argValue, benchIn, benchOut, benchRecord, percentile } from './common.js';
import { ensureKafkaStreamsBuilt, runKafkaStreams } from './kafka-streams.js';

const RECORDS = argValue('records', 500_000);
const BATCH = argValue('batch', 2000);
const PARTITIONS = 4;
const ROUNDS = argValue('rounds', 2);
const STREAMS_THREADS = argValue('streams-threads', 2);
const brokers = kafkaBrokers();
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;

const input = defineDataset({
  name: `bench-in-${run}`,
  version: '1.0.0',
  key: 'userId',
  partitions: PARTITIONS,
  schema: benchIn.schema,
});
const topics = new Set<string>([input.topic]);
const groups = new Set<string>();

/** A fresh output dataset and the same map pipeline as bench/throughput.ts, per Slipway run. */
function slipwayPipeline(n: number) {
  const output = defineDataset({
    name: `bench-out-${run}-${n}`,
    version: '1.0.0',
    key: 'userId',
    partitions: PARTITIONS,
    schema: benchOut.schema,
  });
  topics.add(output.topic);
  topics.add(`${input.topic}.dlq`);
  groups.add(`slipway.bench-map-${run}-${n}`);
  const pipeline = definePipeline({
    name: `bench-map-${run}-${n}`,
    version: '1.0.0',
    inputs: [input],
    outputs: [output],
    process(r: { amount: number }, ctx) {
      ctx.emit(output, { ...r, amountCents: Math.round(r.amount * 100) });
    },
  });
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

async function slipwayRun(log: Log, n: number): Promise<{ seconds: number; topic: string }> {
  const { pipeline, output } = slipwayPipeline(n);
  const runner = new Runner({ pipeline, log, batchSize: BATCH });
  await runner.start(); // creates the output and DLQ topics
  const started = performance.now();
  const offsets = await runner.drain();
  const seconds = (performance.now() - started) / 1000;
  await runner.stop();
  const consumed = offsets.reduce((sum, o) => sum + o.offset, 0);
  if (consumed < RECORDS) throw new Error(`slipway consumed up to ${consumed}, expected at least ${RECORDS}`);
  return { seconds, topic: output };
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

/** The Kafka Streams app (bench/kafka-streams/), exactly_once_v2, over the same input into a topic of its own. */
async function streamsRun(admin: Admin, n: number): Promise<{ seconds: number; topic: string }> {
  const output = `bench-streams-${run}-${n}`;
  topics.add(output);
  await admin.createTopics({ topics: [output], partitions: PARTITIONS, replicas: -1 });
  const applicationId = `bench-streams-${run}-${n}`;
  groups.add(applicationId);
  const seconds = await runKafkaStreams({
    brokers,
    input: input.topic,
    output,
    applicationId,
    records: RECORDS,
    threads: STREAMS_THREADS,
  });
  return { seconds, topic: output };
}

async function main(): Promise<void> {
  ensureKafkaStreamsBuilt();
  const log = await openKafkaLog({ brokers, clientId: `bench-${run}` });
  const admin = new Admin({ clientId: `bench-admin-${run}`, bootstrapBrokers: brokers });
  const rates: Record<string, number[]> = { raw: [], slipway: [], 'kafka-streams': [], 'at-least-once': [] };
  try {
    console.log(
      `kafka: ${RECORDS} records, ${PARTITIONS} partitions, batch ${BATCH} records per transaction, brokers ${brokers.join(',')}`,
    );
    const avg = await produceInput(log);
    console.log(`input  ${input.topic}: ${RECORDS} records of ~${Math.round(avg)} bytes`);
    const measure = async (name: string, fn: () => Promise<{ seconds: number; topic: string }>) => {
      const { seconds, topic } = await fn();
      await verify(log, topic);
      const rate = RECORDS / seconds;
      (rates[name] as number[]).push(rate);
      console.log(
        `${name.padEnd(13)} ${RECORDS} records in ${seconds.toFixed(2)} s = ${Math.round(rate)} records/s (output verified: each input exactly once, read_committed)`,
      );
    };
    // Alternate the legs, in a different order each round, so none always runs on a warmer (or more loaded) machine.
    let n = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const legs: Array<[string, () => Promise<{ seconds: number; topic: string }>]> = [
        ['slipway', () => slipwayRun(log, n++)],
        ['kafka-streams', () => streamsRun(admin, n++)],
        ['raw', () => rawRun(admin, n++, true)],
      ];
      if (round % 2 === 1) legs.reverse();
      for (const [name, fn] of legs) await measure(name, fn);
    }
    await measure('at-least-once', () => rawRun(admin, n++, false));
  } finally {
    await admin.deleteTopics({ topics: [...topics] }).catch((err) => console.error(`deleting topics: ${err}`));
    await admin.deleteGroups({ groups: [...groups] }).catch((err) => console.error(`deleting groups: ${err}`));
    await admin.close().catch(() => undefined);
    await log.close();
  }
  const median = (xs: number[]) =>
    percentile(
      [...xs].sort((a, b) => a - b),
      50,
    );
  const sw = median(rates.slipway as number[]);
  const raw = median(rates.raw as number[]);
  const streams = median(rates['kafka-streams'] as number[]);
  const rounded = (xs: number[] | undefined) => (xs ?? []).map((x) => Math.round(x));
  console.log(
    JSON.stringify({
      bench: 'kafka',
      records: RECORDS,
      batch: BATCH,
      recordsPerSec: Math.round(sw),
      rawRecordsPerSec: Math.round(raw),
      ratio: Math.round((sw / raw) * 1000) / 1000,
      kafkaStreamsRecordsPerSec: Math.round(streams),
      kafkaStreamsThreads: STREAMS_THREADS,
      vsKafkaStreams: Math.round((sw / streams) * 1000) / 1000,
      atLeastOnceRecordsPerSec: Math.round(median(rates['at-least-once'] as number[])),
      rounds: {
        slipway: rounded(rates.slipway),
        kafkaStreams: rounded(rates['kafka-streams']),
        raw: rounded(rates.raw),
      },
    }),
  );
}

await main();

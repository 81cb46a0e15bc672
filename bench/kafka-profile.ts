// Where one runner's time goes on Kafka (for `node --cpu-prof`; no figures line):
//   node --conditions=slipway-source --import tsx [--cpu-prof] bench/kafka-profile.ts [--records N] [--batch N]
// Produces the input of bench/kafka.ts, drains it with one Runner, and prints the time spent in Log.read and
// Log.commit (a commit overlaps the next batch's read and process), and the time the loop waited for each commit.
import { randomBytes } from 'node:crypto';
import type { Log } from 'slipway';
import { partitionFor, Runner } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { argValue, benchRecord } from './common.js';
import { kafkaBenchPipeline } from './kafka-pipeline.js';

const RECORDS = argValue('records', 200_000);
const BATCH = argValue('batch', 2000);
const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
const { input, output, pipeline } = kafkaBenchPipeline(run, `${run}-1`, 4);
const log = await openKafkaLog({ brokers: kafkaBrokers(), clientId: `profile-${run}` });

const spent = { read: 0, reads: 0, commit: 0, commits: 0, idle: 0 };
/** The log with its reads and commits timed. */
const timed: Log = new Proxy(log, {
  get(target, name, receiver) {
    const value = Reflect.get(target, name, receiver);
    if (name !== 'read' && name !== 'commit') return typeof value === 'function' ? value.bind(target) : value;
    return async (...args: unknown[]) => {
      const started = performance.now();
      try {
        return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      } finally {
        spent[name] += performance.now() - started;
        spent[name === 'read' ? 'reads' : 'commits']++;
      }
    };
  },
});

try {
  await log.createTopic(input.topic, { partitions: 4 });
  for (let start = 0; start < RECORDS; start += 10_000) {
    const batch = [];
    for (let i = start; i < Math.min(RECORDS, start + 10_000); i++) {
      const key = `user-${i % 10_000}`;
      batch.push({ partition: partitionFor(key, 4), key, value: JSON.stringify(benchRecord(i)) });
    }
    await log.append(input.topic, batch);
  }
  const runner = new Runner({ pipeline, log: timed, batchSize: BATCH });
  const sizes: number[] = [];
  runner.on('commit', (e: { inputs: number }) => sizes.push(e.inputs));
  await runner.start();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await runner.drain();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await runner.stop();
  const ms = (x: number) => `${Math.round(x)} ms`;
  console.log(
    `${RECORDS} records in ${seconds.toFixed(2)} s = ${Math.round(RECORDS / seconds)} records/s; CPU ${((used.user + used.system) / 1e6).toFixed(2)} s (${((used.user + used.system) / RECORDS).toFixed(1)} µs/record)`,
  );
  console.log(
    `read: ${spent.reads} calls, ${ms(spent.read)} (${(spent.read / spent.reads).toFixed(1)} ms each); commit: ${spent.commits} calls, ${ms(spent.commit)} (${(spent.commit / spent.commits).toFixed(1)} ms each); records per commit: mean ${Math.round(RECORDS / Math.max(1, sizes.length))}, max ${Math.max(0, ...sizes)} (batches of up to ${BATCH} gathered while a commit was in flight)`,
  );
} finally {
  await log.deleteTopics([input.topic, output.topic, `${input.topic}.dlq`]).catch(() => undefined);
  await log.deleteGroups([`slipway.${pipeline.name}`]).catch(() => undefined);
  await log.close();
}

/**
 * Exactly once on an Avro topic through crashes: an outside producer writes Avro orders in the Confluent wire format;
 * a runner (a child process) of the Avro scores pipeline is SIGKILLed again and again mid-run, each after a seeded
 * number of commits, and restarted; a last one drains. A plain read_committed consumer outside Slipway then decodes
 * every output by its schema id from the registry: each input exactly once, with the right value.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Consumer, FetchIsolationLevels, Producer } from '@platformatic/kafka';
import avsc from 'avsc';
import { decodeWire, encodeWire, partitionFor, SchemaRegistryClient } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { chaosRandom } from './helpers/chaos-random.js';
import { deleteRunTopics, kafkaLogOptions, runId } from './helpers/kafka-run.js';
import { ORDER_AVRO, REGISTRY_PARTITIONS, registryOrders } from './helpers/registry-orders.js';
import { schemaRegistryUrl } from './helpers/schema-registry.js';

const CHILD = fileURLToPath(new URL('./fixtures/registry-crash-child.ts', import.meta.url));
const RECORDS = 3000;
const KILLS = 4;
const chaos = chaosRandom('registry-crash');

/**
 * A child runner, and promises of its stdout: `count` lines matching `pattern`, or commits of `records` inputs in
 * all (each `commit N` line). Either fails clearly after 90 s rather than wait for a line that cannot come.
 */
function startChild(args: string[]): {
  child: ChildProcess;
  waitFor(pattern: RegExp, count?: number): Promise<void>;
  waitForCommitted(records: number): Promise<void>;
  exited: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--conditions=slipway-source', '--import', 'tsx', CHILD, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout?.on('data', (d: Buffer) => {
    buffered += d.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters) w();
  });
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  const until = (done: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const deadline = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`the runner child did not reach ${what} within 90 s: ${lines.slice(-5).join(' | ')}`));
      }, 90_000);
      const check = () => {
        if (done()) {
          waiters.delete(check);
          clearTimeout(deadline);
          resolve();
        } else if (child.exitCode !== null || child.signalCode !== null) {
          waiters.delete(check);
          clearTimeout(deadline);
          reject(
            new Error(`the runner child exited (${child.exitCode ?? child.signalCode}) before ${what}: ${stderr}`),
          );
        }
      };
      waiters.add(check);
      check();
    });
  const committed = () =>
    lines.reduce((n, l) => (l.startsWith('commit ') ? n + Number(l.slice('commit '.length)) : n), 0);
  return {
    child,
    exited,
    waitFor: (pattern, count = 1) => until(() => lines.filter((l) => pattern.test(l)).length >= count, `${pattern}`),
    waitForCommitted: (records) => until(() => committed() >= records, `${records} committed inputs`),
  };
}

describe('exactly once on an Avro topic through SIGKILLs (real registry, real Kafka)', () => {
  const id = runId();
  let brokers: string[] = [];
  let url = '';
  before(() => {
    brokers = kafkaBrokers();
    url = schemaRegistryUrl();
  });
  after(async () => {
    if (brokers.length > 0) await deleteRunTopics(brokers, id, [`ext-${id}`]);
  });

  it('a runner killed mid-run and restarted leaves each input exactly once in the Avro output', async () => {
    const { orders, scores } = registryOrders(id);
    const registry = new SchemaRegistryClient({ url });
    const log = await openKafkaLog(kafkaLogOptions(brokers, id));
    try {
      await log.createTopic(orders.topic, { partitions: REGISTRY_PARTITIONS });
    } finally {
      await log.close();
    }
    const writerId = await registry.register(`${orders.topic}-value`, JSON.stringify(ORDER_AVRO), 'AVRO');
    const type = avsc.Type.forSchema(ORDER_AVRO as avsc.Schema);
    const producer = new Producer({ clientId: `ext-${id}`, bootstrapBrokers: brokers, idempotent: true });
    try {
      for (let from = 0; from < RECORDS; from += 500) {
        await producer.send({
          messages: Array.from({ length: 500 }, (_, j) => {
            const key = `o${from + j}`;
            return {
              topic: orders.topic,
              key: Buffer.from(key),
              value: encodeWire(writerId, type.toBuffer({ id: key, amount: from + j })),
              partition: partitionFor(key, REGISTRY_PARTITIONS),
            };
          }),
        });
      }
    } finally {
      await producer.close();
    }

    const args = [brokers.join(','), id, url];
    for (let k = 0; k < KILLS; k++) {
      const run = startChild([...args, 'follow']);
      // Killed after a seeded share of the input is committed (100–300 records). A commit gathers up to 4 batches
      // of 50, and one more may land before the SIGKILL: at most 700 a run, 4 × 700 < 3,000, so every kill is mid-run.
      await run.waitForCommitted(chaos.between(100, 300));
      run.child.kill('SIGKILL');
      await run.exited;
    }
    const last = startChild([...args, 'drain']);
    await last.waitFor(/^done$/);
    assert.equal(await last.exited, 0);

    const consumer = new Consumer({
      groupId: `ext-${id}`,
      clientId: `ext-${id}`,
      bootstrapBrokers: brokers,
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    });
    const stream = await consumer.consume({ topics: [scores.topic], mode: 'earliest', autocommit: false });
    const seen = new Map<string, Buffer>();
    const timer = setTimeout(() => void stream.close(), 60_000);
    try {
      for await (const m of stream) {
        seen.set(`${m.partition}/${m.offset}`, m.value as Buffer);
        if (seen.size === RECORDS) break;
      }
    } finally {
      clearTimeout(timer);
      await stream.close();
      await consumer.close();
    }
    const readers = new Map<number, avsc.Type>();
    const byId = new Map<string, number>();
    for (const bytes of seen.values()) {
      const { schemaId, payload } = decodeWire(bytes);
      let reader = readers.get(schemaId);
      if (reader === undefined) {
        reader = avsc.Type.forSchema(JSON.parse((await registry.schemaById(schemaId)).schema));
        readers.set(schemaId, reader);
      }
      const score = reader.fromBuffer(payload) as { id: string; doubled: number };
      assert.equal(byId.has(score.id), false, `${score.id} twice`);
      byId.set(score.id, score.doubled);
    }
    assert.equal(byId.size, RECORDS, 'every input once');
    for (let i = 0; i < RECORDS; i++) assert.equal(byId.get(`o${i}`), i * 2);
    // Nothing beyond: the output holds exactly RECORDS committed records.
    const check = await openKafkaLog(kafkaLogOptions(brokers, id));
    try {
      let total = 0;
      for (let p = 0; p < REGISTRY_PARTITIONS; p++) total += await check.countRecords(scores.topic, p);
      assert.equal(total, RECORDS);
    } finally {
      await check.close();
    }
  });
});

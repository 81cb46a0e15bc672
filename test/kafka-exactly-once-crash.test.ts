import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Log, type LogRecord, partitionFor, Runner, SOURCE_HEADER } from 'slipway';
import { openKafkaLog } from 'slipway/kafka';
import { Isolation, KafkaClient, OffsetSpec, offsetKey } from '../src/log/kafka/kafka-client.js';
import { describeSession } from '../src/log/kafka/kafka-transactions.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { chaosRandom } from './helpers/chaos-random.js';
import { isolatedOrders } from './helpers/kafka-orders.js';
import { deleteRunTopics, kafkaLogOptions, runId, transactionalIdPrefix } from './helpers/kafka-run.js';
import { makeOrder, readAll, tempLog } from './helpers/orders.js';
import { RunnerChild } from './helpers/runner-child.js';

const CHILD = fileURLToPath(new URL('./fixtures/kafka-crash-child.ts', import.meta.url));
const RECORDS = 100_000;
/** Produced before the first runner starts; the rest is produced while the runners are being killed. */
const UPFRONT = 30_000;
const CUSTOMERS = 500;
/** SIGKILLs from outside at random moments, each of a runner that was processing, with input left. */
const KILLS = 10;
const MAX_CHILDREN = 50;
/** A child that gets no further for this long is stuck: the test fails instead of hanging. */
const STUCK_MS = 120_000;

/**
 * How a runner dies. From outside, at a random moment: `in-commit` (a random point of commit k, measured by how
 * long commits take), `after-commit` (just after commit k: reading and processing the next batch, opening its
 * transaction), `random` (any time after its first commit began), `startup` (between standby and running:
 * fencing the last owner, reading offsets and the state changelog). From inside, at an exact step
 * (fixtures/kafka-crash-child.ts): `fencing` (the fence's own transaction written, not committed), and of commit k
 * `produced` (outputs and state written to Kafka, not committed), `before-end` (offsets too; EndTxn not sent),
 * `after-end` (commit decided, markers maybe not written).
 */
type Death = 'in-commit' | 'after-commit' | 'random' | 'startup' | 'fencing' | 'produced' | 'before-end' | 'after-end';
const OUTSIDE: Death[] = ['in-commit', 'in-commit', 'after-commit', 'random'];
const SELF: Death[] = ['fencing', 'produced', 'before-end', 'after-end'];

const t0 = performance.now();
const trace = (line: string) => {
  if (process.env.SLIPWAY_TEST_TRACE)
    process.stderr.write(`[kafka-crash ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A whole number in [from, to). */
const chaos = chaosRandom('kafka-exactly-once-crash');
const random = chaos.between;

function shuffle<T>(list: T[]): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = random(0, i + 1);
    [list[i], list[j]] = [list[j] as T, list[i] as T];
  }
  return list;
}

/** Appends orders [from, to) to the input topic, keyed and partitioned as the runner would, in chunks. */
async function produce(log: Log, topic: string, from: number, to: number, chunk: number, pauseMs: number) {
  for (let start = from; start < to; start += chunk) {
    const records = [];
    for (let i = start; i < Math.min(to, start + chunk); i++) {
      const value = makeOrder(i, CUSTOMERS);
      const key = value.customerId;
      records.push({ partition: partitionFor(key, 4), key, value: JSON.stringify(value) });
    }
    await log.append(topic, records);
    if (pauseMs > 0) await sleep(pauseMs);
  }
}

function byPartition(records: LogRecord[]): Map<number, LogRecord[]> {
  const out = new Map<number, LogRecord[]>();
  for (const r of records) {
    const list = out.get(r.partition) ?? [];
    list.push(r);
    out.set(r.partition, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.offset - b.offset);
  return out;
}

describe('exactly once on Kafka under crashes', () => {
  const id = runId();
  const { orders, enriched, pipeline } = isolatedOrders(id);
  const owner = `slipway.${pipeline.name}`;
  const group = owner;
  let brokers: string[] = [];
  const logs: Log[] = [];
  let client: KafkaClient | undefined;
  let live: RunnerChild | undefined;
  const spares: Array<() => Promise<void>> = [];
  const cleanups: Array<() => Promise<void>> = [];

  before(() => {
    // Never skips: without KAFKA_BROKERS this starts the project's broker, and if that fails the test fails.
    brokers = kafkaBrokers();
  });

  after(async () => {
    await live?.kill();
    for (const kill of spares) await kill();
    for (const log of logs) await log.close();
    await client?.close();
    for (const cleanup of cleanups) await cleanup();
    // Every topic of the run carries its id: input, DLQ, output, owners topic, state changelog.
    if (brokers.length > 0) await deleteRunTopics(brokers, id, [group]);
  });

  it(`SIGKILLs a Kafka runner ${KILLS}+ times over ${RECORDS} records: every output once (read committed), state as in a clean run`, {
    timeout: 15 * 60_000,
  }, async (t) => {
    const log = await openKafkaLog(kafkaLogOptions(brokers, id));
    logs.push(log);
    const kafka = new KafkaClient({
      brokers,
      clientId: `slipway-test-${id}`,
      requestTimeoutMs: 30_000,
      connectTimeoutMs: 5_000,
    });
    client = kafka;
    await log.createTopic(orders.topic, { partitions: orders.partitions });
    await log.createTopic(enriched.topic, { partitions: enriched.partitions });
    await produce(log, orders.topic, 0, UPFRONT, 5000, 0);
    const producing = produce(log, orders.topic, UPFRONT, RECORDS, 1000, 250);
    producing.catch(() => {});

    const outputs = Array.from({ length: enriched.partitions }, (_, p) => ({ topic: enriched.topic, partition: p }));
    /** Outputs written in a transaction still open: a partition's high watermark is past its last stable offset. */
    const outputsInOpenTransaction = async () => {
      const high = await kafka.listOffsets(Isolation.READ_UNCOMMITTED, OffsetSpec.LATEST, outputs);
      const stable = await kafka.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, outputs);
      return outputs.some(
        (o) => (high.get(offsetKey(o.topic, o.partition)) ?? 0n) > (stable.get(offsetKey(o.topic, o.partition)) ?? 0n),
      );
    };
    const txnState = async () => (await describeSession(kafka, transactionalIdPrefix(id) + owner))?.state ?? 'none';

    const plan: Death[] = shuffle([
      ...Array.from({ length: KILLS }, () => OUTSIDE[random(0, OUTSIDE.length)] as Death),
      'startup',
      'startup',
      ...SELF,
    ]);
    const deaths: Array<{ death: Death; counted: boolean; txn: string; openOutputs: boolean }> = [];
    const epochs: number[] = [];
    const spawnRunner = (name: string) =>
      new RunnerChild(CHILD, [brokers.join(','), id], STUCK_MS, (line) => {
        if (line !== 'begin' && line !== 'end') trace(`${name}: ${line}`);
      });
    // Runner children load their modules (seconds on a busy machine) while the ones before them run; `go` starts one.
    const pool = [spawnRunner('child 0'), spawnRunner('child 1')];
    let spawned = 2;
    const take = () => {
      const next = pool.shift() as RunnerChild;
      pool.push(spawnRunner(`child ${spawned++}`));
      return next;
    };
    spares.push(async () => {
      for (const spare of pool) await spare.kill();
    });
    for (let n = 0; n < plan.length; n++) {
      assert.ok(n < MAX_CHILDREN, `gave up after ${n} runners: ${JSON.stringify(deaths)}`);
      const death = plan[n] as Death;
      const k = random(2, 5);
      const args = [String([250, 500, 1000][n % 3]), 'follow'];
      if (SELF.includes(death)) args.push(`${death}:${death === 'fencing' ? 1 : k}`);
      const run = take();
      live = run;
      await run.go(args);
      let reached: boolean;
      if (death === 'startup') {
        reached = await run.until(() => run.standby, 'standby');
        await sleep(random(0, 150));
      } else if (death === 'in-commit') {
        reached = await run.until(() => run.begins >= k, `commit ${k}`);
        await sleep(chaos.next() * run.lastCommitMs);
      } else if (death === 'after-commit') {
        reached = await run.until(() => run.ends >= k - 1, `the end of commit ${k - 1}`);
        await sleep(random(0, 8));
      } else if (death === 'random') {
        reached = await run.until(() => run.begins > 0, 'the first commit');
        await sleep(random(0, 1500));
      } else {
        reached = await run.until(() => !run.alive, `dying at ${death} of commit ${k}`);
      }
      if (!reached)
        assert.fail(`runner child ${n} exited on its own: ${JSON.stringify(await run.exited)}\n${run.stderr}`);
      const wasProcessing = run.begins > 0;
      await run.kill();
      live = undefined;
      assert.equal((await run.exited).signal, 'SIGKILL', `child ${n} died of SIGKILL:\n${run.stderr}`);
      if (run.running) epochs.push(run.epoch);
      // Looked at before the group's offsets: reading those waits while a transaction holds offsets.
      const openOutputs = await outputsInOpenTransaction();
      const txn = await txnState();
      let counted = false;
      if (OUTSIDE.includes(death)) {
        counted =
          wasProcessing &&
          (txn === 'Ongoing' || (await log.committedOffsets(group)).reduce((s, o) => s + o.offset, 0) < RECORDS);
        // A kill that found the runner idle or done does not count: another takes its place.
        if (!counted) plan.push(OUTSIDE[random(0, OUTSIDE.length)] as Death);
      }
      deaths.push({ death, counted, txn, openOutputs });
      trace(
        `child ${n} died at ${death} (k=${k}): commits ${run.ends}/${run.begins}, transaction ${txn}, open outputs ${openOutputs}`,
      );
    }
    await producing;

    // The last runner drains what is left and stops cleanly.
    const last = pool.shift() as RunnerChild;
    live = last;
    await last.go(['1000', 'drain']);
    await last.until(() => last.done, 'the end of the drain');
    assert.deepEqual(await last.exited, { code: 0, signal: null }, `the last runner completes:\n${last.stderr}`);
    live = undefined;
    epochs.push(last.epoch);
    for (let i = 1; i < epochs.length; i++) {
      assert.ok((epochs[i] as number) > (epochs[i - 1] as number), `each restart fences the one before: ${epochs}`);
    }
    const outside = deaths.filter((d) => d.counted).length;
    assert.ok(outside >= KILLS, `killed from outside while processing ${outside} times`);
    for (const d of deaths.filter((d) => d.death === 'fencing' || d.death === 'produced' || d.death === 'before-end')) {
      assert.equal(d.txn, 'Ongoing', `${d.death}: the dead runner left its transaction open`);
      assert.equal(d.openOutputs, d.death !== 'fencing', `${d.death}: outputs in the open transaction`);
    }

    // What a fresh read-committed reader sees.
    const reader = await openKafkaLog(kafkaLogOptions(brokers, id));
    logs.push(reader);
    const inputs = await readAll(reader, orders.topic);
    const out = await readAll(reader, enriched.topic);
    assert.equal(inputs.length, RECORDS);
    const bySource = new Map<string, string>();
    for (const r of out) {
      const source = r.headers[SOURCE_HEADER] as string;
      assert.ok(!bySource.has(source), `duplicate output for ${source}`);
      bySource.set(source, r.value);
    }
    for (const r of inputs) {
      const source = `${r.topic}/${r.partition}/${r.offset}`;
      assert.ok(bySource.has(source), `no output for ${source}`);
    }
    assert.equal(out.length, RECORDS);
    assert.equal((await readAll(reader, `${orders.topic}.dlq`)).length, 0);
    const ends = [];
    for (let p = 0; p < orders.partitions; p++) {
      ends.push({ topic: orders.topic, partition: p, offset: await reader.endOffset(orders.topic, p) });
    }
    const committed = (await reader.committedOffsets(group)).sort((a, b) => a.partition - b.partition);
    assert.deepEqual(committed, ends, 'the group committed every input');

    // A single clean run of the same pipeline over the same input, partition by partition, on the embedded log.
    const clean = await tempLog('slipway-kafka-clean-');
    cleanups.push(clean.cleanup);
    const kafkaInputs = byPartition(inputs);
    await clean.log.createTopic(orders.topic, { partitions: orders.partitions });
    for (const [partition, records] of kafkaInputs) {
      await clean.log.append(
        orders.topic,
        records.map((r) => ({ partition, key: r.key, value: r.value })),
      );
    }
    const runner = new Runner({ pipeline, log: clean.log });
    await runner.start();
    await runner.drain();
    await runner.stop();
    const cleanInputs = byPartition(await readAll(clean.log, orders.topic));
    const cleanOutputs = new Map<string, string>();
    for (const r of await readAll(clean.log, enriched.topic))
      cleanOutputs.set(r.headers[SOURCE_HEADER] as string, r.value);
    assert.equal(cleanOutputs.size, RECORDS);
    for (const [partition, records] of kafkaInputs) {
      const twins = cleanInputs.get(partition) ?? [];
      assert.equal(twins.length, records.length);
      records.forEach((r, i) => {
        const twin = twins[i] as LogRecord;
        assert.equal(
          bySource.get(`${r.topic}/${partition}/${r.offset}`),
          cleanOutputs.get(`${twin.topic}/${partition}/${twin.offset}`),
          `the output of ${r.topic}/${partition}/${r.offset} is as in a clean run`,
        );
      });
    }
    for (let p = 0; p < orders.partitions; p++) {
      const state = await reader.readState(pipeline.name, p);
      assert.ok(state.length > 0);
      assert.deepEqual(state, await clean.log.readState(pipeline.name, p), `state of partition ${p}`);
    }
    const tally = (d: Death) => deaths.filter((x) => x.death === d).length;
    t.diagnostic(
      `${deaths.length} kills (${outside} from outside while processing: in-commit ${tally('in-commit')}, after-commit ${tally('after-commit')}, random ${tally('random')}; startup ${tally('startup')}; self at fencing/produced/before-end/after-end); ` +
        `${deaths.filter((d) => d.txn === 'Ongoing').length} left a transaction open, ${deaths.filter((d) => d.openOutputs).length} with outputs in it`,
    );
  });
});

describe('a runner on Kafka stops exactly at a barrier', () => {
  // Regression: Runner read `target - position` records, but Kafka offsets have gaps (a transaction marker after
  // each commit), so on an input written by another pipeline it ran past the barrier of runUntil / drain.
  const id = runId();
  const { orders, pipeline } = isolatedOrders(id);
  let brokers: string[] = [];
  let log: Log | undefined;

  before(() => {
    brokers = kafkaBrokers();
  });

  after(async () => {
    await log?.close();
    if (brokers.length > 0) await deleteRunTopics(brokers, id, [`slipway.${pipeline.name}`]);
  });

  it('runUntil on an input written in transactions ends at the barrier, also when a marker is right before it', async () => {
    log = await openKafkaLog(kafkaLogOptions(brokers, id));
    await log.createTopic(orders.topic, { partitions: orders.partitions });
    // Ten records of one customer, one transaction each: offsets 0, 2, 4, … with a marker after each.
    const epoch = await log.fence('upstream');
    const partition = partitionFor('c0', orders.partitions);
    const offsets: number[] = [];
    for (let i = 0; i < 10; i++) {
      const value = makeOrder(i, 1);
      const result = await log.commit({
        owner: 'upstream',
        epoch,
        outputs: [
          { topic: orders.topic, records: [{ partition, key: value.customerId, value: JSON.stringify(value) }] },
        ],
      });
      offsets.push(...(result.offsets[orders.topic] ?? []));
    }
    assert.ok(
      offsets.some((o, i) => i > 0 && o > (offsets[i - 1] as number) + 1),
      `offsets with gaps: ${offsets}`,
    );
    const barrier = (offset: number) =>
      Array.from({ length: orders.partitions }, (_, p) => ({
        topic: orders.topic,
        partition: p,
        offset: p === partition ? offset : 0,
      }));
    const runner = new Runner({ pipeline, log });
    await runner.start();
    const processed: number[] = [];
    runner.on('commit', (e: { offsets: Array<{ partition: number; offset: number }> }) => {
      for (const o of e.offsets) if (o.partition === partition) processed.push(o.offset);
    });
    // Right after record 3.
    const first = (offsets[2] as number) + 1;
    assert.deepEqual(await runner.runUntil(barrier(first)), barrier(first));
    assert.equal(processed.at(-1), first);
    // After the marker that follows record 6: only that marker lies between record 6 and the barrier.
    const second = (offsets[5] as number) + 2;
    assert.ok(!offsets.includes(second - 1));
    assert.deepEqual(await runner.runUntil(barrier(second)), barrier(second));
    assert.deepEqual(await runner.drain(), barrier(await log.endOffset(orders.topic, partition)));
    await runner.stop();
    const state = await log.readState(pipeline.name, partition);
    assert.deepEqual(
      state.map(([key, value]) => [key, JSON.parse(value).orders]),
      [['c0', 10]],
    );
  });
});

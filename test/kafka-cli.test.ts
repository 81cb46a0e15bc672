import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';

// Issue 10, item 2: every command uses the log its flags and environment choose. Each command that
// reads or writes the log is run with --kafka (or $SLIPWAY_KAFKA_BROKERS) on the real broker, in a
// copy of the example whose datasets and pipeline carry this run's names, and must leave no embedded
// log behind.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const id = randomUUID().slice(0, 8);
const brokers = kafkaBrokers().join(',');
const made: string[] = [];
after(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'slipway-kafka-cli-'));
  made.push(dir);
  cpSync(resolve(ROOT, 'examples/orders'), dir, {
    recursive: true,
    filter: (src) => !/[/\\](\.slipway|node_modules|test)$/.test(src),
  });
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules/slipway'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/tsx'), join(dir, 'node_modules/tsx'), 'dir');
  symlinkSync(join(ROOT, 'node_modules/@sinclair'), join(dir, 'node_modules/@sinclair'), 'dir');
  const rename = (file: string, from: RegExp, to: string) =>
    writeFileSync(join(dir, file), readFileSync(join(dir, file), 'utf8').replace(from, to));
  rename('datasets.ts', /name: 'orders'/, `name: 'orders-${id}'`);
  rename('datasets.ts', /name: 'enriched-orders'/, `name: 'enriched-orders-${id}'`);
  rename('pipeline.ts', /name: 'enrich-orders'/, `name: 'enrich-orders-${id}'`);
  renameSync(join(dir, 'samples/orders.v1'), join(dir, `samples/orders-${id}.v1`));
  return dir;
}

describe('commands on Kafka (--kafka, $SLIPWAY_KAFKA_BROKERS)', () => {
  it('produce, topics, tail, run, run --runners, sample and the control plane all use the broker, never an embedded log', async () => {
    const dir = project();
    const logPath = join(dir, 'state', 'log.db');
    const k = (args: string[], env: NodeJS.ProcessEnv = {}) =>
      runCli(['--log', logPath, '--kafka', brokers, ...args], { cwd: dir, env });
    const viaEnv = (args: string[]) =>
      runCli(['--log', logPath, ...args], { cwd: dir, env: { SLIPWAY_KAFKA_BROKERS: brokers } });
    const input = `orders-${id}.v1`;
    const output = `enriched-orders-${id}.v1`;

    const produced = await k(['produce', `orders-${id}`, '--file', 'data/orders.jsonl']);
    assert.equal(produced.code, 0, produced.stderr);
    assert.match(produced.stderr, new RegExp(`produced 200 records to ${input}`));

    const topics = await k(['topics', '--json']);
    assert.equal(topics.code, 0, topics.stderr);
    const listed = JSON.parse(topics.stdout) as Array<{ name: string; records: number }>;
    assert.equal(listed.find((t) => t.name === input)?.records, 200);
    const plan = await viaEnv(['topics', 'plan']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, new RegExp(`^ok\\s+orders-${id}@1\\.0\\.0\\s+${input.replaceAll('.', '\\.')}`, 'm'));

    const run = await k(['run', 'pipeline.ts', '--until-caught-up']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /on the Kafka at /);
    assert.match(run.stderr, /200 in, 200 out, 0 to the DLQ/);
    const tail = await k(['tail', output, '-n', '5', '--values']);
    assert.equal(tail.code, 0, tail.stderr);
    assert.equal(tail.stdout.trim().split('\n').length, 4 * 5, 'the last 5 of each of the 4 partitions');

    // The same through the environment, as 2 runner processes: they resume from the committed offsets.
    assert.equal((await viaEnv(['produce', `orders-${id}`, '--generate', '--count', '400'])).code, 0);
    const group = await viaEnv(['run', 'pipeline.ts', '--runners', '2', '--until-caught-up']);
    assert.equal(group.code, 0, group.stderr);
    assert.match(group.stderr, /as 2 runner processes on the Kafka at /);
    assert.match(group.stderr, /400 in, 400 out/);

    const synth = await k(['sample', 'synth', `orders-${id}`, '-n', '100', '--produce']);
    assert.equal(synth.code, 0, synth.stderr);
    const capture = await k(
      ['sample', 'capture', `orders-${id}`, '--size', '50', '--name', 'from-kafka', '--masking', 'ordersMasking'],
      {
        SLIPWAY_MASK_KEY: 'a-test-key-of-16-chars',
      },
    );
    assert.equal(capture.code, 0, capture.stderr);
    assert.ok(existsSync(join(dir, `samples/orders-${id}.v1/from-kafka.jsonl`)));

    // The control plane on the cluster: its runners read and write Kafka.
    const up = await k(['up', '--detach']);
    assert.equal(up.code, 0, up.stderr);
    try {
      assert.match(readFileSync(join(dir, 'state', 'daemon.log'), 'utf8'), /Kafka at /);
      const deployed = await k(['deploy', 'pipeline.ts', '--bake', '300']);
      assert.equal(deployed.code, 0, deployed.stderr);
      assert.match(deployed.stdout, /completed/);
    } finally {
      await k(['down']);
    }
    assert.equal(existsSync(logPath), false, 'no embedded log was created');
  });
});

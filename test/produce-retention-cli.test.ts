// Issue 10: `slipway produce` and `slipway sample synth --produce` created input topics without their declared
// retention, so `slipway topics plan` then reported a mismatch Slipway itself had caused.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-produce-retention-'));
const project = join(dir, 'slipway.config.ts');
const id = randomUUID().slice(0, 8);
const clicks = `pr-clicks-${id}`;
const views = `pr-views-${id}`;
const TWO_DAYS = 2 * 86_400_000;
const THREE_DAYS = 3 * 86_400_000;

writeFileSync(
  project,
  `import { defineDataset } from ${JSON.stringify(resolve('src/index.ts'))};
const schema = { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] };
export const clicks = defineDataset({ name: '${clicks}', version: '1.0.0', key: 'id', partitions: 2, retention: '2d', schema });
export const views = defineDataset({ name: '${views}', version: '1.0.0', key: 'id', partitions: 3, retention: '3d', schema });
`,
);

after(() => rmSync(dir, { recursive: true, force: true }));

interface PlanEntry {
  topic: string;
  status: string;
  actual?: { partitions: number; retentionMs?: number };
}

/** Produces into both datasets (one with `produce`, one with `sample synth --produce`), then plans. */
async function produceThenPlan(engine: string[]): Promise<PlanEntry[]> {
  const cli = (args: string[]) => runCli([...engine, ...args, '--project', project], { cwd: resolve('.') });
  const produced = await cli(['produce', clicks, '--generate', '--count', '20']);
  assert.equal(produced.code, 0, produced.stderr);
  const synthesised = await cli(['sample', 'synth', views, '-n', '15', '--produce']);
  assert.equal(synthesised.code, 0, synthesised.stderr);
  const plan = await cli(['topics', 'plan', '--json']);
  assert.equal(plan.code, 0, `${plan.stdout}\n${plan.stderr}`);
  return (JSON.parse(plan.stdout) as { entries: PlanEntry[] }).entries;
}

describe('topics created by produce and sample synth --produce', () => {
  it('get their declared retention on the embedded log: topics plan says ok', async () => {
    const entries = await produceThenPlan(['--log', join(dir, 'log.db')]);
    assert.deepEqual(
      entries.map((e) => [e.topic, e.status, e.actual]),
      [
        [`${clicks}.v1`, 'ok', { partitions: 2, retentionMs: TWO_DAYS }],
        [`${views}.v1`, 'ok', { partitions: 3, retentionMs: THREE_DAYS }],
      ],
    );
  });

  it('get their declared retention on Kafka: topics plan says ok, not mismatch', async () => {
    const brokers = kafkaBrokers();
    const admin = new Admin({ clientId: 'slipway-test-produce-retention', bootstrapBrokers: brokers });
    try {
      const entries = await produceThenPlan(['--kafka', brokers.join(',')]);
      assert.deepEqual(
        entries.map((e) => [e.topic, e.status, e.actual]),
        [
          [`${clicks}.v1`, 'ok', { partitions: 2, retentionMs: TWO_DAYS }],
          [`${views}.v1`, 'ok', { partitions: 3, retentionMs: THREE_DAYS }],
        ],
      );
    } finally {
      await admin.deleteTopics({ topics: [`${clicks}.v1`, `${views}.v1`] }).catch(() => undefined);
      await admin.close();
    }
  });
});

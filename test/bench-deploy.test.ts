import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Admin } from '@platformatic/kafka';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';

// `npm run bench:deploy` runs the embedded engine and then Kafka in one invocation (issue 17: the Kafka figures
// beside the embedded ones of the same run). This runs the real bench, small, and checks what it promises besides
// its figures (which are timings, judged by whoever runs it): one JSON line holding both engines under the field
// names a single engine prints, nothing lost or written twice on either, and nothing left behind by either leg —
// no temporary folder, no topic, no consumer group, no process keeping it alive.
const root = fileURLToPath(new URL('..', import.meta.url));
const bench = fileURLToPath(new URL('../bench/deploy.ts', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'slipway-bench-deploy-test-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=slipway-source', '--import', 'tsx', bench, ...args],
      // Its own TMPDIR, to see every folder the legs made removed.
      { cwd: root, env: { ...process.env, TMPDIR: tmp }, maxBuffer: 64 * 1024 * 1024, timeout: 15 * 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : ((err as { code?: number }).code ?? 1), stdout, stderr }),
    );
  });
}

type Figures = {
  engine: string;
  rate: number;
  records: number;
  appendedPerSec: number;
  blueGreen: Record<string, unknown>;
  recreate: Record<string, unknown>;
  pauseRatio: number;
  behindAtEnd: number;
  load: number[];
};

describe('bench:deploy', () => {
  it('--engine both: one JSON line with both engines, each exactly once, and both legs clean up', async () => {
    const brokers = kafkaBrokers();
    const r = await runBench([
      '--engine',
      'both',
      '--deploys',
      '2',
      '--rollbacks',
      '1',
      '--recreates',
      '1',
      '--rate',
      '500',
    ]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const lines = r.stdout.trim().split('\n');
    const last = JSON.parse(lines.at(-1) as string) as {
      bench: string;
      engine: string;
      rate: number;
      engines: Record<string, Figures>;
    };
    assert.equal(last.bench, 'deploy');
    assert.equal(last.engine, 'both');
    assert.equal(last.rate, 500);
    assert.deepEqual(Object.keys(last.engines), ['embedded', 'kafka']);
    for (const [engine, f] of Object.entries(last.engines)) {
      assert.equal(f.engine, engine);
      assert.equal(f.rate, 500, `${engine}: the same load on both`);
      assert.ok(f.records > 0, `${engine}: records ${f.records}`);
      assert.ok(f.appendedPerSec > 0, `${engine}: appendedPerSec ${f.appendedPerSec}`);
      assert.equal(f.blueGreen.deploys, 2);
      assert.equal(f.recreate.deploys, 1);
      for (const key of ['pauseP50Ms', 'pauseP99Ms', 'rollbackMs'])
        assert.equal(typeof f.blueGreen[key], 'number', `${engine}: blueGreen.${key}`);
      assert.equal(typeof f.recreate.pauseP50Ms, 'number');
      assert.equal(typeof f.pauseRatio, 'number');
      assert.equal(typeof f.behindAtEnd, 'number');
      assert.equal(f.load.length, 2);
      for (const part of ['blueGreen', 'recreate'] as const) {
        assert.equal(f[part].lost, 0, `${engine}: ${part} lost`);
        assert.equal(f[part].duplicated, 0, `${engine}: ${part} duplicated`);
      }
    }
    // Only Kafka has an outside consumer.
    assert.equal(typeof last.engines.kafka?.blueGreen.outsideGapMaxMs, 'number');
    assert.equal(last.engines.embedded?.blueGreen.outsideGapMaxMs, undefined);

    // Both legs removed their temporary folders.
    assert.deepEqual(
      readdirSync(tmp).filter((name) => name.startsWith('slipway-bench-deploy-')),
      [],
    );
    // The Kafka leg removed its topics (the state changelog too) and consumer groups.
    const id = /topics orders-([0-9a-f]{8})\.v1/.exec(r.stdout)?.[1];
    assert.ok(id !== undefined, `the Kafka leg names its topics:\n${r.stdout}`);
    const admin = new Admin({ clientId: `bench-deploy-test-${id}`, bootstrapBrokers: brokers });
    try {
      const topics = (await admin.listTopics({ includeInternals: true })).filter((t) => t.includes(id));
      assert.deepEqual(topics, []);
      const groups = [...(await admin.listGroups()).keys()].filter((g) => g.includes(id));
      assert.deepEqual(groups, []);
    } finally {
      await admin.close();
    }
  });

  it('refuses an unknown engine and a bad count before it starts anything', async () => {
    const engine = await runBench(['--engine', 'both-please']);
    assert.notEqual(engine.code, 0);
    assert.match(engine.stderr, /--engine takes both, embedded or kafka, not both-please/);
    const deploys = await runBench(['--deploys', 'two']);
    assert.notEqual(deploys.code, 0);
    assert.match(deploys.stderr, /--deploys takes a whole number ≥ 1, not two/);
  });
});

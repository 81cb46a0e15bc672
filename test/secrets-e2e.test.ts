import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openLog, partitionFor } from 'slipway';
import { readDaemonInfo } from '../src/control/daemon-info.js';
import { kafkaBrokers } from '../src/log/kafka/test-broker.js';
import { runCli } from './helpers/cli.js';
import { copyExampleProject } from './helpers/example-project.js';
import { makeOrder } from './helpers/orders.js';

// Issue 12, point 4: a secret given to staging by reference is found by its runner (a child process of
// the control plane) and appears nowhere else: not in the control store, any API response, the daemon's
// log, the deployment's events, the artifact, or what the CLI prints. A missing one stops the start
// with SLIPWAY_SECRET_MISSING naming the reference.
const id = randomUUID().slice(0, 8);
const SECRET = `s3cr3t-${randomUUID()}`;
const VAR = `SLIPWAY_TEST_SIGNING_KEY_${id}`;
const project = copyExampleProject({ prefix: 'slipway-secrets-', tsx: true });
after(() => project.remove());

const PIPELINE = `
import { createHash } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import { defineDataset, definePipeline } from 'slipway';
import { orders } from './datasets.js';

export const signedOrders = defineDataset({
  name: 'signed-orders',
  version: '1.0.0',
  key: 'orderId',
  partitions: 2,
  schema: Type.Object({ orderId: Type.String(), signature: Type.String() }, { additionalProperties: false }),
});

export const signOrders = definePipeline({
  name: 'sign-orders',
  version: '1.0.0',
  inputs: [orders],
  outputs: [signedOrders],
  process(order, ctx) {
    const key = ctx.secrets.get('signing-key');
    ctx.emit(signedOrders, { orderId: order.orderId, signature: createHash('sha256').update(key + order.orderId).digest('hex') });
  },
});
`;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('secrets by reference', () => {
  it('reach the runner that needs them and nothing else; a missing one is named, not shown', async () => {
    const brokers = kafkaBrokers();
    writeFileSync(join(project.dir, 'sign.ts'), PIPELINE);
    writeFileSync(
      join(project.dir, 'slipway.config.ts'),
      `import { defineProject } from 'slipway';
export { orders, enrichedOrders } from './datasets.js';
export { signOrders, signedOrders } from './sign.js';
export const project = defineProject({
  environments: {
    dev: {
      log: { engine: 'embedded' },
      allowUntested: true,
      pipelines: { 'sign-orders': { secrets: { 'signing-key': { env: 'SLIPWAY_TEST_UNSET_${id}' } } } },
    },
    staging: {
      log: { engine: 'kafka', brokers: ${JSON.stringify(brokers)} },
      topicPrefix: 'sec-${id}.',
      allowUntested: true,
      promotion: { from: 'dev' },
      pipelines: { 'sign-orders': { secrets: { 'signing-key': { env: '${VAR}' } } } },
    },
  },
});
`,
    );
    const cwd = project.dir;
    const printed: string[] = [];
    const cli = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const r = await runCli(args, { cwd, env });
      printed.push(r.stdout, r.stderr);
      return r;
    };
    // Only the control plane (and so its runners) has the secret in its environment.
    const up = await cli(['up', '--detach'], { [VAR]: SECRET });
    assert.equal(up.code, 0, up.stderr);
    const info = readDaemonInfo(join(cwd, '.slipway'));
    assert.ok(info !== undefined);
    const responses: string[] = [];
    const get = async (path: string, env?: string) => {
      const res = await fetch(
        `${info.url}${path}`,
        env === undefined ? {} : { headers: { 'x-slipway-environment': env } },
      );
      const text = await res.text();
      responses.push(text);
      return text;
    };
    try {
      const build = await cli(['build', 'sign.ts']);
      assert.equal(build.code, 0, build.stderr);
      const digest = /sha256:[0-9a-f]{64}/.exec(build.stdout + build.stderr)?.[0];
      assert.ok(digest !== undefined, build.stdout);

      // dev's reference is not set where the runners run: the start fails, naming the reference.
      const dev = await cli(['deploy', '--env', 'dev', digest, '--allow-untested']);
      assert.notEqual(dev.code, 0);
      assert.match(dev.stdout + dev.stderr, /SLIPWAY_SECRET_MISSING/);
      assert.match(dev.stdout + dev.stderr, new RegExp(`env:SLIPWAY_TEST_UNSET_${id}`));

      const staging = await cli(['deploy', '--env', 'staging', digest, '--allow-untested', '--bake', '200']);
      assert.equal(staging.code, 0, staging.stderr);

      // The runner signs with the secret: its outputs prove it had it.
      const log = await openLog({ engine: 'kafka', brokers, namespace: `sec-${id}.` });
      try {
        const records = Array.from({ length: 20 }, (_, i) => makeOrder(i, 5));
        await log.append(
          'orders.v1',
          records.map((o) => ({
            partition: partitionFor(o.customerId, 4),
            key: o.customerId,
            value: JSON.stringify(o),
          })),
        );
        const signatures = new Map<string, string>();
        for (let i = 0; i < 200 && signatures.size < records.length; i++) {
          for (let p = 0; p < 2; p++)
            for (const r of await log.read('signed-orders.v1', p, 0, 1000)) {
              const v = JSON.parse(r.value) as { orderId: string; signature: string };
              signatures.set(v.orderId, v.signature);
            }
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(signatures.size, records.length);
        for (const o of records)
          assert.equal(
            signatures.get(o.orderId),
            createHash('sha256')
              .update(SECRET + o.orderId)
              .digest('hex'),
            'signed with the secret',
          );
      } finally {
        await log.close();
      }

      await get('/api/health');
      await get('/api/matrix');
      await get('/api/status', 'staging');
      await get('/api/status', 'dev');
      const deployments = JSON.parse(await get('/api/deployments?limit=50')) as Array<{ id: string }>;
      for (const d of deployments) await get(`/api/deployments/${d.id}`);
      await get('/api/pipelines/sign-orders/events', 'staging');
      await get('/api/pipelines/sign-orders/events', 'dev');
      await get('/metrics').catch(() => '');
      // The CLI: the matrix, an approval, a promotion refused with its reason.
      const matrix = await cli(['status']);
      assert.match(matrix.stdout, /PIPELINE\s+DEV\s+STAGING/);
      assert.match(
        matrix.stdout,
        /sign-orders\s+none .*failed 1\.0\.0\s+1\.0\.0 [0-9a-f]{12} \d+(\.\d)?[smh] verified/,
      );
      const approve = await cli(['approve', 'sign-orders', '--env', 'staging', '--digest', digest, '--by', 'carol']);
      assert.match(approve.stdout, new RegExp(`approved sign-orders ${digest.slice(0, 19)} into staging by carol`));
      const promote = await cli(['promote', 'sign-orders', '--to', 'staging']);
      assert.equal(promote.code, 1);
      assert.match(promote.stderr, /SLIPWAY_PROMOTION_REFUSED: sign-orders has no live release in dev/);
      printed.push((await cli(['--env', 'staging', 'status'])).stdout);
      printed.push((await cli(['history', '--json'])).stdout);
      for (const d of deployments) printed.push((await cli(['history', d.id, '--json'])).stdout);
    } finally {
      const down = await cli(['down']);
      assert.equal(down.code, 0, down.stderr);
    }
    const scanned: Array<[string, string]> = [
      ...responses.map((r, i) => [`API response ${i}`, r] as [string, string]),
      ...printed.map((r, i) => [`CLI output ${i}`, r] as [string, string]),
      ...files(join(cwd, '.slipway')).map((f) => [f, readFileSync(f).toString('latin1')] as [string, string]),
    ];
    assert.ok(
      scanned.some(([name]) => name.endsWith('control.db')),
      'the control store was scanned',
    );
    assert.ok(
      scanned.some(([name]) => name.endsWith('daemon.log')),
      "the daemon's log was scanned",
    );
    assert.ok(
      scanned.some(([name]) => name.endsWith('bundle.mjs')),
      'the artifact was scanned',
    );
    for (const [name, text] of scanned) assert.ok(!text.includes(SECRET), `the secret leaked into ${name}`);
  });
});

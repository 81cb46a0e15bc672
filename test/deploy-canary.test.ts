import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog } from 'slipway';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { keyBucket } from '../src/runtime/runner-types.js';
import { startTestController } from './helpers/controller.js';
import { OrderLoad } from './helpers/load.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-canary-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('canary deployments on the embedded log under continuous load', () => {
  it('moves a growing share of keys to green at offset barriers, rolls a broken version back, and loses or doubles nothing', async () => {
    const logPath = join(dir, 'log.db');
    const t = await startTestController(dir);
    const { controller, store } = t;
    const { v1, v2, v3 } = t.versions;
    const load = new OrderLoad(logPath, 1500);
    await load.start();
    const log = await openEmbeddedLog({ path: logPath });
    try {
      await assert.rejects(controller.deploy(v1, { strategy: 'canary' }), {
        code: 'SLIPWAY_DEPLOY_REFUSED',
        message: /no live version in local to split keys with/,
      });
      const first = await controller.wait((await controller.deploy(v1, { strategy: 'blue-green', bakeMs: 300 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));
      await assert.rejects(controller.deploy(v2, { strategy: 'canary', canary: { steps: [50, 10] } }), {
        code: 'SLIPWAY_USAGE',
        message: /Canary steps must grow/,
      });

      const canary = await controller.wait(
        (await controller.deploy(v2, { strategy: 'canary', canary: { steps: [10, 50], stepMs: 700 }, bakeMs: 500 })).id,
      );
      assert.equal(canary.status, 'completed', JSON.stringify(canary.summary));
      assert.equal((await store.getRelease('enrich-orders', 'local'))?.artifact.version, '1.1.0');
      const events = await store.events(canary.id);
      const barriers = events.flatMap((e) => (e.step === 'barrier' && e.kind === 'info' ? [e.data.share] : []));
      assert.deepEqual(barriers, [10, 50, 100], 'one offset barrier per step, 100 % appended');
      assert.deepEqual(
        [...new Set(events.map((e) => e.step))],
        [
          'planned',
          'config',
          'canary-10',
          'start-green',
          'barrier',
          'canary-50',
          'canary-cutover',
          'bake',
          'completed',
        ],
      );
      assert.equal((canary.summary.canaryPausesMs as number[]).length, 3);

      // Between the 10 % and 50 % barriers, green (v2) processed exactly the keys in buckets [0, 1000)
      // and blue (v1) the rest. v2 converts USD at 0.93 instead of 0.92: that tells the sides apart.
      const [at10, at50] = events.flatMap((e) => (e.step === 'barrier' && e.kind === 'info' ? [e.data.offsets] : []));
      const origin = new Map<string, { bucket: number; amount: number }>();
      for (let p = 0; p < 4; p++) {
        const from = at10?.find((o) => o.partition === p)?.offset ?? 0;
        const to = at50?.find((o) => o.partition === p)?.offset ?? 0;
        for (const r of await log.read('orders.v1', p, from, to - from)) {
          const order = JSON.parse(r.value) as { amount: number; currency: string };
          if (order.currency === 'USD')
            origin.set(`orders.v1/${p}/${r.offset}`, { bucket: keyBucket(r.key ?? ''), amount: order.amount });
        }
      }
      const eur = (amount: number, rate: number): number => Math.round(amount * rate * 100) / 100;
      let green = 0;
      let blue = 0;
      for (let q = 0; q < 4; q++) {
        for (let at = 0; ; ) {
          const batch = await log.read('enriched-orders.v1', q, at, 5000);
          if (batch.length === 0) break;
          at = (batch.at(-1)?.offset ?? 0) + 1;
          for (const r of batch) {
            const o = origin.get(r.headers['slipway-source'] ?? '');
            if (o === undefined || eur(o.amount, 0.93) === eur(o.amount, 0.92)) continue;
            const { amountEur } = JSON.parse(r.value) as { amountEur: number };
            const side = o.bucket < 1000 ? 'green' : 'blue';
            assert.equal(amountEur, eur(o.amount, side === 'green' ? 0.93 : 0.92), `bucket ${o.bucket} is ${side}'s`);
            if (side === 'green') green++;
            else blue++;
          }
        }
      }
      assert.ok(green > 0 && blue > green, `USD outputs of the 10 % step: ${green} by green, ${blue} by blue`);

      const broken = await controller.wait(
        (
          await controller.deploy(v3, {
            strategy: 'canary',
            canary: { steps: [20, 100], stepMs: 5000 },
            gates: { maxDlqRatio: 0.01 },
          })
        ).id,
      );
      assert.equal(broken.status, 'rolled_back', JSON.stringify(broken.summary));
      assert.equal((await store.getRelease('enrich-orders', 'local'))?.artifact.version, '1.1.0');
      const brokenEvents = await store.events(broken.id);
      assert.deepEqual(
        brokenEvents.flatMap((e) => (e.step === 'barrier' && e.kind === 'info' ? [e.data.share] : [])),
        [20, 0],
        'the rollback is a barrier back to 0 %',
      );
      assert.match(JSON.stringify(broken.summary.gates), /dlq-ratio/);
      assert.equal(brokenEvents.filter((e) => e.step === 'canary-cutover').length, 0, 'it never cut over');
    } catch (err) {
      console.error('canary test failed before its final check:', err);
      throw err;
    } finally {
      const sent = await load.stop();
      for (let i = 0; i < 400; i++) {
        const committed = (await log.committedOffsets('slipway.enrich-orders')).reduce((n, o) => n + o.offset, 0);
        if (committed >= sent) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await t.close();
      const report = await checkExactlyOnce(log, {
        input: 'orders.v1',
        outputs: ['enriched-orders.v1'],
        dlq: 'orders.v1.dlq',
      });
      assert.equal(report.inputs, sent);
      assert.equal(report.lost, 0, JSON.stringify(report.examples));
      assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
      assert.ok(report.deadLettered > 0, 'the broken canary dead-lettered some of its keys before the rollback');
      await log.close();
    }
  });
});

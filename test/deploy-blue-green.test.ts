import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openEmbeddedLog } from 'slipway';
import { checkExactlyOnce } from '../src/runtime/exactly-once-check.js';
import { startTestController } from './helpers/controller.js';
import { OrderLoad } from './helpers/load.js';
import { assertNoShadowLeft } from './helpers/shadow-left.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-deploy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('deployments on the embedded log under continuous load', () => {
  it('blue-green with a shadow diff, a gate-triggered rollback, and recreate: nothing lost, nothing twice', async () => {
    const logPath = join(dir, 'log.db');
    const t = await startTestController(dir);
    const { controller, store } = t;
    const { v1, v2, v3 } = t.versions;
    if (process.env.DEBUG_DEPLOY) controller.on('event', (e) => console.error('event', e.step, e.kind));
    const load = new OrderLoad(logPath, 1500);
    await load.start();
    try {
      const first = await controller.wait((await controller.deploy(v1, { strategy: 'blue-green', bakeMs: 300 })).id);
      assert.equal(first.status, 'completed', JSON.stringify(first.summary));

      const second = await controller.wait(
        (
          await controller.deploy(v2, {
            strategy: 'blue-green',
            shadow: { records: 400, timeoutMs: 20_000 },
            bakeMs: 800,
            gates: { allowChangedFields: ['amountEur', 'customerTotalEur', 'tier'] },
          })
        ).id,
      );
      assert.equal(second.status, 'completed', JSON.stringify(second.summary));
      const diff = second.summary.diff as {
        compared: number;
        changed: number;
        missing: number;
        extra: number;
        changedFields: Record<string, number>;
      };
      assert.ok(diff.compared >= 400, `compared ${diff.compared}`);
      assert.equal(diff.changed + diff.missing + diff.extra, 0);
      assert.ok((diff.changedFields.amountEur ?? 0) > 0, 'v2 changes amountEur of USD orders, and the diff sees it');
      assert.equal(diff.changedFields.orderId, undefined);
      assert.equal(typeof second.summary.cutoverPauseMs, 'number');
      // The shadow run removed what it made: topics, group, owner, state (issue 10, item 12).
      const reader = await openEmbeddedLog({ path: logPath });
      try {
        await assertNoShadowLeft(reader, 'enrich-orders', second.id);
      } finally {
        await reader.close();
      }

      const third = await controller.wait(
        (await controller.deploy(v3, { strategy: 'blue-green', bakeMs: 5000, gates: { maxDlqRatio: 0.01 } })).id,
      );
      assert.equal(third.status, 'rolled_back', JSON.stringify(third.summary));
      assert.equal((await store.getRelease('enrich-orders', 'local'))?.artifact.version, '1.1.0');
      const events = await store.events(third.id);
      assert.deepEqual(
        [...new Set(events.map((e) => e.step))],
        ['planned', 'config', 'start-green', 'cutover', 'bake', 'rollback', 'rolled_back'],
      );
      for (const step of ['cutover', 'bake', 'rollback']) {
        const kinds = events.filter((e) => e.step === step).map((e) => e.kind);
        assert.deepEqual(kinds, ['begin', 'end'], `${step} recorded before and after it acted`);
      }

      const fourth = await controller.wait((await controller.deploy(v1, { strategy: 'recreate' })).id);
      assert.equal(fourth.status, 'completed');
      assert.equal((await store.getRelease('enrich-orders', 'local'))?.artifact.version, '1.0.0');
    } catch (err) {
      if (process.env.DEBUG_DEPLOY) console.error('failed', err);
      throw err;
    } finally {
      if (process.env.DEBUG_DEPLOY) console.error('finally');
      const sent = await load.stop();
      // let the live runner catch up, then check every input by source
      const log = await openEmbeddedLog({ path: logPath });
      for (let i = 0; i < 200; i++) {
        const committed = (await log.committedOffsets('slipway.enrich-orders')).reduce((n, o) => n + o.offset, 0);
        if (committed >= sent) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      if (process.env.DEBUG_DEPLOY) console.error('closing');
      await t.close();
      if (process.env.DEBUG_DEPLOY) console.error('closed');
      const report = await checkExactlyOnce(log, {
        input: 'orders.v1',
        outputs: ['enriched-orders.v1'],
        dlq: 'orders.v1.dlq',
      });
      assert.equal(report.inputs, sent);
      assert.equal(report.lost, 0, JSON.stringify(report.examples));
      assert.equal(report.duplicated, 0, JSON.stringify(report.examples));
      assert.ok(report.deadLettered > 0, 'the broken version dead-lettered some records before the rollback');
      await log.close();
    }
  });
});

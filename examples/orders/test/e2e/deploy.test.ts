// End to end: a real control plane builds and deploys the artifact; its runner process enriches orders.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type LocalControlPlane, produceRecords, readRecords, startLocalControlPlane } from 'slipway/testing';
import { enrichedOrders, orders } from '../../datasets.js';

const project = fileURLToPath(new URL('../..', import.meta.url));
let cp: LocalControlPlane | undefined;
after(() => cp?.close());

describe('enrich-orders deployed', () => {
  it('runs the built artifact under the control plane and enriches orders', async () => {
    cp = await startLocalControlPlane();
    const digest = await cp.build('pipeline.ts', { cwd: project });
    // A local control plane may deploy an untested artifact when asked to: this test is what tests it.
    const { deployment, events } = await cp.deploy(digest, { allowUntested: true, bakeMs: 0 });
    assert.equal(deployment.status, 'completed', JSON.stringify(events.at(-1)));
    assert.equal(deployment.artifact.digest, digest);
    assert.equal(deployment.options.untested, true, 'the skipped gate is in the history');

    const log = await cp.openLog();
    await produceRecords(
      log,
      orders,
      Array.from({ length: 40 }, (_, i) => ({
        orderId: `e2e-${i}`,
        customerId: `c${i % 4}`,
        amount: 100,
        currency: 'EUR' as const,
        items: 1,
        createdAt: '2026-01-01T00:00:00.000Z',
      })),
    );
    let enriched = await readRecords(log, enrichedOrders);
    for (let i = 0; i < 600 && enriched.length < 40; i++) {
      await log.waitForChange({ timeoutMs: 100 });
      enriched = await readRecords(log, enrichedOrders);
    }
    assert.equal(enriched.length, 40);
    const last = enriched.filter((e) => e.customerId === 'c0').at(-1);
    assert.equal(last?.customerOrders, 10);
    assert.equal(last?.customerTotalEur, 1000);
    assert.equal(last?.tier, 'vip');
  });
});

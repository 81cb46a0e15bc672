import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ArtifactStore,
  buildArtifact,
  InProcessSupervisor,
  isSlipwayError,
  type Log,
  openLog,
  partitionFor,
} from 'slipway';
import { ControlPlaneClient } from '../src/control/client.js';
import { daemonPaths, startDaemon } from '../src/control/daemon.js';
import { readTopic } from '../src/testing/dataset-records.js';
import { checkouts, ordersV1, ordersV2 } from './fixtures/orders-majors.js';
import { waitForCaughtUp } from './helpers/versions.js';

// Issue 13, "what it must show": orders v1 → v2 (amount renamed total, a new major and topic) migrated
// with an upcast and a downcast bridge, deployed through the control plane as ordinary pipelines, while
// a v1 producer and a v2 consumer run under load; then the producer switches to v2; then v1 is retired
// (refused while anyone reads or writes it). Every checkout is in each major exactly once, by source.

const dir = mkdtempSync(join(tmpdir(), 'slipway-bridges-e2e-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Checkouts into the log at a steady rate until stopped; each has its own id (the orders' source). */
class CheckoutLoad {
  sent = 0;
  #stop = false;
  #loop: Promise<void> | undefined;
  constructor(
    readonly log: Log,
    readonly perTick: number,
  ) {}
  start(): void {
    this.#loop = (async () => {
      while (!this.#stop) {
        const records = Array.from({ length: this.perTick }, (_, k) => {
          const i = this.sent + k;
          const customerId = `c-${i % 37}`;
          return {
            partition: partitionFor(customerId, checkouts.partitions),
            key: customerId,
            value: JSON.stringify({ checkoutId: `k-${i}`, customerId, amount: i }),
          };
        });
        await this.log.append(checkouts.topic, records);
        this.sent += records.length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
  }
  async stop(): Promise<number> {
    this.#stop = true;
    await this.#loop;
    return this.sent;
  }
}

/** How many records of a topic carry each source (checkout id). */
async function sourcesOf(log: Log, topic: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const r of await readTopic(log, topic)) {
    const source = (JSON.parse(r.value) as { source: string }).source;
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  return counts;
}

describe('dataset bridges end to end', () => {
  it('moves orders from v1 to v2 under load with upcast and downcast bridges, then retires v1; each record once in each major', async () => {
    const paths = daemonPaths(join(dir, '.slipway'));
    const artifacts = new ArtifactStore({ dir: paths.artifactsDir });
    const cwd = resolve('test/fixtures');
    const build = async (entry: string, pipeline?: string) =>
      (await buildArtifact({ entry, cwd, store: artifacts, ...(pipeline === undefined ? {} : { pipeline }) })).digest;
    const digests = {
      shopV1: await build('orders-majors.ts', 'shop'),
      readerV1: await build('orders-majors.ts', 'audit-v1'),
      readerV2: await build('orders-majors.ts', 'audit-v2'),
      up: await build('orders-majors.ts', 'bridge-orders-v1-to-v2'),
      down: await build('orders-majors.ts', 'bridge-orders-v2-to-v1'),
      shopV2: await build('orders-shop-v2.ts'),
    };
    const daemon = await startDaemon({
      paths,
      supervisor: new InProcessSupervisor({ artifactsDir: paths.artifactsDir }),
    });
    const client = new ControlPlaneClient(daemon.url);
    const log = await openLog({ engine: 'embedded', path: paths.logPath });
    const load = new CheckoutLoad(log, 5);
    try {
      for (const d of [checkouts, ordersV1, ordersV2]) await log.createTopic(d.topic, { partitions: d.partitions });
      const deploy = async (artifact: string) => {
        const started = await client.deploy({ artifact, allowUntested: true, bakeMs: 200 });
        const done = await daemon.plane.controller().wait(started.id);
        assert.equal(done.status, 'completed', `${started.pipeline}: ${JSON.stringify(done.summary)}`);
      };
      const caughtUp = async () => {
        // Each pipeline after the one that feeds it; twice, as the bridges feed each other's inputs.
        for (let round = 0; round < 2; round++)
          for (const [group, topic] of [
            ['shop', checkouts.topic],
            ['bridge-orders-v1-to-v2', ordersV1.topic],
            ['bridge-orders-v2-to-v1', ordersV2.topic],
            ['audit-v1', ordersV1.topic],
            ['audit-v2', ordersV2.topic],
          ] as const)
            if ((await daemon.plane.store.getRelease(group, 'local')) !== undefined)
              await waitForCaughtUp(log, `slipway.${group}`, topic, 3);
      };

      // A v1 producer and a v1 consumer, with history, under load.
      load.start();
      await deploy(digests.shopV1);
      await deploy(digests.readerV1);
      // The v2 consumer starts before anyone writes v2; the upcast bridge fills v2 (history, then live),
      // and the downcast bridge runs at the same time: neither carries back what the other wrote.
      await deploy(digests.readerV2);
      await deploy(digests.up);
      await deploy(digests.down);
      // Producers switch: the shop's next version writes v2 (cut over at offsets); the downcast bridge keeps v1 fed.
      await deploy(digests.shopV2);
      const whileInUse = client.retireDataset('orders', 1);
      await assert.rejects(whileInUse, (err: unknown) => isSlipwayError(err, 'SLIPWAY_DATASET_IN_USE'));
      const sent = await load.stop();
      await caughtUp();

      for (const dataset of [ordersV1, ordersV2]) {
        const counts = await sourcesOf(log, dataset.topic);
        const wrong = [...Array(sent).keys()].map((i) => `k-${i}`).filter((id) => counts.get(id) !== 1);
        assert.deepEqual(
          wrong.slice(0, 10).map((id) => [id, counts.get(id) ?? 0]),
          [],
          `${dataset.topic}: ${wrong.length} of ${sent} sources not exactly once`,
        );
        assert.equal(counts.size, sent, `${dataset.topic}: no other source`);
      }
      // Both consumers saw every order once: v1's reader through the downcast after the switch, v2's through the upcast before.
      for (const topic of ['audit-v1.v1', 'audit-v2.v1']) {
        const counts = await sourcesOf(log, topic);
        assert.equal(counts.size, sent, topic);
        assert.ok(
          [...counts.values()].every((n) => n === 1),
          `${topic}: each order once`,
        );
      }
      // Records in each major name where they came from: the shop's input or the other major (bridged).
      const origin = async (topic: string) => {
        const by = new Map<string, number>();
        for (const r of await readTopic(log, topic)) {
          const from = String(r.headers?.['slipway-source'] ?? '').split('/')[0] ?? '';
          by.set(from, (by.get(from) ?? 0) + 1);
        }
        return by;
      };
      const v1 = await origin(ordersV1.topic);
      const v2 = await origin(ordersV2.topic);
      assert.ok((v1.get(checkouts.topic) ?? 0) > 0 && (v1.get(ordersV2.topic) ?? 0) > 0, JSON.stringify([...v1]));
      assert.equal(v1.get(checkouts.topic), v2.get(ordersV1.topic), 'v2 has each order the v1 shop wrote, upcast');
      assert.equal(v2.get(checkouts.topic), v1.get(ordersV2.topic), 'v1 has each order the v2 shop wrote, downcast');

      // Retire v1: refused while its reader and the bridges remain; accepted once they are undeployed.
      await assert.rejects(client.retireDataset('orders', 1), (err: unknown) => {
        assert.ok(isSlipwayError(err, 'SLIPWAY_DATASET_IN_USE'), String(err));
        const users = (err.details.users as Array<{ pipeline: string; role: string }>).map(
          (u) => `${u.pipeline}:${u.role}`,
        );
        assert.deepEqual(users.sort(), [
          'audit-v1:input',
          'bridge-orders-v1-to-v2:input',
          'bridge-orders-v2-to-v1:output',
        ]);
        return true;
      });
      for (const p of ['audit-v1', 'bridge-orders-v1-to-v2', 'bridge-orders-v2-to-v1']) await client.undeploy(p);
      await client.retireDataset('orders', 1);
      // Nothing may be deployed against a retired major.
      await assert.rejects(client.deploy({ artifact: digests.readerV1, allowUntested: true }), (err: unknown) =>
        isSlipwayError(err, 'SLIPWAY_READER_INCOMPATIBLE'),
      );
    } finally {
      await load.stop();
      await log.close();
      await daemon.close();
    }
  });
});

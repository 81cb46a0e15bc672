import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runLogContract } from './contract.js';
import { openEmbeddedLog } from './embedded/embedded-log.js';
import { kafkaBrokers } from './kafka/test-broker.js';
import type { Log } from './log.js';
import { namespaceLog } from './namespaced-log.js';
import { openLog } from './open-log.js';

const dir = mkdtempSync(join(tmpdir(), 'slipway-namespaced-'));
const path = join(dir, 'log.db');
after(() => rmSync(dir, { recursive: true, force: true }));

// A namespace is a Log like any other: the whole contract, on both engines.
runLogContract('embedded, namespaced', { open: async () => namespaceLog(await openEmbeddedLog({ path }), 'ns-a.') });
const run = randomUUID().slice(0, 8);
runLogContract('kafka, namespaced', {
  open: async () => namespaceLog(await openLog({ engine: 'kafka', brokers: kafkaBrokers() }), `ns-${run}.`),
});

/** Two namespaces on one log, each running the same names: neither sees the other's records, offsets, epochs or state. */
async function twoNamespaces(open: () => Promise<Log>, a: string, b: string): Promise<void> {
  const base = await open();
  const one = namespaceLog(await open(), a);
  const two = namespaceLog(await open(), b);
  try {
    for (const [ns, n] of [
      [one, 3],
      [two, 5],
    ] as const) {
      await ns.createTopic('orders.v1', { partitions: 2 });
      await ns.append(
        'orders.v1',
        Array.from({ length: n }, (_, i) => ({ partition: 0, key: `k${i}`, value: `{"i":${i}}` })),
      );
      const epoch = await ns.fence('slipway.p');
      await ns.commit({
        owner: 'slipway.p',
        epoch,
        outputs: [{ topic: 'orders.v1', records: [{ partition: 1, key: 'x', value: '{}' }] }],
        state: { namespace: 'p', writes: [{ partition: 0, key: 'k', value: String(n) }] },
        offsets: { group: 'slipway.p', offsets: [{ topic: 'orders.v1', partition: 0, offset: n }] },
      });
    }
    assert.deepEqual(
      (await one.listTopics()).map((t) => t.name),
      ['orders.v1'],
    );
    assert.equal(await one.endOffset('orders.v1', 0), 3);
    assert.equal(await two.endOffset('orders.v1', 0), 5);
    assert.equal((await one.read('orders.v1', 0, 0, 10))[0]?.topic, 'orders.v1');
    assert.deepEqual(await one.committedOffsets('slipway.p'), [{ topic: 'orders.v1', partition: 0, offset: 3 }]);
    assert.deepEqual(await two.readState('p', 0), [['k', '5']]);
    const epochOfTwo = await two.currentEpoch('slipway.p');
    assert.ok((await one.currentEpoch('slipway.p')) > 0 && epochOfTwo > 0);
    const names = (await base.listTopics()).map((t) => t.name);
    assert.ok(names.includes(`${a}orders.v1`) && names.includes(`${b}orders.v1`), names.join(','));

    // Dropping one namespace removes all it made, and nothing of the other's.
    const dropped = await one.dropNamespace();
    assert.deepEqual(dropped, {
      topics: ['orders.v1'],
      groups: ['slipway.p'],
      owners: ['slipway.p'],
      stateNamespaces: ['p'],
    });
    assert.deepEqual(await one.listTopics(), []);
    assert.deepEqual(await one.committedOffsets('slipway.p'), []);
    assert.equal(await one.currentEpoch('slipway.p'), 0);
    assert.deepEqual(await one.readState('p', 0), []);
    assert.ok(!(await base.listTopics()).some((t) => t.name.startsWith(a)), 'nothing of the namespace is left');
    assert.equal(await two.endOffset('orders.v1', 0), 5);
    assert.deepEqual(await two.readState('p', 0), [['k', '5']]);
    assert.equal(await two.currentEpoch('slipway.p'), epochOfTwo);
    await two.dropNamespace();
  } finally {
    await one.close();
    await two.close();
    await base.close();
  }
}

describe('namespaces on a shared log', () => {
  it('keep two namespaces apart on the embedded log, and drop one without touching the other', async () => {
    const file = join(dir, 'shared.db');
    await twoNamespaces(() => openEmbeddedLog({ path: file }), 'ws-alice.', 'ws-bob.');
  });

  it('keep two namespaces apart on Kafka, and drop one without touching the other', async () => {
    await twoNamespaces(() => openLog({ engine: 'kafka', brokers: kafkaBrokers() }), `a${run}.`, `b${run}.`);
  });

  it('refuses a prefix that would not make valid names', () => {
    assert.throws(() => namespaceLog({} as Log, 'no spaces'), { code: 'SLIPWAY_INVALID_DEFINITION' });
    assert.throws(() => namespaceLog({} as Log, '.starts-with-a-dot'), { code: 'SLIPWAY_INVALID_DEFINITION' });
  });
});

// Issue 10: state changelog topics kept the broker's default segment settings (segments roll after 7 days), so
// compaction did not start for days and a restore replayed everything.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { Admin } from '@platformatic/kafka';
import type { Log } from '../log.js';
import { openKafkaLog } from './kafka-log.js';
import { kafkaBrokers } from './test-broker.js';

const brokers = kafkaBrokers();
const WANTED = {
  'cleanup.policy': 'compact',
  'segment.ms': '3600000',
  'min.cleanable.dirty.ratio': '0.1',
  'delete.retention.ms': '86400000',
};

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

describe('Kafka compacted topics', () => {
  const admin = new Admin({ clientId: 'slipway-test-compacted', bootstrapBrokers: brokers });
  const handles: Log[] = [];
  const topics: string[] = [];
  const open = async (): Promise<Log> => {
    const log = await openKafkaLog({ brokers, clientId: 'slipway-test-compacted' });
    handles.push(log);
    return log;
  };
  after(async () => {
    for (const h of handles) await h.close();
    await admin.deleteTopics({ topics }).catch(() => undefined);
    await admin.close();
  });

  /** The topic's configs as DescribeConfigs gives them: name → [value, set on the topic itself]. */
  const configsOf = async (topic: string) => {
    const [description] = await admin.describeConfigs({
      resources: [{ resourceType: 2, resourceName: topic, configurationKeys: Object.keys(WANTED) }],
    });
    return Object.fromEntries((description?.configs ?? []).map((c) => [c.name, c.value]));
  };

  const writeState = async (log: Log, namespace: string) => {
    const owner = unique('compacted-owner');
    const epoch = await log.fence(owner);
    await log.commit({ owner, epoch, state: { namespace, writes: [{ partition: 0, key: 'k', value: 'v' }] } });
    await log.forgetOwners([owner]);
  };

  it('creates a state changelog with segments of an hour and cleaning at 10% dirty', async () => {
    const log = await open();
    const namespace = unique('compacted-ns');
    topics.push(`__slipway-state.${namespace}`);
    await writeState(log, namespace);
    assert.deepEqual(await configsOf(`__slipway-state.${namespace}`), WANTED);
  });

  it('gives a changelog created by an older Slipway the settings, and leaves what an operator set', async () => {
    const older = unique('compacted-older');
    const tuned = unique('compacted-tuned');
    topics.push(`__slipway-state.${older}`, `__slipway-state.${tuned}`);
    await admin.createTopics({
      topics: [`__slipway-state.${older}`],
      partitions: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    await admin.createTopics({
      topics: [`__slipway-state.${tuned}`],
      partitions: 1,
      configs: [
        { name: 'cleanup.policy', value: 'compact' },
        { name: 'segment.ms', value: '600000' },
      ],
    });
    assert.equal((await configsOf(`__slipway-state.${older}`))['segment.ms'], '604800000', 'the broker default');
    const log = await open();
    await writeState(log, older);
    await writeState(log, tuned);
    assert.deepEqual(await configsOf(`__slipway-state.${older}`), WANTED);
    assert.deepEqual(await configsOf(`__slipway-state.${tuned}`), { ...WANTED, 'segment.ms': '600000' });
    assert.deepEqual((await log.readState(older, 0)).length, 1, 'state is written as before');
  });

  it('gives an owners topic created by an older Slipway the same settings', async () => {
    // Its own internal prefix, so the owners topic is this test's (the default one is shared by every test).
    const prefix = `__slipway-t${randomUUID().slice(0, 8)}`;
    topics.push(`${prefix}-owners`);
    await admin.createTopics({
      topics: [`${prefix}-owners`],
      partitions: 1,
      configs: [{ name: 'cleanup.policy', value: 'compact' }],
    });
    const log = await openKafkaLog({ brokers, clientId: 'slipway-test-compacted', internalTopicPrefix: prefix });
    handles.push(log);
    await log.fence(unique('compacted-owner'));
    assert.deepEqual(await configsOf(`${prefix}-owners`), WANTED);
  });
});

/**
 * The Log contract, cleanup part: `deleteTopics`, `deleteGroups`, `forgetOwners` and `deleteStateNamespaces`
 * (what a finished shadow run leaves behind). Registered by `runLogContract` inside its suite.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { isSlipwayError } from '../errors.js';
import type { Log } from './log.js';

function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSlipwayError(err), `expected a SlipwayError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

/** Registers the cleanup tests; `open` opens a handle that the suite closes. */
export function cleanupContract(open: () => Promise<Log>): void {
  it('deleteTopics deletes topics with their records, leaves the others, and is idempotent', async () => {
    const log = await open();
    const other = await open();
    const gone = unique('del');
    const kept = unique('keep');
    await log.createTopic(gone, { partitions: 2 });
    await log.createTopic(kept, { partitions: 1 });
    await log.append(gone, [
      { partition: 0, key: 'a', value: 'old' },
      { partition: 1, key: 'b', value: 'old' },
    ]);
    await log.append(kept, [{ partition: 0, key: 'c', value: 'kept' }]);
    // Another handle has used the topic (and cached what it knows of it).
    assert.equal((await other.read(gone, 0, 0, 10)).length, 1);

    await log.deleteTopics([gone, unique('never-existed')]);
    assert.equal(await log.describeTopic(gone), undefined);
    const names = (await log.listTopics()).map((t) => t.name);
    assert.ok(!names.includes(gone) && names.includes(kept), 'only the named topic is gone');
    assert.deepEqual(
      (await log.read(kept, 0, 0, 10)).map((r) => r.value),
      ['kept'],
    );
    await rejectsWithCode(log.read(gone, 0, 0, 10), 'SLIPWAY_TOPIC_NOT_FOUND');
    await rejectsWithCode(other.append(gone, [{ partition: 0, key: null, value: 'late' }]), 'SLIPWAY_TOPIC_NOT_FOUND');
    await log.deleteTopics([gone]);
    await log.deleteTopics([]);

    // A topic created later under the name is a new, empty topic.
    await log.createTopic(gone, { partitions: 1 });
    assert.deepEqual(await log.read(gone, 0, 0, 10), []);
    assert.deepEqual(await log.append(gone, [{ partition: 0, key: null, value: 'new' }]), [0]);
    assert.deepEqual(
      (await other.read(gone, 0, 0, 10)).map((r) => r.value),
      ['new'],
    );
    await log.deleteTopics([gone, kept]);
  });

  it('deleteTopics refuses internal topics and bad names', async () => {
    const log = await open();
    for (const name of ['__consumer_offsets', '__slipway-owners', '__anything']) {
      await rejectsWithCode(log.deleteTopics([name]), 'SLIPWAY_USAGE');
    }
    await rejectsWithCode(log.deleteTopics(['has space']), 'SLIPWAY_INVALID_DEFINITION');
    await rejectsWithCode(log.deleteTopics('t' as never), 'SLIPWAY_USAGE');
  });

  it('deleteGroups deletes committed offsets of those groups only, and is idempotent', async () => {
    const log = await open();
    const topic = unique('t');
    const owner = unique('owner');
    const [plain, committed, kept] = [unique('g'), unique('g'), unique('g')];
    await log.createTopic(topic, { partitions: 1 });
    await log.append(topic, [{ partition: 0, key: null, value: 'v' }]);
    await log.commitOffsets(plain, [{ topic, partition: 0, offset: 1 }]);
    await log.commitOffsets(kept, [{ topic, partition: 0, offset: 1 }]);
    const epoch = await log.fence(owner);
    await log.commit({ owner, epoch, offsets: { group: committed, offsets: [{ topic, partition: 0, offset: 1 }] } });

    await log.deleteGroups([plain, committed, unique('never-existed')]);
    assert.deepEqual(await log.committedOffsets(plain), []);
    assert.deepEqual(await log.committedOffsets(committed), []);
    assert.deepEqual(await log.committedOffsets(kept), [{ topic, partition: 0, offset: 1 }]);
    await log.deleteGroups([plain, committed]);
    await rejectsWithCode(log.deleteGroups(['']), 'SLIPWAY_USAGE');
    await log.deleteGroups([kept]);
    await log.forgetOwners([owner]);
    await log.deleteTopics([topic]);
  });

  it('forgetOwners: epoch 0, every commit under an old epoch refused, a later fence greater; others untouched', async () => {
    const a = await open();
    const b = await open();
    const output = unique('out');
    const owner = unique('owner');
    const bystander = unique('owner');
    await a.createTopic(output, { partitions: 1 });
    const write = (value: string) => [{ topic: output, records: [{ partition: 0, key: null, value }] }];
    await a.fence(owner);
    const epoch = await a.fence(owner);
    // Another handle commits under the epoch (as a runner does after a controller fenced).
    await b.commit({ owner, epoch, outputs: write('before') });
    const bystanderEpoch = await a.fence(bystander);

    await a.forgetOwners([owner, unique('never-fenced')]);
    assert.equal(await a.currentEpoch(owner), 0);
    assert.equal(await b.currentEpoch(owner), 0);
    assert.equal(await b.currentEpoch(bystander), bystanderEpoch);
    await rejectsWithCode(b.commit({ owner, epoch, outputs: write('zombie') }), 'SLIPWAY_FENCED');
    await rejectsWithCode(a.commit({ owner, epoch, outputs: write('zombie') }), 'SLIPWAY_FENCED');
    await a.forgetOwners([owner]);

    const next = await b.fence(owner);
    assert.ok(next > epoch, `a fence after forgetting gives a greater epoch: ${epoch} then ${next}`);
    await b.commit({ owner, epoch: next, outputs: write('after') });
    await a.commit({ owner: bystander, epoch: bystanderEpoch, outputs: write('bystander') });
    assert.deepEqual(
      (await a.read(output, 0, 0, 10)).map((r) => r.value),
      ['before', 'after', 'bystander'],
    );
    await rejectsWithCode(a.forgetOwners([42 as never]), 'SLIPWAY_USAGE');
    await a.forgetOwners([owner, bystander]);
    await a.deleteTopics([output]);
  });

  it('deleteStateNamespaces deletes every partition of a namespace, leaves the others, and is idempotent', async () => {
    const log = await open();
    const owner = unique('owner');
    const [gone, kept] = [unique('ns'), unique('ns')];
    const epoch = await log.fence(owner);
    const writeState = (namespace: string, writes: Array<{ partition: number; key: string; value: string }>) =>
      log.commit({ owner, epoch, state: { namespace, writes } });
    await writeState(gone, [
      { partition: 0, key: 'a', value: '1' },
      { partition: 2, key: 'b', value: '2' },
    ]);
    await writeState(kept, [{ partition: 0, key: 'k', value: 'v' }]);

    await log.deleteStateNamespaces([gone, unique('never-written')]);
    assert.deepEqual(await log.readState(gone, 0), []);
    assert.deepEqual(await log.readState(gone, 2), []);
    assert.deepEqual(await log.readState(kept, 0), [['k', 'v']]);
    await log.deleteStateNamespaces([gone]);

    // Written again later, the namespace holds only the new state.
    await writeState(gone, [{ partition: 0, key: 'c', value: '3' }]);
    assert.deepEqual(await log.readState(gone, 0), [['c', '3']]);
    assert.deepEqual(await log.readState(gone, 2), []);
    await rejectsWithCode(log.deleteStateNamespaces([''] as never), 'SLIPWAY_USAGE');
    await log.deleteStateNamespaces([gone, kept]);
    await log.forgetOwners([owner]);
  });
}

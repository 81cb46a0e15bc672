/**
 * `snapshot` on Kafka. There is no read transaction across partitions, so the snapshot is taken at a cut:
 * group offsets O1, then per partition the last stable offset (LSO) and the high watermark (HW), then O2.
 * The cut is accepted when O1 = O2 (no offset commit landed in between) and LSO = HW on every state and
 * output partition (no transaction had written there without its marker: nothing half-committed).
 * State is then replayed up to those LSOs and end offsets are taken below them, so commits that land
 * while the snapshot is being read do not leak into it. Busy partitions are retried until a quiet moment.
 */
import { SlipwayError } from '../../errors.js';
import type { PartitionOffset, Snapshot, SnapshotRequest } from '../log.js';
import { Isolation, type KafkaClient, OffsetSpec, offsetKey } from './kafka-client.js';
import { committedEnd } from './kafka-reader.js';
import { readStatePartition } from './kafka-state.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface SnapshotSources {
  client: KafkaClient;
  stateTopic: string;
  committedOffsets(group: string): Promise<PartitionOffset[]>;
  /** Metadata of a topic that must exist (throws SLIPWAY_TOPIC_NOT_FOUND). */
  partitionsOf(topic: string): Promise<number>;
}

export async function takeSnapshot(sources: SnapshotSources, request: SnapshotRequest): Promise<Snapshot> {
  const { client, stateTopic } = sources;
  const outputs: Array<{ topic: string; partition: number }> = [];
  for (const topic of request.topics) {
    const count = await sources.partitionsOf(topic);
    for (let partition = 0; partition < count; partition++) outputs.push({ topic, partition });
  }
  const stateCount = (await client.topic(stateTopic, true))?.partitions.length ?? 0;
  const stateParts = request.partitions
    .filter((p) => Number.isInteger(p) && p >= 0 && p < stateCount)
    .map((partition) => ({ topic: stateTopic, partition }));
  const involved = [...outputs, ...stateParts];
  const deadline = Date.now() + client.requestTimeoutMs;
  for (let delay = 2; ; delay = Math.min(delay * 2, 100)) {
    const before = await sources.committedOffsets(request.group);
    const stable = await client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, involved);
    const high = await client.listOffsets(Isolation.READ_UNCOMMITTED, OffsetSpec.LATEST, involved);
    const quiet = involved.every(
      (tp) => stable.get(offsetKey(tp.topic, tp.partition)) === high.get(offsetKey(tp.topic, tp.partition)),
    );
    if (quiet && sameOffsets(before, await sources.committedOffsets(request.group))) {
      const state: Snapshot['state'] = {};
      for (const p of request.partitions) {
        const until = stable.get(offsetKey(stateTopic, p));
        state[p] = until === undefined ? [] : await readStatePartition(client, stateTopic, p, until);
      }
      const endOffsets: PartitionOffset[] = [];
      for (const tp of outputs) {
        const lastStable = stable.get(offsetKey(tp.topic, tp.partition)) ?? 0n;
        endOffsets.push({ ...tp, offset: Number(await committedEnd(client, tp.topic, tp.partition, lastStable)) });
      }
      return { offsets: before, state, endOffsets };
    }
    if (Date.now() > deadline) {
      throw new SlipwayError(
        'SLIPWAY_KAFKA_UNAVAILABLE',
        `No consistent snapshot of group '${request.group}' and namespace '${request.namespace}' within ${client.requestTimeoutMs} ms: transactions kept landing. Try again.`,
        { retryable: true, details: { group: request.group, namespace: request.namespace } },
      );
    }
    await sleep(delay);
  }
}

function sameOffsets(a: PartitionOffset[], b: PartitionOffset[]): boolean {
  return (
    a.length === b.length &&
    a.every((o, i) => o.topic === b[i]?.topic && o.partition === b[i]?.partition && o.offset === b[i]?.offset)
  );
}

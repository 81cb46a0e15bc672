/**
 * Consumer-group offsets without joining the group: OffsetFetch (stable offsets only) and OffsetCommit
 * for a group with no members (generation -1, no member id), as Slipway owners and plain consumers use it.
 */
import { SlipwayError } from '../../errors.js';
import type { PartitionOffset } from '../log.js';
import { CoordinatorType, getOrSet, type KafkaClient } from './kafka-client.js';
import { hasKafkaError } from './kafka-errors.js';

/** Offsets grouped by topic, in the shape OffsetCommit and TxnOffsetCommit take. */
export function offsetsByTopic(offsets: ReadonlyArray<PartitionOffset>) {
  const byTopic = new Map<
    string,
    Array<{ partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number }>
  >();
  for (const o of offsets) {
    const list = getOrSet(byTopic, o.topic, () => []);
    list.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: -1 });
  }
  return [...byTopic].map(([name, partitions]) => ({ name, partitions }));
}

/** The group's committed offsets, sorted by topic and partition; [] for a group Kafka does not know. */
export async function fetchGroupOffsets(client: KafkaClient, group: string): Promise<PartitionOffset[]> {
  const apis = await client.apis();
  const out: PartitionOffset[] = [];
  try {
    // requireStable: while a transaction's offsets for the group are pending, Kafka answers
    // UNSTABLE_OFFSET_COMMIT (retriable), so an offset is never read before its transaction is decided.
    const response = await client.retry('fetching group offsets', async () =>
      apis.offsetFetch.async(
        await client.connection(await client.coordinator(CoordinatorType.GROUP, group)),
        [{ groupId: group, memberId: null, memberEpoch: -1, topics: null }],
        true,
      ),
    );
    for (const g of response.groups) {
      for (const t of g.topics) {
        for (const p of t.partitions) {
          if (p.committedOffset >= 0n) {
            out.push({ topic: t.name, partition: p.partitionIndex, offset: Number(p.committedOffset) });
          }
        }
      }
    }
  } catch (err) {
    if (!hasKafkaError(err, ['GROUP_ID_NOT_FOUND'])) throw err;
  }
  return out.sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
}

/** Commits offsets for a group without members. */
export async function commitGroupOffsets(
  client: KafkaClient,
  group: string,
  offsets: ReadonlyArray<PartitionOffset>,
): Promise<void> {
  if (offsets.length === 0) return;
  const apis = await client.apis();
  try {
    await client.retry('committing group offsets', async () =>
      apis.offsetCommit.async(
        await client.connection(await client.coordinator(CoordinatorType.GROUP, group)),
        group,
        -1,
        '',
        null,
        offsetsByTopic(offsets),
      ),
    );
  } catch (err) {
    if (!hasKafkaError(err, ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'STALE_MEMBER_EPOCH'])) throw err;
    throw new SlipwayError(
      'SLIPWAY_KAFKA_REJECTED',
      `Kafka refused offsets for group '${group}': the group has active consumers. Slipway commits only for groups without members; stop those consumers or use another group.`,
      { cause: err, details: { group } },
    );
  }
}

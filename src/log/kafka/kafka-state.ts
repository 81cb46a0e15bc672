/**
 * Keyed state on Kafka: one compacted changelog topic per state namespace, `<prefix>-state.<namespace>`,
 * whose partition p holds state partition p (key = state key, value = state value, null = deleted).
 * The topic is created on the first write and grown (CreatePartitions) when a higher partition is written;
 * partitions are never re-hashed, since every record names its partition. Its compaction settings (segments of
 * an hour, cleaning at 10% dirty) are in kafka-compacted.ts.
 */
import { Isolation, type KafkaClient, OffsetSpec, offsetKey } from './kafka-client.js';
import { ensureCompactedTopic } from './kafka-compacted.js';
import { stateTopicName } from './kafka-names.js';
import { readToStable } from './kafka-reader.js';
import { checkNamespace, checkOffset } from './kafka-validation.js';

/** Makes sure the changelog topic exists with at least `count` partitions and the compaction settings. */
export async function ensureStateTopic(
  client: KafkaClient,
  topic: string,
  count: number,
  replicationFactor: number,
): Promise<void> {
  await ensureCompactedTopic(client, topic, count, replicationFactor);
}

/**
 * Rebuilds one state partition from its changelog (up to `until`, default its last stable offset):
 * last value per key, deletes dropped, sorted by key.
 */
export async function readStatePartition(
  client: KafkaClient,
  topic: string,
  partition: number,
  until?: bigint,
): Promise<Array<[string, string]>> {
  let meta = await client.topic(topic);
  if (meta === undefined || partition >= meta.partitions.length) meta = await client.topic(topic, true);
  if (meta === undefined || partition >= meta.partitions.length) return [];
  const state = new Map<string, Buffer>();
  await readToStable(
    client,
    topic,
    partition,
    0n,
    (r) => {
      if (r.key === null) return;
      const key = r.key.toString('utf8');
      if (r.value === null) state.delete(key);
      else state.set(key, r.value);
    },
    until,
  );
  // Byte order of the UTF-8 keys, as the embedded engine's SQLite sorts them.
  return [...state]
    .map(([key, value]) => [Buffer.from(key, 'utf8'), key, value] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]))
    .map(([, key, value]) => [key, value.toString('utf8')]);
}

/**
 * The writes of one state partition from changelog offset `from` up to its last stable offset: the last value per
 * key (null: deleted), in the order first written, and the offset to continue from; `from` -1 reads nothing and
 * gives the last stable offset. A partition (or topic) that does not exist yet has no writes.
 */
export async function readStateChanges(
  client: KafkaClient,
  topic: string,
  partition: number,
  from: bigint,
): Promise<{ changes: Array<[string, string | null]>; next: bigint }> {
  let meta = await client.topic(topic);
  if (meta === undefined || partition >= meta.partitions.length) meta = await client.topic(topic, true);
  if (meta === undefined || partition >= meta.partitions.length) return { changes: [], next: from < 0n ? 0n : from };
  if (from < 0n) {
    const ends = await client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, [{ topic, partition }]);
    return { changes: [], next: ends.get(offsetKey(topic, partition)) ?? 0n };
  }
  const changes = new Map<string, string | null>();
  const next = await readToStable(client, topic, partition, from, (r) => {
    if (r.key === null) return;
    changes.set(r.key.toString('utf8'), r.value === null ? null : r.value.toString('utf8'));
  });
  return { changes: [...changes], next };
}

/** `Log.readStateChanges` on Kafka: checks the arguments, then `readStateChanges` on the namespace's changelog. */
export async function stateChangesOf(
  client: KafkaClient,
  prefix: string,
  namespace: string,
  partition: number,
  from: number,
): Promise<{ changes: Array<[string, string | null]>; next: number }> {
  if (!Number.isInteger(partition) || partition < 0) return { changes: [], next: Math.max(0, from) };
  if (from !== -1) checkOffset(from, 'The changelog position to read from');
  const topic = stateTopicName(prefix, checkNamespace(namespace));
  const { changes, next } = await readStateChanges(client, topic, partition, BigInt(from));
  return { changes, next: Number(next) };
}

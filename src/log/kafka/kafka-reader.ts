/**
 * Reading one partition with Fetch, read-committed, without joining a consumer group.
 * Kafka sends aborted transactional batches too, with the list of aborted transactions beside them:
 * they are dropped here the way the Java consumer does it, and so are control batches (commit/abort markers).
 */
import type { fetchV15 } from '@platformatic/kafka';
import { SlipwayError } from '../../errors.js';
import type { Headers } from '../log.js';
import {
  Isolation,
  type IsolationLevel,
  type KafkaClient,
  OffsetSpec,
  offsetKey,
  unknownTopicError,
} from './kafka-client.js';
import { hasKafkaError } from './kafka-errors.js';

const TRANSACTIONAL = 0x10;
const CONTROL = 0x20;
const LOG_APPEND_TIME = 0x08;
const ABORT_MARKER = 0;

/** One record as it came off the wire. */
export interface RawRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: Array<[Buffer, Buffer]>;
  timestamp: number;
}

export interface FetchResult {
  records: RawRecord[];
  /** The offset to fetch from next (past control and aborted batches too). */
  next: bigint;
  /** The partition's last stable offset: the end of committed data. */
  lastStable: bigint;
  highWatermark: bigint;
}

/** Decodes one fetched partition, keeping committed data records at or after `from`. */
export function decodePartition(partition: fetchV15.FetchResponsePartition, from: bigint): FetchResult {
  const aborted = [...partition.abortedTransactions].sort((a, b) =>
    a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0,
  );
  const abortedProducers = new Set<bigint>();
  const records: RawRecord[] = [];
  let next = from;
  for (const batch of partition.records ?? []) {
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta);
    if (last < from) continue;
    const attributes = batch.attributes;
    if ((attributes & TRANSACTIONAL) !== 0) {
      while (aborted.length > 0 && (aborted[0] as { firstOffset: bigint }).firstOffset <= last) {
        abortedProducers.add((aborted.shift() as { producerId: bigint }).producerId);
      }
    }
    next = last + 1n;
    if ((attributes & CONTROL) !== 0) {
      const key = batch.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === ABORT_MARKER) abortedProducers.delete(batch.producerId);
      continue;
    }
    if ((attributes & TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue;
    const appendTime = (attributes & LOG_APPEND_TIME) !== 0;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue;
      records.push({
        offset: Number(offset),
        key: r.key ?? null,
        value: r.value ?? null,
        headers: r.headers as Array<[Buffer, Buffer]>,
        timestamp: Number(appendTime ? batch.maxTimestamp : batch.firstTimestamp + r.timestampDelta),
      });
    }
  }
  return { records, next, lastStable: partition.lastStableOffset, highWatermark: partition.highWatermark };
}

export interface FetchOptions {
  isolation?: IsolationLevel;
  maxBytes?: number;
  /** Long-poll: how long the broker may wait for data (default 0: answer at once). */
  maxWaitMs?: number;
}

/** Fetches one partition from `from`. Offsets past the end come back empty; offsets before the log start throw. */
export async function fetchPartition(
  client: KafkaClient,
  topic: string,
  partition: number,
  from: bigint,
  options: FetchOptions = {},
): Promise<FetchResult> {
  const apis = await client.apis();
  const maxBytes = options.maxBytes ?? 1 << 20;
  return client.retry(`reading ${topic}/${partition}`, async () => {
    const meta = await client.topic(topic);
    const leader = meta?.partitions[partition]?.leader;
    if (meta === undefined || leader === undefined) throw unknownTopicError(topic);
    try {
      const response = await apis.fetch.async(
        await client.connection(leader),
        options.maxWaitMs ?? 0,
        1,
        maxBytes,
        options.isolation ?? Isolation.READ_COMMITTED,
        0,
        -1,
        [
          {
            topicId: meta.id,
            partitions: [
              {
                partition,
                fetchOffset: from,
                currentLeaderEpoch: -1,
                lastFetchedEpoch: -1,
                partitionMaxBytes: maxBytes,
              },
            ],
          },
        ],
        [],
        '',
      );
      const p = response.responses[0]?.partitions[0];
      if (p === undefined) return { records: [], next: from, lastStable: from, highWatermark: from };
      return decodePartition(p, from);
    } catch (err) {
      if (!hasKafkaError(err, ['OFFSET_OUT_OF_RANGE'])) throw err;
      return outOfRange(client, topic, partition, from, err);
    }
  });
}

async function outOfRange(
  client: KafkaClient,
  topic: string,
  partition: number,
  from: bigint,
  cause: unknown,
): Promise<FetchResult> {
  const key = offsetKey(topic, partition);
  const tp = [{ topic, partition }];
  const end = (await client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, tp)).get(key) ?? 0n;
  if (from >= end) return { records: [], next: from, lastStable: end, highWatermark: end };
  const start = (await client.listOffsets(Isolation.READ_UNCOMMITTED, OffsetSpec.EARLIEST, tp)).get(key) ?? 0n;
  throw new SlipwayError(
    'SLIPWAY_INVALID_OFFSET',
    `Offset ${from} of ${topic}/${partition} is no longer in Kafka: the partition now starts at ${start} (retention deleted older records). Read from ${start} or later.`,
    { cause, details: { topic, partition, offset: Number(from), logStart: Number(start) } },
  );
}

/**
 * Reads a partition from `from` up to `until` (default: its last stable offset at the first fetch), calling
 * `each` for every committed record. Returns the offset it stopped at. Used to rebuild state and the owners view.
 */
export async function readToStable(
  client: KafkaClient,
  topic: string,
  partition: number,
  from: bigint,
  each: (record: RawRecord) => void,
  until?: bigint,
): Promise<bigint> {
  let position = from;
  let target = until;
  for (;;) {
    let result: FetchResult;
    try {
      result = await fetchPartition(client, topic, partition, position);
    } catch (err) {
      // Compaction never moves the log start, but retention on a mis-configured topic may: go on from there.
      const logStart = logStartOf(err);
      if (logStart === undefined || logStart <= position) throw err;
      position = logStart;
      continue;
    }
    target ??= result.lastStable;
    for (const r of result.records) if (BigInt(r.offset) < target) each(r);
    if (result.next <= position || result.next >= target) return result.next < target ? position : target;
    position = result.next;
  }
}

/**
 * The offset just past the last committed data record below `lastStable`: where a reader that has read
 * everything stands. Commit markers and aborted records after that record do not count, so it equals the
 * last stable offset only when the partition ends with a plain append. 0 (or the log start) when empty.
 */
export async function committedEnd(
  client: KafkaClient,
  topic: string,
  partition: number,
  lastStable: bigint,
): Promise<bigint> {
  let floor = 0n;
  // A transaction's marker is the record just before the LSO: look two back first, then further.
  for (let back = 2n; ; back *= 8n) {
    const from = lastStable - back > floor ? lastStable - back : floor;
    let last: bigint | undefined;
    try {
      await readToStable(
        client,
        topic,
        partition,
        from,
        (r) => {
          last = BigInt(r.offset);
        },
        lastStable,
      );
    } catch (err) {
      const logStart = logStartOf(err);
      if (logStart === undefined || logStart <= floor) throw err;
      floor = logStart;
      back /= 8n;
      continue;
    }
    if (last !== undefined) return last + 1n;
    if (from <= floor) return floor < lastStable ? floor : lastStable;
  }
}

/**
 * The number of committed data records of a partition, from its log start to its last stable offset: what a
 * read-committed reader gets. Markers, aborted records and what retention or compaction removed are not counted;
 * Kafka keeps no such count, so the partition is read.
 */
export async function countCommitted(client: KafkaClient, topic: string, partition: number): Promise<number> {
  const key = offsetKey(topic, partition);
  const tp = [{ topic, partition }];
  const start = (await client.listOffsets(Isolation.READ_UNCOMMITTED, OffsetSpec.EARLIEST, tp)).get(key) ?? 0n;
  const lastStable = (await client.listOffsets(Isolation.READ_COMMITTED, OffsetSpec.LATEST, tp)).get(key) ?? 0n;
  let count = 0;
  if (lastStable > start) {
    await readToStable(
      client,
      topic,
      partition,
      start,
      () => {
        count++;
      },
      lastStable,
    );
  }
  return count;
}

function logStartOf(err: unknown): bigint | undefined {
  const e = err as { code?: unknown; details?: { logStart?: unknown } };
  const logStart = e.details?.logStart;
  return e.code === 'SLIPWAY_INVALID_OFFSET' && typeof logStart === 'number' ? BigInt(logStart) : undefined;
}

/** Kafka headers as record headers; a repeated key keeps its last value, a null value reads as ''. */
export function decodeHeaders(headers: ReadonlyArray<[Buffer, Buffer | null]>): Headers {
  const out: Headers = {};
  for (const [k, v] of headers) out[k.toString('utf8')] = v === null ? '' : v.toString('utf8');
  return out;
}

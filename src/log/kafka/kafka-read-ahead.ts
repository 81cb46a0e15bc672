/**
 * What a Fetch returned beyond what `read` was asked for, kept for the read that continues where it stopped.
 * A Fetch brings up to 1 MiB of a partition (thousands of records) while a runner asks for a batch's worth:
 * without this, each batch fetched and decoded the same bytes again. Only committed records are kept (they
 * never change), briefly, keyed by the offset the next read will start at, so readers at other positions
 * (another runner on the same handle) never see them.
 */
import type { LogRecord } from '../log.js';
import type { ValueCodec } from '../value-codec.js';
import type { KafkaClient } from './kafka-client.js';
import { decodeHeaders, fetchPartition, type RawRecord } from './kafka-reader.js';

/** Records left over from one fetch, from `records[index]` on. */
export interface ReadAheadEntry {
  records: RawRecord[];
  index: number;
  /** Where the fetch that gave them ended (past control and aborted batches): the next fetch starts there. */
  next: bigint;
  /** True when that fetch reached the partition's last stable offset. */
  reachedEnd: boolean;
  at: number;
}

/** Longest time leftovers are kept (a topic deleted and created again must not serve old records for long). */
const MAX_AGE_MS = 5_000;
/** Most entries kept; the oldest goes first. */
const MAX_ENTRIES = 256;

export class ReadAhead {
  readonly #entries = new Map<string, ReadAheadEntry>();

  static #key(topic: string, partition: number, from: number): string {
    return `${topic}\u0000${partition}\u0000${from}`;
  }

  /** Takes (and removes) the leftovers of `topic/partition` starting exactly at `from`. */
  take(topic: string, partition: number, from: number): ReadAheadEntry | undefined {
    const key = ReadAhead.#key(topic, partition, from);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    return Date.now() - entry.at <= MAX_AGE_MS ? entry : undefined;
  }

  /** Keeps leftovers for the read that will start at `from`. */
  keep(topic: string, partition: number, from: number, entry: ReadAheadEntry): void {
    if (this.#entries.size >= MAX_ENTRIES) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(ReadAhead.#key(topic, partition, from), entry);
  }

  clear(): void {
    this.#entries.clear();
  }
}

/**
 * `Log.read` on Kafka: up to `max` committed records of a partition from `fromOffset`, served first from what an
 * earlier read kept, then fetched; what a fetch brings beyond `max` is kept for the read that continues there.
 * `sawEnd` is told the partition's last stable offset whenever a fetch reaches it. With a `codec`, values are
 * decoded by it (the read-ahead keeps raw bytes, so handles with other codecs share it); without, as UTF-8.
 */
export async function readWithReadAhead(
  client: KafkaClient,
  readAhead: ReadAhead,
  topic: string,
  partition: number,
  fromOffset: number,
  max: number,
  sawEnd: (lastStable: bigint) => void,
  codec?: ValueCodec,
): Promise<LogRecord[]> {
  const raw = await readRaw(client, readAhead, topic, partition, fromOffset, max, sawEnd);
  const out = new Array<LogRecord>(raw.length);
  for (let i = 0; i < raw.length; i++) {
    const r = raw[i] as RawRecord;
    out[i] = {
      topic,
      partition,
      offset: r.offset,
      key: r.key === null ? null : r.key.toString('utf8'),
      // Slipway never writes null values; another producer's tombstone reads as ''.
      value: codec !== undefined || r.value === null ? '' : r.value.toString('utf8'),
      headers: decodeHeaders(r.headers),
      timestamp: r.timestamp,
    };
  }
  if (codec === undefined || raw.length === 0) return out;
  // Decoded after the fetch, all at once: a registry unreachable throws here, before anything is handed out.
  const decoded = await codec.decode(raw.map((r) => r.value));
  for (let i = 0; i < out.length; i++) {
    const d = decoded[i];
    const record = out[i] as LogRecord;
    if (typeof d === 'string') record.value = d;
    else if (d !== undefined) record.undecodable = d;
  }
  return out;
}

/** The raw records of `readWithReadAhead`, bytes as fetched. */
async function readRaw(
  client: KafkaClient,
  readAhead: ReadAhead,
  topic: string,
  partition: number,
  fromOffset: number,
  max: number,
  sawEnd: (lastStable: bigint) => void,
): Promise<RawRecord[]> {
  const limit = Math.max(0, Math.floor(max));
  const out: RawRecord[] = [];
  const push = (r: RawRecord) => out.push(r);
  /** Keeps what is left of a fetch for the read that continues after the last record returned. */
  const keep = (records: RawRecord[], index: number, next: bigint, reachedEnd: boolean) => {
    if (index >= records.length || out.length === 0 || limit === 0) return;
    const from = (out[out.length - 1] as RawRecord).offset + 1;
    readAhead.keep(topic, partition, from, { records, index, next, reachedEnd, at: Date.now() });
  };
  let position = BigInt(fromOffset);
  const ahead = limit > 0 ? readAhead.take(topic, partition, fromOffset) : undefined;
  if (ahead !== undefined) {
    let i = ahead.index;
    while (i < ahead.records.length && out.length < limit) push(ahead.records[i++] as RawRecord);
    if (i < ahead.records.length) {
      keep(ahead.records, i, ahead.next, ahead.reachedEnd);
      return out;
    }
    // All of it served: go on after that fetch, unless it had reached the end (then a fetch is worth it
    // only when nothing was served).
    if (ahead.reachedEnd && out.length > 0) return out;
    position = ahead.next;
  }
  while (out.length < limit) {
    const result = await fetchPartition(client, topic, partition, position);
    let i = 0;
    while (i < result.records.length && out.length < limit) push(result.records[i++] as RawRecord);
    const reachedEnd = result.next >= result.lastStable;
    if (reachedEnd) sawEnd(result.lastStable);
    if (i < result.records.length) keep(result.records, i, result.next, reachedEnd);
    if (result.next <= position || reachedEnd) break;
    position = result.next;
  }
  return out;
}

/** Turning `Log` records and state writes into Kafka records (after their topics and partitions are checked). */
import { SlipwayError } from '../../errors.js';
import type { AppendRecord, CommitResult, StateWrite } from '../log.js';
import { checkRecordFields } from '../log-checks.js';
import type { ValueCodec } from '../value-codec.js';
import { encodeHeaders, type OutgoingRecord } from './kafka-producer.js';

/**
 * Output or appended records: UTF-8 key, the value as `codec` encodes it (prepared by the caller) or UTF-8, headers
 * as Kafka headers, timestamp defaulting to `now`.
 */
export function toOutgoing(
  topic: string,
  records: ReadonlyArray<AppendRecord>,
  now: number,
  codec?: ValueCodec,
): OutgoingRecord[] {
  const out = new Array<OutgoingRecord>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as AppendRecord;
    checkRecordFields(topic, r, i);
    out[i] = {
      topic,
      partition: r.partition,
      key: r.key === null || r.key === undefined ? null : Buffer.from(r.key, 'utf8'),
      value: codec === undefined ? Buffer.from(r.value, 'utf8') : asBuffer(codec.encode(r.value)),
      headers: encodeHeaders(r.headers),
      timestamp: BigInt(r.timestamp ?? now),
    };
  }
  return out;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** How many changelog partitions the writes need (highest partition + 1); checks keys and partitions. */
export function statePartitionsNeeded(namespace: string, writes: ReadonlyArray<StateWrite>): number {
  let partitions = 0;
  for (const w of writes) {
    if (!Number.isInteger(w.partition) || w.partition < 0 || typeof w.key !== 'string') {
      throw new SlipwayError(
        'SLIPWAY_VALIDATION',
        `State write for key '${String(w.key)}' needs a string key and a partition ≥ 0, got partition ${w.partition}.`,
        { details: { namespace, partition: w.partition } },
      );
    }
    if (w.value !== null && typeof w.value !== 'string') {
      throw new SlipwayError('SLIPWAY_VALIDATION', `State write for key '${w.key}' needs a string value or null.`, {
        details: { namespace, key: w.key },
      });
    }
    partitions = Math.max(partitions, w.partition + 1);
  }
  return partitions;
}

/** Changelog records: key = state key, value = state value, null (a tombstone) = deleted. */
export function stateRecords(topic: string, writes: ReadonlyArray<StateWrite>, now: number): OutgoingRecord[] {
  return writes.map((w) => ({
    topic,
    partition: w.partition,
    key: Buffer.from(w.key, 'utf8'),
    value: w.value === null ? null : Buffer.from(w.value, 'utf8'),
    headers: new Map(),
    timestamp: BigInt(now),
  }));
}

/**
 * A commit's result from the offsets Kafka assigned to its records (outputs first, then state records): the
 * outputs' offsets by topic and, when it wrote state, the changelog position past its writes per state partition
 * (where a warm copy continues). `each` sees every record with its offset.
 */
export function commitResult(
  records: ReadonlyArray<OutgoingRecord>,
  assigned: ReadonlyArray<number>,
  outputCount: number,
  each: (record: OutgoingRecord, offset: number) => void,
): CommitResult {
  const offsets: Record<string, number[]> = {};
  const stateNext: Record<number, number> = {};
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as OutgoingRecord;
    const offset = assigned[i] as number;
    each(r, offset);
    if (i >= outputCount) {
      stateNext[r.partition] = offset + 1;
      continue;
    }
    const list = offsets[r.topic];
    if (list === undefined) offsets[r.topic] = [offset];
    else list.push(offset);
  }
  return records.length > outputCount ? { offsets, stateNext } : { offsets };
}

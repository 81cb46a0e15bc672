import type { AppendRecord, CommitBatch } from '../log.js';
import {
  compactPrefix,
  type EncodedRecords,
  encodeHeaders,
  MAX_BATCH_CHARS,
  MAX_BATCH_RECORDS,
  MAX_PARTITION,
  type RecordBatch,
  SOURCE_HEADER,
  sourceOnly,
  TOGGLES_HEADER,
} from './record-batch.js';

/**
 * A commit batch packed for the trip to the commit thread: each output topic's records already cut
 * into the batches the log stores (see record-batch.ts), their keys, values and headers written as
 * UTF-8 straight into one buffer per topic (an arena) that postMessage moves instead of copying. The
 * main thread is the one a pipeline waits for, and this is the cheapest form for it: one pass to size
 * the batches, one `utf8Write` per text. (Building each batch's texts as strings first, as the log
 * stores them, then encoding those, cost it several times more: the long strings had to be flattened
 * and measured, or cloned by postMessage.) The commit thread turns the bytes back into the strings the
 * log stores (`unpackBatch`): a lone surrogate becomes U+FFFD on the way, one character for one, as
 * record-batch.ts does, so every length still holds.
 */
export interface PackedOutputs {
  topic: string;
  encoded: EncodedRecords;
}

/** A record batch as it travels: its texts are byte ranges of the topic's arena. */
export interface WireRecordBatch extends Omit<RecordBatch, 'keys' | 'values' | 'headers'> {
  /** Start and end (exclusive) in the arena of the values, the keys and the headers. */
  ranges: [number, number, number, number, number, number];
}

export interface WireOutputs {
  topic: string;
  count: number;
  partitions: Int32Array;
  arena: Uint8Array;
  batches: WireRecordBatch[];
}

export interface PackedBatch extends Omit<CommitBatch, 'outputs'> {
  packed: PackedOutputs[];
}

export interface WireBatch extends Omit<CommitBatch, 'outputs'> {
  wire: WireOutputs[];
}

interface Sizing {
  partition: number;
  count: number;
  valueChars: number;
  keyChars: number;
  headerChars: number;
  timed: boolean;
  /** The batch's interned `slipway-toggles` values (see compactSourceAndToggles). */
  interned: Map<string, number>;
}

/** Buffer's own UTF-8 writer, without `write`'s argument juggling (it is on every Buffer). */
interface Utf8Writer {
  utf8Write(text: string, offset: number): number;
}

/** A UTF-8 text takes at most 3 bytes per UTF-16 code unit (a surrogate pair: 4 bytes for 2). */
const MAX_BYTES_PER_CHAR = 3;

/**
 * Packs one topic's records, or returns undefined when a record is malformed (a value that is not a
 * string, a key that is not a string or null, a partition that is not a whole number in range): the
 * batch then travels unpacked, for the log to refuse with a precise error.
 */
export function packRecords(topic: string, records: ReadonlyArray<AppendRecord>): WireOutputs | undefined {
  const n = records.length;
  const partitions = new Int32Array(n);
  const batchOf = new Int32Array(n);
  const headerTexts = new Array<string | undefined>(n);
  /** Per record with a compact source and toggles header: the text before its source (headerTexts holds the source). */
  const headerPrefixes = new Array<string | undefined>(n);
  /** Per record: -1 no headers, -2 only a source header, 1 header JSON, 2 a compact prefix and the source. */
  const headerKinds = new Int8Array(n);
  const sizes: Sizing[] = [];
  const open: Array<number | undefined> = [];
  for (let i = 0; i < n; i++) {
    const r = records[i] as AppendRecord;
    const p = r.partition;
    const value = r.value;
    const key = r.key;
    if (typeof value !== 'string' || !Number.isInteger(p) || p < 0 || p > MAX_PARTITION) return undefined;
    if (key !== null && key !== undefined && typeof key !== 'string') return undefined;
    partitions[i] = p;
    let at = open[p];
    if (at === undefined) {
      at = sizes.length;
      sizes.push({
        partition: p,
        count: 0,
        valueChars: 0,
        keyChars: 0,
        headerChars: 0,
        timed: false,
        interned: new Map(),
      });
      open[p] = at;
    }
    const s = sizes[at] as Sizing;
    batchOf[i] = at;
    const h = r.headers;
    const compact = h?.[TOGGLES_HEADER] === undefined ? undefined : compactPrefix(h, s.interned);
    const source = h === undefined || compact !== undefined ? undefined : sourceOnly(h);
    if (compact !== undefined) {
      const text = (h as Record<string, string>)[SOURCE_HEADER] as string;
      headerKinds[i] = 2;
      headerPrefixes[i] = compact;
      headerTexts[i] = text;
      s.headerChars += compact.length + text.length;
    } else if (source !== undefined) {
      headerKinds[i] = -2;
      headerTexts[i] = source;
      s.headerChars += source.length;
    } else {
      const json = h === undefined ? null : encodeHeaders(h);
      if (json === null) headerKinds[i] = -1;
      else {
        headerKinds[i] = 1;
        headerTexts[i] = json;
        s.headerChars += json.length;
      }
    }
    s.count++;
    s.valueChars += value.length;
    if (typeof key === 'string') s.keyChars += key.length;
    if (r.timestamp !== undefined) s.timed = true;
    if (s.count >= MAX_BATCH_RECORDS || s.valueChars >= MAX_BATCH_CHARS) open[p] = undefined;
  }
  let total = 0;
  for (const s of sizes) total += s.valueChars + s.keyChars + s.headerChars;
  // Room for the worst case; only the bytes written are ever touched (the pages of an unused tail are
  // never faulted in), and the whole buffer is moved to the commit thread.
  const arena = Buffer.allocUnsafeSlow(MAX_BYTES_PER_CHAR * total) as Buffer & Utf8Writer;
  const batches: WireRecordBatch[] = [];
  /** Per batch: next record, and the write positions of values, keys and headers. */
  const cursor = new Int32Array(4 * sizes.length);
  let offset = 0;
  for (let b = 0; b < sizes.length; b++) {
    const s = sizes[b] as Sizing;
    const v = offset;
    const k = v + MAX_BYTES_PER_CHAR * s.valueChars;
    const hd = k + MAX_BYTES_PER_CHAR * s.keyChars;
    offset = hd + MAX_BYTES_PER_CHAR * s.headerChars;
    cursor[4 * b + 1] = v;
    cursor[4 * b + 2] = k;
    cursor[4 * b + 3] = hd;
    batches.push({
      partition: s.partition,
      count: s.count,
      lengths: new Int32Array(3 * s.count),
      timestamps: s.timed ? new Float64Array(s.count).fill(Number.NaN) : undefined,
      ranges: [v, 0, k, 0, hd, 0],
    });
  }
  for (let i = 0; i < n; i++) {
    const r = records[i] as AppendRecord;
    const b = batchOf[i] as number;
    const c = 4 * b;
    const j = cursor[c] as number;
    cursor[c] = j + 1;
    const batch = batches[b] as WireRecordBatch;
    const lengths = batch.lengths;
    const value = r.value;
    lengths[3 * j] = value.length;
    (cursor[c + 1] as number) += arena.utf8Write(value, cursor[c + 1] as number);
    const key = r.key;
    if (typeof key === 'string') {
      lengths[3 * j + 1] = key.length;
      if (key.length > 0) (cursor[c + 2] as number) += arena.utf8Write(key, cursor[c + 2] as number);
    } else lengths[3 * j + 1] = -1;
    const kind = headerKinds[i] as number;
    if (kind === -1) lengths[3 * j + 2] = -1;
    else if (kind === 2) {
      const prefix = headerPrefixes[i] as string;
      const text = headerTexts[i] as string;
      lengths[3 * j + 2] = prefix.length + text.length;
      // The prefix is ASCII (marks, an index, a plain toggles value): byte by byte, cheaper than a utf8Write call.
      let at = cursor[c + 3] as number;
      for (let q = 0; q < prefix.length; q++) arena[at++] = prefix.charCodeAt(q);
      cursor[c + 3] = at;
      if (text.length > 0) (cursor[c + 3] as number) += arena.utf8Write(text, cursor[c + 3] as number);
    } else {
      const text = headerTexts[i] as string;
      lengths[3 * j + 2] = kind === -2 ? -2 - text.length : text.length;
      if (text.length > 0) (cursor[c + 3] as number) += arena.utf8Write(text, cursor[c + 3] as number);
    }
    if (batch.timestamps !== undefined && r.timestamp !== undefined) batch.timestamps[j] = r.timestamp;
  }
  for (let b = 0; b < batches.length; b++) {
    const ranges = (batches[b] as WireRecordBatch).ranges;
    ranges[1] = cursor[4 * b + 1] as number;
    ranges[3] = cursor[4 * b + 2] as number;
    ranges[5] = cursor[4 * b + 3] as number;
  }
  return { topic, count: n, partitions, arena, batches };
}

/** Packs a batch, or returns undefined when a record is malformed: it then travels as it is, to be refused there. */
export function packBatch(batch: CommitBatch): WireBatch | undefined {
  const wire: WireOutputs[] = [];
  for (const out of batch.outputs ?? []) {
    const packed = packRecords(out.topic, out.records);
    if (packed === undefined) return undefined;
    wire.push(packed);
  }
  const { outputs: _outputs, ...rest } = batch;
  return { ...rest, wire };
}

/** The commit thread's side: the packed outputs with their texts as the strings the log stores. */
export function unpackBatch(batch: WireBatch): PackedBatch {
  const { wire, ...rest } = batch;
  return {
    ...rest,
    packed: wire.map((w) => {
      const arena = Buffer.from(w.arena.buffer, w.arena.byteOffset, w.arena.byteLength);
      return {
        topic: w.topic,
        encoded: {
          count: w.count,
          partitions: w.partitions,
          batches: w.batches.map(
            ({ ranges, ...b }): RecordBatch => ({
              ...b,
              values: arena.toString('utf8', ranges[0], ranges[1]),
              keys: arena.toString('utf8', ranges[2], ranges[3]),
              headers: arena.toString('utf8', ranges[4], ranges[5]),
            }),
          ),
        },
      };
    }),
  };
}

/** The buffers postMessage can move (not copy) to the commit thread. */
export function packedTransferables(batch: WireBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const w of batch.wire) {
    out.push(w.partitions.buffer as ArrayBuffer, w.arena.buffer as ArrayBuffer);
    for (const b of w.batches) {
      out.push(b.lengths.buffer as ArrayBuffer);
      if (b.timestamps !== undefined) out.push(b.timestamps.buffer as ArrayBuffer);
    }
  }
  return out;
}

import type { AppendRecord, Headers, LogRecord } from '../log.js';

/**
 * The embedded log stores records in batches, like Kafka's record batches: one SQLite row holds up to
 * MAX_BATCH_RECORDS consecutive records of one partition, keyed by the offset of its first record (its
 * base). Keys, values and headers of the batch are each one string, cut apart by a table of lengths,
 * so an append writes one row per partition instead of one per record, and a read turns a few rows
 * into records with `substring` instead of asking SQLite for every column of every record.
 * The lengths (int32) and timestamps (float64) are stored in the machine's byte order: little-endian
 * on every platform Node.js runs on in practice.
 */
export const MAX_BATCH_RECORDS = 1000;

/** A batch is closed past this many value characters too, so rows stay far below SQLite's 1 GB limit. */
export const MAX_BATCH_CHARS = 1 << 20;

/** Consecutive records of one partition, encoded as they are stored. */
export interface RecordBatch {
  partition: number;
  count: number;
  /**
   * Three lengths per record, in UTF-16 code units: its value's, its key's (-1: null) and its headers'
   * (-1: none; n ≥ 0: n characters of header JSON, or of a compact source and toggles header (see
   * `compactSourceAndToggles`); n ≤ -2: only a `slipway-source` header, whose value, stored as it is, has
   * -2 - n characters: the runner puts one on every output).
   */
  lengths: Int32Array;
  keys: string;
  values: string;
  headers: string;
  /** Each record's own timestamp (NaN: the commit time), or undefined when none has its own. */
  timestamps: Float64Array | undefined;
}

/** One append's records, encoded: its batches and, to hand back offsets in order, each record's partition. */
export interface EncodedRecords {
  count: number;
  partitions: Int32Array;
  batches: RecordBatch[];
}

export const SOURCE_HEADER = 'slipway-source';
export const TOGGLES_HEADER = 'slipway-toggles';

/** The value of the headers' only header when that is `slipway-source`, else undefined. */
export function sourceOnly(headers: Headers): string | undefined {
  let value: string | undefined;
  for (const name in headers) {
    if (value !== undefined || name !== SOURCE_HEADER) return undefined;
    value = headers[name];
    if (typeof value !== 'string' || !(value as unknown as WellFormed).isWellFormed()) return undefined;
  }
  return value;
}

/** The most distinct `slipway-toggles` values one stored batch interns (one character names each). */
export const MAX_INTERNED_TOGGLES = 64;

/** Marks a compact header text that defines a toggles value: `\u0001<toggles>\u0001<source>`. */
const DEFINE = 1;
/** Marks a compact header text that names a toggles value defined earlier in its batch: `\u0002<index><source>`. */
const REFER = 2;
/** The character naming interned value k: printable, never a JSON text's first character `{`. */
const INDEX_BASE = 0x30;

/** The prefixes naming interned values 0..63, built once. */
const REFER_PREFIXES = Array.from({ length: MAX_INTERNED_TOGGLES }, (_, k) =>
  String.fromCharCode(REFER, INDEX_BASE + k),
);

/**
 * The stored text of `{ slipway-source, slipway-toggles }` (a pipeline with toggles puts both on every output)
 * when the toggles value needs no escaping and the source is well formed, else undefined. A stored batch's outputs take few distinct toggles values
 * (the combinations of variants at one toggle version), so each value is written in full once per batch and
 * named by one character afterwards: `interned` maps the batch's values to their index, in the order a reader
 * meets them (see `decodeBatches`). Header JSON always starts with `{`, so a reader tells the forms apart by
 * the first character.
 */
export function compactSourceAndToggles(headers: Headers, interned: Map<string, number>): string | undefined {
  const prefix = compactPrefix(headers, interned);
  return prefix === undefined ? undefined : prefix + (headers[SOURCE_HEADER] as string);
}

/**
 * The stored text of compactSourceAndToggles without its source (which follows it as it is): callers that write
 * texts out piece by piece save building one more string per record.
 */
export function compactPrefix(headers: Headers, interned: Map<string, number>): string | undefined {
  let n = 0;
  for (const name in headers) {
    if (name !== SOURCE_HEADER && name !== TOGGLES_HEADER) return undefined;
    n++;
  }
  const source = headers[SOURCE_HEADER];
  const toggles = headers[TOGGLES_HEADER];
  // The source follows the prefix to the end of the text, so it may hold any character SQLite keeps: it only has
  // to be well formed, as a lone source header's value (a one-byte string is, without a scan).
  if (
    n !== 2 ||
    typeof source !== 'string' ||
    typeof toggles !== 'string' ||
    !(source as unknown as WellFormed).isWellFormed()
  )
    return undefined;
  // An interned value was found plain when it was first met.
  const k = interned.get(toggles);
  if (k !== undefined) return REFER_PREFIXES[k] as string;
  if (!plain(toggles)) return undefined;
  if (interned.size < MAX_INTERNED_TOGGLES) interned.set(toggles, interned.size);
  return `\u0001${toggles}\u0001`;
}

/**
 * The headers of a stored header text (JSON, or a compact source and toggles text); `interned` gathers the
 * batch's toggles values as they are met, records in order from the batch's first.
 */
function decodeHeaders(text: string, interned: string[]): Headers {
  const first = text.charCodeAt(0);
  if (first === DEFINE) {
    const cut = text.indexOf('\u0001', 1);
    const toggles = text.substring(1, cut);
    if (interned.length < MAX_INTERNED_TOGGLES) interned.push(toggles);
    return { [SOURCE_HEADER]: text.substring(cut + 1), [TOGGLES_HEADER]: toggles };
  }
  if (first === REFER) {
    return {
      [SOURCE_HEADER]: text.substring(2),
      [TOGGLES_HEADER]: interned[text.charCodeAt(1) - INDEX_BASE] as string,
    };
  }
  return JSON.parse(text) as Headers;
}

/** Like `decodeHeaders` for a record read past: only the batch's interned toggles values are gathered. */
function internFrom(text: string, interned: string[]): void {
  if (text.charCodeAt(0) === DEFINE && interned.length < MAX_INTERNED_TOGGLES)
    interned.push(text.substring(1, text.indexOf('\u0001', 1)));
}

/** JSON of a record's headers, or null when it has none. */
export function encodeHeaders(headers: Headers): string | null {
  for (const _ in headers) return JSON.stringify(headers);
  return null;
}

/** True when `text` is printable ASCII without `"` or `\` (so it holds no compact header's marks either). */
function plain(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return false;
  }
  return true;
}

interface Builder {
  partition: number;
  count: number;
  lengths: Int32Array;
  // Built with += (ropes V8 flattens once): several times faster than pushing to arrays and joining.
  keys: string;
  values: string;
  headers: string;
  timestamps: number[] | undefined;
  /** The batch's interned `slipway-toggles` values. */
  interned: Map<string, number>;
}

function newBuilder(partition: number): Builder {
  return {
    partition,
    count: 0,
    lengths: new Int32Array(3 * MAX_BATCH_RECORDS),
    keys: '',
    values: '',
    headers: '',
    timestamps: undefined,
    interned: new Map(),
  };
}

/** ES2024 string methods (Node 20 has them; the TypeScript lib here is ES2023). */
interface WellFormed {
  isWellFormed(): boolean;
  toWellFormed(): string;
}

/**
 * SQLite stores text as UTF-8, where a lone surrogate cannot be kept: it would come back as three
 * characters and shift every later record of the batch. Each one becomes U+FFFD (one character, so
 * the lengths hold). Header JSON needs nothing: JSON.stringify escapes lone surrogates.
 */
function wellFormed(text: string): string {
  const t = text as unknown as WellFormed;
  return t.isWellFormed() ? text : t.toWellFormed();
}

function finish(b: Builder): RecordBatch {
  return {
    partition: b.partition,
    count: b.count,
    lengths: b.lengths.subarray(0, 3 * b.count),
    keys: b.keys,
    values: b.values,
    headers: b.headers,
    timestamps: b.timestamps === undefined ? undefined : Float64Array.from(b.timestamps),
  };
}

/** The highest partition number encoded; larger ones go the slow way, to be refused by the log. */
export const MAX_PARTITION = 100_000;

/**
 * Encodes records into batches per partition (records of a partition keep their order), or returns
 * undefined when a record is malformed (a value that is not a string, a partition that is not a whole
 * number in range): the log then checks the records one by one and refuses with a precise error.
 */
export function encodeRecords(records: ReadonlyArray<AppendRecord>): EncodedRecords | undefined {
  const n = records.length;
  const partitions = new Int32Array(n);
  const open: Array<Builder | undefined> = [];
  const batches: RecordBatch[] = [];
  for (let i = 0; i < n; i++) {
    const r = records[i] as AppendRecord;
    const p = r.partition;
    const value = r.value;
    if (typeof value !== 'string' || !Number.isInteger(p) || p < 0 || p > MAX_PARTITION) return undefined;
    partitions[i] = p;
    let b = open[p];
    if (b === undefined) {
      b = newBuilder(p);
      open[p] = b;
    }
    const key = r.key;
    const at = 3 * b.count;
    const lengths = b.lengths;
    if (key === null || key === undefined) lengths[at + 1] = -1;
    else if (typeof key === 'string') {
      lengths[at + 1] = key.length;
      b.keys += wellFormed(key);
    } else return undefined;
    const h = r.headers;
    const compact = h?.[TOGGLES_HEADER] === undefined ? undefined : compactSourceAndToggles(h, b.interned);
    const source = h === undefined || compact !== undefined ? undefined : sourceOnly(h);
    if (source !== undefined) {
      lengths[at + 2] = -2 - source.length;
      b.headers += source;
    } else {
      const json = compact ?? (h === undefined ? null : encodeHeaders(h));
      if (json === null) lengths[at + 2] = -1;
      else {
        lengths[at + 2] = json.length;
        b.headers += json;
      }
    }
    lengths[at] = value.length;
    b.values += wellFormed(value);
    const ts = r.timestamp;
    if (ts !== undefined) {
      if (b.timestamps === undefined) b.timestamps = new Array<number>(b.count).fill(Number.NaN);
      b.timestamps.push(ts);
    } else if (b.timestamps !== undefined) b.timestamps.push(Number.NaN);
    b.count++;
    if (b.count >= MAX_BATCH_RECORDS || b.values.length >= MAX_BATCH_CHARS) {
      batches.push(finish(b));
      open[p] = undefined;
    }
  }
  for (const b of open) if (b !== undefined) batches.push(finish(b));
  return { count: n, partitions, batches };
}

/** A stored batch as read back: [base, count, lengths, keys, values, headers, ts]. */
export type StoredBatch = [number, number, Uint8Array, string, string, string, number | Uint8Array];

/** The bytes of a typed array, for binding as a BLOB (no copy). */
export function blobOf(array: Int32Array | Float64Array): Buffer {
  return Buffer.from(array.buffer, array.byteOffset, array.byteLength);
}

function int32s(bytes: Uint8Array, count: number): Int32Array {
  // A typed array view needs an aligned offset: copy the (small) blob when it is not.
  const b = bytes.byteOffset % 4 === 0 ? bytes : new Uint8Array(bytes);
  return new Int32Array(b.buffer, b.byteOffset, count);
}

function float64s(bytes: Uint8Array, count: number): Float64Array {
  const b = bytes.byteOffset % 8 === 0 ? bytes : new Uint8Array(bytes);
  return new Float64Array(b.buffer, b.byteOffset, count);
}

/** Shared by every record read without headers (frozen: readers must not add to it). */
const NO_HEADERS: Headers = Object.freeze({}) as Headers;

/**
 * Appends to `out` the records of stored batches (in base order) from offset `from`, until `out`
 * holds `max` records.
 */
export function decodeBatches(
  rows: ReadonlyArray<StoredBatch>,
  topic: string,
  partition: number,
  from: number,
  max: number,
  out: LogRecord[],
): void {
  for (const row of rows) {
    const [base, count, lengthBytes, keys, values, headers, ts] = row;
    if (out.length >= max) return;
    if (base + count <= from) continue;
    const lengths = int32s(lengthBytes, 3 * count);
    const times = typeof ts === 'number' ? undefined : float64s(ts, count);
    let v = 0;
    let k = 0;
    let h = 0;
    let at = 0;
    let i = 0;
    const interned: string[] = [];
    for (; i < from - base; i++, at += 3) {
      v += lengths[at] as number;
      const kl = lengths[at + 1] as number;
      if (kl > 0) k += kl;
      const hl = lengths[at + 2] as number;
      if (hl > 0) {
        if (headers.charCodeAt(h) === DEFINE) internFrom(headers.substring(h, h + hl), interned);
        h += hl;
      } else if (hl < -1) h += -2 - hl;
    }
    for (; i < count && out.length < max; i++, at += 3) {
      const vl = lengths[at] as number;
      const kl = lengths[at + 1] as number;
      const hl = lengths[at + 2] as number;
      out.push({
        topic,
        partition,
        offset: base + i,
        key: kl < 0 ? null : keys.substring(k, k + kl),
        value: values.substring(v, v + vl),
        headers:
          hl === -1
            ? NO_HEADERS
            : hl < 0
              ? { [SOURCE_HEADER]: headers.substring(h, h - 2 - hl) }
              : decodeHeaders(headers.substring(h, h + hl), interned),
        timestamp: times === undefined ? (ts as number) : (times[i] as number),
      });
      v += vl;
      if (kl > 0) k += kl;
      if (hl > 0) h += hl;
      else if (hl < -1) h += -2 - hl;
    }
  }
}

import type { AppendRecord, CommitBatch, Headers } from '../log.js';

/**
 * A commit batch packed for the trip to the commit thread: each output topic's values, keys and
 * headers joined into a few long strings and its partitions and timestamps into typed arrays, so the
 * structured clone copies a handful of buffers instead of thousands of small objects.
 * JSON text has no raw newline, so values and header JSON are joined by '\n'; keys by '\u0001' (a
 * batch with a value holding a newline, or a key holding '\u0001', is sent unpacked).
 */
export interface PackedOutputs {
  topic: string;
  count: number;
  partitions: Int32Array;
  /** NaN where a record has no timestamp of its own. */
  timestamps: Float64Array;
  keys: string;
  /** 1 where the key is null. */
  nullKeys: Uint8Array;
  values: string;
  /** Header JSON per record ('' for none). */
  headers: string;
}

export interface PackedBatch extends Omit<CommitBatch, 'outputs'> {
  packed: PackedOutputs[];
}

/** JSON of a record's headers, or null when it has none. */
export function encodeHeaders(headers: Headers | undefined): string | null {
  if (headers === undefined) return null;
  for (const _ in headers) return JSON.stringify(headers);
  return null;
}

/** Packs a batch, or returns undefined when it must travel as it is (a value is not a string, a key holds '\u0001'). */
export function packBatch(batch: CommitBatch): PackedBatch | undefined {
  const packed: PackedOutputs[] = [];
  for (const out of batch.outputs ?? []) {
    const n = out.records.length;
    const partitions = new Int32Array(n);
    const timestamps = new Float64Array(n);
    const nullKeys = new Uint8Array(n);
    const keys = new Array<string>(n);
    const values = new Array<string>(n);
    const headers = new Array<string>(n);
    for (let i = 0; i < n; i++) {
      const r = out.records[i] as AppendRecord;
      if (typeof r.value !== 'string' || !Number.isInteger(r.partition) || r.value.includes('\n')) return undefined;
      if (r.key?.includes('\u0001')) return undefined;
      partitions[i] = r.partition;
      timestamps[i] = r.timestamp ?? Number.NaN;
      if (r.key === null) nullKeys[i] = 1;
      keys[i] = r.key ?? '';
      values[i] = r.value;
      headers[i] = encodeHeaders(r.headers) ?? '';
    }
    packed.push({
      topic: out.topic,
      count: n,
      partitions,
      timestamps,
      keys: keys.join('\u0001'),
      nullKeys,
      values: values.join('\n'),
      headers: headers.join('\n'),
    });
  }
  const { outputs: _outputs, ...rest } = batch;
  return { ...rest, packed };
}

/** A record as the commit thread rebuilds it: its headers already JSON (or null). */
export interface UnpackedRecord extends AppendRecord {
  headersJson: string | null;
}

/** Rebuilds the batch on the commit thread. */
export function unpackBatch(batch: PackedBatch): CommitBatch {
  const outputs = batch.packed.map((p) => {
    const keys = p.count === 0 ? [] : p.keys.split('\u0001');
    const values = p.count === 0 ? [] : p.values.split('\n');
    const headers = p.count === 0 ? [] : p.headers.split('\n');
    const records = new Array<UnpackedRecord>(p.count);
    for (let i = 0; i < p.count; i++) {
      const ts = p.timestamps[i] as number;
      const h = headers[i] as string;
      records[i] = {
        partition: p.partitions[i] as number,
        key: p.nullKeys[i] === 1 ? null : (keys[i] as string),
        value: values[i] as string,
        headersJson: h === '' ? null : h,
        ...(Number.isNaN(ts) ? {} : { timestamp: ts }),
      };
    }
    return { topic: p.topic, records };
  });
  const { packed: _packed, ...rest } = batch;
  return { ...rest, outputs };
}

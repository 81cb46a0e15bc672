import type { CommitBatch } from '../log.js';
import { type EncodedRecords, encodeRecords, type RecordBatch } from './record-batch.js';

/**
 * A commit batch packed for the trip to the commit thread: each output topic's records already
 * encoded as the log stores them (see record-batch.ts), with each batch's keys, values and headers
 * written as UTF-8 into one buffer that postMessage moves instead of copying. The structured clone
 * of long strings costs the main thread several times what encoding them does, and the runner's main
 * thread is the one a pipeline waits for; the commit thread turns the bytes back into the same
 * strings (`unpackBatch`) and writes them as they are.
 */
export interface PackedOutputs {
  topic: string;
  encoded: EncodedRecords;
}

/** A record batch as it travels: its texts as UTF-8 in `bytes`, values first, then keys, then headers. */
export interface WireRecordBatch extends Omit<RecordBatch, 'keys' | 'values' | 'headers'> {
  bytes: Uint8Array;
  /** Byte lengths of the values and the keys in `bytes` (the headers take the rest). */
  valueBytes: number;
  keyBytes: number;
}

export interface WireOutputs {
  topic: string;
  count: number;
  partitions: Int32Array;
  batches: WireRecordBatch[];
}

export interface PackedBatch extends Omit<CommitBatch, 'outputs'> {
  packed: PackedOutputs[];
}

export interface WireBatch extends Omit<CommitBatch, 'outputs'> {
  wire: WireOutputs[];
}

function toWire(b: RecordBatch): WireRecordBatch {
  const valueBytes = Buffer.byteLength(b.values, 'utf8');
  const keyBytes = Buffer.byteLength(b.keys, 'utf8');
  // Not from Node's shared pool: the buffer's whole ArrayBuffer is transferred.
  const bytes = Buffer.allocUnsafeSlow(valueBytes + keyBytes + Buffer.byteLength(b.headers, 'utf8'));
  bytes.write(b.values, 0, 'utf8');
  bytes.write(b.keys, valueBytes, 'utf8');
  bytes.write(b.headers, valueBytes + keyBytes, 'utf8');
  return {
    partition: b.partition,
    count: b.count,
    lengths: b.lengths,
    timestamps: b.timestamps,
    bytes,
    valueBytes,
    keyBytes,
  };
}

function fromWire(w: WireRecordBatch): RecordBatch {
  const bytes = Buffer.from(w.bytes.buffer, w.bytes.byteOffset, w.bytes.byteLength);
  const keysEnd = w.valueBytes + w.keyBytes;
  return {
    partition: w.partition,
    count: w.count,
    lengths: w.lengths,
    timestamps: w.timestamps,
    // The strings were well-formed (record-batch.ts makes them so), so they come back unchanged.
    values: bytes.toString('utf8', 0, w.valueBytes),
    keys: bytes.toString('utf8', w.valueBytes, keysEnd),
    headers: bytes.toString('utf8', keysEnd, bytes.length),
  };
}

/** Packs a batch, or returns undefined when a record is malformed: it then travels as it is, to be refused there. */
export function packBatch(batch: CommitBatch): WireBatch | undefined {
  const wire: WireOutputs[] = [];
  for (const out of batch.outputs ?? []) {
    const encoded = encodeRecords(out.records);
    if (encoded === undefined) return undefined;
    wire.push({
      topic: out.topic,
      count: encoded.count,
      partitions: encoded.partitions,
      batches: encoded.batches.map(toWire),
    });
  }
  const { outputs: _outputs, ...rest } = batch;
  return { ...rest, wire };
}

/** The commit thread's side: the packed outputs with their texts as strings again. */
export function unpackBatch(batch: WireBatch): PackedBatch {
  const { wire, ...rest } = batch;
  return {
    ...rest,
    packed: wire.map((w) => ({
      topic: w.topic,
      encoded: { count: w.count, partitions: w.partitions, batches: w.batches.map(fromWire) },
    })),
  };
}

/** The buffers postMessage can move (not copy) to the commit thread. */
export function packedTransferables(batch: WireBatch): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const w of batch.wire) {
    out.push(w.partitions.buffer as ArrayBuffer);
    for (const b of w.batches) {
      out.push(b.lengths.buffer as ArrayBuffer, b.bytes.buffer as ArrayBuffer);
      if (b.timestamps !== undefined) out.push(b.timestamps.buffer as ArrayBuffer);
    }
  }
  return out;
}

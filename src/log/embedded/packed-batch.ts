import type { CommitBatch } from '../log.js';
import { type EncodedRecords, encodeRecords, transferables } from './record-batch.js';

/**
 * A commit batch packed for the trip to the commit thread: each output topic's records already
 * encoded as the log stores them (see record-batch.ts), so the structured clone copies a few long
 * strings and moves a few typed arrays instead of thousands of small objects, and the commit thread
 * writes them as they are.
 */
export interface PackedOutputs {
  topic: string;
  encoded: EncodedRecords;
}

export interface PackedBatch extends Omit<CommitBatch, 'outputs'> {
  packed: PackedOutputs[];
}

/** Packs a batch, or returns undefined when a record is malformed: it then travels as it is, to be refused there. */
export function packBatch(batch: CommitBatch): PackedBatch | undefined {
  const packed: PackedOutputs[] = [];
  for (const out of batch.outputs ?? []) {
    const encoded = encodeRecords(out.records);
    if (encoded === undefined) return undefined;
    packed.push({ topic: out.topic, encoded });
  }
  const { outputs: _outputs, ...rest } = batch;
  return { ...rest, packed };
}

/** The buffers postMessage can move (not copy) to the commit thread. */
export function packedTransferables(batch: PackedBatch): ArrayBuffer[] {
  return batch.packed.flatMap((p) => transferables(p.encoded));
}

import type { Dataset } from '../dataset/dataset.js';
import { partitionFor } from '../log/partitioner.js';

/**
 * The key a producer would give a value: the dataset's key field when the value is valid, and still
 * that field (as text) when the value is not, so a broken record lands where its valid twin would.
 */
export function keyOfValue(dataset: Dataset, value: unknown): string | null {
  // No schema check needed: a valid value's key field is a required string or number, so reading the
  // field gives what `dataset.keyOf` would, at a fraction of the cost of validating.
  if (typeof value === 'object' && value !== null) {
    const k = (value as Record<string, unknown>)[dataset.key];
    if (typeof k === 'string' || typeof k === 'number') return String(k);
  }
  return null;
}

/** Partition of a key as production partitions it; keyless records go to partition 0. */
export function partitionOfKey(dataset: Dataset, key: string | null): number {
  return key === null ? 0 : partitionFor(key, dataset.partitions);
}

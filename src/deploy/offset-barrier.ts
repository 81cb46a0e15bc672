import type { PartitionOffset } from '../log/log.js';

const key = (o: { topic: string; partition: number }): string => `${o.topic}/${o.partition}`;

/**
 * The barrier two runners of one pipeline meet at: per partition, the further of the two offsets.
 * The side behind runs to it (`runUntil`) with its current key share; then both are at the same
 * offsets and a share can change hands without a record being skipped or processed twice.
 */
export function alignedOffsets(a: readonly PartitionOffset[], b: readonly PartitionOffset[]): PartitionOffset[] {
  const out = new Map<string, PartitionOffset>();
  for (const o of [...a, ...b]) {
    const seen = out.get(key(o));
    if (seen === undefined || o.offset > seen.offset) out.set(key(o), { ...o });
  }
  return [...out.values()];
}

/** Whether `at` is short of `target` on any partition `target` names (a missing partition is at 0). */
export function isBehind(at: readonly PartitionOffset[], target: readonly PartitionOffset[]): boolean {
  const where = new Map(at.map((o) => [key(o), o.offset]));
  return target.some((t) => (where.get(key(t)) ?? 0) < t.offset);
}

import type { Log } from '../log/log.js';

/**
 * Where each toggle version took effect in an input partition: from `from` (an input offset) on, records
 * were evaluated with toggle `version`, until the next barrier. Kept in the partition's keyed state (under
 * a key no pipeline key can be), committed with the outputs the version produced, so a restart after a
 * crash goes on from the committed barriers and an audit can tell which version governed any offset.
 */
export interface ToggleBarrier {
  from: number;
  version: number;
}

/** The most barriers kept per input partition (the oldest are dropped first). */
export const MAX_BARRIERS = 512;

/** The state key of an input topic's barriers: starts with NUL, which no JSON record key a pipeline writes does. */
export function barrierKey(topic: string): string {
  return `\u0000slipway.toggles/${topic}`;
}

/** The barriers after adding one at `from` for `version`. */
export function nextBarriers(ranges: ToggleBarrier[] | undefined, from: number, version: number): ToggleBarrier[] {
  const next = [...(ranges ?? []).filter((b) => b.from < from), { from, version }];
  return next.length > MAX_BARRIERS ? next.slice(next.length - MAX_BARRIERS) : next;
}

/**
 * The committed toggle barriers of one input partition of a pipeline (its state namespace is its name).
 *
 * @example
 * const barriers = await readToggleBarriers(log, 'price-orders', 'orders.v1', 0)
 * const versionAt = (offset) => barriers.findLast((b) => b.from <= offset)?.version
 */
export async function readToggleBarriers(
  log: Log,
  stateNamespace: string,
  topic: string,
  partition: number,
): Promise<ToggleBarrier[]> {
  const key = barrierKey(topic);
  for (const [k, v] of await log.readState(stateNamespace, partition)) if (k === key) return JSON.parse(v);
  return [];
}

/** The toggle version that governed `offset`, from a partition's barriers (undefined: before the first). */
export function versionAt(barriers: readonly ToggleBarrier[], offset: number): number | undefined {
  let v: number | undefined;
  for (const b of barriers) if (b.from <= offset) v = b.version;
  return v;
}

import type { Log } from '../log/log.js';

/** How far a bridge has carried one partition of the history (the records there when it started). */
export interface BridgePartitionProgress {
  partition: number;
  copied: number;
  total: number;
}

/**
 * What a bridge between two majors is doing, as `watchBridgeProgress` reports it: filling the new topic
 * with the old one's history (`copied` of `total` records, overall and per partition), then `live` once
 * it has carried every record that was there when it started (it keeps carrying what arrives).
 */
export type BridgeProgressEvent =
  | { kind: 'history'; topic: string; copied: number; total: number; partitions: BridgePartitionProgress[] }
  | { kind: 'live'; topic: string; copied: number; total: number };

/**
 * Follows a bridge (or any pipeline) reading `topic` under consumer group `group`: the history is what the
 * topic holds when called (its end offsets, from where the group stood then); each poll yields a `history`
 * event with what the group has committed of it, when it moved, and a last `live` event once all of it is
 * committed. Ends early (without `live`) when `signal` aborts. The library emits; the CLI prints.
 *
 * @example
 * for await (const e of watchBridgeProgress({ log, topic: 'orders.v1', partitions: 4, group: 'slipway.bridge-orders-v1-to-v2' }))
 *   console.log(e.kind === 'live' ? 'live' : `${e.copied}/${e.total}`)
 */
export async function* watchBridgeProgress(options: {
  log: Log;
  topic: string;
  partitions: number;
  group: string;
  intervalMs?: number;
  signal?: AbortSignal;
}): AsyncGenerator<BridgeProgressEvent> {
  const { log, topic, group } = options;
  const parts = Array.from({ length: options.partitions }, (_, p) => p);
  const committed = async (): Promise<Map<number, number>> =>
    new Map((await log.committedOffsets(group)).filter((o) => o.topic === topic).map((o) => [o.partition, o.offset]));
  const start = await committed();
  const ends = new Map(await Promise.all(parts.map(async (p) => [p, await log.endOffset(topic, p)] as const)));
  const from = (p: number) => Math.min(start.get(p) ?? 0, ends.get(p) ?? 0);
  const total = parts.reduce((sum, p) => sum + (ends.get(p) ?? 0) - from(p), 0);
  let last = -1;
  for (;;) {
    const now = await committed();
    const partitions = parts.map((p) => {
      const end = ends.get(p) ?? 0;
      return {
        partition: p,
        copied: Math.min(now.get(p) ?? 0, end) - from(p),
        total: end - from(p),
      };
    });
    const copied = partitions.reduce((sum, p) => sum + p.copied, 0);
    if (copied !== last) yield { kind: 'history', topic, copied, total, partitions };
    last = copied;
    if (copied >= total) {
      yield { kind: 'live', topic, copied, total };
      return;
    }
    if (options.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 250));
    if (options.signal?.aborted) return;
  }
}

import { resolve } from 'node:path';
import type { Log } from 'slipway';
import type { ArtifactRef } from '../../src/control/control-store.js';

/** The example's three versions, deployed from source: v2 changes the USD rate, v3 throws on some orders. */
export const v1: ArtifactRef = {
  module: resolve('examples/orders/pipeline.ts'),
  pipeline: 'enrich-orders',
  version: '1.0.0',
};
export const v2: ArtifactRef = {
  module: resolve('examples/orders/versions/v2.ts'),
  pipeline: 'enrich-orders',
  version: '1.1.0',
};
export const v3: ArtifactRef = {
  module: resolve('examples/orders/versions/v3-broken.ts'),
  pipeline: 'enrich-orders',
  version: '1.2.0',
};

/**
 * Waits until `group` has committed past every record appended to `topic` so far (or `timeoutMs`
 * passed: the exactly-once check that follows then reports what is missing).
 */
export async function waitForCaughtUp(
  log: Log,
  group: string,
  topic: string,
  partitions: number,
  timeoutMs = 60_000,
): Promise<void> {
  const ends = await Promise.all(Array.from({ length: partitions }, (_, p) => log.endOffset(topic, p)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const committed = new Map((await log.committedOffsets(group)).map((o) => [o.partition, o.offset]));
    if (ends.every((end, p) => (committed.get(p) ?? 0) >= end) || Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

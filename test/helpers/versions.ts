import { resolve } from 'node:path';
import { ArtifactStore, buildArtifact, type Log } from 'slipway';

/** The example's three versions: v2 changes the USD rate, v3 throws on some orders. */
export const VERSION_FILES = {
  v1: 'pipeline.ts',
  v2: 'versions/v2.ts',
  v3: 'versions/v3-broken.ts',
} as const;

export interface Versions {
  v1: string;
  v2: string;
  v3: string;
}

/**
 * Builds the example's three versions into the artifact store at `artifactsDir`; returns their digests.
 * `isolated`: the copies under the dataset and pipeline names of this run (test/fixtures/isolated,
 * named by SLIPWAY_TEST_ISOLATION), for tests that share a Kafka broker.
 */
export async function buildVersions(artifactsDir: string, isolated = false): Promise<Versions> {
  const store = new ArtifactStore({ dir: artifactsDir });
  const cwd = resolve(isolated ? 'test/fixtures/isolated' : 'examples/orders');
  const files = isolated ? { v1: 'v1.ts', v2: 'v2.ts', v3: 'v3.ts' } : VERSION_FILES;
  const digest = async (entry: string) => (await buildArtifact({ entry, cwd, store })).digest;
  return { v1: await digest(files.v1), v2: await digest(files.v2), v3: await digest(files.v3) };
}

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

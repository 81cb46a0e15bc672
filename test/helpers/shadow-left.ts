import assert from 'node:assert/strict';
import type { Log } from 'slipway';

/**
 * Asserts a finished deployment's shadow runs left nothing behind on the log (issue 10, item 12): no
 * shadow topic of the pipeline, and no offsets, epoch or state under the shadow's group, owner and
 * namespace (shadow ids are `<deployment id>-<attempt>`).
 */
export async function assertNoShadowLeft(
  log: Log,
  pipeline: string,
  deploymentId: string,
  partitions = 4,
): Promise<void> {
  const topics = (await log.listTopics()).map((t) => t.name).filter((t) => t.includes(`.shadow.${deploymentId}`));
  assert.deepEqual(topics, [], 'no shadow topic is left');
  for (let attempt = 1; attempt <= 3; attempt++) {
    const name = `slipway.${pipeline}.shadow.${deploymentId}-${attempt}`;
    assert.deepEqual(await log.committedOffsets(name), [], `no offsets of ${name}`);
    assert.equal(await log.currentEpoch(name), 0, `no epoch of ${name}`);
    for (let p = 0; p < partitions; p++)
      assert.deepEqual(await log.readState(`${pipeline}.shadow.${deploymentId}-${attempt}`, p), [], 'no shadow state');
  }
}

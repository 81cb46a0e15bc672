import { readReleaseMarker } from '../../deploy/release-marker.js';
import { SlipwayError } from '../../errors.js';
import type { Log } from '../../log/log.js';

/**
 * Refuses to run a pipeline that a control plane runs on the same log: a plain run would fence the
 * live runner, which would then sit stopped while the release looks deployed. `force` runs it anyway
 * (the control plane sees its runner fenced, records it, and takes the pipeline back).
 */
export async function refuseManagedPipeline(log: Log, pipeline: string, force: boolean): Promise<string | undefined> {
  const marker = await readReleaseMarker(log, pipeline);
  if (marker === undefined || !marker.managed) return undefined;
  const release = `${marker.pipeline}@${marker.version} (${marker.digest.slice(0, 19)}…${marker.deploymentId === null ? '' : `, deployment ${marker.deploymentId}`}) in environment ${marker.environment}`;
  if (force)
    return `${pipeline} is run by the ${marker.controlPlane} as ${release}; --force takes it over here, and that control plane will take it back when it sees its runner fenced.`;
  throw new SlipwayError(
    'SLIPWAY_MANAGED',
    `${pipeline} is run by the ${marker.controlPlane} as ${release}, on this same log: running it here would fence that live runner and stall the release. Deploy through the control plane instead (\`slipway deploy\`), run it on another log (--log or a Kafka namespace of its own), or pass --force to take it over.`,
    { details: { ...marker } },
  );
}

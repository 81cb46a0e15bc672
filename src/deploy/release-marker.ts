import type { Log, LogRecord } from '../log/log.js';

/**
 * Release markers: the control plane writes, on the log its runners use, which pipelines it runs
 * there (and as which release), so that anything else about to run one of them on the same log — a
 * plain `slipway run`, on this machine or another — can see it and refuse instead of fencing the live
 * runner without a word. One small internal topic, the newest marker per pipeline wins.
 */
export const RELEASE_MARKERS_TOPIC = '__slipway-releases';

export interface ReleaseMarker {
  pipeline: string;
  environment: string;
  /** The control plane, as it names itself (its URL, or its folder and pid). */
  controlPlane: string;
  digest: string;
  version: string;
  /** The deployment that made it live, if one did. */
  deploymentId: string | null;
  /** ms since the epoch. */
  at: number;
  /** False when the control plane let the pipeline go (none of its runners run it any more). */
  managed: boolean;
}

/** Records that a control plane runs `marker.pipeline` on this log (or, with `managed: false`, no longer does). */
export async function writeReleaseMarker(log: Log, marker: ReleaseMarker): Promise<void> {
  await log.createTopic(RELEASE_MARKERS_TOPIC, { partitions: 1 });
  await log.append(RELEASE_MARKERS_TOPIC, [{ partition: 0, key: marker.pipeline, value: JSON.stringify(marker) }]);
}

/** The newest marker of a pipeline on this log, if a control plane ever ran it here. */
export async function readReleaseMarker(log: Log, pipeline: string): Promise<ReleaseMarker | undefined> {
  if ((await log.describeTopic(RELEASE_MARKERS_TOPIC)) === undefined) return undefined;
  let found: ReleaseMarker | undefined;
  let offset = 0;
  for (;;) {
    const records: LogRecord[] = await log.read(RELEASE_MARKERS_TOPIC, 0, offset, 1000);
    if (records.length === 0) return found;
    for (const r of records) {
      if (r.key !== pipeline) continue;
      try {
        found = JSON.parse(r.value) as ReleaseMarker;
      } catch {
        // A damaged marker says nothing; the next one will.
      }
    }
    offset = (records.at(-1) as LogRecord).offset + 1;
  }
}

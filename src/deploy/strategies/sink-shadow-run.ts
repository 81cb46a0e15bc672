import { connectDatastore } from '../../datastore/connection.js';
import { SlipwayError } from '../../errors.js';
import type { PartitionOffset } from '../../log/log.js';
import type { RunnerStats } from '../../runtime/runner-stats.js';
import { SinkLog } from '../../runtime/sink-log.js';
import type { RunnerHandle } from '../../supervisor/supervisor.js';
import type { OutputDiff } from '../output-diff.js';
import { diffSinkRows, readLiveRows, readShadowRows, seedSinkShadow, sinkShadowNames } from '../sink-shadow.js';
import type { StrategyContext } from '../strategy-context.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a shadow run found: the diff, the shadow's figures, and whether blue reached the shadow's range. */
export interface ShadowRun {
  diff: OutputDiff;
  stats: RunnerStats;
  caughtUp: boolean;
}

/**
 * The shadow run of a sink pipeline (see sink-shadow.ts): the shadow (in standby, writing
 * `<table>__shadow_<id>`) is seeded with blue's committed offsets and state, runs until it has read
 * `records` inputs (or `timeoutMs`), pauses at E; once blue has committed past E, the live rows are read at
 * blue's offsets B, the shadow runs on to exactly B, and the two tables' rows are diffed by source.
 */
export async function runSinkShadow(
  ctx: StrategyContext,
  shadow: RunnerHandle,
  shadowId: string,
  options: {
    records: number;
    timeoutMs: number;
    allowChangedFields?: string[];
    caughtUp: (end: PartitionOffset[]) => Promise<boolean>;
  },
): Promise<ShadowRun> {
  const { log, manifest } = ctx;
  if (!(log instanceof SinkLog) || manifest.sink === undefined)
    throw new SlipwayError('SLIPWAY_USAGE', `${manifest.name} is not a sink pipeline: its shadow diffs topics.`);
  const names = sinkShadowNames(manifest, shadowId, log.datastore.schema);
  const client = await connectDatastore(log.datastore, `${manifest.name} shadow ${shadowId}`);
  try {
    const from = await seedSinkShadow(client, names);
    // The shadow reads its seeded offsets and state as its own: it can pause and go on from them.
    await shadow.activate({});
    const deadline = Date.now() + options.timeoutMs;
    let stats = await shadow.stats();
    while (stats.inputs < options.records && Date.now() < deadline && stats.state === 'running') {
      await sleep(50);
      stats = await shadow.stats();
    }
    const end = await shadow.pause();
    const caughtUp = await options.caughtUp(end);
    let live = new Map<string, string>();
    let to = end;
    if (caughtUp) {
      // Blue is at or past E: the live rows at blue's offsets B, then the shadow to exactly B.
      const read = await readLiveRows(client, names, from);
      live = read.rows;
      to = await shadow.runUntil(read.at);
    }
    stats = await shadow.stats();
    const shadowRows = await readShadowRows(client, names, from, to);
    return { diff: diffSinkRows(manifest.sink, live, shadowRows, options.allowChangedFields), stats, caughtUp };
  } finally {
    await client.end().catch(() => {});
  }
}

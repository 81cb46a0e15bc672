// A replay of dead letters through a runner's own batch core (what `Runner.replayDeadLetters` runs): the records a
// version dead-lettered are processed by this version — validation, `process`, keyed state in the record's own
// input partition, outputs with the record's original `slipway-source` — and committed with one replay marker per
// source in one atomic commit under the runner's owner epoch, without input offsets. Exactly once by source: a
// source already marked is skipped, and a commit either lands with its outputs, state and markers, or not at all.
import type { Dataset } from '../dataset/dataset.js';
import type { AppendRecord, CommitBatch, Log, LogRecord, StateWrite, TopicPartition } from '../log/log.js';
import type { ProcessedBatch } from './batch-core.js';
import {
  type DeadLetter,
  type DeadLetterSelection,
  planReplay,
  REPLAY_HEADER,
  type ReplayMarker,
  readDeadLetters,
  readReplayMarkers,
  replayMarkerTopic,
} from './dead-letters.js';
import { DLQ_HEADERS, SOURCE_HEADER } from './runner-types.js';

/** What to replay, and as which replay. */
export interface ReplayRequest {
  /** The replay's id (the deployment that runs it): in its markers, and on the dead letters it writes. */
  replay: string;
  /** Which dead letters (of the runner's own input partitions). */
  selection: DeadLetterSelection;
  /** Replay again the sources an earlier replay dead-lettered again (default: skip them: no retry loop). */
  retryFailed?: boolean;
  /** Most sources per atomic commit (default 1000). */
  chunk?: number;
  /** A runner in standby writes under this epoch of its owner, fenced by the caller (default: it fences itself). */
  epoch?: number;
}

/** What a replay did (on one runner, or summed over a group). */
export interface ReplayResult {
  /** Distinct sources selected. */
  selected: number;
  /** Skipped: a replay already processed them. */
  alreadyReplayed: number;
  /** Skipped: an earlier replay dead-lettered them again (see `retryFailed`). */
  skippedFailed: number;
  /** Skipped: their dead letter holds no readable value. */
  unreadable: number;
  /** Processed by this version, outputs written. */
  replayed: number;
  /** Failed again: a new dead letter (marked with the replay) instead of outputs. */
  failedAgain: number;
  outputs: number;
  commits: number;
}

export const emptyReplayResult = (): ReplayResult => ({
  selected: 0,
  alreadyReplayed: 0,
  skippedFailed: 0,
  unreadable: 0,
  replayed: 0,
  failedAgain: 0,
  outputs: 0,
  commits: 0,
});

/** Sums the results of the runners of a group. */
export function addReplayResults(a: ReplayResult, b: ReplayResult): ReplayResult {
  const out = emptyReplayResult();
  for (const k of Object.keys(out) as Array<keyof ReplayResult>) out[k] = a[k] + b[k];
  return out;
}

/** What the runner lends a replay: its log, owner and epoch, its partitions, its batch core and state. */
export interface ReplayPort {
  log: Log;
  owner: string;
  epoch: number;
  stateNamespace: string;
  version: string;
  artifact?: string;
  inputs: ReadonlyArray<Dataset>;
  /** The input partitions the runner owns: it replays the dead letters of those only. */
  partitions: ReadonlyArray<TopicPartition>;
  /** The dead-letter topic of an input. */
  dlqTopic(input: string): string;
  /** Runs the batch core over records (every key: no canary share); state writes stay pending. */
  process(records: LogRecord[]): ProcessedBatch;
  pendingWrites(): StateWrite[];
  applyBatch(): void;
  discardBatch(): void;
  commit(batch: CommitBatch): Promise<void>;
}

/** The input record a dead letter keeps, as the batch core reads it (at its original source). */
const recordOf = (l: DeadLetter): LogRecord => ({
  topic: l.input.topic,
  partition: l.input.partition,
  offset: l.input.offset,
  key: l.key,
  value: l.value as string,
  headers: {},
  timestamp: l.at,
});

/** The source an output or dead letter stands for: its `slipway-source` header less an emit index (`#n`). */
const baseSource = (headers: Readonly<Record<string, string>> | undefined): string | undefined => {
  const s = headers?.[SOURCE_HEADER];
  if (s === undefined) return undefined;
  const hash = s.indexOf('#');
  return hash < 0 ? s : s.slice(0, hash);
};

/** Replays the selected dead letters of the port's partitions, chunk by chunk, each chunk one atomic commit. */
export async function replayThrough(port: ReplayPort, request: ReplayRequest): Promise<ReplayResult> {
  const result = emptyReplayResult();
  const chunk = Math.max(1, request.chunk ?? 1000);
  const owned = new Set(port.partitions.map((p) => `${p.topic}/${p.partition}`));
  for (const input of port.inputs) {
    if (!port.partitions.some((p) => p.topic === input.topic)) continue;
    const dlq = port.dlqTopic(input.topic);
    const markerTopic = replayMarkerTopic(dlq);
    // Markers are kept forever: a source whose marker expired could be replayed a second time.
    await port.log.createTopic(markerTopic, { partitions: input.partitions, retentionMs: -1 });
    const letters = (await readDeadLetters(port.log, dlq)).filter((l) =>
      owned.has(`${l.input.topic}/${l.input.partition}`),
    );
    const plan = planReplay(
      letters,
      await readReplayMarkers(port.log, dlq),
      { ...request.selection },
      request.retryFailed === undefined ? {} : { retryFailed: request.retryFailed },
    );
    result.selected += plan.selected;
    result.alreadyReplayed += plan.alreadyReplayed;
    result.skippedFailed += plan.failedAgain;
    result.unreadable += plan.unreadable;
    for (let i = 0; i < plan.toReplay.length; i += chunk) {
      const part = plan.toReplay.slice(i, i + chunk);
      await replayChunk(port, request.replay, dlq, markerTopic, part, result);
    }
  }
  return result;
}

async function replayChunk(
  port: ReplayPort,
  replay: string,
  dlq: string,
  markerTopic: string,
  letters: DeadLetter[],
  result: ReplayResult,
): Promise<void> {
  let done: ProcessedBatch;
  try {
    done = port.process(letters.map(recordOf));
  } catch (err) {
    port.discardBatch();
    throw err;
  }
  const failed = new Set<string>();
  const outputsOf = new Map<string, number>();
  for (const out of done.outputs) {
    const isDlq = out.topic === dlq;
    for (const r of out.records) {
      const source = baseSource(r.headers);
      if (source === undefined) continue;
      if (isDlq) {
        failed.add(source);
        // A dead letter written by a replay says so, and names the replay as the deployment that wrote it.
        r.headers = { ...r.headers, [REPLAY_HEADER]: replay, [DLQ_HEADERS.deployment]: replay };
      } else outputsOf.set(source, (outputsOf.get(source) ?? 0) + 1);
    }
  }
  const at = Date.now();
  const markers: AppendRecord[] = letters.map((l) => {
    const outcome = failed.has(l.source) ? 'dead-lettered' : 'replayed';
    const marker: ReplayMarker = {
      source: l.source,
      outcome,
      replay,
      version: port.version,
      ...(port.artifact === undefined ? {} : { artifact: port.artifact }),
      outputs: outputsOf.get(l.source) ?? 0,
      at,
    };
    return {
      partition: l.input.partition,
      key: l.source,
      value: JSON.stringify(marker),
      headers: { [SOURCE_HEADER]: l.source, [REPLAY_HEADER]: replay },
    };
  });
  // Outputs, state, new dead letters and the markers: one commit, under the owner's epoch, without input offsets.
  const commit: CommitBatch = {
    owner: port.owner,
    epoch: port.epoch,
    outputs: [...done.outputs, { topic: markerTopic, records: markers }],
    state: { namespace: port.stateNamespace, writes: port.pendingWrites() },
  };
  try {
    await port.commit(commit);
  } catch (err) {
    port.discardBatch();
    throw err;
  }
  port.applyBatch();
  result.commits++;
  result.failedAgain += failed.size;
  result.replayed += letters.length - failed.size;
  result.outputs += done.outputCount;
}

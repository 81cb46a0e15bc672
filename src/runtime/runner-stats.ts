import type { PartitionOffset } from '../log/log.js';
import { LatencyHistogram, type LatencyHistogramSnapshot, mergeHistograms, quantile } from './latency-histogram.js';
import { RecentCounts, type RecentWindow } from './recent-counts.js';
import type { RunnerState } from './runner-types.js';

export type { RecentWindow } from './recent-counts.js';

/**
 * A runner's figures, as `Runner.stats()` gives them (and a supervisor passes them on): counters
 * since the runner started, the last minute's counts, and the end-to-end latency of the records
 * appended after its first activation. Reading them never changes them. Plain JSON.
 */
export interface RunnerStats {
  state: RunnerState;
  /** The epoch it writes under (0 before activation). */
  epoch: number;
  /** Input records consumed since the runner started (including dead-lettered and passed-over ones). */
  inputs: number;
  /** Input records in the runner's key share (a canary passes over the others). */
  processed: number;
  /** Output records written. */
  outputs: number;
  /** Input records sent to the dead-letter topic. */
  dlq: number;
  /** Atomic commits. */
  commits: number;
  /** ms since the epoch of the last commit, 0 if none. */
  lastCommitAt: number;
  /**
   * End-to-end latency (append → commit) of records appended after the runner's first activation —
   * a backlog from before says nothing of this version: median and p99, ms (within 5 %), null before
   * any such record (never 0 for "no data"), and how many records were sampled (up to 256 a batch).
   */
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  latencySamples: number;
  /** The histogram those figures come from: to merge runners, or count records slower than a limit. */
  latency: LatencyHistogramSnapshot;
  /** Processed records and dead letters over the last 60 s (for gates that compare versions). */
  recent: RecentWindow;
  /** Records behind, summed over the assigned partitions. */
  lag: number;
  /** Committed offsets of the assigned partitions. */
  offsets: PartitionOffset[];
  /**
   * True while a runner in standby (or paused) on Kafka still reads its state changelog for the first time: a
   * cutover waits for it to end, so the read stays out of the pause (see state-warmer.ts).
   */
  warming?: boolean;
  /**
   * Set while the runner cannot reach its schema registry and waits to ask again (nothing is dead-lettered or
   * lost meanwhile): `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`, why, since when (ms since the epoch), attempts so far.
   */
  registryUnavailable?: { code: string; message: string; since: number; attempts: number };
}

/** Most records sampled for latency per batch, evenly spread (as `RunnerMetrics` samples). */
const SAMPLES_PER_BATCH = 256;

/**
 * Keeps a runner's figures as it commits; `snapshot` reads them without changing anything.
 * The runner tells it of its first activation and of each commit.
 */
export class RunnerStatsRecorder {
  #inputs = 0;
  #processed = 0;
  #outputs = 0;
  #dlq = 0;
  #commits = 0;
  #lastCommitAt = 0;
  #activatedAt = Number.POSITIVE_INFINITY;
  readonly #latency = new LatencyHistogram();
  readonly #recent = new RecentCounts();

  /** The first activation (later ones change nothing): records appended before it are not timed. */
  activated(at: number): void {
    if (at < this.#activatedAt) this.#activatedAt = at;
  }

  /** Counts one commit at `committedAt`, and samples the latency of its records appended since activation. */
  recordCommit(
    committedAt: number,
    counts: { inputs: number; processed: number; outputs: number; dlq: number },
    batch: ReadonlyArray<{ timestamp: number }>,
    /** How many batches the commit gathered (a group commit): each gets its share of samples. */
    batches = 1,
  ): void {
    this.#inputs += counts.inputs;
    this.#processed += counts.processed;
    this.#outputs += counts.outputs;
    this.#dlq += counts.dlq;
    this.#commits++;
    this.#lastCommitAt = committedAt;
    this.#recent.add(committedAt, counts.processed, counts.dlq);
    const activatedAt = this.#activatedAt;
    const stride = Math.ceil(batch.length / (SAMPLES_PER_BATCH * batches));
    for (let i = 0; i < batch.length; i += stride) {
      const appended = (batch[i] as { timestamp: number }).timestamp;
      if (appended >= activatedAt) this.#latency.record(committedAt - appended);
    }
  }

  /** The figures as of `now` (ms since the epoch: where the recent window ends). */
  snapshot(
    runner: { state: RunnerState; epoch: number; lag: number; offsets: PartitionOffset[] },
    now: number,
  ): RunnerStats {
    const latency = this.#latency.snapshot();
    return {
      state: runner.state,
      epoch: runner.epoch,
      inputs: this.#inputs,
      processed: this.#processed,
      outputs: this.#outputs,
      dlq: this.#dlq,
      commits: this.#commits,
      lastCommitAt: this.#lastCommitAt,
      p50LatencyMs: quantile(latency, 0.5),
      p99LatencyMs: quantile(latency, 0.99),
      latencySamples: latency.samples,
      latency,
      recent: this.#recent.read(now),
      lag: runner.lag,
      offsets: runner.offsets,
    };
  }
}

/** Which state of several to report: the one that most needs attention. */
const ATTENTION: ReadonlyArray<RunnerState> = [
  'failed',
  'fenced',
  'stopped',
  'created',
  'starting',
  'pausing',
  'paused',
  'standby',
  'running',
];

/**
 * The figures of several runners (a group sharing the partitions) as one: counters, recent counts and
 * lag summed, latency from the merged histograms, offsets together. `state` defaults to the member
 * state that most needs attention (failed before fenced … before running).
 */
export function mergeRunnerStats(members: ReadonlyArray<RunnerStats>, state?: RunnerState): RunnerStats {
  const sum = (f: (s: RunnerStats) => number): number => members.reduce((n, s) => n + f(s), 0);
  const latency = mergeHistograms(members.map((s) => s.latency));
  const worst = ATTENTION.find((st) => members.some((s) => s.state === st)) ?? 'created';
  return {
    state: state ?? worst,
    epoch: members.reduce((e, s) => Math.max(e, s.epoch), 0),
    inputs: sum((s) => s.inputs),
    processed: sum((s) => s.processed),
    outputs: sum((s) => s.outputs),
    dlq: sum((s) => s.dlq),
    commits: sum((s) => s.commits),
    lastCommitAt: members.reduce((t, s) => Math.max(t, s.lastCommitAt), 0),
    p50LatencyMs: quantile(latency, 0.5),
    p99LatencyMs: quantile(latency, 0.99),
    latencySamples: latency.samples,
    latency,
    recent: {
      windowMs: members[0]?.recent.windowMs ?? 60_000,
      processed: sum((s) => s.recent.processed),
      dlq: sum((s) => s.recent.dlq),
    },
    lag: sum((s) => s.lag),
    offsets: members.flatMap((s) => s.offsets),
    ...(members.some((s) => s.warming === true) ? { warming: true } : {}),
    ...waitingOf(members),
  };
}

/** The longest wait for the schema registry among the members, when one waits. */
function waitingOf(members: ReadonlyArray<RunnerStats>): Pick<RunnerStats, 'registryUnavailable'> {
  let first: RunnerStats['registryUnavailable'];
  for (const m of members) {
    const w = m.registryUnavailable;
    if (w !== undefined && (first === undefined || w.since < first.since)) first = w;
  }
  return first === undefined ? {} : { registryUnavailable: first };
}

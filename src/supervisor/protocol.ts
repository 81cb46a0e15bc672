import type { PartitionOffset, TopicPartition } from '../log/log.js';
import type { LogConfig } from '../log/open-log.js';
import type { ActivateOptions, RunnerMode, RunnerState } from '../runtime/runner.js';

/** What a supervised runner process runs. */
export interface RunnerSpec {
  /** Unique id of this runner, e.g. `dep-12:green`. */
  id: string;
  /** A pipeline module (TypeScript or JavaScript), or an artifact's `bundle.mjs`. */
  module: string;
  /** Which pipeline the module exports, when it exports several. */
  pipeline?: string;
  /** The embedded log file (used when `log` is not given). */
  logPath: string;
  /** The log to run on, as the environment configures it (default: the embedded log at `logPath`). */
  log?: LogConfig;
  config?: unknown;
  mode?: RunnerMode;
  shadowId?: string;
  owner?: string;
  group?: string;
  batchSize?: number;
  assignment?: TopicPartition[];
  /** Key share for canaries: process only records whose key bucket (0..9999) is in [from, to). */
  keyRange?: { from: number; to: number };
}

/** Controller → runner. */
export type RunnerCommand =
  | { id: number; cmd: 'start'; spec: RunnerSpec }
  | ({ id: number; cmd: 'activate' } & ActivateOptions)
  | { id: number; cmd: 'pause' }
  | { id: number; cmd: 'runUntil'; offsets: PartitionOffset[]; epoch?: number }
  | { id: number; cmd: 'stop' }
  | { id: number; cmd: 'stats' }
  | { id: number; cmd: 'metrics' };

/** A runner's figures since it started (counters) and over the last few seconds (rates, latency). */
export interface RunnerStats {
  state: RunnerState;
  epoch: number;
  inputs: number;
  /** Input records in the runner's key share (a canary passes over the others). */
  processed: number;
  outputs: number;
  dlq: number;
  commits: number;
  /** ms since the epoch of the last commit, 0 if none. */
  lastCommitAt: number;
  /** End-to-end latency p99 over the recent window, ms. */
  p99LatencyMs: number;
  /** Records behind, summed over partitions. */
  lag: number;
  offsets: PartitionOffset[];
}

/** Runner → controller. */
export type RunnerMessage =
  | { reply: number; ok: true; result?: unknown }
  | { reply: number; ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } }
  | { event: 'state'; state: RunnerState }
  | { event: 'commit'; inputs: number; outputs: number; dlq: number; committedAt: number; maxLatencyMs: number }
  | { event: 'dlq'; reason: string; message: string; source: string };

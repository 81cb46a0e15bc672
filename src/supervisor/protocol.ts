import type { PartitionOffset, TopicPartition } from '../log/log.js';
import type { LogConfig } from '../log/open-log.js';
import type { ActivateOptions, RunnerMode, RunnerState } from '../runtime/runner.js';
import type { RunnerStats as RuntimeRunnerStats } from '../runtime/runner-stats.js';

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

/**
 * Transitional: the figures the child-process host builds today. `RunnerStats` now lives in the
 * runtime (`src/runtime/runner-stats.ts`, returned by `Runner.stats()`: p50/p99 from a histogram, null
 * before any sample, and a 60 s window of counts; reading never changes them). The host keeps its own
 * counters and a p99 (a number) until it returns `runner.stats()`; the figures it does not have are
 * optional here. Replace with `export type { RunnerStats } from '../runtime/runner-stats.js'` then.
 */
export type RunnerStats = Omit<RuntimeRunnerStats, NewFigures | 'p99LatencyMs'> & {
  /** End-to-end latency p99, ms (the runtime's is null before any sample). */
  p99LatencyMs: number;
} & Partial<Pick<RuntimeRunnerStats, NewFigures>>;

type NewFigures = 'p50LatencyMs' | 'latencySamples' | 'latency' | 'recent';

/** Runner → controller. */
export type RunnerMessage =
  | { reply: number; ok: true; result?: unknown }
  | { reply: number; ok: false; error: { code?: string; message: string; details?: Record<string, unknown> } }
  | { event: 'state'; state: RunnerState }
  | { event: 'commit'; inputs: number; outputs: number; dlq: number; committedAt: number; maxLatencyMs: number }
  | { event: 'dlq'; reason: string; message: string; source: string };

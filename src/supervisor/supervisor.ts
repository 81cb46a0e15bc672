import type { EventEmitter } from 'node:events';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import type { PostgresDatastore } from '../datastore/connection.js';
import type { PartitionOffset, TopicPartition } from '../log/log.js';
import type { LogConfig } from '../log/open-log.js';
import type { SecretReference } from '../pipeline/secrets.js';
import type {
  ActivateOptions,
  ReplayRequest,
  ReplayResult,
  RunnerMode,
  RunnerState,
  StateMigrationResult,
} from '../runtime/runner.js';
import type { RunnerStats } from '../runtime/runner-stats.js';
import type { SampleInput, SampleOutput } from '../runtime/sample-run.js';

export type { ReplayRequest, ReplayResult } from '../runtime/runner.js';
export type { RunnerStats } from '../runtime/runner-stats.js';
export type { SampleInput, SampleOutput } from '../runtime/sample-run.js';

/**
 * The seam between deciding what runs (the controller, `slipway run`) and running it: a
 * `RunnerSupervisor` starts runners from specs and hands back `RunnerHandle`s to drive them.
 * Implementations: child processes on this machine (`ChildProcessSupervisor`, what the daemon uses)
 * and in-process runners (`InProcessSupervisor`, for tests and tools); agents on other machines
 * plug in here. Every implementation passes the contract suite (`runSupervisorContract`).
 */

/** What a supervised runner runs: an artifact by digest, on a log, under an owner — never a source path. */
export interface RunnerSpec {
  /** Unique id of this runner, e.g. `enrich-orders@1.1.0:green:3f9a1c`. */
  id: string;
  /** The artifact (`sha256:<64 hex>`) in the supervisor's artifact store; verified before it is loaded. */
  digest: string;
  /** The pipeline the artifact's manifest names (checked when it is loaded). */
  pipeline: string;
  /** The log to run on, as the environment configures it. */
  log: LogConfig;
  config?: unknown;
  mode?: RunnerMode;
  shadowId?: string;
  owner?: string;
  group?: string;
  batchSize?: number;
  assignment?: TopicPartition[];
  /** Key share for canaries: process only records whose key bucket (0..9999) is in [from, to). */
  keyRange?: { from: number; to: number };
  /** The deployment that started it, recorded in the dead letters it writes. */
  deployment?: string;
  /**
   * The pipeline's secrets in this environment, by reference only: resolved in the runner's own process
   * when it starts (a missing one fails the start with `SLIPWAY_SECRET_MISSING`); values never travel.
   */
  secrets?: Record<string, SecretReference>;
  /**
   * A sink pipeline's datastore (the environment's datastore named by its table), the password by reference
   * only: resolved in the runner's own process like `secrets`. Required to run a pipeline with a `sink`.
   */
  datastore?: SinkDatastoreRef;
}

/** Where a sink pipeline's table is: the datastore and its password's secret reference (never the value). */
export interface SinkDatastoreRef {
  datastore: PostgresDatastore;
  password?: SecretReference;
}

/** A runner's exit: its code or signal, and whether someone asked it to stop. */
export interface RunnerExit {
  code: number | null;
  signal: string | null;
  /** True when `stop()` was called (or the supervisor closed). */
  expected: boolean;
  /** Why it failed, when it failed with an error before it exited. */
  error?: { code?: string; message: string };
}

/** A commit as a supervised runner reports it. */
export interface RunnerCommit {
  inputs: number;
  outputs: number;
  dlq: number;
  committedAt: number;
  maxLatencyMs: number;
}

/** A dead letter as a supervised runner reports it. */
export interface RunnerDeadLetter {
  reason: string;
  message: string;
  source: string;
}

export type HandleState = RunnerState | 'exited';

/**
 * One runner (or a group of them, `RunnerGroup`) as its supervisor drives it. Events: `state`
 * (HandleState), `commit` (RunnerCommit), `dlq` (RunnerDeadLetter), `failed` ({ code?, message }),
 * `exit` (RunnerExit). Commands reject with the runner's own error, code and retryable flag kept;
 * a command to a runner that is gone rejects with `SLIPWAY_RUNNER_EXITED`.
 */
export interface RunnerHandle extends EventEmitter {
  readonly spec: RunnerSpec;
  readonly state: HandleState;
  /** The process id, when the runner has a process of its own. */
  readonly pid: number | undefined;
  /** How many runners (a group has several). */
  readonly size: number;
  /** The owners it writes under: a handoff away from it fences every one. */
  readonly owners: string[];
  /** ms since the epoch of its last commit (0 before the first). */
  readonly lastCommitAt: number;
  activate(options?: ActivateOptions): Promise<void>;
  pause(): Promise<PartitionOffset[]>;
  runUntil(offsets: PartitionOffset[], epoch?: number): Promise<PartitionOffset[]>;
  /** Its figures; reading them changes nothing. */
  stats(): Promise<RunnerStats>;
  /** Its Prometheus metrics, as `Registry.getMetricsAsJSON()` gives them. */
  metrics(): Promise<MetricObjectWithValues<MetricValue<string>>[]>;
  /**
   * Runs values through the runner's batch core without a log between (the sample shadow diff):
   * only in standby, and the runner must not be activated afterwards. Returns the outputs by source.
   */
  sample(inputs: SampleInput[]): Promise<SampleOutput[]>;
  /**
   * Replays dead letters of its input partitions through its batch core, exactly once by source
   * (`Runner.replayDeadLetters`): only while paused or in standby; it stays so (activate it after).
   */
  replayDeadLetters(request: ReplayRequest): Promise<ReplayResult>;
  /**
   * Takes the committed state of its partitions back to layout `version` with the pipeline's
   * `migrateState.down` (`Runner.migrateState`): only while paused or in standby (under `epoch`, or one
   * it fences); it stays so. A rollback runs it on the newer version before handing off to the older.
   */
  migrateState(version: number, epoch?: number): Promise<StateMigrationResult>;
  /** Stops the runner (it finishes its batch and commits) and waits for it to be gone. Idempotent. */
  stop(): Promise<void>;
  /** Ends it at once, without a last commit: a crash (tests, chaos). */
  kill(signal?: NodeJS.Signals): void;
}

export interface RunnerSupervisor {
  /** `child-process`, `in-process`, … (for messages and status). */
  readonly kind: string;
  /**
   * Starts a runner from its spec: the artifact verified and loaded, config checked, topics created;
   * resolves in `standby`. Rejects (and leaves nothing running) when it cannot.
   */
  start(spec: RunnerSpec): Promise<RunnerHandle>;
  /** Stops every runner it started that still runs (each commits its last batch). Idempotent. */
  close(): Promise<void>;
}

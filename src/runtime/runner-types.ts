// The runner's public types: its options, lifecycle states, events, and the key bucket of canary shares.
import { FNV_OFFSET, fnv1a } from '../dataset/key-hash.js';
import type { SchemaRegistryOptions } from '../dataset/registry/schema-registry-client.js';
import type { DatastoreConnection } from '../datastore/connection.js';
import type { Log, PartitionOffset, TopicPartition } from '../log/log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Secrets } from '../pipeline/secrets.js';
import type { ToggleSource } from '../toggles/toggle-log.js';
import type { RunnerMetrics } from './metrics.js';

/** Header naming the input record an output came from: `<topic>/<partition>/<offset>[#n]`. */
export const SOURCE_HEADER = 'slipway-source';

/**
 * Headers of every dead letter: why it was dead-lettered (a {@link DlqReason}), and which pipeline
 * version wrote it — always its `version`; its artifact digest and deployment id when the runner was
 * told them ({@link RunnerOptions.provenance}). For listing dead letters by reason and version, and replay.
 */
export const DLQ_HEADERS = {
  reason: 'slipway-dlq-reason',
  version: 'slipway-version',
  artifact: 'slipway-artifact',
  deployment: 'slipway-deployment',
} as const;

/** Where a runner's pipeline version comes from, stamped on each of its dead letters. */
export interface Provenance {
  /** The artifact's digest (`sha256:…`). */
  artifact?: string;
  /** The deployment that started this runner. */
  deployment?: string;
}

export type RunnerState =
  | 'created'
  | 'starting'
  | 'standby'
  | 'running'
  | 'pausing'
  | 'paused'
  | 'fenced'
  | 'stopped'
  | 'failed';

export type RunnerMode = 'live' | 'shadow';

/** An input record found on another partition than its key's (see `DatasetDefinition.wrongPartition`). */
export interface WrongPartitionEvent {
  /** `topic/partition/offset` of the record. */
  source: string;
  key: string;
  /** The partition its key maps to (murmur2, as Kafka's Java clients). */
  expected: number;
  actual: number;
  policy: 'dead-letter' | 'warn' | 'ignore';
}

/**
 * Why a record went to the dead-letter dataset. `unknown-schema-id` and `undecodable`: an input in a schema-registry
 * format whose writer schema the registry does not know, or whose value is not in the wire format or does not
 * decode (the dead letter keeps its bytes as `valueBase64`).
 */
export type DlqReason =
  | 'invalid-json'
  | 'input-schema'
  | 'process-error'
  | 'output-schema'
  | 'wrong-partition'
  | 'unknown-schema-id'
  | 'undecodable';

export interface RunnerOptions {
  pipeline: Pipeline;
  log: Log;
  /** Pipeline config; validated against the pipeline's config schema at `start()`. */
  config?: unknown;
  /**
   * `live` (default) writes the real outputs; `shadow` writes everything under its shadow names
   * (`shadowTopic`: outputs to `<topic>.shadow.<shadowId>`, dead letters to `<input>.dlq.shadow.<shadowId>`)
   * under its own owner.
   */
  mode?: RunnerMode;
  /** A shadow run's id (letters, digits, `_`, `-`): part of its topic names. */
  shadowId?: string;
  /** Stamped on every dead letter (`slipway-artifact`, `slipway-deployment` headers) beside the version. */
  provenance?: Provenance;
  /** Input partitions this runner owns (default: every partition of every input). */
  assignment?: TopicPartition[];
  /** Owner for fencing (default `slipway.<pipeline>`, or `slipway.<pipeline>.shadow.<id>`). */
  owner?: string;
  /** Consumer group for the input offsets (default `slipway.<pipeline>`, or `….shadow.<id>`). A canary has its own. */
  group?: string;
  /** Most input records per atomic commit (default 2000). */
  batchSize?: number;
  /** Longest wait for new input before looking again, in ms (default 250). */
  idleWaitMs?: number;
  /**
   * On a log with a state changelog (Kafka), keep the state current while in standby or paused, so activation
   * reads only the last delta (default true for live runners; shadows are handed their state).
   */
  warmState?: boolean;
  metrics?: RunnerMetrics;
  /**
   * The clock of commit times and latency, ms since the epoch (default `Date.now`). Tests inject one
   * to know latencies exactly; record append times come from the log.
   */
  clock?: () => number;
  /**
   * Canary share: process only records whose key bucket (`keyBucket(key)`, 0..9999) is in
   * [from, to); the rest are passed over (their offsets still advance). Default: every record.
   */
  keyRange?: { from: number; to: number };
  /** What `ctx.secrets` gives `process`, resolved where this runner runs (default: none). */
  secrets?: Secrets;
  /**
   * A sink pipeline's datastore, its password resolved: the runner commits its rows, offsets, state and epoch
   * there (a `SinkLog` over `log`). Required when the pipeline has a `sink` (unless `log` is a SinkLog).
   */
  datastore?: DatastoreConnection;
  /**
   * Where the pipeline's toggles come from (pipelines that declare toggles): default, the `slipway.toggles`
   * topic of the runner's log (its environment's), looked at between batches at most every `toggleRefreshMs`.
   */
  toggles?: ToggleSource;
  /** How often to look for toggle changes, in ms (default 100). */
  toggleRefreshMs?: number;
  /**
   * The schema registry (Confluent-compatible API) of datasets with a registry format (`avro()`, `jsonSchema()`),
   * its password resolved. Needed on a log that stores bytes (Kafka): without it such a pipeline is refused at
   * `start()` with `SLIPWAY_SCHEMA_REGISTRY_UNAVAILABLE`. The embedded log checks formats as JSON without one.
   */
  schemaRegistry?: SchemaRegistryOptions;
}

export interface ActivateOptions {
  /** Where to start, per partition (default: the group's committed offsets, else 0). */
  offsets?: ReadonlyArray<PartitionOffset>;
  /** The epoch to write under, from the caller's `fence(owner)` (default: the runner fences itself). */
  epoch?: number;
  /** Keyed state to start from, per partition, instead of the runner's own namespace (a shadow run's snapshot). */
  state?: Record<number, Array<[string, string]>>;
  /** The canary key share from now on (`null`: every key). Unchanged when omitted. */
  keyRange?: { from: number; to: number } | null;
  /**
   * Take over another owner and consumer group from now on (a canary's last step: green, which ran
   * under its own owner and group, becomes the live runner). Unchanged when omitted.
   */
  owner?: string;
  group?: string;
}

export interface CommitEvent {
  /** Input records consumed by this commit (including those sent to the DLQ). */
  inputs: number;
  /** Input records in this runner's key share (all of them without a canary share). */
  processed: number;
  outputs: number;
  dlq: number;
  /** Positions after the commit. */
  offsets: PartitionOffset[];
  /** Append times of the batch's input records (only filled when someone listens for `commit`). */
  inputTimestamps: number[];
  committedAt: number;
  durationMs: number;
}

export interface DlqEvent {
  reason: DlqReason;
  message: string;
  source: string;
}

/** A stable bucket 0..9999 of a record key (FNV-1a, independent of the partitioner), for canary shares. */
export function keyBucket(key: string): number {
  return (fnv1a(FNV_OFFSET, key) >>> 0) % 10_000;
}

/**
 * Slipway — continuous delivery for streaming data pipelines.
 * This file is the public API: everything not exported here is internal and may change.
 */

export * from './artifact/index.js';
export type {
  ArtifactRef,
  ControlStore,
  DeploymentEvent,
  DeploymentRecord,
  DeploymentStatus,
  DeployOptions,
  GateConfig,
  Release,
  Strategy,
} from './control/control-store.js';
export { openSqliteControlStore } from './control/sqlite-control-store.js';
export type { Dataset, DatasetDefinition, RecordOf } from './dataset/dataset.js';
export { defineDataset, dlqTopic, isDataset } from './dataset/dataset.js';
export type { JsonSchema } from './dataset/schema.js';
export { canonicalJson, schemaDigest } from './dataset/schema.js';
export type { ControllerOptions } from './deploy/controller.js';
export { Controller } from './deploy/controller.js';
export type { ExactlyOnceReport } from './deploy/exactly-once-check.js';
export { checkExactlyOnce } from './deploy/exactly-once-check.js';
export type { OutputDiff } from './deploy/output-diff.js';
export { diffOutputs } from './deploy/output-diff.js';
export type { ErrorCode, SlipwayErrorOptions } from './errors.js';
export { ErrorCodes, isSlipwayError, SlipwayError } from './errors.js';
export type { EmbeddedLogOptions } from './log/embedded/embedded-log.js';
export { openEmbeddedLog } from './log/embedded/embedded-log.js';
export type {
  AppendRecord,
  CommitBatch,
  CommitResult,
  CreateTopicOptions,
  Headers,
  Log,
  LogRecord,
  PartitionOffset,
  Snapshot,
  SnapshotRequest,
  StateWrite,
  TopicInfo,
  TopicPartition,
  TopicSettings,
  WaitOptions,
} from './log/log.js';
export { MemoryLogStore, openMemoryLog } from './log/memory/memory-log.js';
export type { LogConfig } from './log/open-log.js';
export { openLog } from './log/open-log.js';
export { murmur2, partitionFor } from './log/partitioner.js';
export type { KeyedState, Pipeline, PipelineDefinition, ProcessContext, SourceInfo } from './pipeline/pipeline.js';
export { definePipeline, isPipeline } from './pipeline/pipeline.js';
export type { MetricsServer } from './runtime/metrics.js';
export { RunnerMetrics, serveMetrics } from './runtime/metrics.js';
export type {
  ActivateOptions,
  CommitEvent,
  DlqEvent,
  DlqReason,
  RunnerMode,
  RunnerOptions,
  RunnerState,
} from './runtime/runner.js';
export { keyBucket, Runner, SOURCE_HEADER } from './runtime/runner.js';
export * from './samples/index.js';
export type { RunnerHandle } from './supervisor/runner-group.js';
export { createDatasetTopic, createDeadLetterTopic } from './topics/dataset-topic.js';
export type { TopicDifference, TopicPlan, TopicPlanEntry, TopicStatus } from './topics/topic-plan.js';
export { applyTopics, planTopics, topicMismatchError } from './topics/topic-plan.js';

/**
 * Slipway — continuous delivery for streaming data pipelines.
 * This file is the public API: everything not exported here is internal and may change.
 */
export type { Dataset, DatasetDefinition, RecordOf } from './dataset/dataset.js';
export { defineDataset, dlqTopic, isDataset } from './dataset/dataset.js';
export type { JsonSchema } from './dataset/schema.js';
export { canonicalJson, schemaDigest } from './dataset/schema.js';
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
  StateWrite,
  TopicInfo,
  TopicPartition,
  WaitOptions,
} from './log/log.js';
export { murmur2, partitionFor } from './log/partitioner.js';
export type { KeyedState, Pipeline, PipelineDefinition, ProcessContext, SourceInfo } from './pipeline/pipeline.js';
export { definePipeline, isPipeline } from './pipeline/pipeline.js';
export type { MetricsServer } from './runtime/metrics.js';
export { RunnerMetrics, serveMetrics } from './runtime/metrics.js';
export type { CommitEvent, DlqEvent, DlqReason, RunnerMode, RunnerOptions, RunnerState } from './runtime/runner.js';
export { Runner, SOURCE_HEADER } from './runtime/runner.js';

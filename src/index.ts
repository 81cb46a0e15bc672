/**
 * Slipway — continuous delivery for streaming data pipelines.
 * This file is the public API: everything not exported here is internal and may change.
 */

export * from './artifact/index.js';
export type { ControlPlaneClient } from './control/client.js';
export type { MetricsSource } from './control/runner-metrics.js';
export { runnerMetricsText } from './control/runner-metrics.js';
export { openSqliteControlStore } from './control/sqlite-control-store.js';
export type {
  CompatibilityMode,
  CompatibilityReport,
  Incompatibility,
  SchemaVersion,
} from './dataset/compatibility.js';
export {
  COMPATIBILITY_MODES,
  checkCompatibility,
  formatIncompatibility,
  satisfies,
} from './dataset/compatibility.js';
export type { Dataset, DatasetDefinition, DatasetUpcast, RecordOf, WrongPartitionPolicy } from './dataset/dataset.js';
export { defineDataset, dlqTopic, isDataset } from './dataset/dataset.js';
export {
  avro,
  type CompatibilityAnswer,
  checkRegistryCompatibility,
  checkRegistryInputs,
  decodeWire,
  encodeWire,
  formatMismatch,
  jsonSchema,
  type RegisteredSchema,
  type RegistryCheckedDataset,
  type RegistryCheckResult,
  RegistryCodec,
  type RegistrySchemaType,
  type RegistryValueFormat,
  SchemaRegistryClient,
  type SchemaRegistryOptions,
  valueSubject,
  type WireValue,
} from './dataset/registry/index.js';
export type { JsonSchema } from './dataset/schema.js';
export { canonicalJson, schemaDigest } from './dataset/schema.js';
export type { SubsetRule, SubsetViolation } from './dataset/schema-subset.js';
export { SUBSET_RULES, schemaViolations } from './dataset/schema-subset.js';
export * from './datastore/index.js';
export type {
  ArtifactRecord,
  ControlStore,
  PipelineEvent,
  PipelineEventKind,
  RunnerRecord,
} from './deploy/control-store.js';
export type { ControllerOptions } from './deploy/controller.js';
export { Controller } from './deploy/controller.js';
export type {
  DeployOptions,
  DeployRequest,
  DeployRequestOptions,
  DeployStrategy,
  Strategy,
} from './deploy/deploy-options.js';
export { DeployOptionsSchema, DeployRequestSchema } from './deploy/deploy-options.js';
export type {
  ArtifactRef,
  ContractInput,
  ContractMigrations,
  ContractOutcome,
  ContractStep,
  DeploymentEvent,
  DeploymentEventBody,
  DeploymentRecord,
  DeploymentStatus,
  DeploymentSummary,
  Release,
  ReplayOutcome,
  StepName,
} from './deploy/deployment.js';
export type { BaselineCounts, GateConfig, GateName, GateStatus, GateVerdict } from './deploy/gates.js';
export { GateConfigSchema } from './deploy/gates.js';
export type { OutputDiff } from './deploy/output-diff.js';
export { diffOutputs } from './deploy/output-diff.js';
export type { ReplayOptions, ReplayRequestBody, ReplaySelection } from './deploy/replay-options.js';
export { ReplayOptionsSchema, ReplayRequestSchema } from './deploy/replay-options.js';
export type { RunnerColour, SupervisedRunner } from './deploy/runner-colour.js';
export type { ReplayPlanView } from './deploy/strategies/replay.js';
export type { AlertRule, AlertRuleGroup, AlertRuleOptions } from './environment/alert-rules.js';
export { alertRuleGroups, alertRulesYaml, SLO_ALERTS } from './environment/alert-rules.js';
export { datastoreContractHook } from './environment/datastore-contract-hook.js';
export {
  artifactTables,
  type DeployMigrationsInput,
  type DeployMigrationsResult,
  datastoreDeployHook,
} from './environment/datastore-deploy-hook.js';
export { resolveDatastore, tablesOfDatastore } from './environment/datastores.js';
export type { GrafanaDashboard } from './environment/grafana-dashboard.js';
export { grafanaDashboard } from './environment/grafana-dashboard.js';
export type { ObservabilityExport } from './environment/observability-export.js';
export { exportObservability } from './environment/observability-export.js';
export type {
  DatastoreSpec,
  EnvironmentSpec,
  Project,
  ProjectSpec,
  SecretRef,
  Slo,
} from './environment/project.js';
export { checkProject, defineProject, durationMs, isProject } from './environment/project.js';
export type { ResolvedEnvironment } from './environment/resolve.js';
export { environmentLog, environmentsInOrder, resolveEnvironment } from './environment/resolve.js';
export type { ResolvedSlo } from './environment/slo.js';
export { DEFAULT_ALERT_AFTER_MS, pipelineSlo, resolveSlos, sloGateDefaults } from './environment/slo.js';
export type { ErrorCode, ErrorJSON, SlipwayErrorOptions } from './errors.js';
export { ErrorCodes, errorFromJSON, errorToJSON, isSlipwayError, SlipwayError } from './errors.js';
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
  StateChanges,
  StateWrite,
  TopicInfo,
  TopicPartition,
  TopicSettings,
  WaitOptions,
} from './log/log.js';
export { MemoryLogStore, openMemoryLog } from './log/memory/memory-log.js';
export type { LogConfig, SchemaRegistryConfig } from './log/open-log.js';
export { openLog } from './log/open-log.js';
export { murmur2, partitionFor } from './log/partitioner.js';
export type { UndecodableReason, UndecodableValue, ValueCodec, ValueCodecs } from './log/value-codec.js';
export { bridgePipeline } from './pipeline/bridge.js';
export type { KeyedState, Pipeline, PipelineDefinition, ProcessContext, SourceInfo } from './pipeline/pipeline.js';
export { definePipeline, isPipeline } from './pipeline/pipeline.js';
export type { StateMigration, StateMigrationDescription } from './pipeline/state-migration.js';
export type { SinkMode, TableSink, TableSinkOptions } from './pipeline/table-sink.js';
export { isTableSink, tableSink } from './pipeline/table-sink.js';
export type { BridgePartitionProgress, BridgeProgressEvent } from './runtime/bridge-progress.js';
export { watchBridgeProgress } from './runtime/bridge-progress.js';
export type {
  DeadLetter,
  DeadLetterGroup,
  DeadLetterSelection,
  ReplayMarker,
  ReplayStatus,
  SourceRange,
} from './runtime/dead-letters.js';
export {
  groupDeadLetters,
  parseSourceRange,
  REPLAY_HEADER,
  readDeadLetters,
  readReplayMarkers,
  replayMarkerTopic,
} from './runtime/dead-letters.js';
export type { ExactlyOnceReport } from './runtime/exactly-once-check.js';
export { checkExactlyOnce } from './runtime/exactly-once-check.js';
export type { LatencyHistogramSnapshot } from './runtime/latency-histogram.js';
export type { MetricsServer } from './runtime/metrics.js';
export { RunnerMetrics, serveMetrics } from './runtime/metrics.js';
export { resolveSchemaRegistry } from './runtime/registry-options.js';
export type {
  ActivateOptions,
  CommitEvent,
  DlqEvent,
  DlqReason,
  Provenance,
  RegistryUnavailableEvent,
  ReplayRequest,
  ReplayResult,
  RunnerMode,
  RunnerOptions,
  RunnerState,
  StateMigrationResult,
  WrongPartitionEvent,
} from './runtime/runner.js';
export {
  DLQ_HEADERS,
  keyBucket,
  Runner,
  SOURCE_HEADER,
  shadowTableName,
  shadowTopic,
  shadowTopics,
} from './runtime/runner.js';
export type { RecentWindow, RunnerStats } from './runtime/runner-stats.js';
export { mergeRunnerStats } from './runtime/runner-stats.js';
export type { SinkCommitBatch, SinkLogOptions } from './runtime/sink-log.js';
export { SinkLog } from './runtime/sink-log.js';
export type { SinkBatch } from './runtime/sink-rows.js';
export type { ToggleBarrier } from './runtime/toggle-barriers.js';
export { readToggleBarriers, versionAt } from './runtime/toggle-barriers.js';
export * from './samples/index.js';
export { ChildProcessSupervisor } from './supervisor/child-process-supervisor.js';
export { InProcessSupervisor } from './supervisor/in-process-supervisor.js';
export { RunnerGroup } from './supervisor/runner-group.js';
export type { RunnerExit, RunnerHandle, RunnerSpec, RunnerSupervisor } from './supervisor/supervisor.js';
export * from './toggles/index.js';
export { createDatasetTopic, createDeadLetterTopic } from './topics/dataset-topic.js';
export type { TopicDifference, TopicPlan, TopicPlanEntry, TopicStatus } from './topics/topic-plan.js';
export { applyTopics, planTopics, topicMismatchError } from './topics/topic-plan.js';

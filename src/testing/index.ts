/**
 * `slipway/testing`: test pipelines with the real runtime, under any test runner (node:test, Vitest,
 * Jest). Nothing here imports a test framework. Everything not exported here is internal.
 */
export type { TestFailure, TestLayer, TestLayerResult, TestReport } from '../deploy/test-report.js';
export type { LoadSampleOptions } from '../samples/store.js';
export { loadSample } from '../samples/store.js';
export type { RawRecord } from './dataset-records.js';
export { produceRecords, readRecords } from './dataset-records.js';
export type { HarnessDlqEntry, HarnessOptions, HarnessOutput, SendResult } from './harness.js';
export { createHarness, PipelineHarness } from './harness.js';
export type { LocalControlPlane, LocalDeployOptions } from './local-control-plane.js';
export { startLocalControlPlane } from './local-control-plane.js';
export type { RunPipelineOptions, RunPipelineResult } from './run-pipeline.js';
export { runPipeline } from './run-pipeline.js';
export type { TapTest } from './tap-results.js';
export { TEST_CLOCK_START, TestClock } from './test-clock.js';
export type { RunTestSuitesOptions, TestRunEvent, TestRunResult } from './test-suites.js';
export { findTestFiles, runTestSuites, TEST_LAYERS } from './test-suites.js';
export { withEmbeddedLog } from './with-embedded-log.js';
export { TEST_LOG_VARIABLE, withTestLog } from './with-test-log.js';

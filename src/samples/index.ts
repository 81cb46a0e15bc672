/**
 * Samples: representative, masked slices of real data, versioned in the project (`samples/<topic>/<name>.jsonl`
 * with `<name>.stats.json`), used as test fixtures, checked for drift against live data, and the shape of
 * synthetic load. Everything here is public; src/index.ts re-exports it.
 */
export type { CaptureOptions, CaptureProgress, StratifyBy } from './capture.js';
export { captureSample } from './capture.js';
export type { DriftReport, DriftThresholds, FieldDrift, FieldDriftStatus } from './drift.js';
export { compareStats, DEFAULT_DRIFT_THRESHOLDS } from './drift.js';
export type { FakeKind } from './fake-values.js';
export { FAKE_KINDS } from './fake-values.js';
export type { Masker, MaskFunction, Masking, MaskingDefinition, MaskRule, MaskTools } from './masking.js';
export { createMasker, defineMasking, isMasking, MASK_KEY_ENV, maskKeyId, resolveMaskKey } from './masking.js';
export type { PiiFinding, PiiKind, PiiScanOptions } from './pii.js';
export { assertNoPii, detectPii, luhnValid, scanForPii } from './pii.js';
export type { StratumCount } from './reservoir.js';
export type { FieldStats, NumericStats, SampleStats, ScalarValue, TopValue } from './stats.js';
export { computeStats } from './stats.js';
export type { LoadSampleOptions, Sample, SampleManifest, SampleRef } from './store.js';
export {
  DEFAULT_SAMPLE_NAME,
  defaultSamplesRoot,
  listSamples,
  loadSample,
  parseSampleRef,
  readSample,
  readSampleStats,
  writeSample,
} from './store.js';
export type { Synthesizer, SynthOptions } from './synth.js';
export { createSynthesizer, synthesize } from './synth.js';

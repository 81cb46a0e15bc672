// Feature and data toggles: declared as code, set per environment on its log, evaluated per record.
export type { Toggle, ToggleDefinition, ToggleDescription, ToggleKind } from './toggle.js';
export { defineToggle, describeToggle, isToggle } from './toggle.js';
export { parseTogglesHeader, TOGGLES_HEADER, ToggleEvaluator } from './toggle-evaluator.js';
export type { ToggleChange, ToggleChangeEntry, ToggleSnapshot, ToggleSource } from './toggle-log.js';
export {
  applyChanges,
  LogToggleSource,
  readToggleHistory,
  StaticToggleSource,
  setToggle,
  snapshotAt,
  TOGGLE_TOPIC,
} from './toggle-log.js';
export type {
  ToggleGateEvidence,
  ToggleRolloutEvent,
  ToggleRolloutOptions,
  ToggleRolloutResult,
} from './toggle-rollout.js';
export { rolloutToggle } from './toggle-rollout.js';
export type { ToggleRule, ToggleSetting, VariantOf } from './toggle-setting.js';
export {
  checkToggleSetting,
  compileSetting,
  describeSetting,
  parseToggleRule,
  toggleBucket,
} from './toggle-setting.js';

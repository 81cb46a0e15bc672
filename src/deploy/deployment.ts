import type { PartitionOffset } from '../log/log.js';
import type { ReplayResult } from '../runtime/runner.js';
import type { DeployOptions, Strategy } from './deploy-options.js';
import type { BaselineCounts, GateVerdict } from './gates.js';
import type { OutputDiff } from './output-diff.js';
import type { SampleShadowDiff } from './sample-shadow.js';

/**
 * The deployment model: what the controller records in the control store, step by step, and what
 * the API and the CLI read back. Steps and events are tagged unions, so whoever reads an event gets
 * its data's type from its step and kind.
 */

export type DeploymentStatus = 'running' | 'completed' | 'rolled_back' | 'aborted' | 'failed';
export type TerminalStatus = Exclude<DeploymentStatus, 'running'>;

/** Statuses a deployment never leaves. */
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['completed', 'rolled_back', 'aborted', 'failed'];

/** What runs: an artifact of the store, by digest, with the pipeline its manifest names. */
export interface ArtifactRef {
  /** `sha256:<64 hex>`. */
  digest: string;
  /** Pipeline name and version, from the manifest. */
  pipeline: string;
  version: string;
}

/** An error as a step records it: its code (when it has one), message and whether a retry may help. */
export interface StepError {
  code: string | null;
  message: string;
  retryable?: boolean;
}

/** The exact handoff of a cutover, rollback or scaling: where, under which epoch, how long output paused. */
export interface Handoff {
  offsets: PartitionOffset[];
  epoch: number;
  pauseMs: number;
  /** Sum of the offsets, for progress lines. */
  records: number;
  /** Where the handoff's time went (blue-green, canary and rollback handoffs), ms. */
  phases?: HandoffPhases;
}

/**
 * The phases of a handoff as the controller sees them: blue paused (its last transaction committed), the owner
 * fenced (state migrated back when needed), the committed offsets read, green activated (producer session
 * claimed, the last state delta read, its loop started). When blue paused and there is no state to take back,
 * green fences the owner itself as it activates: `fenceMs` is 0, the fence is in `activateMs`.
 */
export interface HandoffPhases {
  pauseMs: number;
  fenceMs: number;
  offsetsMs: number;
  activateMs: number;
}

/** What the shadow phase found: the diff of green's shadow output against blue's, and its gates. */
export interface ShadowOutcome {
  ok: boolean;
  shadowInputs: number;
  diff: OutputDiff;
  sampleDiff?: SampleShadowDiff;
  gates: GateVerdict[];
}

/** What watching green came to (bake, canary step): passed, or failed with the gates that did, or rollback asked for. */
export interface BakeOutcome {
  ok: boolean;
  gates: GateVerdict[];
  /** `slipway rollback` asked for it. */
  requested?: boolean;
  /** Why, when it is not the gates (a cutover that failed, a canary step that could not complete). */
  reason?: string;
  error?: StepError;
  failedAt?: number;
}

/** A canary step's outcome: the barrier it moved to (when it moved) and the gates' verdict at that share. */
export interface CanaryStepOutcome extends BakeOutcome {
  share: number;
  at?: number;
  offsets?: PartitionOffset[];
  pauseMs?: number;
}

/** What a rollback did: the handoff back, and the time from the failing gate to blue committing again. */
export interface RollbackOutcome {
  offsets: PartitionOffset[];
  epoch?: number;
  pauseMs: number;
  rollbackMs: number;
}

/** A destructive migration step a deployment left for after blue retired (the contract of expand-and-contract). */
export interface ContractStep {
  datastore: string;
  table: string;
  version: number;
  description: string;
}

/** What the contract did once blue was retired: the steps applied (recorded in each datastore's ledger). */
export interface ContractOutcome {
  applied: ContractStep[];
}

/** Which deployment's contract a hook is asked for: green (now live), and blue (retired). */
export interface ContractInput {
  environment: string;
  deployment: string;
  green: ArtifactRef;
  blue: ArtifactRef | null;
}

/**
 * The environment's contract migrations, given to the controller (the daemon wires `datastoreContractHook`):
 * `pending` reads which steps green's tables have pending-contract, `apply` runs them (blue retired).
 */
export interface ContractMigrations {
  pending(input: ContractInput): Promise<ContractStep[]>;
  apply(input: ContractInput): Promise<ContractOutcome>;
}

/** What a replay of dead letters did: the runner's counts, through which version, how long output paused. */
export interface ReplayOutcome extends ReplayResult {
  version: string;
}

/** Where the live runner paused for a replay (its committed offsets N), or resumed from. */
export interface LiveOffsets {
  offsets: PartitionOffset[];
  records: number;
}

/** Figures and outcomes of a deployment, kept on its record for `history` and the dashboard. */
export interface DeploymentSummary {
  strategy: Strategy;
  startedAt: number;
  finishedAt?: number;
  /** `scale`: how many runners before and after. */
  from?: number;
  runners?: number;
  shadowAttempts?: number;
  diff?: OutputDiff;
  sampleDiff?: SampleShadowDiff;
  shadowGates?: GateVerdict[];
  cutoverPauseMs?: number | null;
  cutoverAt?: PartitionOffset[];
  /** Blue's processed records and dead letters over the minute before the cutover: what green's DLQ ratio is compared with. */
  baseline?: BaselineCounts;
  canaryShare?: number;
  canaryPausesMs?: number[];
  gates?: GateVerdict[];
  reason?: string;
  error?: StepError;
  rollbackMs?: number;
  /** Dead letters written by the version rolled back (for `slipway dlq replay`). */
  deadLettered?: number;
  /** `replay`: the dead letters planned for it, and what it did. */
  replayPlanned?: number;
  replay?: ReplayOutcome;
  /** `replay`: how long the live runner's output paused for it, ms. */
  replayPauseMs?: number;
  /** The contract migrations applied once blue was retired. */
  contract?: ContractOutcome;
  /** The contract migrations failed (green stays live; they stay pending for `slipway datastores apply`). */
  contractError?: StepError;
}

/** How a deployment ended, as its terminal event records it (also merged into the summary). */
export type FinishInfo = Partial<Omit<DeploymentSummary, 'strategy' | 'startedAt'>>;

export interface DeploymentRecord {
  id: string;
  pipeline: string;
  environment: string;
  artifact: ArtifactRef;
  /** What was live before (null for a first deployment). */
  previous: ArtifactRef | null;
  options: DeployOptions;
  status: DeploymentStatus;
  /** The step in progress or last done. */
  step: StepName;
  summary: DeploymentSummary;
  createdAt: number;
  updatedAt: number;
}

export type EventKind = 'begin' | 'end' | 'info' | 'error';

/** A canary step to a share of keys below 100 %: `canary-1`, `canary-10`, … */
export type CanaryStep = `canary-${number}`;

type Ev<S extends string, K extends EventKind, D> = { step: S; kind: K; data: D };
type Empty = Record<string, never>;

/** Every event a deployment records: by step and kind, with its data. */
export type DeploymentEventBody =
  | Ev<'planned', 'info', { artifact: ArtifactRef; previous: ArtifactRef | null; options: DeployOptions }>
  | Ev<'config', 'info', { from: 'request' | 'live' | 'defaults'; changes: ConfigChange[] }>
  | Ev<'start-green', 'info', { runner: string; pid: number | null }>
  | Ev<'start-green', 'begin', Empty>
  | Ev<'start-green', 'end', { epoch: number; pauseMs: number }>
  | Ev<'stop-blue', 'begin', Empty>
  | Ev<'stop-blue', 'end', Empty>
  | Ev<'shadow', 'begin', Empty>
  | Ev<'shadow', 'end', ShadowOutcome>
  | Ev<
      'cutover',
      'begin',
      {
        /** The runner paused at the cutover; null for a first release (nothing live). */
        blue?: string | null;
        /** A first release resumes from offsets something else committed before (an earlier `slipway run`): how many records. */
        committedBefore?: number;
      }
    >
  | Ev<'cutover', 'end', Handoff>
  | Ev<'bake', 'begin', Empty>
  | Ev<'bake', 'end', BakeOutcome>
  | Ev<'rollback', 'begin', Empty>
  | Ev<'rollback', 'end', RollbackOutcome>
  | Ev<'start-runners', 'info', { runners: number; pid: number | null }>
  | Ev<'handoff', 'begin', Empty>
  | Ev<'handoff', 'end', Handoff & { runners: number }>
  | Ev<'barrier', 'info', { share: number; offsets: PartitionOffset[] }>
  | Ev<CanaryStep, 'begin', { share: number }>
  | Ev<CanaryStep, 'end', CanaryStepOutcome>
  | Ev<'canary-cutover', 'begin', { share: 100 }>
  | Ev<'canary-cutover', 'end', Handoff & { share: 100 }>
  | Ev<'pause-live', 'begin', Empty>
  | Ev<'pause-live', 'end', LiveOffsets>
  | Ev<'replay', 'begin', { version: string; planned: number }>
  | Ev<'replay', 'end', ReplayOutcome>
  | Ev<'resume-live', 'begin', Empty>
  | Ev<'resume-live', 'end', LiveOffsets & { pauseMs: number | null }>
  | Ev<'contract', 'begin', { steps: ContractStep[] }>
  | Ev<'contract', 'end', ContractOutcome>
  | Ev<'runner', 'info', RunnerNote>
  | Ev<'state-migration', 'info', StateMigrationNote>
  | Ev<StepName, 'error', StepError>
  | Ev<TerminalStatus, 'info', FinishInfo>;

/**
 * A deployment that changes the state layout: recorded before it starts (`planned`: what will happen,
 * and whether a rollback can undo it), and when state is taken back on a rollback (`reverse`).
 */
export interface StateMigrationNote {
  what: 'planned' | 'reverse';
  from: number;
  to: number;
  /**
   * `planned`: `up` when the new version migrates the state at its activation; `down` when it is an older
   * version and the live one takes the state back with its `down` at the cutover. Absent in records from
   * before it was kept (they read as `up`).
   */
  direction?: 'up' | 'down';
  /** Whether the migration declares `down` (a rollback can take state back). */
  reversible: boolean;
  /** A reverse migration: partitions and keys taken back. */
  partitions?: number;
  keys?: number;
}

/** Something that happened to a runner while a deployment owned its pipeline (a crash, a restart). */
export interface RunnerNote {
  runner: string;
  what: 'exited' | 'restarted' | 'fenced';
  detail?: string;
}

/** One changed config field between the live release and a deployment (secret values never appear). */
export interface ConfigChange {
  path: string;
  from?: unknown;
  to?: unknown;
}

/** The steps a deployment goes through (each strategy uses some of them); a finished one's step is its status. */
export type StepName =
  | 'planned'
  | 'config'
  | 'start-green'
  | 'stop-blue'
  | 'shadow'
  | 'cutover'
  | 'bake'
  | 'rollback'
  | 'start-runners'
  | 'handoff'
  | 'barrier'
  | CanaryStep
  | 'canary-cutover'
  | 'pause-live'
  | 'replay'
  | 'resume-live'
  | 'contract'
  | 'runner'
  | 'state-migration'
  | TerminalStatus;

export type DeploymentEvent = DeploymentEventBody & { seq: number; deploymentId: string; at: number };

type DataOf<S extends string, K extends EventKind> = DeploymentEventBody extends infer E
  ? E extends { step: infer T; kind: K; data: infer D }
    ? S extends T
      ? D
      : never
    : never
  : never;

/** The data a step records when it begins. */
export type BeginData<S extends StepName> = DataOf<S, 'begin'>;
/** The data a step records when it ends (what the step returned). */
export type EndData<S extends StepName> = DataOf<S, 'end'>;
/** The data of an `info` event of a step. */
export type InfoData<S extends StepName> = DataOf<S, 'info'>;

/** What is live for a pipeline in an environment. */
export interface Release {
  pipeline: string;
  environment: string;
  artifact: ArtifactRef;
  config: unknown;
  deploymentId: string | null;
  /** How many runner processes run it, each with a share of the input partitions (default 1). */
  runners: number;
  updatedAt: number;
}

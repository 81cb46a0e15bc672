import type { DatasetManifest, PipelineDescription } from '../artifact/manifest.js';
import type { Log } from '../log/log.js';
import type { RunnerHandle, RunnerSpec } from '../supervisor/supervisor.js';
import type { ArtifactRef, ContractOutcome, ContractStep } from './deployment.js';
import type { DeploymentSteps } from './deployment-steps.js';

/** What a strategy gets from the controller: the deployment's steps, the log, and runners to drive. */
export interface StrategyContext {
  steps: DeploymentSteps;
  log: Log;
  /** What the deployed artifact's manifest says of its pipeline (inputs, outputs, state version). */
  manifest: PipelineDescription;
  /** The live runner of this pipeline, if any (blue). */
  live(): RunnerHandle | undefined;
  /** What the live runner runs. */
  liveArtifact(): ArtifactRef | undefined;
  /**
   * Starts a version in standby through the supervisor: one runner, or `runners` sharing the input
   * partitions. It runs with the deployment's config when it is the deployed artifact, else with the
   * config the previous release ran with.
   */
  startRunner(
    artifact: ArtifactRef,
    role: string,
    extra?: Partial<RunnerSpec>,
    runners?: number,
  ): Promise<RunnerHandle>;
  /** How many runners the live version runs as (a new version starts as many). */
  runners(): number;
  /** Makes `runner` the one the controller shows and watches as live, without changing the release. */
  adoptLive(runner: RunnerHandle, artifact: ArtifactRef): void;
  /** What an artifact's manifest says of its pipeline (read once). */
  manifestOf(artifact: ArtifactRef): Promise<PipelineDescription>;
  /** Whether the controller is shutting down (a strategy then stops instead of rolling back). */
  closing(): boolean;
  /** Makes `runner` the live one for the pipeline and records the release. */
  setLive(runner: RunnerHandle, artifact: ArtifactRef): Promise<void>;
  /**
   * The log to read outputs through for a diff: outputs in a registry format decoded by schema id (see
   * output-formats.ts), each topic read as the dataset given beside it.
   */
  outputReader(topics: ReadonlyArray<{ topic: string; dataset: DatasetManifest }>): Promise<Log>;
  /** Removes what a shadow run made: its output and DLQ topics, consumer group, owner and state. */
  removeShadow(shadowId: string): Promise<string[]>;
  /**
   * The contract migrations of the deployment's datastores (when the environment has any): the steps left
   * pending-contract for green's tables, and running them. Only once blue is retired.
   */
  contract?: {
    pending(): Promise<ContractStep[]>;
    apply(): Promise<ContractOutcome>;
  };
  /** The previous live runner kept warm for a rollback (set by the strategy). */
  warm: RunnerHandle | undefined;
  /** Resolves when someone asks this deployment to roll back (`slipway rollback`). */
  rollbackRequested: Promise<void>;
  owner: string;
  group: string;
}

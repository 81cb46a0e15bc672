import type { PipelineDescription } from '../artifact/manifest.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { inputPartitions } from '../runtime/runner-setup.js';
import type { ControlStore } from './control-store.js';
import type { DeployOptions } from './deploy-options.js';
import type { ArtifactRef, DeploymentRecord, DeploymentSummary, Release } from './deployment.js';
import { newDeploymentId } from './deployment-id.js';
import type { LiveRunner } from './live-runners.js';
import type { ReplayRequestBody } from './replay-options.js';
import { nothingToReplay, planDeadLetterReplay, type ReplayPlanView } from './strategies/replay.js';

export interface ReleaseOperationsOptions {
  store: ControlStore;
  environment: string;
  /** The environment's log (the controller's, once started). */
  log: () => Log;
  manifestOf: (artifact: ArtifactRef) => Promise<PipelineDescription>;
  /** Runs a recorded deployment (the controller's state machine), returning at once. */
  launch: (record: DeploymentRecord) => void;
  /** Whether a deployment of `pipeline` holds it right now (its handoff has begun in this process). */
  inHandoff: (pipeline: string) => boolean;
  /** Takes `pipeline`'s live runner out of the live set (it is no longer kept running), if it has one. */
  removeLive: (pipeline: string) => LiveRunner | undefined;
}

/**
 * What a controller does to a pipeline's live release without a new artifact: scale it, replay its
 * dead letters through it, undeploy it. Scaling and replaying are recorded and resumable like a
 * deployment of the live artifact onto itself (one launch helper); undeploying stops it for good.
 */
export class ReleaseOperations {
  readonly #o: ReleaseOperationsOptions;

  constructor(options: ReleaseOperationsOptions) {
    this.#o = options;
  }

  /** See `Controller.scale`. */
  async scale(pipeline: string, runners: number): Promise<DeploymentRecord> {
    const { store, environment } = this.#o;
    const release = await store.getRelease(pipeline, environment);
    if (release === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `${pipeline} is not deployed in ${environment}: deploy it first, then scale it.`,
      );
    }
    const partitions = inputPartitions(await this.#o.manifestOf(release.artifact)).length;
    if (!Number.isInteger(runners) || runners < 1 || runners > partitions) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Cannot scale ${pipeline} to ${runners} runners: give a whole number from 1 to ${partitions} (its input partitions; each runner owns at least one).`,
        { details: { runners, partitions } },
      );
    }
    return this.#launchOnRelease(
      release,
      { strategy: 'scale', runners },
      { strategy: 'scale', from: release.runners, runners, startedAt: Date.now() },
    );
  }

  /** See `Controller.replayDeadLetters`. */
  async replayDeadLetters(
    pipeline: string,
    request: ReplayRequestBody = {},
  ): Promise<{ plan: ReplayPlanView; deployment: DeploymentRecord | null }> {
    const { store, environment } = this.#o;
    const release = await store.getRelease(pipeline, environment);
    if (release === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `${pipeline} is not deployed in ${environment}: dead letters are replayed through the live version. Deploy it first (\`slipway dlq\` lists dead letters without a control plane).`,
      );
    }
    const { dryRun, ...options } = request;
    const plan = await planDeadLetterReplay({
      log: this.#o.log(),
      store,
      manifest: await this.#o.manifestOf(release.artifact),
      pipeline,
      liveVersion: release.artifact.version,
      options,
    });
    if (dryRun === true) return { plan, deployment: null };
    if (plan.toReplay === 0) throw nothingToReplay(plan);
    const deployment = await this.#launchOnRelease(
      release,
      { strategy: 'replay', replay: plan.selection },
      { strategy: 'replay', replayPlanned: plan.toReplay, startedAt: Date.now() },
    );
    return { plan, deployment };
  }

  /** See `Controller.undeploy`. */
  async undeploy(pipeline: string): Promise<Release> {
    const { store, environment } = this.#o;
    const release = await store.getRelease(pipeline, environment);
    if (release === undefined)
      throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `${pipeline} is not deployed in ${environment}.`);
    if (
      this.#o.inHandoff(pipeline) ||
      (await store.activeDeployments(environment)).some((d) => d.pipeline === pipeline)
    )
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `A deployment of ${pipeline} is running in ${environment}: wait for it (or roll it back), then undeploy.`,
        { details: { pipeline, environment } },
      );
    await this.#o.removeLive(pipeline)?.runner.stop();
    await store.removeRelease(pipeline, environment);
    await store.appendPipelineEvent({
      pipeline,
      environment,
      kind: 'undeployed',
      runner: null,
      message: `${pipeline}@${release.artifact.version} undeployed: stopped after its last commit`,
      data: { digest: release.artifact.digest },
    });
    return release;
  }

  /**
   * Records a deployment of the live artifact onto itself, with the live config carried as is, and
   * launches it: the shape a scale and a replay share.
   */
  async #launchOnRelease(
    release: Release,
    operation: Omit<DeployOptions, 'config' | 'previousConfig'>,
    summary: DeploymentSummary,
  ): Promise<DeploymentRecord> {
    const options: DeployOptions = { ...operation, config: release.config, previousConfig: release.config };
    const { record } = await this.#o.store.createDeployment(
      {
        id: newDeploymentId(),
        pipeline: release.pipeline,
        environment: this.#o.environment,
        artifact: release.artifact,
        previous: release.artifact,
        options,
        summary,
      },
      { artifact: release.artifact, previous: release.artifact, options },
    );
    this.#o.launch(record);
    return record;
  }
}

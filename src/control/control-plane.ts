import type { ArtifactStore } from '../artifact/artifact-store.js';
import type { ControlStore } from '../deploy/control-store.js';
import type { Controller } from '../deploy/controller.js';
import { checkReadersForDeployment } from '../deploy/dataset-registry.js';
import type { DeployRequestOptions } from '../deploy/deploy-options.js';
import type { ArtifactRef, DeploymentRecord } from '../deploy/deployment.js';
import { type EnvironmentMatrix, environmentMatrix } from '../environment/matrix.js';
import type { ProjectSpec } from '../environment/project.js';
import { environmentDeployOptions, planPromotion, refused, verification } from '../environment/promotion.js';
import { isSlipwayError, SlipwayError } from '../errors.js';
import { checkReleaseGate } from './release-gate.js';
import { recheckVersions } from './version-recheck.js';

/** The project a control plane serves: its environments as code, and the folder they are relative to. */
export interface ServedProject {
  spec: ProjectSpec;
  dir: string;
}

/**
 * Runs before a deployment's controller starts green, after the release gate and the readers' check: the
 * datastores' expand-and-contract migrations (see `datastoreDeployHook`). Throwing refuses the deployment.
 */
export type BeforeDeployHook = (input: {
  environment: string;
  green: ArtifactRef;
  blue?: ArtifactRef;
}) => Promise<unknown>;

/**
 * One control plane for every environment of a project: a controller per environment (each with its
 * own log and runners), one control store and one artifact store. Deployments into an environment get
 * its declared config and policy; promotions move a digest verified upstream, unchanged.
 */
export class ControlPlane {
  readonly store: ControlStore;
  readonly artifacts: ArtifactStore;
  readonly project: ServedProject | undefined;
  readonly #controllers: ReadonlyMap<string, Controller>;
  readonly #beforeDeploy: BeforeDeployHook | undefined;

  constructor(options: {
    store: ControlStore;
    artifacts: ArtifactStore;
    controllers: ReadonlyMap<string, Controller>;
    project?: ServedProject;
    /** Runs before each deployment starts green (the datastores' migrations); throwing refuses it. */
    beforeDeploy?: BeforeDeployHook;
  }) {
    this.#beforeDeploy = options.beforeDeploy;
    this.store = options.store;
    this.artifacts = options.artifacts;
    this.#controllers = options.controllers;
    this.project = options.project;
  }

  /** The environments served, in promotion order. */
  get environments(): string[] {
    return [...this.#controllers.keys()];
  }

  get controllers(): Controller[] {
    return [...this.#controllers.values()];
  }

  /**
   * The controller of an environment: the one named, else the only one. With several and none named,
   * refused with `SLIPWAY_USAGE` listing them; an unknown name with `SLIPWAY_UNKNOWN_ENVIRONMENT`.
   */
  controller(environment?: string): Controller {
    if (environment === undefined || environment === '') {
      if (this.#controllers.size === 1) return [...this.#controllers.values()][0] as Controller;
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `This control plane serves ${this.environments.join(', ')}: name the environment (--env <name>).`,
        { details: { environments: this.environments } },
      );
    }
    const found = this.#controllers.get(environment);
    if (found === undefined) {
      throw new SlipwayError(
        'SLIPWAY_UNKNOWN_ENVIRONMENT',
        `This control plane serves no environment '${environment}' (it serves: ${this.environments.join(', ')}).`,
        { details: { environment, declared: this.environments } },
      );
    }
    return found;
  }

  #spec(environment: string) {
    return this.project?.spec.environments[environment];
  }

  /**
   * Deploys an artifact into an environment, through its release gate (untested deploys only where the
   * environment allows them), with the environment's declared config and policy where the request is silent.
   * An artifact new to the control plane has its versions re-checked first (`recheckVersions`: refused with
   * `SLIPWAY_VERSION_NOT_BUMPED` or `SLIPWAY_WRONG_BUMP` and the report).
   */
  async deploy(
    environment: string | undefined,
    ref: string,
    request: DeployRequestOptions & { allowUntested?: boolean },
  ): Promise<DeploymentRecord> {
    const controller = this.controller(environment);
    const env = this.#spec(controller.environment);
    const { allowUntested, ...options } = request;
    // Every check before the artifact is recorded (which registers its dataset versions and names its
    // pipeline version): a refused artifact leaves no trace that would refuse the next, fixed build.
    const entry = await this.artifacts.verify(ref);
    const candidate = { digest: entry.digest, pipeline: entry.manifest.name, version: entry.manifest.version };
    await recheckVersions({ store: this.store, manifest: entry.manifest });
    const gate = await checkReleaseGate({
      store: this.store,
      environment: controller.environment,
      artifact: candidate,
      ...(allowUntested === undefined ? {} : { allowUntested }),
      ...(env === undefined ? {} : { allowsUntested: env.allowUntested === true }),
    });
    await this.#checkReaders(controller, candidate);
    const artifact = await controller.resolveArtifact(entry.digest);
    await this.#migrate(controller, artifact);
    const merged =
      env === undefined || this.project === undefined
        ? options
        : environmentDeployOptions(this.project.spec, controller.environment, artifact.pipeline, options);
    return controller.deploy(artifact.digest, gate.untested ? { ...merged, untested: true } : merged);
  }

  /**
   * Promotes a digest verified upstream into `to` (default: what is live upstream): the same bytes, with
   * `to`'s config and policy. Refused with `SLIPWAY_PROMOTION_REFUSED` and its reason before anything
   * starts: not verified upstream, soaking, approval missing, no passing test report, config invalid.
   */
  async promote(pipeline: string, to: string, digest?: string): Promise<DeploymentRecord> {
    const project = this.#project();
    const controller = this.controller(to);
    const plan = await planPromotion({
      store: this.store,
      project: project.spec,
      pipeline,
      to,
      ...(digest === undefined ? {} : { digest }),
    });
    const env = this.#spec(to);
    const report = await this.store.latestTestReport(plan.digest);
    if ((report === undefined || !report.passed) && env?.allowUntested !== true) {
      throw refused(
        'untested',
        `${pipeline} ${plan.digest.slice(0, 19)} has no passing test report${report === undefined ? '' : ' (its latest failed)'}: run \`slipway test --artifact ${plan.digest.slice(0, 19)}\` before promoting it into ${to}.`,
        { digest: plan.digest, environment: to },
      );
    }
    return this.#deployChecked(controller, plan.digest, pipeline, {
      from: plan.from,
      ...(plan.approvedBy === undefined ? {} : { approvedBy: plan.approvedBy }),
    });
  }

  /** Deploys with the environment's config and policy; a config the artifact's schema refuses is a refused promotion. */
  async #deployChecked(
    controller: Controller,
    digest: string,
    pipeline: string,
    promotion: { from: string; approvedBy?: string; rollbackOf?: string },
  ): Promise<DeploymentRecord> {
    const options =
      this.project === undefined
        ? {}
        : environmentDeployOptions(this.project.spec, controller.environment, pipeline, {});
    const artifact = await controller.resolveArtifact(digest);
    await this.#checkReaders(controller, artifact);
    await this.#migrate(controller, artifact);
    try {
      return await controller.deploy(digest, { ...options, promotion });
    } catch (err) {
      if (isSlipwayError(err, 'SLIPWAY_INVALID_CONFIG')) {
        throw refused(
          'config-invalid',
          `${controller.environment}'s config of ${pipeline} does not fit ${digest.slice(0, 19)}: ${err.message}`,
          { digest, environment: controller.environment, ...err.details },
        );
      }
      throw err;
    }
  }

  /**
   * Records an approval to promote a digest (default: what is live in the environment promoted from)
   * into `environment`.
   */
  async approve(input: { pipeline: string; environment: string; digest?: string; by: string; note?: string }) {
    const project = this.#project();
    this.controller(input.environment);
    let digest = input.digest;
    const from = project.spec.environments[input.environment]?.promotion?.from;
    if (digest === undefined) {
      const live = from === undefined ? undefined : await this.store.getRelease(input.pipeline, from);
      if (live === undefined)
        throw new SlipwayError(
          'SLIPWAY_USAGE',
          `Nothing to approve: ${input.pipeline} has no live release ${from === undefined ? `upstream of ${input.environment}` : `in ${from}`}. Name the digest with --digest.`,
        );
      digest = live.artifact.digest;
    } else if (!digest.startsWith('sha256:')) {
      digest = (await this.artifacts.verify(digest)).digest;
    }
    return this.store.putApproval({
      pipeline: input.pipeline,
      environment: input.environment,
      digest,
      by: input.by,
      ...(input.note === undefined ? {} : { note: input.note }),
    });
  }

  /**
   * Rolls back in an environment: the deployment in progress, as always; with none in progress, the
   * previously verified digest is promoted again (the release before the live one whose deployment completed).
   */
  async rollback(
    environment: string | undefined,
    pipeline: string,
  ): Promise<{ deployment: string; repromoted?: string }> {
    const controller = this.controller(environment);
    const id = await controller.rollback(pipeline);
    if (id !== undefined) return { deployment: id };
    const env = controller.environment;
    const live = await this.store.getRelease(pipeline, env);
    if (live === undefined || this.project === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `No deployment of ${pipeline} is in progress in ${env} to roll back. To go back to an earlier version, deploy its artifact.`,
      );
    }
    for (const release of await this.store.releaseHistory(pipeline, env, 100)) {
      const digest = release.artifact.digest;
      if (digest === live.artifact.digest) continue;
      if ((await verification(this.store, pipeline, env, digest)) === undefined) continue;
      const record = await this.#deployChecked(controller, digest, pipeline, {
        from: env,
        rollbackOf: live.artifact.digest,
      });
      return { deployment: record.id, repromoted: digest };
    }
    throw refused(
      'no-previous',
      `${pipeline} has no earlier verified release in ${env} to go back to (the live one, ${live.artifact.version}, is the only one).`,
      { environment: env },
    );
  }

  /** Refuses a deployment that would make a reader read what it cannot (`SLIPWAY_READER_INCOMPATIBLE`), in its environment. */
  async #checkReaders(controller: Controller, artifact: ArtifactRef): Promise<void> {
    await checkReadersForDeployment({
      store: this.store,
      environment: controller.environment,
      manifest: { ...(await controller.manifestOf(artifact)) },
      manifestOf: (a) => controller.manifestOf(a),
    });
  }

  /**
   * The deployment's migrations, before green starts (kept apart from the deploy flow): the hook is told the
   * live release's artifact as blue. A refusal (`SLIPWAY_MIGRATION_BLOCKS_DEPLOY`) starts nothing.
   */
  async #migrate(controller: Controller, green: ArtifactRef): Promise<void> {
    if (this.#beforeDeploy === undefined) return;
    const live = await this.store.getRelease(green.pipeline, controller.environment);
    await this.#beforeDeploy({
      environment: controller.environment,
      green,
      ...(live === undefined || live.artifact.digest === green.digest ? {} : { blue: live.artifact }),
    });
  }

  /** The pipelines × environments matrix (`slipway status` of a project). */
  async matrix(): Promise<EnvironmentMatrix> {
    return environmentMatrix(this.store, this.#project().spec, this.environments);
  }

  #project(): ServedProject {
    if (this.project === undefined) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        'This control plane runs one environment without a project: promotions, approvals and the matrix need environments declared in slipway.config.ts (defineProject), and `slipway up` in the project folder.',
      );
    }
    return this.project;
  }
}

import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { loadModule, pickPipeline } from '../cli/project.js';
import type {
  ArtifactRef,
  ControlStore,
  DeploymentEvent,
  DeploymentRecord,
  DeployOptions,
  Release,
} from '../control/control-store.js';
import { SlipwayError } from '../errors.js';
import type { Log } from '../log/log.js';
import { type LogConfig, openLog } from '../log/open-log.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { inputPartitions } from '../runtime/runner-setup.js';
import type { RunnerSpec } from '../supervisor/protocol.js';
import { RunnerGroup, type RunnerHandle, shareOut } from '../supervisor/runner-group.js';
import { RunnerProcess } from '../supervisor/runner-process.js';
import { DeploymentSteps } from './deployment-context.js';
import { runBlueGreen } from './strategies/blue-green.js';
import { canaryOwnsBlue, canarySteps, runCanary } from './strategies/canary.js';
import { runRecreate } from './strategies/recreate.js';
import { runScale } from './strategies/scale.js';

export interface ControllerOptions {
  store: ControlStore;
  /** The embedded log every runner of this control plane uses (when `log` does not say otherwise). */
  logPath: string;
  /** The environment's log: embedded (default, at `logPath`) or Kafka. Runners get the same. */
  log?: LogConfig;
  environment?: string;
}

/** What a strategy gets from the controller. */
export interface StrategyContext {
  steps: DeploymentSteps;
  log: Log;
  pipeline: Pipeline;
  /** The live runner of this pipeline, if any (blue). */
  live(): RunnerHandle | undefined;
  /** What the live runner runs. */
  liveArtifact(): ArtifactRef | undefined;
  /** Starts a runner process for an artifact, in standby. */
  startRunner(
    artifact: ArtifactRef,
    role: string,
    extra?: Partial<RunnerSpec>,
    runners?: number,
  ): Promise<RunnerHandle>;
  /** How many runner processes the live version runs as (a new version starts as many). */
  runners(): number;
  /** Makes `runner` the one the controller shows and watches as live, without changing the release. */
  adoptLive(runner: RunnerHandle, artifact: ArtifactRef): void;
  /** The pipeline an artifact runs (loaded once). */
  pipelineOf(artifact: ArtifactRef): Promise<Pipeline>;
  /** Whether the controller is shutting down (a strategy then stops instead of rolling back). */
  closing(): boolean;
  /** Makes `runner` the live one for the pipeline and records the release. */
  setLive(runner: RunnerHandle, artifact: ArtifactRef): Promise<void>;
  /** The previous live runner kept warm for a rollback (set by the strategy). */
  warm: RunnerHandle | undefined;
  /** Resolves when someone asks this deployment to roll back (`slipway rollback`). */
  rollbackRequested: Promise<void>;
  owner: string;
  group: string;
}

/**
 * The controller: runs deployments as persisted state machines and keeps the live runner of every
 * pipeline running (restarting a crashed one from committed offsets). Every step is recorded in
 * the control store before it is acted on; `start()` resumes deployments a crash interrupted.
 */
export class Controller extends EventEmitter {
  readonly store: ControlStore;
  readonly logPath: string;
  readonly logConfig: LogConfig;
  readonly environment: string;
  #log: Log | undefined;
  readonly #live = new Map<string, { runner: RunnerHandle; artifact: ArtifactRef }>();
  readonly #running = new Map<string, Promise<DeploymentRecord>>();
  readonly #rollbackTriggers = new Map<string, () => void>();
  readonly #pipelines = new Map<string, Pipeline>();
  readonly #handoff = new Set<string>();
  readonly #all = new Set<RunnerProcess>();
  #closing = false;

  constructor(options: ControllerOptions) {
    super();
    this.store = options.store;
    this.logPath = options.logPath;
    this.logConfig = options.log ?? { engine: 'embedded', path: options.logPath };
    this.environment = options.environment ?? 'local';
  }

  get log(): Log {
    if (this.#log === undefined) throw new SlipwayError('SLIPWAY_INVALID_STATE', 'The controller is not started.');
    return this.#log;
  }

  /** Starts the live runner of every released pipeline, then resumes interrupted deployments. */
  async start(): Promise<void> {
    this.#log = await openLog(this.logConfig);
    const active = (await this.store.activeDeployments()).filter((d) => d.environment === this.environment);
    for (const release of await this.store.listReleases(this.environment)) {
      // A canary cut short before its cutover splits keys between blue and green: it restarts both
      // sides itself, each with its share, instead of blue taking every key again here.
      if (active.some((d) => d.pipeline === release.pipeline && canaryOwnsBlue(d, release.artifact))) continue;
      await this.#startLive(release);
    }
    for (const d of active) {
      this.emit('resume', d);
      this.#launch(d);
    }
  }

  async #pipelineOf(artifact: ArtifactRef): Promise<Pipeline> {
    let p = this.#pipelines.get(artifact.module);
    if (p === undefined) {
      p = pickPipeline(await loadModule(artifact.module), artifact.pipeline);
      this.#pipelines.set(artifact.module, p);
    }
    return p;
  }

  async #startLive(release: Release): Promise<void> {
    const runner = await this.#spawn(release.artifact, 'live', release.config, {}, release.runners ?? 1);
    await runner.activate();
    this.#live.set(release.pipeline, { runner, artifact: release.artifact });
  }

  /** A runner process, supervised (a live one that dies is restarted) unless a group supervises it. */
  #create(artifact: ArtifactRef, spec: RunnerSpec, config: unknown, supervised: boolean): RunnerProcess {
    const runner = new RunnerProcess(spec);
    this.#all.add(runner);
    runner.on('exit', (_code: number | null, _signal: string | null, expected: boolean) => {
      this.#all.delete(runner);
      if (!expected && supervised) this.#onCrash(runner, artifact, config);
      else if (!expected) this.emit('runner-exit', runner.spec.id);
    });
    runner.on('commit', (e) => this.emit('commit', runner.spec.id, e));
    return runner;
  }

  /** Starts a version in standby: one runner process, or `count` sharing the input partitions. */
  async #spawn(
    artifact: ArtifactRef,
    role: string,
    config: unknown,
    extra: Partial<RunnerSpec>,
    count = 1,
  ): Promise<RunnerHandle> {
    const spec: RunnerSpec = {
      id: `${artifact.pipeline}@${artifact.version}:${role}:${randomUUID().slice(0, 6)}`,
      module: artifact.module,
      pipeline: artifact.pipeline,
      logPath: this.logPath,
      ...(this.logConfig.engine === 'embedded' ? {} : { log: this.logConfig }),
      config,
      ...extra,
    };
    if (count === 1) {
      const runner = this.#create(artifact, spec, config, true);
      await runner.start();
      return runner;
    }
    const pipeline = await this.#pipelineOf(artifact);
    const group = new RunnerGroup(
      { ...spec, owner: spec.owner ?? `slipway.${artifact.pipeline}` },
      shareOut(artifact.pipeline, inputPartitions(pipeline), count),
      (memberSpec) => this.#create(artifact, memberSpec, config, false),
      { mayRestart: () => !this.#closing && !this.#handoff.has(artifact.pipeline) },
    );
    group.on('member-restarted', (id: string) => this.emit('runner-restarted', id));
    group.on('member-exit', (id: string) => {
      // A member that died while a deployment owned the pipeline: the deployment sees the group
      // exited; after it, the controller restarts the whole group (below, in #run's finally).
      this.emit('runner-exit', id);
    });
    group.on('error-event', (err: unknown) => this.emit('error-event', err));
    await group.start();
    return group;
  }

  /** A live runner that dies is restarted from the committed offsets (unless a handoff owns the pipeline). */
  #onCrash(runner: RunnerHandle, artifact: ArtifactRef, config: unknown): void {
    this.emit('runner-exit', runner.spec.id);
    this.#restartLive(runner, artifact, config);
  }

  /** Restarts `runner` if it is the live runner of its pipeline and no deployment owns the pipeline. */
  #restartLive(runner: RunnerHandle, artifact: ArtifactRef, config: unknown): void {
    const pipeline = artifact.pipeline;
    const live = this.#live.get(pipeline);
    if (this.#closing || live?.runner !== runner || this.#handoff.has(pipeline)) return;
    void (async () => {
      try {
        // A group with a dead member stops whole (the others commit their last batch) and starts again.
        if (runner.size > 1) await runner.stop();
        const next = await this.#spawn(artifact, 'live', config, {}, runner.size);
        if (this.#live.get(pipeline)?.runner !== runner) {
          await next.stop();
          return;
        }
        await next.activate();
        this.#live.set(pipeline, { runner: next, artifact });
        this.emit('runner-restarted', next.spec.id);
      } catch (err) {
        this.emit('error-event', err);
      }
    })();
  }

  /**
   * Starts a deployment of `artifact` and returns its record at once; `wait(id)` resolves when it ends.
   * Refused (before anything starts) when a deployment of the same pipeline is already running, or
   * when the state layout changed without a declared migration.
   */
  async deploy(artifact: ArtifactRef, options: DeployOptions): Promise<DeploymentRecord> {
    if (options.strategy !== 'blue-green' && options.strategy !== 'recreate' && options.strategy !== 'canary') {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `Strategy '${String(options.strategy)}' is not available: use blue-green (the default, with an optional shadow run), canary or recreate.`,
      );
    }
    if (options.strategy === 'canary') canarySteps(options.canary?.steps);
    const pipeline = await this.#pipelineOf(artifact);
    if (pipeline.name !== artifact.pipeline) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `The module exports pipeline '${pipeline.name}', not '${artifact.pipeline}'.`,
      );
    }
    await this.#refuseWhileRunning(artifact.pipeline, 'wait for it or roll it back first');
    const release = await this.store.getRelease(artifact.pipeline, this.environment);
    if (options.strategy === 'canary' && (release?.runners ?? 1) > 1) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `${artifact.pipeline} runs as ${release?.runners} runners; a canary splits keys between one blue and one green runner. Scale it to 1 (slipway scale ${artifact.pipeline} 1), or deploy with blue-green (green starts as ${release?.runners} runners).`,
      );
    }
    if (release === undefined && options.strategy === 'canary') {
      throw new SlipwayError(
        'SLIPWAY_DEPLOY_REFUSED',
        `${artifact.pipeline} has no live version in ${this.environment} to split keys with: deploy its first version with blue-green (the default) or recreate, then canary the next ones.`,
      );
    }
    if (release !== undefined) {
      const previous = await this.#pipelineOf(release.artifact);
      if (previous.stateVersion !== pipeline.stateVersion) {
        throw new SlipwayError(
          'SLIPWAY_DEPLOY_REFUSED',
          `${pipeline.name} changes its state layout (stateVersion ${previous.stateVersion} → ${pipeline.stateVersion}) and declares no migration: deploying it would read state it does not understand, and rolling back could not undo it. Keep stateVersion, or deploy a new pipeline name.`,
          { details: { from: previous.stateVersion, to: pipeline.stateVersion } },
        );
      }
    }
    const record = await this.store.createDeployment({
      id: `dep-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`,
      pipeline: artifact.pipeline,
      environment: this.environment,
      artifact,
      previous: release?.artifact ?? null,
      options,
      status: 'running',
      step: 'planned',
      summary: { strategy: options.strategy, startedAt: Date.now() },
    });
    await this.store.appendEvent(record.id, 'planned', 'info', {
      artifact,
      previous: release?.artifact ?? null,
      options,
    });
    this.#launch(record);
    return record;
  }

  #launch(record: DeploymentRecord): void {
    let trigger: () => void = () => {};
    const rollbackRequested = new Promise<void>((resolve) => {
      trigger = resolve;
    });
    this.#rollbackTriggers.set(record.id, trigger);
    const run = this.#run(record, rollbackRequested).finally(() => {
      this.#running.delete(record.id);
      this.#rollbackTriggers.delete(record.id);
    });
    this.#running.set(record.id, run);
    run.catch(() => {});
  }

  async #run(record: DeploymentRecord, rollbackRequested: Promise<void>): Promise<DeploymentRecord> {
    const events = await this.store.events(record.id);
    const steps = new DeploymentSteps(this.store, record, events, (e: DeploymentEvent) => this.emit('event', e));
    const pipelineName = record.pipeline;
    const pipeline = await this.#pipelineOf(record.artifact);
    const release = await this.store.getRelease(pipelineName, this.environment);
    const ctx: StrategyContext = {
      steps,
      log: this.log,
      pipeline,
      live: () => this.#live.get(pipelineName)?.runner,
      liveArtifact: () => this.#live.get(pipelineName)?.artifact,
      startRunner: (artifact, role, extra = {}, runners = 1) =>
        this.#spawn(
          artifact,
          role,
          record.options.config,
          {
            ...(record.options.batchSize ? { batchSize: record.options.batchSize } : {}),
            ...extra,
          },
          runners,
        ),
      runners: () => release?.runners ?? 1,
      adoptLive: (runner, artifact) => {
        this.#live.set(pipelineName, { runner, artifact });
      },
      closing: () => this.#closing,
      pipelineOf: (artifact) => this.#pipelineOf(artifact),
      setLive: async (runner, artifact) => {
        this.#live.set(pipelineName, { runner, artifact });
        await this.store.setRelease({
          pipeline: pipelineName,
          environment: this.environment,
          artifact,
          config: runner.spec.config,
          deploymentId: record.id,
          runners: runner.size,
        });
      },
      warm: undefined,
      rollbackRequested,
      owner: `slipway.${pipelineName}`,
      group: `slipway.${pipelineName}`,
    };
    this.#handoff.add(pipelineName);
    try {
      switch (record.options.strategy) {
        case 'blue-green':
          return await runBlueGreen(ctx);
        case 'recreate':
          return await runRecreate(ctx);
        case 'canary':
          return await runCanary(ctx);
        case 'scale':
          return await runScale(ctx);
        default:
          throw new SlipwayError('SLIPWAY_DEPLOY_REFUSED', `Unknown strategy '${String(record.options.strategy)}'.`);
      }
    } catch (err) {
      if (this.#closing) throw err;
      const e = err as { code?: string; message?: string };
      return steps.finish('failed', { error: { code: e?.code ?? null, message: e?.message ?? String(err) } });
    } finally {
      this.#handoff.delete(pipelineName);
      if (ctx.warm !== undefined && ctx.warm !== this.#live.get(pipelineName)?.runner)
        await ctx.warm.stop().catch(() => {});
      // A live runner that died while the deployment owned the pipeline was left for it; if it is
      // still dead (the deployment ended without replacing it), restart it now.
      const live = this.#live.get(pipelineName);
      if (live !== undefined && live.runner.state === 'exited')
        this.#restartLive(live.runner, live.artifact, live.runner.spec.config);
    }
  }

  /**
   * Runs the live version of `pipeline` as `runners` processes from now on, each owning a share of
   * the input partitions, with an exact handoff (see `runScale`). Recorded and resumable like a
   * deployment; refused while a deployment of the pipeline runs. Returns the record at once.
   */
  async scale(pipeline: string, runners: number): Promise<DeploymentRecord> {
    const release = await this.store.getRelease(pipeline, this.environment);
    if (release === undefined) {
      throw new SlipwayError(
        'SLIPWAY_DEPLOYMENT_NOT_FOUND',
        `${pipeline} is not deployed in ${this.environment}: deploy it first, then scale it.`,
      );
    }
    const p = await this.#pipelineOf(release.artifact);
    const partitions = p.inputs.reduce((n, d) => n + d.partitions, 0);
    if (!Number.isInteger(runners) || runners < 1 || runners > partitions) {
      throw new SlipwayError(
        'SLIPWAY_USAGE',
        `Cannot scale ${pipeline} to ${runners} runners: give a whole number from 1 to ${partitions} (its input partitions; each runner owns at least one).`,
        { details: { runners, partitions } },
      );
    }
    await this.#refuseWhileRunning(pipeline, 'scale when it has ended');
    const options: DeployOptions = { strategy: 'scale', runners };
    const record = await this.store.createDeployment({
      id: `dep-${Date.now().toString(36)}-${randomUUID().slice(0, 4)}`,
      pipeline,
      environment: this.environment,
      artifact: release.artifact,
      previous: release.artifact,
      options,
      status: 'running',
      step: 'planned',
      summary: { strategy: 'scale', from: release.runners ?? 1, runners, startedAt: Date.now() },
    });
    await this.store.appendEvent(record.id, 'planned', 'info', {
      artifact: release.artifact,
      previous: release.artifact,
      options,
    });
    this.#launch(record);
    return record;
  }

  /** One deployment (or scaling) of a pipeline at a time: refused while another runs. */
  async #refuseWhileRunning(pipeline: string, advice: string): Promise<void> {
    for (const d of await this.store.activeDeployments()) {
      if (d.pipeline === pipeline && d.environment === this.environment) {
        throw new SlipwayError(
          'SLIPWAY_DEPLOY_REFUSED',
          `Deployment ${d.id} of ${d.pipeline} is still running (step ${d.step}); ${advice}.`,
        );
      }
    }
  }

  /** Resolves with the deployment's final record. */
  async wait(id: string): Promise<DeploymentRecord> {
    const running = this.#running.get(id);
    if (running !== undefined) return running;
    const record = await this.store.getDeployment(id);
    if (record === undefined) throw new SlipwayError('SLIPWAY_DEPLOYMENT_NOT_FOUND', `No deployment '${id}'.`);
    return record;
  }

  /** Asks the running deployment of a pipeline to roll back. Resolves with its id, or undefined if none runs. */
  async rollback(pipeline: string): Promise<string | undefined> {
    for (const d of await this.store.activeDeployments()) {
      if (d.pipeline === pipeline && d.environment === this.environment) {
        this.#rollbackTriggers.get(d.id)?.();
        return d.id;
      }
    }
    return undefined;
  }

  /** The live runners, for status. */
  liveRunners(): Array<{ pipeline: string; runner: RunnerHandle; artifact: ArtifactRef }> {
    return [...this.#live].map(([pipeline, v]) => ({ pipeline, ...v }));
  }

  /** Stops every runner gracefully (each commits its last batch) and closes the log. Deployments in flight resume on the next start. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.allSettled([...this.#all].map((runner) => runner.stop()));
    await Promise.allSettled([...this.#running.values()]);
    await this.#log?.close();
  }
}
